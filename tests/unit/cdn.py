"""The CDN service's descriptors as mutable dicts, for tests that break one thing at a time."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import yaml

from osm_l2net.core.errors import InputError, Problem
from osm_l2net.core.model import Descriptors, NsInstance
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from osm_l2net.core.sol006 import parse_nsd, parse_vnfd
from tests.conftest import DESCRIPTORS

NSD_FILE = DESCRIPTORS / "vod_service_ns" / "vod_service_nsd.yaml"
VNFD_FILES = {
    "cdn_server_knf": DESCRIPTORS / "cdn_server_knf" / "cdn_server_vnfd.yaml",
    "content_server_knf": DESCRIPTORS / "content_server_knf" / "content_server_vnfd.yaml",
    "router_firewall_knf": DESCRIPTORS / "router_firewall_knf" / "router_firewall_vnfd.yaml",
}


@cache
def _raw() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    return (yaml.safe_load(NSD_FILE.read_text()), {k: yaml.safe_load(v.read_text()) for k, v in VNFD_FILES.items()})


def docs() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Fresh copies: (nsd document, {vnfd id: vnfd document})."""
    return copy.deepcopy(_raw())


def nsd_body(nsd: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = nsd["nsd"]["nsd"][0]
    return body


def profile(nsd: dict[str, Any], member: str) -> dict[str, Any]:
    return next(p for p in nsd_body(nsd)["df"][0]["vnf-profile"] if p["id"] == member)


def descriptors(nsd: dict[str, Any], vnfds: dict[str, dict[str, Any]]) -> Descriptors:
    parsed = [parse_vnfd(v, str(VNFD_FILES.get(k, f"{k}.yaml"))) for k, v in vnfds.items()]
    return Descriptors(parse_nsd(nsd, str(NSD_FILE)), {v.id: v for v in parsed})


def plan(nsd: dict[str, Any] | None = None, vnfds: dict[str, dict[str, Any]] | None = None,
         config: dict[str, Any] | None = None, ns_id: str = "ns-1", ns_name: str = "vod-service-deployment",
         **options: Any) -> Plan:
    base_nsd, base_vnfds = docs()
    instance = NsInstance(ns_id, ns_name, options.get("namespace", "default"), parse_params(config, "config.yaml"))
    return build_plan(descriptors(nsd or base_nsd, vnfds or base_vnfds), instance, PlanOptions(**options))


def problems(nsd: dict[str, Any] | None = None, vnfds: dict[str, dict[str, Any]] | None = None,
             config: dict[str, Any] | None = None, **options: Any) -> list[Problem]:
    """The errors a plan attempt raises (fails the test if it succeeds)."""
    try:
        plan(nsd, vnfds, config, **options)
    except InputError as e:
        return [p for p in e.problems if p.severity == "error"]
    raise AssertionError("the plan was accepted")
