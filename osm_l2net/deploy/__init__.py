"""Carrying a plan out on a cluster: networks, then readiness, then KDUs (``deployer``), and back in reverse."""
