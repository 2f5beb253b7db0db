"""Test support: the Kubernetes API test double (``KubernetesAPIEmulator``) and its pytest fixture."""
