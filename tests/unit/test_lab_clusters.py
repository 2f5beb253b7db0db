"""The lab's layout of a placed plan (issue 12, bullet 3), pure: a switch per cluster, the lab's namespace the WAN,
a stretched link's bridge in each of its clusters (a MAC of its own in each) joined by one VXLAN VNI per link."""

from __future__ import annotations

from dataclasses import replace

import pytest

from osm_l2net import api
from osm_l2net.core.errors import InputError
from osm_l2net.core.model import NsInstance
from osm_l2net.core.options import InterClusterProvider, PlanOptions
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from osm_l2net.lab.clusters import UNDERLAY_MTU, find_link, inter_cluster_links
from osm_l2net.lab.inputs import DEFAULT_PROFILE, default_path, load_profile_file
from osm_l2net.lab.profile import Profile
from osm_l2net.lab.spec import EXTERNAL_VLD, build_spec
from tests.conftest import CDN_PACKAGES
from tests.support.descriptors import descriptors, service_docs

IDCO = InterClusterProvider("idco", "10.0.0.5")
CDN_EDGE = {"cdn-server": "edge", "router-firewall": "core", "content-server": "core"}


def cdn(placement: dict[str, str]) -> Plan:
    return api.plan(CDN_PACKAGES, ns_name="vod", options=PlanOptions(placement=placement, inter_cluster=IDCO))


def three() -> Plan:
    nsd, vnfds = service_docs(1, 1, 3, pin_every=0)
    placement = {"g0-k0": "east", "g0-k1": "west", "g0-k2": "north"}
    return build_plan(descriptors(nsd, vnfds), NsInstance("gen-3c", "gen-3c", "gen", parse_params({})),
                      PlanOptions(placement=placement, inter_cluster=IDCO))


def test_the_cdn_on_two_clusters_has_a_switch_each_and_the_stretched_link_in_both() -> None:
    spec = build_spec("mc", cdn(CDN_EDGE), load_profile_file(default_path(DEFAULT_PROFILE)))
    assert spec.switch == "l2n-mc" and spec.bridges == ()  # the lab's namespace is the WAN: no bridge in it
    core, edge = spec.clusters
    assert (core.label, core.switch, edge.label, edge.switch) == ("core", "l2n-mc-@core", "edge", "l2n-mc-@edge")
    assert {b.vld_id for b in core.bridges} == {"my-first-osm-net", "my-second-osm-net"}
    assert {b.vld_id for b in edge.bridges} == {"my-first-osm-net", EXTERNAL_VLD}  # the user sits by the cache
    first = [next(b for b in c.bridges if b.vld_id == "my-first-osm-net") for c in (core, edge)]
    assert first[0].name == first[1].name and first[0].mac != first[1].mac
    (tc,), (te,) = core.tunnels, edge.tunnels
    assert (tc.vld_id, tc.vni) == (te.vld_id, te.vni) == ("my-first-osm-net", 100)
    assert (tc.peers, te.peers) == ((edge.ip,), (core.ip,)) and core.ip != edge.ip
    assert {p.key: spec.switch_of(p) for p in spec.pods} == {
        "cdn-server/cdn-server": "l2n-mc-@edge", "router-firewall/router-firewall": "l2n-mc-@core",
        "content-server/content-server": "l2n-mc-@core", "external-user": "l2n-mc-@edge"}
    assert [(li.a.label, li.b.label, li.vlds) for li in inter_cluster_links(spec.clusters)] == [
        ("core", "edge", ("my-first-osm-net",))]
    assert {"l2n-mc-@core", "l2n-mc-@edge"} <= set(spec.netns_names)
    assert UNDERLAY_MTU - 50 >= 1500  # VXLAN over IPv4 costs 50 bytes: the pods keep their 1500


def test_a_single_cluster_plan_keeps_the_one_switch_lab() -> None:
    spec = build_spec("one", api.plan(CDN_PACKAGES, ns_name="vod"), Profile())
    assert spec.clusters == ()
    assert {spec.switch_of(p) for p in spec.pods} == {"l2n-one"}
    assert len(spec.bridges) == 2


def test_one_link_on_three_clusters_floods_to_both_others_and_every_pair_is_a_link() -> None:
    spec = build_spec("tri", three(), Profile())
    assert [c.label for c in spec.clusters] == ["east", "north", "west"]  # plan order
    for c in spec.clusters:
        (t,) = c.tunnels
        assert t.vni == 100 and sorted(t.peers) == sorted(o.ip for o in spec.clusters if o is not c)
    pairs = {frozenset((li.a.label, li.b.label)) for li in inter_cluster_links(spec.clusters)}
    assert pairs == {frozenset(p) for p in (("east", "west"), ("east", "north"), ("west", "north"))}
    assert find_link(spec.clusters, "north", "east").key == "east<->north"
    with pytest.raises(InputError, match="no inter-cluster link"):
        find_link(spec.clusters, "east", "south")


def test_a_local_only_placement_has_no_tunnel_and_no_inter_cluster_link() -> None:
    plan = cdn({"cdn-server": "edge", "router-firewall": "edge", "content-server": "edge"})
    spec = build_spec("loc", plan, Profile())
    assert [c.label for c in spec.clusters] == ["edge"] and spec.clusters[0].tunnels == ()
    with pytest.raises(InputError, match="the plan stretches no link"):
        find_link(spec.clusters, "edge", "core")


@pytest.mark.parametrize(("clusters", "message"), [
    (("default", ""), "would share one lab switch"),
    (("a/b", "c"), "cannot name a lab switch namespace"),
])
def test_cluster_names_the_lab_cannot_use_are_refused(clusters: tuple[str, str], message: str) -> None:
    plan = cdn(CDN_EDGE)
    renamed = {"edge": clusters[0], "core": clusters[1]}
    plan = replace(plan, networks=tuple(replace(n, cluster=renamed[n.cluster]) for n in plan.networks),
                   kdus=tuple(replace(k, cluster=renamed[k.cluster]) for k in plan.kdus))
    with pytest.raises(InputError, match=message):
        build_spec("bad", plan, Profile())
