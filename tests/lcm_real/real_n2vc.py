"""Loading OSM v19's REAL N2VC and the helm wrapper it needs here; shared by tests/lcm_real and bench/ (real mode).

Plain functions, no pytest: ``bench/osm_lcm_bench.py --real`` uses them too."""

from __future__ import annotations

import importlib
import os
import stat
import sys
import warnings
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STANDIN = HERE / "osm_common_standin"


def osm_source() -> Path:
    """``$OSM_L2NET_OSM_SOURCE``, else ../shared/osm-v19 beside the repository."""
    return Path(os.environ.get("OSM_L2NET_OSM_SOURCE") or REPO.parent / "shared" / "osm-v19")


def has_n2vc(source: Path) -> bool:
    return (source / "lcm" / "osm_lcm" / "n2vc" / "k8s_helm3_conn.py").is_file()


def load_k8s_helm3_conn(source: Path) -> ModuleType:
    """The real ``osm_lcm.n2vc.k8s_helm3_conn``, imported from OSM's source with the osm_common stand-in."""
    for path in (str(source / "lcm"), str(STANDIN)):
        if path not in sys.path:
            sys.path.insert(0, path)
    with warnings.catch_warnings():
        # OSM's own import chain warns at import: paramiko 2.12's TripleDES (cryptography 46) and retrying-async /
        # libjuju's '@asyncio.coroutine'; these are OSM's, not the project's (whose warnings stay errors)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="TripleDES has been moved")
        module = importlib.import_module("osm_lcm.n2vc.k8s_helm3_conn")
    if not str(module.__file__).startswith(str(source)):
        raise RuntimeError(f"imported {module.__file__}, not OSM's source at {source}")
    return module


def write_helm_wrapper(directory: Path, helm: str) -> Path:
    """A wrapper of the real helm that adds ``--disable-openapi-validation`` to install/upgrade.

    Needed because the Kubernetes API test double serves no OpenAPI v2 for built-in kinds (helm validates manifests
    against it), and N2VC builds helm's command line itself (``_get_install_command``) with no way to add a flag. The
    wrapper passes everything else through unchanged, the real connector's arguments included (--atomic, -f, ...).
    """
    wrapper = directory / "helm3"
    wrapper.write_text(f"""#!/bin/sh
# TEST WRAPPER (tests/lcm_real/real_n2vc.py): the API test double has no OpenAPI v2 for built-in kinds
case "$1" in
  install|upgrade) sub=$1; shift; exec '{helm}' "$sub" --disable-openapi-validation "$@" ;;
esac
exec '{helm}' "$@"
""")
    wrapper.chmod(stat.S_IRWXU)
    return wrapper
