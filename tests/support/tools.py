"""Where the real helm/kubectl binaries are: $OSM_L2NET_HELM / $OSM_L2NET_KUBECTL, else <repo>/.tools/bin, else PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_tool(name: str) -> str | None:
    explicit = os.environ.get(f"OSM_L2NET_{name.upper()}")
    if explicit:
        return explicit
    local = REPO_ROOT / ".tools" / "bin" / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def models_dir() -> Path:
    """The shared conformance models (CRDs, validators): $OSM_L2NET_MODELS, else <repo>/../shared/models."""
    return Path(os.environ.get("OSM_L2NET_MODELS") or REPO_ROOT.parent / "shared" / "models")
