"""osm-l2net: ETSI OSM network-service virtual links as isolated L2 networks for KNFs on Kubernetes.

Public API (what the ``osm-l2net`` commands do, as functions that return data and print nothing)::

    import osm_l2net
    plan = osm_l2net.plan(["descriptors/"], ns_name="vod-service-deployment")   # osm-l2net plan
    osm_l2net.apply(plan, kubeconfig="kubeconfig")                              # osm-l2net apply
    print(osm_l2net.status(plan, kubeconfig="kubeconfig").ready)                # osm-l2net status

``load``, ``validate``, ``plan``, ``write_plan_files`` (planning, :mod:`osm_l2net.api`); ``apply``, ``delete``,
``status`` (the cluster, :mod:`osm_l2net.deploy.api`); the result types and errors. Every public name here is a
function, class or exception, never one of the package's modules (``osm_l2net.plan`` is the function; the plan module
is ``osm_l2net.core.plan``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osm_l2net.api import load, plan, validate, write_plan_files
    from osm_l2net.core.errors import DescriptorError, InputError, L2NetError, Problem
    from osm_l2net.core.options import PlanOptions
    from osm_l2net.core.plan import Plan
    from osm_l2net.deploy.api import DeployResult, StatusResult, apply, delete, status

# Imported on first use (PEP 562): every submodule import runs this file, and the CLI's --help, the LCM connector and
# the lab need none of the planner (~90 ms), nor the cluster side's helm and kubernetes client; --help not even the
# errors (their Problem is a dataclass, and dataclasses is a few ms of a start-up that is all click's otherwise).
_LAZY = {**dict.fromkeys(("DescriptorError", "InputError", "L2NetError", "Problem"), "osm_l2net.core.errors"),
         **dict.fromkeys(("load", "plan", "validate", "write_plan_files"), "osm_l2net.api"),
         **dict.fromkeys(("apply", "delete", "status", "DeployResult", "StatusResult"), "osm_l2net.deploy.api"),
         "Plan": "osm_l2net.core.plan", "PlanOptions": "osm_l2net.core.options"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = ["DeployResult", "DescriptorError", "InputError", "L2NetError", "Plan", "PlanOptions", "Problem",
           "StatusResult", "apply", "delete", "load", "plan", "status", "validate", "write_plan_files"]
