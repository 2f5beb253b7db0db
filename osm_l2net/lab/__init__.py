"""The local lab: a Plan realised with real kernel networking on one Linux host, and the PoC's scenario.

    from osm_l2net.lab import Lab, load_profile_file
    lab = Lab("cdn")
    lab.up(plan, load_profile_file(Path("examples/cdn_vod/lab.yaml")))
    lab.exec("cdn-server", ["ping", "-c", "3", "10.0.2.10"])
    lab.down()

Names are imported lazily: the cache agent (``python -m osm_l2net.lab.agent``, started inside a pod) must not pay
for pyroute2 and the rest of the lab at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osm_l2net.lab.engine import Lab
    from osm_l2net.lab.inputs import load_profile_file
    from osm_l2net.lab.profile import Profile, load_profile
    from osm_l2net.lab.scenario import Report, run_scenario
    from osm_l2net.lab.spec import LabSpec, build_spec

__all__ = ["Lab", "LabSpec", "Profile", "Report", "build_spec", "load_profile", "load_profile_file", "run_scenario"]

_WHERE = {"Lab": "engine", "LabSpec": "spec", "build_spec": "spec", "Profile": "profile", "load_profile": "profile",
          "load_profile_file": "inputs", "Report": "scenario", "run_scenario": "scenario"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'osm_l2net.lab' has no attribute {name!r}")
    return getattr(importlib.import_module(f"osm_l2net.lab.{_WHERE[name]}"), name)
