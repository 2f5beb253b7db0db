"""The lab's pure core: names, MACs, spec, firewall, expectations, profile, output parsers (no root needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from osm_l2net.core.errors import InputError
from osm_l2net.core.plan import Interface
from osm_l2net.lab import names
from osm_l2net.lab.expect import expected_path, expected_ttl, routers_on
from osm_l2net.lab.firewall import firewall_from_values
from osm_l2net.lab.inputs import DEFAULT_PROFILE, default_path, load_profile_file
from osm_l2net.lab.observe import parse_ping, parse_traceroute
from osm_l2net.lab.profile import Profile, load_profile, parse_rate, parse_size
from osm_l2net.lab.spec import build_spec
from tests.lab.plans import CDN_FIREWALL, cdn_plan, chain_plan


def test_kernel_names_fit_and_differ_per_ns_instance() -> None:
    a = build_spec("lab1", cdn_plan("ns-a"), Profile())
    b = build_spec("lab1", cdn_plan("ns-b"), Profile())
    every = [br.name for br in a.bridges] + [li.peer for p in a.pods for li in p.links]
    assert all(len(n) <= names.IFNAME_MAX for n in every)
    assert {br.name for br in a.bridges}.isdisjoint({br.name for br in b.bridges})
    macs_a = {li.mac for p in a.pods for li in p.links}
    assert macs_a.isdisjoint({li.mac for p in b.pods for li in p.links})
    assert [li.ifname for li in a.pod("router-firewall").links] == ["net1", "net2"]


def test_macs_are_stable_unicast_and_locally_administered() -> None:
    mac = names.stable_mac("ns", "router-firewall", "net1")
    assert mac == names.stable_mac("ns", "router-firewall", "net1")
    assert mac != names.stable_mac("ns", "router-firewall", "net2")
    first = int(mac.split(":")[0], 16)
    assert first & 0x01 == 0 and first & 0x02 == 0x02


def test_lab_names_cannot_overlap_by_prefix() -> None:
    assert names.owns_netns("a", "l2n-a-cdn-server")
    assert names.owns_netns("a", "l2n-a")
    assert not names.owns_netns("a", "l2nx-a")
    with pytest.raises(InputError):
        names.check_lab_name("a-b")  # would make l2n-a-* match lab a-b's namespaces


def test_too_long_interface_name_is_an_input_error_before_anything_is_made() -> None:
    plan = cdn_plan()
    kdu = plan.kdus[0]
    bad = replace(kdu, interfaces=(replace(kdu.interfaces[0], name="a-very-long-interface"),))
    with pytest.raises(InputError, match="not usable by the kernel"):
        build_spec("lab1", replace(plan, kdus=(bad, *plan.kdus[1:])), Profile())


def test_interface_on_unknown_network_is_rejected() -> None:
    plan = cdn_plan()
    kdu = plan.kdus[0]
    stray = replace(kdu, interfaces=(Interface("net1", "nowhere", "x", "cp", "10.0.1.10/24"),))
    with pytest.raises(InputError, match="not in the plan"):
        build_spec("lab1", replace(plan, kdus=(stray, *plan.kdus[1:])), Profile())


def test_expected_path_follows_the_plans_routes() -> None:
    assert expected_path(cdn_plan(), "cdn-server", "10.0.2.10") == ("10.0.1.1", "10.0.2.10")
    assert expected_path(chain_plan(), "client", "10.9.3.10") == ("10.9.1.1", "10.9.2.2", "10.9.3.10")
    assert expected_path(chain_plan(), "server", "10.9.1.10") == ("10.9.3.1", "10.9.2.1", "10.9.1.10")
    assert expected_ttl(("10.9.1.1", "10.9.2.2", "10.9.3.10")) == 62
    assert [k.member_vnf_index for k in routers_on(chain_plan(), ("10.9.1.1", "10.9.2.2", "10.9.3.10"))] == ["r1", "r2"]


def test_expected_path_rejects_a_next_hop_that_does_not_forward() -> None:
    plan = cdn_plan()
    router = replace(plan.kdus[1], forwarding=False)
    with pytest.raises(InputError, match="does not forward"):
        expected_path(replace(plan, kdus=(plan.kdus[0], router, plan.kdus[2])), "cdn-server", "10.0.2.10")


def test_firewall_predicate_and_rules_come_from_the_values() -> None:
    fw = firewall_from_values({"firewall": CDN_FIREWALL}, "values.yaml")
    assert fw.permits("10.0.1.10", "10.0.2.10", "tcp", 80)
    assert fw.permits("10.0.1.10", "10.0.2.10", "icmp")
    assert not fw.permits("10.0.1.10", "10.0.2.10", "tcp", 8081)
    assert not fw.permits("10.0.3.5", "10.0.2.10", "tcp", 80)
    assert fw.permits("10.0.2.10", "10.0.1.10", "tcp", 22)  # not protected
    script = fw.nft_script()
    assert "ip saddr 10.0.1.0/24 ip daddr { 10.0.2.10/32 } tcp dport 80 accept" in script
    assert script.index("established,related") < script.index("drop")
    assert firewall_from_values({}, "v").permits("1.1.1.1", "10.0.2.10", "tcp", 22)


@pytest.mark.parametrize("bad", [{"firewall": {"allow": [{"proto": "sctp"}]}},
                                 {"firewall": {"protected": ["not-an-ip"]}},
                                 {"firewall": {"allow": [{"proto": "tcp", "port": 70000}]}}])
def test_bad_firewall_values_are_input_errors(bad: dict[str, object]) -> None:
    with pytest.raises(InputError):
        firewall_from_values(bad, "values.yaml")


def test_the_cdn_profile_loads() -> None:
    profile = load_profile_file(default_path(DEFAULT_PROFILE))
    roles = {m.member: m.role for m in profile.members}
    assert roles == {"content-server": "content-server", "router-firewall": "router", "cdn-server": "cache"}
    assert profile.external is not None and profile.external.attach == "cdn-server"
    spec = build_spec("lab1", cdn_plan(), profile)
    assert spec.pod("external-user").links[0].ip == "192.168.100.100/24"
    assert [li.ip for li in spec.pod("cdn-server").links] == ["10.0.1.10/24", "192.168.100.1/24"]


@pytest.mark.parametrize("doc", ["members: {x: {role: dancer}}", "scenario: {colour: red}",
                                 "external-user: {attach: a, member-ip: 10.0.0.1/24, user-ip: 10.1.0.2/24}"])
def test_bad_profiles_are_input_errors(doc: str) -> None:
    with pytest.raises(InputError):
        load_profile(yaml.safe_load(doc))


def test_sizes_and_rates() -> None:
    assert parse_size("4MiB", "t") == 4 * 2**20
    assert parse_size("512k", "t") == 512 * 1024
    assert parse_rate("1600kbit", "t") == 1_600_000
    assert parse_rate("unlimited", "t") is None
    with pytest.raises(InputError):
        parse_rate("200k", "t")


def test_output_parsers() -> None:
    ping = ("64 bytes from 10.0.2.10: icmp_seq=1 ttl=63 time=0.1 ms\n64 bytes from 10.0.2.10: icmp_seq=2 ttl=63\n"
            "3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\n")
    got = parse_ping(ping)
    assert (got.received, got.transmitted, got.ttls) == (2, 3, (63, 63))
    assert str(got) == "2/3 received, 33.3333% loss, ttl=63"
    trace = "traceroute to 10.0.2.10 (10.0.2.10), 4 hops max\n 1  10.0.1.1  0.1 ms\n 2  *\n 3  10.0.2.10  0.2 ms\n"
    assert parse_traceroute(trace) == ("10.0.1.1", "*", "10.0.2.10")


def test_the_router_firewall_comes_from_the_chart_values_merged_with_the_plans() -> None:
    from osm_l2net.lab.inputs import REPO
    from osm_l2net.lab.roles import firewall_of

    router = cdn_plan(firewall=None).kdus[1]
    chart = REPO / "descriptors" / "router_firewall_knf" / "helm-chart-v3s" / "router-firewall"
    from_chart = firewall_of(replace(router, chart_path=str(chart)))
    assert from_chart.permits("10.0.1.10", "10.0.2.10", "tcp", 80)
    assert not from_chart.permits("10.0.1.10", "10.0.2.10", "tcp", 8081)
    overridden = firewall_of(replace(router, chart_path=str(chart), values={"firewall": {"enabled": False}}))
    assert overridden.permits("10.0.1.10", "10.0.2.10", "tcp", 8081)  # the plan's values win, as with helm -f
    assert firewall_of(router).permits("10.0.1.10", "10.0.2.10", "tcp", 8081)  # no chart, no rules


@pytest.mark.parametrize("lab", ["cdn", "a" * 22, "a" * 24, "a" * 22 + "_b"])
def test_the_second_instance_lab_is_a_valid_different_name(lab: str) -> None:
    from osm_l2net.lab.scenario import sibling_name

    other = sibling_name(lab)
    assert other != lab and names.check_lab_name(other) == other
    assert not names.owns_netns(lab, names.switch_netns(other))
