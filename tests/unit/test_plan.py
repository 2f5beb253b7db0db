"""The planner: the PoC's expected result, determinism, names, providers, addresses, values, routes and hops."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import pickle
import re
from pathlib import Path

import pytest

from osm_l2net import api
from osm_l2net.core.names import network_name, network_names, short_hash, slug
from osm_l2net.core.plan import Interface, KduPlan, NetworkPlan, Plan, Route
from osm_l2net.core.providers.l2sm_nad import CONFIG
from osm_l2net.core.routing import Unreachable, expected_path, expected_ttl
from tests.conftest import CDN_PACKAGES, REPO
from tests.unit import cdn

GOLDEN = REPO / "tests" / "golden" / "cdn_plan.json"
DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def cdn_plan(**kwargs: object) -> Plan:
    return api.plan(CDN_PACKAGES, ns_name="vod-service-deployment", ns_id="6f1c9a52-3c43-4c1e-9d6b-1f2a3b4c5d6e", **kwargs)  # type: ignore[arg-type]


def test_golden_cdn_plan() -> None:
    """The whole plan, byte for byte; regenerate with OSM_L2NET_UPDATE_GOLDEN=1 after an intended change."""
    data = cdn_plan().as_dict()  # chart folders relative to their package: the same bytes in every checkout
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if os.environ.get("OSM_L2NET_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_cdn_plan_has_the_pocs_networks_addresses_and_routes() -> None:
    plan = cdn_plan()
    assert [(n.kind, n.cidr) for n in plan.networks] == [("L2Network", "10.0.1.0/24"), ("L2Network", "10.0.2.0/24")]
    assert all(n.vld_id != "mgmtnet" for n in plan.networks)
    ips = {k.member_vnf_index: [i.ip for i in k.interfaces] for k in plan.kdus}
    assert ips == {"cdn-server": ["10.0.1.10/24"], "router-firewall": ["10.0.1.1/24", "10.0.2.1/24"],
                   "content-server": ["10.0.2.10/24"]}
    routes = {k.member_vnf_index: [(r.to, r.via, r.dev) for r in k.routes] for k in plan.kdus}
    assert routes["cdn-server"] == [("10.0.2.0/24", "10.0.1.1", "net1")]
    assert routes["content-server"] == [("10.0.1.0/24", "10.0.2.1", "net1")]
    assert routes["router-firewall"] == []
    assert [k.forwarding for k in plan.kdus] == [False, True, False]


def test_cdn_hops_and_ttl_follow_from_the_plan() -> None:
    plan = cdn_plan()
    path = expected_path(plan, "cdn-server", "10.0.2.10")
    assert path == ("10.0.1.1", "10.0.2.10")
    assert expected_ttl(path) == 63
    assert expected_path(plan, "content-server", "10.0.1.10") == ("10.0.2.1", "10.0.1.10")


def test_two_routers_in_a_chain_give_three_hops() -> None:
    plan = api.plan([REPO / "examples" / "two_routers"], ns_name="chain")
    path = expected_path(plan, "client", plan.kdus[-1].interfaces[0].address or "")
    assert path == ("10.1.1.1", "10.1.2.2", "10.1.3.2")
    assert expected_ttl(path) == 62
    r1 = plan.kdu("router-1")
    assert r1 is not None and [(r.to, r.via) for r in r1.routes] == [("10.1.3.0/24", "10.1.2.2")]


def test_without_forwarding_the_far_side_is_unreachable_and_reported() -> None:
    config = {"additionalParamsForVnf": [{"member-vnf-index": "router-firewall", "additionalParams": {"l2net": {"forwarding": False}}}]}
    plan = cdn.plan(config=config)
    cache = plan.kdu("cdn-server")
    assert cache is not None and cache.routes == ()
    with pytest.raises(Unreachable):
        expected_path(plan, "cdn-server", "10.0.2.10")
    assert any("2 groups" in w.message for w in plan.warnings)


def test_plans_are_deterministic_and_names_unique_per_ns_instance() -> None:
    a, b = cdn_plan(), cdn_plan()
    assert a.as_dict() == b.as_dict()
    other = api.plan(CDN_PACKAGES, ns_name="vod-service-deployment", ns_id="another-id")
    names_a = {n.name for n in a.networks}
    names_b = {n.name for n in other.networks}
    assert names_a.isdisjoint(names_b)
    for name in names_a | names_b:
        assert DNS1123.fullmatch(name) and len(name) <= 63


def test_default_ns_id_is_stable_for_a_name() -> None:
    one = api.plan(CDN_PACKAGES, ns_name="x")
    two = api.plan(CDN_PACKAGES, ns_name="x")
    assert one.ns_id == two.ns_id
    assert one.ns_id != api.plan(CDN_PACKAGES, ns_name="y").ns_id


def test_long_ids_still_give_valid_names() -> None:
    plan = cdn.plan(ns_name="A" * 200 + "_svc", ns_id="x" * 300)
    for n in plan.networks:
        assert DNS1123.fullmatch(n.name) and len(n.name) <= 63
        assert len(n.manifest["metadata"]["labels"]["osm.etsi.org/ns-id"]) <= 63


def test_network_names_are_the_documented_rule_for_each_vld() -> None:
    # the planner names a big NS's networks in one batch (VLD ids slugged without slug's cache): each name is
    # <slug(ns name, 24)>-<slug(vld id, 29)>-<short_hash(ns id, vld id)>, and network_name gives the same one by one
    ids = ["g1-l0", "A_b--c", "x" * 40, "-a-", "Ünï", "", "data.1"]
    for ns_name, ns_id in [("bench", "bench"), ("My NS_" + "A" * 30, "id-1")]:
        rule = {v: f"{slug(ns_name, 24)}-{slug(v, 29)}-{short_hash(ns_id, v)}" for v in ids}
        assert network_names(ns_name, ns_id, ids) == rule
        assert {v: network_name(ns_name, ns_id, v) for v in ids} == rule


def test_l2sm_pod_metadata_and_values() -> None:
    plan = cdn_plan()
    router = plan.kdu("router-firewall")
    assert router is not None
    assert router.pod_labels["l2sm"] == "true"
    assert "k8s.v1.cni.cncf.io/networks" not in router.pod_annotations  # the L2S-M webhook would skip the pod
    networks = json.loads(router.pod_annotations["l2sm/networks"])
    assert networks == [{"name": plan.networks[0].name, "ips": ["10.0.1.1/24"]},
                        {"name": plan.networks[1].name, "ips": ["10.0.2.1/24"]}]
    assert router.values["podLabels"] == dict(router.pod_labels)
    assert router.values["l2net"]["forwarding"] is True
    assert [i["name"] for i in router.values["l2net"]["interfaces"]] == ["net1", "net2"]


def test_l2sm_nad_provider_is_byte_exact() -> None:
    plan = cdn.plan(provider="l2sm-nad")
    for net in plan.networks:
        assert net.kind == "NetworkAttachmentDefinition"
        assert net.manifest["spec"]["config"] == CONFIG
        assert '"device": "l2sm-vNet"' in net.manifest["spec"]["config"]
    router = plan.kdu("router-firewall")
    assert router is not None
    assert router.pod_annotations == {"k8s.v1.cni.cncf.io/networks": f"{plan.networks[0].name}, {plan.networks[1].name}"}
    assert router.pod_labels.get("l2sm") is None


def test_multus_provider_static_ipam() -> None:
    plan = cdn.plan(provider="multus", namespace="vod")
    config = json.loads(plan.networks[0].manifest["spec"]["config"])
    assert config["type"] == "bridge" and config["ipam"] == {"type": "static"}
    assert len(config["bridge"]) <= 15
    cache = plan.kdu("cdn-server")
    assert cache is not None
    assert json.loads(cache.pod_annotations["k8s.v1.cni.cncf.io/networks"]) == [
        {"name": plan.networks[0].name, "namespace": "vod", "interface": "net1", "ips": ["10.0.1.10/24"]}]


def test_unpinned_addresses_are_allocated_around_pinned_ones_and_the_gateway() -> None:
    nsd, vnfds = cdn.docs()
    cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0].pop("ip-address")
    l3 = cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][0]["virtual-link-protocol-data"]["l3-protocol-data"]
    l3["gateway-ip"] = "10.0.1.2"
    plan = cdn.plan(nsd, vnfds)
    cache = plan.kdu("cdn-server")
    assert cache is not None and cache.interfaces[0].ip == "10.0.1.3/24"  # .1 pinned to the router, .2 the gateway


def test_allocation_pool_is_honoured() -> None:
    nsd, vnfds = cdn.docs()
    cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0].pop("ip-address")
    l3 = cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][0]["virtual-link-protocol-data"]["l3-protocol-data"]
    l3["ip-allocation-pools"] = ["10.0.1.100-10.0.1.120"]
    cache = cdn.plan(nsd, vnfds).kdu("cdn-server")
    assert cache is not None and cache.interfaces[0].ip == "10.0.1.100/24"


def test_instantiation_parameters_override_addresses_and_subnets() -> None:
    config = {"vld": [{"name": "my-first-osm-net", "ip-profile": {"subnet-address": "192.168.50.0/24"},
                       "vnfd-connection-point-ref": [
                           {"member-vnf-index-ref": "cdn-server", "vnfd-connection-point-ref": "data-ext", "ip-address": "192.168.50.10"},
                           {"member-vnf-index-ref": "router-firewall", "vnfd-connection-point-ref": "cache-side-ext",
                            "ip-address": "192.168.50.1"}]}]}
    plan = cdn.plan(config=config)
    assert plan.networks[0].cidr == "192.168.50.0/24"
    cache = plan.kdu("cdn-server")
    assert cache is not None and cache.interfaces[0].ip == "192.168.50.10/24"
    content = plan.kdu("content-server")
    assert content is not None and content.routes[0].to == "192.168.50.0/24"


def test_user_values_are_kept_and_merged_with_the_attachment() -> None:
    config = {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "k8s-namespace": "cache-ns",
                                          "additionalParamsForKdu": [{
        "kdu_name": "cdn-server", "kdu-deployment-name": "my-cache",
        "additionalParams": {"podLabels": {"team": "video"}, "image": {"tag": "1.2"}, "nested": "!!yaml {a: [1, 2]}"}}]}]}
    cache = cdn.plan(config=config).kdu("cdn-server")
    assert cache is not None
    assert cache.values["podLabels"] == {"team": "video", "l2sm": "true", "osm.etsi.org/ns-id": "ns-1"}
    assert cache.values["image"] == {"tag": "1.2"}
    assert cache.values["nested"] == {"a": [1, 2]}  # NBI's "!!yaml" strings are decoded as LCM does
    assert cache.release_name == "my-cache" and cache.namespace == "cache-ns"


def test_values_layout_is_configurable() -> None:
    from osm_l2net.core.options import PlanOptions, ValuesLayout

    plan = api.plan(CDN_PACKAGES, ns_name="x", options=PlanOptions(
        values_layout=ValuesLayout("server.podLabels", "server.podAnnotations", "net.l2")))
    cache = plan.kdu("cdn-server")
    assert cache is not None
    assert cache.values["server"]["podLabels"]["l2sm"] == "true"
    assert cache.values["net"]["l2"]["interfaces"][0]["ip"] == "10.0.1.10/24"
    assert "podLabels" not in cache.values


def test_plan_round_trips_through_json() -> None:
    plan = cdn_plan()
    again = Plan.from_dict(json.loads(json.dumps(plan.as_dict())))
    assert again.as_dict() == plan.as_dict()
    with pytest.raises(ValueError, match="not an osm-l2net plan"):
        Plan.from_dict({"schema": "other"})


def test_local_charts_are_found_in_the_packages() -> None:
    plan = cdn_plan()
    for kdu in plan.kdus:
        if kdu.chart_path is not None:
            assert (Path(kdu.chart_path) / "Chart.yaml").is_file()


@pytest.mark.parametrize("cls", [Route, Interface, NetworkPlan, KduPlan])
def test_hand_written_inits_take_the_fields_in_order_and_keep_the_dataclass_behaviour(cls: type) -> None:
    # these __init__s are written out (speed: see plan.py); they must stay the dataclass's own signature
    fields = dataclasses.fields(cls)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default) for f in fields]
    values = [f"v{i}" for i in range(len(fields))]
    one, same = cls(*values), cls(**{f.name: v for f, v in zip(fields, values, strict=True)})
    assert one == same and hash(one) == hash(same) and repr(one) == repr(same)
    assert repr(one).startswith(f"{cls.__name__}({fields[0].name}='v0'")
    assert pickle.loads(pickle.dumps(one)) == one and dataclasses.replace(one, **{fields[0].name: "x"}) != one
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(one, fields[0].name, "x")
