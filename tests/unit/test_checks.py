"""Every validation rule, negative (the problem names the right path) and positive (the valid input passes)."""

from __future__ import annotations

from typing import Any

import pytest

from osm_l2net.core.errors import Problem
from tests.unit import cdn


def one(found: list[Problem], path_fragment: str, message_fragment: str) -> Problem:
    match = [p for p in found if path_fragment in p.path and message_fragment in p.message + p.expected]
    assert match, "\n".join(str(p) for p in found)
    assert match[0].expected
    return match[0]


def test_the_cdn_service_is_valid() -> None:
    plan = cdn.plan()
    assert [n.vld_id for n in plan.networks] == ["my-first-osm-net", "my-second-osm-net"]
    assert plan.warnings == ()


def test_vnf_profile_vnfd_not_in_nsd_list() -> None:
    nsd, vnfds = cdn.docs()
    cdn.nsd_body(nsd)["vnfd-id"].remove("cdn_server_knf")
    one(cdn.problems(nsd, vnfds), "nsd[0].df[0].vnf-profile[0].vnfd-id", "not in the NSD's vnfd-id list")


def test_vnfd_not_given() -> None:
    nsd, vnfds = cdn.docs()
    del vnfds["content_server_knf"]
    p = one(cdn.problems(nsd, vnfds), "vnf-profile[2].vnfd-id", "was not given")
    assert p.source == str(cdn.NSD_FILE)


def test_constituent_base_element_id_on_a_data_link_must_be_the_profile() -> None:
    """OSM accepts it, but then records the connection point (and its ip-address) as another member's: ambiguous."""
    nsd, vnfds = cdn.docs()
    cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["constituent-base-element-id"] = "x"
    p = one(cdn.problems(nsd, vnfds), "constituent-cpd-id[0].constituent-base-element-id", "not this vnf-profile's id")
    assert "cannot be planned because" in p.message and "'cdn-server'" in p.expected


def test_constituent_cpd_id_must_be_an_ext_cpd() -> None:
    nsd, vnfds = cdn.docs()
    cdn.profile(nsd, "router-firewall")["virtual-link-connectivity"][2]["constituent-cpd-id"][0]["constituent-cpd-id"] = "nope"
    p = one(cdn.problems(nsd, vnfds), "vnf-profile[1].virtual-link-connectivity[2].constituent-cpd-id[0].constituent-cpd-id",
            "matches no ext-cpd")
    assert "content-side-ext" in p.expected


def test_virtual_link_profile_id_must_name_a_vld() -> None:
    nsd, vnfds = cdn.docs()
    cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["virtual-link-profile-id"] = "ghost"
    one(cdn.problems(nsd, vnfds), "vnf-profile[0].virtual-link-connectivity[1].virtual-link-profile-id", "matches no virtual-link-desc")


def test_a_virtual_link_profile_for_no_vld_is_a_warning_and_applies_to_nothing() -> None:
    """LCM looks a VLD's profile up by virtual-link-desc-id: a profile naming no VLD is never found (OSM accepts it)."""
    nsd, vnfds = cdn.docs()
    vlps = cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"]
    vlps.append({**vlps[0], "id": "spare", "virtual-link-desc-id": "ghost"})
    plan = cdn.plan(nsd, vnfds)
    (w,) = [p for p in plan.warnings if p.path == "nsd[0].df[0].virtual-link-profile[2].virtual-link-desc-id"]
    assert "matches no virtual-link-desc id" in w.message and "applies this profile to no virtual link" in w.message
    assert w.severity == "warning" and "my-first-osm-net" in w.expected
    assert [n.cidr for n in plan.networks] == ["10.0.1.0/24", "10.0.2.0/24"]


def test_mgmt_network_must_not_carry_protocol_data() -> None:
    nsd, vnfds = cdn.docs()
    cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"].append({
        "id": "mgmtnet", "virtual-link-desc-id": "mgmtnet",
        "virtual-link-protocol-data": {"l3-protocol-data": {"cidr": "10.9.0.0/24"}}})
    one(cdn.problems(nsd, vnfds), "virtual-link-profile[2].virtual-link-protocol-data", "mgmt-network")


def test_overlapping_cidrs() -> None:
    nsd, vnfds = cdn.docs()
    cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][1]["virtual-link-protocol-data"]["l3-protocol-data"]["cidr"] = "10.0.0.0/16"
    one(cdn.problems(nsd, vnfds), "virtual-link-profile", "overlaps")


CDN_CP = "vnf-profile[0].virtual-link-connectivity[1].constituent-cpd-id[0].ip-address"


@pytest.mark.parametrize(("ip", "path", "fragment"), [
    ("10.0.9.10", CDN_CP, "outside the link's cidr"),
    ("10.0.1.0", CDN_CP, "network or broadcast"),
    ("10.0.1.255", CDN_CP, "network or broadcast"),
    # the second holder of an address is the one reported, pointing back at the first
    ("10.0.1.1", "vnf-profile[1].virtual-link-connectivity[1].constituent-cpd-id[0].ip-address", "also given to 'cdn-server'"),
    ("fd00::1", CDN_CP, "IPv6 on an IPv4 link"),
])
def test_pinned_address_rules(ip: str, path: str, fragment: str) -> None:
    nsd, vnfds = cdn.docs()
    cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["ip-address"] = ip
    one(cdn.problems(nsd, vnfds), path, fragment)


def test_address_without_cidr() -> None:
    nsd, vnfds = cdn.docs()
    del cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][0]["virtual-link-protocol-data"]
    one(cdn.problems(nsd, vnfds), "ip-address", "has no cidr")


