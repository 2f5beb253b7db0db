"""Plans pinned byte for byte (key order included) before the planner's speed-up of issue 13, so that it changes none.

The goldens of test_generated_golden/test_plan/test_placement sort their keys; these do not, so a change of a
manifest's or a values map's key order shows too. Pinned: a hand-made NS touching what the generated ones do not (a
diamond of routers with equally near first hops, IPv6, allocation pools, a gateway, an MTU, a pure L2 link, two KDUs
in one KNF, replica pools, a forwarding override), that NS placed on three clusters, and the benchmark's shape at
100 and 1,000 virtual links (as SHA-256 digests of their JSON: a megabyte each). Written by the planner as it was at
21fb73f; regenerate with OSM_L2NET_UPDATE_GOLDEN=1 only after an intended change of the plan.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest

from osm_l2net.core.model import Descriptors, NsInstance
from osm_l2net.core.options import InterClusterProvider, PlanOptions
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from tests.conftest import REPO
from tests.support.descriptors import descriptors, service_docs, vnfd_doc

GOLDEN_DIR = REPO / "tests" / "golden"
DIGESTS = GOLDEN_DIR / "plan_digests.json"
UPDATE = bool(os.environ.get("OSM_L2NET_UPDATE_GOLDEN"))

# vld id -> its l3-protocol-data (None: pure L2) and l2 mtu
LINKS: dict[str, tuple[dict[str, Any] | None, int | None]] = {
    "l0": ({"ip-version": "ipv4", "cidr": "10.1.0.0/24", "gateway-ip": "10.1.0.1",
            "ip-allocation-pools": ["10.1.0.100-10.1.0.120"]}, 1450),
    "l1": ({"ip-version": "ipv4", "cidr": "10.1.1.0/24"}, None),
    "l2": ({"ip-version": "ipv4", "cidr": "10.1.2.0/24"}, None),
    "l3": ({"ip-version": "ipv4", "cidr": "10.1.3.0/24", "ip-allocation-pools": ["10.1.3.64/28"]}, None),
    "l4": ({"ip-version": "ipv6", "cidr": "fd00:4::/64", "gateway-ip": "fd00:4::1"}, 9000),
    "l5": (None, None),
    "l6": ({"ip-version": "ipv4", "cidr": "10.1.6.0/26"}, None),
}
# member -> (vnfd id, [(vld, cpd, pinned address)]): client → r1|r2 → r3|r4 → server, the two paths equally long
MEMBERS: dict[str, tuple[str, list[tuple[str, str, str | None]]]] = {
    "client": ("knf1", [("l0", "data0-ext", None)]),
    "r1": ("knf2", [("l0", "data0-ext", "10.1.0.5"), ("l1", "data1-ext", None)]),
    "r2": ("knf2", [("l0", "data0-ext", None), ("l2", "data1-ext", "10.1.2.9")]),
    "r3": ("knf2", [("l1", "data0-ext", None), ("l3", "data1-ext", None)]),
    "r4": ("knf3", [("l2", "data0-ext", None), ("l3", "data1-ext", "10.1.3.200"), ("l4", "data2-ext", None)]),
    "server": ("duo", [("l3", "data0-ext", None), ("l4", "data1-ext", "fd00:4::10"), ("l5", "data2-ext", None)]),
    "rep": ("knf2", [("l6", "data0-ext", None), ("l1", "data1-ext", None)]),
    "sink": ("knf2", [("l2", "data0-ext", None), ("l6", "data1-ext", "10.1.6.30")]),
}
PARAMS: dict[str, Any] = {
    "k8s-namespace": "mixed-ns",
    "additionalParamsForVnf": [
        {"member-vnf-index": "sink", "additionalParams": {"l2net": {"forwarding": False}}},
        {"member-vnf-index": "rep", "additionalParamsForKdu": [
            {"kdu_name": "app", "additionalParams": {"replicaCount": 3, "image": {"tag": "v2"}, "zeta": 1, "alpha": 2}}]},
        {"member-vnf-index": "server", "additionalParamsForKdu": [
            {"kdu_name": "side", "k8s-namespace": "side-ns", "additionalParams": {"podLabels": {"tier": "b"}}}]},
    ],
}
PLACEMENT = {"client": "east", "r1": "east", "r2": "east", "r3": "west", "r4": "west", "server": "west", "rep": "west"}


def duo_vnfd() -> dict[str, Any]:
    """A KNF of two KDUs: the first carries data0/data1 (its services name them), the second data2."""
    doc = vnfd_doc(3)
    doc["vnfd"].update(id="duo", **{"product-name": "duo"})
    doc["vnfd"]["kdu"] = [
        {"name": "app", "helm-chart": "repo/app", "service": [
            {"name": "a0", "external-connection-point-ref": "data0-ext"},
            {"name": "a1", "external-connection-point-ref": "data1-ext"}]},
        {"name": "side", "helm-chart": "repo/side", "service": [
            {"name": "s2", "external-connection-point-ref": "data2-ext"}]},
    ]
    return doc


def mixed_descriptors() -> Descriptors:
    vlds = [{"id": "mgmtnet", "mgmt-network": True}] + [{"id": vld} for vld in LINKS]
    vlps = []
    for vld, (l3, mtu) in LINKS.items():
        data: dict[str, Any] = {}
        if l3 is not None:
            data["l3-protocol-data"] = l3
        if mtu is not None:
            data["l2-protocol-data"] = {"mtu": mtu}
        vlps.append({"id": f"{vld}-profile", "virtual-link-desc-id": vld, "virtual-link-protocol-data": data})
    profiles = []
    for member, (vnfd_id, cps) in MEMBERS.items():
        vlc = [{"virtual-link-profile-id": "mgmtnet", "constituent-cpd-id": [
            {"constituent-base-element-id": member, "constituent-cpd-id": "mgmt-ext"}]}]
        for vld, cpd, ip in cps:
            cp = {"constituent-base-element-id": member, "constituent-cpd-id": cpd, **({"ip-address": ip} if ip else {})}
            vlc.append({"virtual-link-profile-id": vld, "constituent-cpd-id": [cp]})
        profiles.append({"id": member, "vnfd-id": vnfd_id, "virtual-link-connectivity": vlc})
    nsd = {"nsd": {"nsd": [{
        "id": "mixed_ns", "name": "mixed_ns", "designer": "test", "version": "1.0",
        "vnfd-id": ["knf1", "knf2", "knf3", "duo"], "virtual-link-desc": vlds,
        "df": [{"id": "default-df", "virtual-link-profile": vlps, "vnf-profile": profiles}],
    }]}}
    return descriptors(nsd, [vnfd_doc(1), vnfd_doc(2), vnfd_doc(3), duo_vnfd()])


def mixed_plan(params: dict[str, Any] = PARAMS, **options: Any) -> Plan:
    instance = NsInstance("mixed-id", "mixed", "gen", parse_params(params))
    return build_plan(mixed_descriptors(), instance, PlanOptions(**options))


def generated_plan(groups: int, **kwargs: Any) -> Plan:
    nsd, vnfds = service_docs(groups, 4, 2, **kwargs)
    return build_plan(descriptors(nsd, vnfds), NsInstance("bench", "bench"))


def text_of(plan: Plan) -> str:
    """The plan's JSON in the plan's own key order."""
    return json.dumps(plan.as_dict(), indent=1) + "\n"


@pytest.mark.parametrize(("name", "options"), [
    ("mixed_plan.json", {}),
    ("mixed_plan_three_clusters.json", {"placement": PLACEMENT, "inter_cluster": InterClusterProvider("idco", "10.0.0.5")}),
    # Multus gives no replica its own address: the same NS without the replicas
    ("mixed_plan_multus.json", {"provider": "multus", "params": {**PARAMS, "additionalParamsForVnf": [
        v for v in PARAMS["additionalParamsForVnf"] if v["member-vnf-index"] != "rep"]}}),
])
def test_mixed_plan_matches_its_golden(name: str, options: dict[str, Any]) -> None:
    text, golden = text_of(mixed_plan(**options)), GOLDEN_DIR / name
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()


CASES: dict[str, tuple[int, dict[str, Any]]] = {"generated-100": (25, {"pin_every": 3, "seed": 5}),
                                                 "bench-1000": (250, {})}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_plan_matches_its_digest(case: str) -> None:
    groups, kwargs = CASES[case]
    digest = hashlib.sha256(text_of(generated_plan(groups, **kwargs)).encode()).hexdigest()
    if UPDATE:
        DIGESTS.write_text(json.dumps({**json.loads(DIGESTS.read_text() if DIGESTS.exists() else "{}"),
                                       case: digest}, indent=1, sort_keys=True) + "\n")
    assert digest == json.loads(DIGESTS.read_text())[case]


def test_the_mixed_plan_exercises_what_it_is_meant_to() -> None:
    """Guards the guard: the mixed NS keeps its ambiguity warning, pools, IPv6 and stretched links."""
    plan = json.loads((GOLDEN_DIR / "mixed_plan.json").read_text())
    assert any("equally near" in w["message"] for w in plan["warnings"])
    networks = {n["vld"]: n for n in plan["networks"]}
    assert networks["l6"]["podAddressRange"] and networks["l4"]["ipVersion"] == "ipv6" and networks["l0"]["mtu"] == 1450
    kdus = {k["memberVnfIndex"] + "/" + k["kdu"]: k for k in plan["kdus"]}
    assert kdus["rep/app"]["replicas"] == 3 and kdus["sink/app"]["forwarding"] is False
    assert kdus["server/side"]["namespace"] == "side-ns" and kdus["client/app"]["routes"]
    assert [i["ip"] for i in kdus["client/app"]["interfaces"]] == ["10.1.0.100/24"]  # from its allocation pool
    placed = json.loads((GOLDEN_DIR / "mixed_plan_three_clusters.json").read_text())
    assert sorted({n.get("cluster", "") for n in placed["networks"] if n["vld"] == "l2"}) == ["", "east", "west"]
