"""The Kubernetes adapter: ``cluster`` is the only module that talks to the API server (the official client);
``state`` judges what it reads (ownership, readiness, attachments) without I/O."""
