"""The planning half of the library API: load, validate, plan, write_plan_files (no cluster, no helm)::

    import osm_l2net
    plan = osm_l2net.plan(["descriptors/"], ns_name="vod-service-deployment")
    print(plan.as_dict())

Paths are descriptor files, OSM package folders, .tar.gz packages, or a folder of packages (like descriptors/); one
path may be given alone. The cluster half (apply, delete, status) is :mod:`osm_l2net.deploy.api`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from osm_l2net.core.checks import resolve
from osm_l2net.core.errors import InputError, Problem
from osm_l2net.core.model import Descriptors, NsInstance
from osm_l2net.core.names import default_ns_id
from osm_l2net.core.options import PlanOptions, ValuesLayout
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from osm_l2net.local.packages import load_descriptors

PathLike = str | os.PathLike[str]
Paths = PathLike | Iterable[PathLike]


def _paths(paths: Paths) -> list[PathLike]:
    """One path alone is one path (a str is iterable: without this, "descriptors/" would be read letter by letter)."""
    return [paths] if isinstance(paths, str | os.PathLike) else list(paths)


def load(paths: Paths) -> Descriptors:
    """Read one NSD and its VNFDs from files, OSM package folders, .tar.gz packages or folders of packages."""
    return load_descriptors(_paths(paths))


def validate(paths: Paths, config: Mapping[str, Any] | None = None,
             options: PlanOptions | None = None, config_source: str = "--config") -> list[Problem]:
    """Every problem (errors and warnings) of descriptors + parameters; raises InputError only for unreadable input."""
    descriptors = load_descriptors(_paths(paths))
    instance = NsInstance("validate", "validate", params=parse_params(config, config_source))
    options = options or PlanOptions()
    problems = resolve(descriptors, instance, options).problems
    if any(p.severity == "error" for p in problems):
        return problems
    try:  # the planner checks what needs the whole NS (replicas against pinned addresses, provider limits)
        return list(build_plan(descriptors, instance, options).warnings)
    except InputError as e:
        return list(e.problems)


def plan(paths: Paths | Descriptors, ns_name: str, ns_id: str | None = None, namespace: str = "default",
         config: Mapping[str, Any] | None = None, options: PlanOptions | None = None,
         config_source: str = "--config") -> Plan:
    """Plan an NS instance. ``ns_id`` defaults to a stable id derived from ``ns_name``, so re-runs converge."""
    descriptors = paths if isinstance(paths, Descriptors) else load_descriptors(_paths(paths))
    instance = NsInstance(ns_id or default_ns_id(ns_name), ns_name, namespace, parse_params(config, config_source))
    options = replace(options, namespace=namespace) if options else PlanOptions(namespace=namespace)
    return build_plan(descriptors, instance, options)


MANIFEST = ".osm-l2net-files"  # in an --out-dir: the files osm-l2net wrote there, one relative path a line


def write_plan_files(plan: Plan, out_dir: Path) -> list[Path]:
    """One manifest per network and one values file per KDU, plus plan.json; files are written 0600 (values may hold
    the user's secrets). Files written there by an earlier plan and no longer part of this one are removed: only those
    listed in the folder's manifest (``.osm-l2net-files``), never a file osm-l2net did not write."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    before = _manifest(out_dir)
    written = []
    for net in plan.networks:
        written.append(_write(out_dir / "networks" / f"{net.name}.yaml", yaml.safe_dump(dict(net.as_dict()["manifest"]),
                                                                                        sort_keys=False)))
    for kdu in plan.kdus:
        name = f"{kdu.member_vnf_index}--{kdu.kdu_name}.yaml"
        written.append(_write(out_dir / "values" / name, yaml.safe_dump(kdu.as_dict()["values"], sort_keys=False)))
    written.append(_write(out_dir / "plan.json", json.dumps(plan.as_dict(), indent=2) + "\n"))
    now = [p.relative_to(out_dir).as_posix() for p in written]
    for stale in sorted(set(before) - set(now)):
        if (out_dir / stale).is_file():  # a file it wrote; a folder put there since is the user's
            (out_dir / stale).unlink()
    _write(out_dir / MANIFEST, "".join(f"{name}\n" for name in now))
    return written


def _manifest(out_dir: Path) -> list[str]:
    """The files an earlier run wrote here; only plain relative paths inside the folder count (a hand-edited
    manifest cannot make osm-l2net delete anything outside it)."""
    try:
        lines = (out_dir / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [name for name in lines if name and not Path(name).is_absolute() and ".." not in Path(name).parts
            and not (out_dir / name).is_symlink()]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


__all__ = ["Descriptors", "Plan", "PlanOptions", "Problem", "ValuesLayout", "load", "plan", "validate", "write_plan_files"]
