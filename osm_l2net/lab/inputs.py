"""Where the lab's inputs come from: a plan JSON file, or OSM packages/descriptor paths through the planner;
a lab profile YAML file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from osm_l2net.errors import InputError
from osm_l2net.lab.profile import Profile, load_profile
from osm_l2net.plan import Plan

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROFILE = Path("examples/cdn_vod/lab.yaml")
DEFAULT_PACKAGES = Path("descriptors")


def default_path(relative: Path) -> Path:
    """``relative`` from the current directory, else from the source checkout this package runs from."""
    return relative if relative.exists() else REPO / relative


def load_profile_file(path: Path) -> Profile:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise InputError.single(str(path), "", f"cannot read the lab profile: {e.strerror}",
                                "a readable YAML file") from e
    except yaml.YAMLError as e:
        raise InputError.single(str(path), "", f"invalid YAML: {e}", "a lab profile") from e
    if not isinstance(data, dict):
        raise InputError.single(str(path), "", "not a mapping", "a lab profile (schema, members, ...)")
    return load_profile(data, str(path))


def default_ns_id(lab: str) -> str:
    """Deterministic per lab, so re-running ``lab up`` adopts what is there."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"osm-l2net-lab:{lab}"))


def load_plan(paths: Sequence[Path], lab: str, ns_id: str | None = None, ns_name: str | None = None) -> Plan:
    if len(paths) == 1 and paths[0].is_file() and paths[0].suffix == ".json":
        return _plan_file(paths[0])
    return _plan_from_descriptors(paths, ns_id or default_ns_id(lab), ns_name or f"lab-{lab}")


def _plan_file(path: Path) -> Plan:
    try:
        data: Any = json.loads(path.read_text())
        return Plan.from_dict(data)
    except OSError as e:
        raise InputError.single(str(path), "", f"cannot read: {e.strerror}", "a plan JSON file") from e
    except (ValueError, KeyError, TypeError) as e:
        raise InputError.single(str(path), "", f"not a valid plan: {e}",
                                "the output of 'osm-l2net plan -o json'") from e


def _plan_from_descriptors(paths: Sequence[Path], ns_id: str, ns_name: str) -> Plan:
    try:
        from osm_l2net import planner, sol006  # type: ignore[attr-defined,unused-ignore]
    except ImportError as e:
        raise InputError.single(", ".join(map(str, paths)), "", "this build has no planner to read descriptors",
                                "a plan JSON file (osm-l2net plan -o json)") from e
    from osm_l2net.model import NsInstance

    descriptors = sol006.load_descriptors([str(p) for p in paths])
    plan: Plan = planner.build_plan(descriptors, NsInstance(ns_id=ns_id, ns_name=ns_name))
    return plan
