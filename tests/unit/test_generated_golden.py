"""Generated NSDs planned byte for byte against golden files, so that no optimisation of the core can change a plan.

The goldens were written by the planner as it was before the performance work of issue 2; regenerate them with
OSM_L2NET_UPDATE_GOLDEN=1 only after an intended change of the plan.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from osm_l2net.core.model import NsInstance
from osm_l2net.core.options import PlanOptions, ValuesLayout
from osm_l2net.core.params import parse_params
from osm_l2net.core.planner import build_plan
from tests.conftest import REPO
from tests.support.descriptors import descriptors, service_docs

GOLDEN_DIR = REPO / "tests" / "golden"

# Parameters touching every lookup the planner makes: ip-profile and pinned cp addresses, forwarding overrides,
# replica counts, release names, namespaces at every level and user values that the attachment is merged into.
PARAMS: dict[str, Any] = {
    "k8s-namespace": "gen-ns",
    "vld": [
        {"name": "g0-l1", "ip-profile": {"ip-version": "ipv4", "subnet-address": "10.200.0.0/24",
                                         "gateway-address": "10.200.0.254"},
         "vnfd-connection-point-ref": [{"member-vnf-index-ref": "g0-k1", "vnfd-connection-point-ref": "data0-ext",
                                        "ip-address": "10.200.0.77"}]},
        {"name": "g1-l0", "vnfd-connection-point-ref": [
            {"member-vnf-index-ref": "g1-k0", "vnfd-connection-point-ref": "data0-ext", "ip-address": "10.0.5.9"}]},
    ],
    "additionalParamsForVnf": [
        {"member-vnf-index": "g0-k0", "additionalParams": {"l2net": {"forwarding": False}},
         "k8s-namespace": "vnf-ns",
         "additionalParamsForKdu": [{"kdu_name": "app", "additionalParams": {
             "replicaCount": 1, "podLabels": {"team": "a"}, "l2net": {"extra": [1, 2]}, "image": {"tag": "v1"}}}]},
        {"member-vnf-index": "g1-k2", "additionalParamsForKdu": [
            {"kdu_name": "app", "k8s-namespace": "kdu-ns", "kdu-deployment-name": "my-release",
             "additionalParams": {"replicaCount": 3, "podAnnotations": "!!yaml {note: kept}"}}]},
        {"member-vnf-index": "g2-k1", "additionalParams": {"l2net": {"forwarding": True}}},
    ],
}

CASES: dict[str, tuple[tuple[int, int, int], dict[str, Any], dict[str, Any] | None, PlanOptions]] = {
    "l2sm": ((20, 4, 2), {}, None, PlanOptions()),
    "multus": ((3, 4, 2), {"prefix": 26}, None, PlanOptions(provider="multus")),
    "l2sm-nad": ((3, 4, 2), {"pin_every": 3, "seed": 7}, None, PlanOptions(provider="l2sm-nad")),
    "params": ((3, 5, 3), {"pin_every": 0}, PARAMS,
               PlanOptions(values_layout=ValuesLayout("pod.labels", "pod.annotations", "net.l2net"))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_plan_matches_its_golden(case: str) -> None:
    shape, kwargs, config, options = CASES[case]
    nsd, vnfds = service_docs(*shape, **kwargs)
    instance = NsInstance(f"gen-{case}", f"gen-{case}", "gen", parse_params(config))
    plan = build_plan(descriptors(nsd, vnfds), instance, options)
    text = json.dumps(plan.as_dict(), indent=1, sort_keys=True) + "\n"
    golden = GOLDEN_DIR / f"generated_plan_{case}.json"
    if os.environ.get("OSM_L2NET_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_goldens_exercise_what_they_are_meant_to() -> None:
    """Guards the guard: the cases keep their warnings, overrides and replicas, or the goldens would prove little."""
    plans = {case: json.loads((GOLDEN_DIR / f"generated_plan_{case}.json").read_text()) for case in CASES}
    assert len(plans["l2sm"]["networks"]) == 80 and len(plans["l2sm"]["kdus"]) == 40
    assert any("20 groups" in w["message"] for w in plans["l2sm"]["warnings"])
    kdus = {k["memberVnfIndex"]: k for k in plans["params"]["kdus"]}
    assert kdus["g0-k0"]["forwarding"] is False and kdus["g0-k0"]["namespace"] == "vnf-ns"
    assert kdus["g1-k2"]["replicas"] == 3 and kdus["g1-k2"]["releaseName"] == "my-release"
    assert kdus["g1-k2"]["namespace"] == "kdu-ns"
    assert all(k["routes"] for k in plans["multus"]["kdus"])
