"""The Kubernetes adapter. ``cluster.Cluster`` is the object its users hold; ``client`` is the only module that talks
to the API server (the official client), ``networks``/``waits``/``status`` do one job each through it, and ``state``
judges what it reads (ownership, readiness, attachments) without I/O."""