def test_interface_capacity() -> None:
    found = cdn.problems(interface_capacity=1)
    p = one(found, "vnf-profile[1]", "needs 2 L2 interfaces")
    assert "at most 1" in p.expected
    assert cdn.plan(interface_capacity=2).kdu("router-firewall") is not None


@pytest.mark.parametrize(("config", "path", "fragment"), [
    ({"vld": [{"name": "ghost"}]}, "vld[0].name", "matches no VLD"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "cdn-server", "kdu-deployment-name": "Bad_Name"}]}]}, "kdu-deployment-name", "helm release name"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "k8s-namespace": "Not Valid"}]},
     "additionalParamsForVnf[0].k8s-namespace", "Kubernetes namespace"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "router-firewall", "additionalParams": {"l2net": {"forwarding": "yes"}}}]},
     "l2net.forwarding", "not a boolean"),
])
def test_instantiation_parameter_rules(config: dict[str, Any], path: str, fragment: str) -> None:
    p = one(cdn.problems(config=config), path, fragment)
    assert p.source == "config.yaml"


# Entries NBI v19 never looks at (instance_topics.py: _format_additional_params finds additionalParamsForVnf by the NS's
# member-vnf-indexes and additionalParamsForKdu by its KDU names; _update_vnfrs applies vld[].vnfd-connection-point-ref
# only to the NS's connection points): warnings, and the plan is what it is without them.
@pytest.mark.parametrize(("config", "path", "fragment"), [
    ({"vld": [{"name": "my-first-osm-net", "vnfd-connection-point-ref": [
        {"member-vnf-index-ref": "cdn-server", "vnfd-connection-point-ref": "nope", "ip-address": "10.0.1.5"}]}]},
     "vld[0].vnfd-connection-point-ref", "not a connection point of the NS; OSM NBI ignores it"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "ghost", "k8s-namespace": "Not Valid",
                                  "additionalParams": {"l2net": {"forwarding": "yes"}}}]},
     "additionalParamsForVnf[0].member-vnf-index", "not a vnf-profile id; OSM NBI ignores this additionalParamsForVnf"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "x", "kdu-deployment-name": "Bad_Name", "additionalParams": {"replicaCount": 3}}]}]},
     "additionalParamsForKdu[0].kdu_name", "not a KDU of 'cdn_server_knf'; OSM NBI ignores this additionalParamsForKdu"),
])
def test_parameters_osm_ignores_are_warnings(config: dict[str, Any], path: str, fragment: str) -> None:
    plan = cdn.plan(config=config)
    (w,) = [p for p in plan.warnings if path in p.path]
    assert fragment in w.message and w.source == "config.yaml" and w.expected
    assert plan.as_dict()["kdus"] == cdn.plan().as_dict()["kdus"]  # nothing of them reaches the plan


def test_bad_namespace_flag() -> None:
    p = one(cdn.problems(namespace="UPPER"), "", "Kubernetes namespace")
    assert p.source == "--namespace" and str(p).startswith("--namespace: 'UPPER' is not a DNS-1123 label")


def test_kdu_name_must_be_a_label_value() -> None:
    nsd, vnfds = cdn.docs()
    vnfds["cdn_server_knf"]["vnfd"]["kdu"][0]["name"] = "-bad name-"
    p = one(cdn.problems(nsd, vnfds), "vnfd.kdu[0].name", "label value")
    assert p.source.endswith("cdn_server_vnfd.yaml")


def test_replicas_with_pinned_address_is_refused_and_unpinned_is_left_to_l2sm() -> None:
    scale = {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "cdn-server", "additionalParams": {"replicaCount": 3}}]}]}
    one(cdn.problems(config=scale), "ip-address", "every replica would get the same address")
    nsd, vnfds = cdn.docs()
    del cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["ip-address"]
    kdu = cdn.plan(nsd, vnfds, config=scale).kdu("cdn-server")
    assert kdu is not None and kdu.replicas == 3 and kdu.interfaces[0].ip is None
    assert '"ips"' not in kdu.pod_annotations["l2sm/networks"]
    nsd, vnfds = cdn.docs()
    del cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["ip-address"]
    one(cdn.problems(nsd, vnfds, config=scale, provider="multus"), "constituent-cpd-id[0]", "cannot give each replica")


def test_gateway_outside_cidr_is_a_warning_only() -> None:
    nsd, vnfds = cdn.docs()
    cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][0]["virtual-link-protocol-data"]["l3-protocol-data"]["gateway-ip"] = "10.9.9.9"
    plan = cdn.plan(nsd, vnfds)
    assert [w.message for w in plan.warnings if "gateway-ip" in w.message]


def test_bad_allocation_pool() -> None:
    nsd, vnfds = cdn.docs()
    l3 = cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][0]["virtual-link-protocol-data"]["l3-protocol-data"]
    l3["ip-allocation-pools"] = ["10.0.2.5-10.0.2.9"]
    one(cdn.problems(nsd, vnfds), "ip-allocation-pools[0]", "not inside")


def test_an_address_set_by_the_parameters_is_blamed_on_the_parameters() -> None:
    config = {"vld": [{"name": "my-first-osm-net", "vnfd-connection-point-ref": [
        {"member-vnf-index-ref": "cdn-server", "vnfd-connection-point-ref": "data-ext", "ip-address": "10.0.2.10"}]}]}
    p = one(cdn.problems(config=config), "vld[0].vnfd-connection-point-ref[member-vnf-index-ref=cdn-server", "outside")
    assert p.source == "config.yaml" and p.path.endswith("].ip-address")
    config["vld"][0]["vnfd-connection-point-ref"][0]["ip-address"] = "10.0.1.1"  # the router's, pinned in the NSD
    dup = one(cdn.problems(config=config), "", "also given to")
    assert dup.source in ("config.yaml", str(cdn.NSD_FILE))
    assert "config.yaml" in dup.source + dup.message
