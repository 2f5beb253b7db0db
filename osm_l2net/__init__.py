"""osm-l2net: ETSI OSM network-service virtual links as isolated L2 networks for KNFs on Kubernetes.

Public API::

    import osm_l2net
    plan = osm_l2net.plan(["descriptors/"], ns_name="vod-service-deployment")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from osm_l2net.core.errors import DescriptorError, InputError, L2NetError, Problem

if TYPE_CHECKING:
    from osm_l2net.api import load, plan, validate, write_plan_files
    from osm_l2net.core.plan import Plan

# Imported on first use (PEP 562): every submodule import runs this file, and the CLI's --help, the LCM connector and
# the lab need none of the planner (~90 ms).
_LAZY = {"load": "osm_l2net.api", "plan": "osm_l2net.api", "validate": "osm_l2net.api",
         "write_plan_files": "osm_l2net.api", "Plan": "osm_l2net.core.plan"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DescriptorError", "InputError", "L2NetError", "Plan", "Problem", "load", "plan", "validate",
           "write_plan_files"]
