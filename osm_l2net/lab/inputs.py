"""Where the lab's inputs come from: a plan JSON file, or OSM packages/descriptor paths through the planner;
a lab profile YAML file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from osm_l2net import api
from osm_l2net.core.errors import InputError
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.plan import Plan
from osm_l2net.core.yamlsafe import YamlInputError
from osm_l2net.lab.profile import Profile, load_profile
from osm_l2net.local.packages import read_yaml

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROFILE = Path("examples/cdn_vod/lab.yaml")
DEFAULT_PACKAGES = Path("descriptors")


def default_path(relative: Path) -> Path:
    """``relative`` from the current directory, else from the source checkout this package runs from."""
    return relative if relative.exists() else REPO / relative


def load_profile_file(path: Path) -> Profile:
    try:
        data = read_yaml(path)
    except YamlInputError as e:
        raise InputError(e.problem(str(path))) from e
    if not isinstance(data, dict):
        raise InputError.single(str(path), "", "not a mapping", "a lab profile (schema, members, ...)")
    return load_profile(data, str(path))


def is_plan_file(paths: Sequence[Path]) -> bool:
    return len(paths) == 1 and paths[0].is_file() and paths[0].suffix == ".json"


def load_plan(paths: Sequence[Path], ns_name: str, ns_id: str | None = None, config: Mapping[str, Any] | None = None,
              config_source: str = "--config", options: PlanOptions | None = None) -> Plan:
    """A plan JSON file as it is, or a plan made now from OSM packages / descriptor files with ``config``
    (osmclient's instantiation parameters: replicaCount, ...) and ``options`` (e.g. a placement of the KNFs on
    clusters)."""
    if is_plan_file(paths):
        if config:  # a plan already holds its parameters: planning them in again would be a silent no-op
            raise InputError.single(config_source, "", f"instantiation parameters given with the plan file {paths[0]}",
                                    "--config with descriptors or packages, or a plan made with them")
        if options is not None and options.placement:
            raise InputError.single(str(paths[0]), "", "a plan file is planned already: --cluster cannot place it",
                                    "--cluster with OSM packages or descriptors, or a plan made with "
                                    "'osm-l2net plan --cluster … -o json'")
        return _plan_file(paths[0])
    # a folder of packages: the reader expands it
    return api.plan([str(p) for p in paths], ns_name=ns_name, ns_id=ns_id, config=config, config_source=config_source,
                    options=options)


def _plan_file(path: Path) -> Plan:
    try:
        data: Any = json.loads(path.read_text())
        return Plan.from_dict(data)
    except OSError as e:
        raise InputError.single(str(path), "", f"cannot read: {e.strerror}", "a plan JSON file") from e
    except (ValueError, KeyError, TypeError) as e:
        raise InputError.single(str(path), "", f"not a valid plan: {e}",
                                "the output of 'osm-l2net plan -o json'") from e
