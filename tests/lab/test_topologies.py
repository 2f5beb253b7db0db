"""Routes are computed, not hard-coded: a two-router chain gives TTL 62 and 3 hops; two NS instances stay apart."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace

import pytest

from osm_l2net import api
from osm_l2net.core.plan import Plan
from osm_l2net.lab import Lab
from osm_l2net.lab.expect import expected_ttl
from osm_l2net.lab.inputs import REPO
from osm_l2net.lab.observe import parse_ping
from osm_l2net.lab.profile import Profile
from tests.lab.leftovers import netns_of
from tests.lab.plans import cdn_plan, chain_plan, check_client_reaches_server, kdu, network

pytestmark = pytest.mark.lab


def _planned_chain() -> Plan:
    return api.plan([str(REPO / "examples" / "two_routers")], ns_name="two-routers-lab")


@pytest.mark.parametrize("make_plan", [chain_plan, _planned_chain], ids=["hand-built", "planned-from-descriptors"])
def test_two_routers_in_a_chain(lab_name: str, make_plan: Callable[[], Plan]) -> None:
    plan = make_plan()
    lab = Lab(lab_name)
    lab.up(plan, Profile())
    _, path = check_client_reaches_server(lab, plan)
    assert expected_ttl(path) == 62
    assert len(path) == 3


def _neigh_mac(lab: Lab, member: str, address: str) -> str:
    out = lab.exec(member, ["ip", "neigh", "show", address], 10, True).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else ""


def test_two_ns_instances_with_the_same_addresses_cannot_reach_each_other(lab_name: str) -> None:
    a, b = Lab(lab_name), Lab(f"{lab_name}_b")
    spec_a = a.up(cdn_plan("ns-instance-a"), Profile())
    spec_b = b.up(cdn_plan("ns-instance-b"), Profile())
    for lab in (a, b):
        assert lab.exec("cdn-server", ["ping", "-c", "1", "-W", "2", "10.0.2.10"], 10, True).returncode == 0
    # each cache resolved ITS OWN router (stable MACs differ per NS id)
    assert _neigh_mac(a, "cdn-server", "10.0.1.1") == spec_a.pod("router-firewall").links[0].mac
    assert _neigh_mac(b, "cdn-server", "10.0.1.1") == spec_b.pod("router-firewall").links[0].mac
    b.scale("content-server", 0)  # B's 10.0.2.10 is gone; A's (same address) must stay out of reach
    argv = ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", "10.0.2.10"]
    got = parse_ping(b.exec("cdn-server", argv, 10, True).stdout)
    assert got.received == 0
    assert a.exec("cdn-server", ["ping", "-c", "1", "-W", "2", "10.0.2.10"], 10, True).returncode == 0
    bridges = subprocess.run(["ip", "-n", spec_b.switch, "-o", "link", "show", "type", "bridge"],
                             capture_output=True, text=True, check=True).stdout
    assert not any(br.name in bridges for br in spec_a.bridges)


def test_ipv6_network_and_a_pod_planned_with_zero_replicas(lab_name: str) -> None:
    ns = "v6-0001"
    nets = (network(ns, "v6net", "fd00:10::/64"),)
    kdus = (kdu("a", [("v6net", "fd00:10::a/64")], ns_id=ns), kdu("b", [("v6net", "fd00:10::b/64")], ns_id=ns),
            replace(kdu("c", [("v6net", "fd00:10::c/64")], ns_id=ns), replicas=0))
    lab = Lab(lab_name)
    spec = lab.up(Plan(ns, "v6", "v6_ns", "default", "l2sm", nets, kdus), Profile())
    ping6 = ["ping", "-6", "-n", "-c", "2", "-i", "0.2", "-W", "2", "fd00:10::b"]
    assert parse_ping(lab.exec("a", ping6, 10, True).stdout).received == 2
    assert spec.pod("c").netns not in netns_of(lab_name)
    assert [p["replicas"] for p in lab.status()["pods"]] == [1, 1, 0]
    lab.scale("c", 1)
    assert lab.exec("c", ["ping", "-6", "-c", "1", "-W", "2", "fd00:10::a"], 10, True).returncode == 0
