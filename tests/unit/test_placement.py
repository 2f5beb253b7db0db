"""Multi-cluster planning (issue 12, bullet 1): which cluster each KNF runs on, and each link local or stretched.

A stretched L2S-M link is an ``L2Network`` of the same name in every cluster it touches, naming the inter-cluster
provider with one domain address, the same networkCIDR, and per cluster a podAddressRange disjoint from the other
clusters' and from every address the plan gives out on the link. Goldens: the CDN on two clusters, one link on three.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net import api
from osm_l2net.core.errors import InputError
from osm_l2net.core.model import NsInstance
from osm_l2net.core.options import InterClusterProvider, PlanOptions
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import NetworkPlan, Plan
from osm_l2net.core.planner import build_plan
from tests.conftest import CDN_PACKAGES, REPO
from tests.support.descriptors import descriptors, service_docs

GOLDEN_DIR = REPO / "tests" / "golden"
IDCO = InterClusterProvider("idco", "10.0.0.5")
# The issue's CDN split: the cache at the edge, the router and the content server in the core
CDN_EDGE = {"cdn-server": "edge", "router-firewall": "core", "content-server": "core"}
NS_ID = "6f1c9a52-3c43-4c1e-9d6b-1f2a3b4c5d6e"


def cdn_plan(placement: dict[str, str], **options: Any) -> Plan:
    return api.plan(CDN_PACKAGES, ns_name="vod-service-deployment", ns_id=NS_ID,
                    options=PlanOptions(placement=placement, **({"inter_cluster": IDCO} | options)))


def three_cluster_plan(**options: Any) -> Plan:
    """One link, three KNFs on it, each on its own cluster: the first and third pinned, the second with three
    unpinned replicas."""
    nsd, vnfds = service_docs(1, 1, 3, pin_every=2)
    config = {"additionalParamsForVnf": [{"member-vnf-index": "g0-k1", "additionalParamsForKdu": [
        {"kdu_name": "app", "additionalParams": {"replicaCount": 3}}]}]}
    instance = NsInstance("gen-3c", "gen-3c", "gen", parse_params(config))
    placement = {"g0-k0": "east", "g0-k1": "west", "g0-k2": "north"}
    return build_plan(descriptors(nsd, vnfds), instance,
                      PlanOptions(placement=placement, **({"inter_cluster": IDCO} | options)))


def check_golden(plan: Plan, name: str) -> None:
    text = json.dumps(plan.as_dict(), indent=1, sort_keys=True) + "\n"
    golden = GOLDEN_DIR / name
    if os.environ.get("OSM_L2NET_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_golden_two_cluster_cdn() -> None:
    check_golden(cdn_plan(CDN_EDGE), "cdn_plan_two_clusters.json")


def test_golden_three_cluster_link() -> None:
    check_golden(three_cluster_plan(), "generated_plan_three_clusters.json")


def stretched(plan: Plan, vld: str) -> list[NetworkPlan]:
    return [n for n in plan.networks if n.vld_id == vld]


def test_the_cdn_link_to_the_edge_is_stretched_and_the_core_link_is_local() -> None:
    plan = cdn_plan(CDN_EDGE)
    first, second = stretched(plan, "my-first-osm-net"), stretched(plan, "my-second-osm-net")
    assert [n.cluster for n in first] == ["core", "edge"] and [n.cluster for n in second] == ["core"]
    assert len({n.name for n in first}) == 1  # L2S-M joins the clusters' networks by name
    for n in first:
        spec = n.manifest["spec"]
        assert spec["type"] == "vnet" and spec["networkCIDR"] == "10.0.1.0/24"
        assert spec["provider"] == {"name": "idco", "domain": ["10.0.0.5"]}  # one domain entry
        assert spec["podAddressRange"] == n.pod_address_range
    assert "provider" not in second[0].manifest["spec"]  # a local link is the single-cluster object
    assert {k.member_vnf_index: k.cluster for k in plan.kdus} == CDN_EDGE
    assert plan.clusters == ("core", "edge")


def blocks_are_disjoint_and_clear_of_the_plans_addresses(plan: Plan, vld: str) -> None:
    nets = stretched(plan, vld)
    blocks = [ipaddress.ip_network(n.pod_address_range) for n in nets if n.pod_address_range]
    assert len(blocks) == len(nets) > 1
    for i, a in enumerate(blocks):
        assert all(not a.overlaps(b) for b in blocks[i + 1:]), blocks
    cidr = ipaddress.ip_network(nets[0].cidr)
    given = [ipaddress.ip_address(i.address) for k in plan.kdus for i in k.interfaces if i.vld_id == vld and i.address]
    gateway = [ipaddress.ip_address(nets[0].gateway_ip)] if nets[0].gateway_ip else []
    for block in blocks:
        assert block.subnet_of(cidr) and block.num_addresses <= 256  # L2S-M's IPAM steps the last byte only
        assert cidr.network_address not in block and cidr.broadcast_address not in block
        assert not [a for a in given + gateway if a in block], (block, given, gateway)


def test_stretched_blocks_never_overlap_each_other_nor_the_plans_addresses() -> None:
    blocks_are_disjoint_and_clear_of_the_plans_addresses(cdn_plan(CDN_EDGE), "my-first-osm-net")
    plan = three_cluster_plan()
    blocks_are_disjoint_and_clear_of_the_plans_addresses(plan, plan.networks[0].vld_id)


def test_a_cluster_with_replicas_gets_a_block_that_holds_them() -> None:
    plan = three_cluster_plan()
    west = next(n for n in plan.networks if n.cluster == "west")
    assert west.pod_address_capacity is not None and west.pod_address_capacity >= 3
    assert plan.kdu("g0-k1") is not None and plan.kdu("g0-k1").replicas == 3  # type: ignore[union-attr]
    assert plan.kdu("g0-k1").interfaces[0].ip is None  # type: ignore[union-attr]  # the block addresses them


def test_each_cluster_gets_its_part_of_the_plan() -> None:
    plan = three_cluster_plan()
    parts = {c: plan.for_cluster(c) for c in plan.clusters}
    assert sorted(parts) == ["east", "north", "west"]
    assert sum(len(p.networks) for p in parts.values()) == len(plan.networks) == 3
    assert all(len(p.kdus) == 1 and len(p.networks) == 1 for p in parts.values())
    assert all(p.kdus[0].cluster == c == p.networks[0].cluster for c, p in parts.items())


def test_a_single_cluster_plan_is_unchanged_by_placement_on_one_cluster() -> None:
    plain = cdn_plan({})
    placed = cdn_plan(dict.fromkeys(CDN_EDGE, "core"))
    assert [n.manifest for n in placed.networks] == [n.manifest for n in plain.networks]
    assert placed.clusters == ("core",) and plain.clusters == ("",)
    assert "cluster" not in json.dumps(plain.as_dict())  # single-cluster plans keep their JSON form


def test_the_plan_reads_back_from_json_with_its_clusters() -> None:
    plan = cdn_plan(CDN_EDGE)
    assert Plan.from_dict(json.loads(json.dumps(plan.as_dict()))).as_dict() == plan.as_dict()


@pytest.mark.parametrize("provider", ["multus", "l2sm-nad"])
def test_providers_that_cannot_stretch_refuse_a_stretched_link(provider: str) -> None:
    with pytest.raises(InputError) as caught:
        cdn_plan(CDN_EDGE, provider=provider)
    problem = caught.value.problems[0]
    assert "joins KNFs on 2 clusters: core (router-firewall), edge (cdn-server)" in problem.message
    assert f"provider {provider} cannot stretch" in problem.message and "provider l2sm" in problem.expected
    assert problem.path == "nsd[0].df[0].virtual-link-profile[0]" and problem.source.endswith(".yaml")


def test_a_stretched_link_without_the_inter_cluster_provider_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        cdn_plan(CDN_EDGE, inter_cluster=None)
    assert caught.value.problems[0].expected == "--inter-cluster-provider NAME=ADDRESS"


def test_an_unknown_member_is_refused_naming_the_members() -> None:
    with pytest.raises(InputError) as caught:
        cdn_plan({"cdn-srv": "edge"})
    problem = caught.value.problems[0]
    assert problem.source == "--cluster" and problem.path == "cdn-srv"
    assert problem.expected == "one of cdn-server, router-firewall, content-server"


def test_a_link_too_small_for_a_block_per_cluster_is_refused() -> None:
    nsd, vnfds = service_docs(1, 1, 3, prefix=29, pin_every=0)  # 8 addresses, 3 clusters: no room for three blocks
    instance = NsInstance("small", "small", "gen", parse_params(None))
    with pytest.raises(InputError) as caught:
        build_plan(descriptors(nsd, vnfds), instance, PlanOptions(
            placement={"g0-k0": "a", "g0-k1": "b", "g0-k2": "c"}, inter_cluster=IDCO))
    assert "needs a block of its own" in caught.value.problems[0].message


def test_the_stretched_l2networks_pass_the_real_crd(models: Path, tmp_path: Path) -> None:
    plan = three_cluster_plan()
    objects = tmp_path / "objects.yaml"
    objects.write_text(yaml.safe_dump_all([dict(n.as_dict()["manifest"]) for n in plan.networks]))
    assert objects.read_text().count("provider:") == 3
    done = subprocess.run([sys.executable, str(models / "validate_k8s_object.py"), str(objects)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "FAIL" not in done.stdout, done.stdout + done.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "osm_l2net.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False, env=env, cwd=REPO)


def test_the_cli_plans_on_clusters_and_shows_them() -> None:
    flags = [f"--cluster={m}={c}" for m, c in CDN_EDGE.items()] + ["--inter-cluster-provider", "idco=10.0.0.5"]
    done = run_cli("plan", *map(str, CDN_PACKAGES), "--ns-name", "vod-service-deployment", *flags)
    assert done.returncode == 0, done.stderr
    assert "on 2 clusters: core, edge" in done.stdout and "(stretched over core, edge)" in done.stdout
    as_json = json.loads(run_cli("plan", *map(str, CDN_PACKAGES), "--ns-name", "vod-service-deployment", *flags,
                                 "-o", "json").stdout)
    assert [n["cluster"] for n in as_json["networks"]] == ["core", "edge", "core"]


@pytest.mark.parametrize(("flags", "said"), [
    (["--cluster", "cdn-server"], "is not MEMBER=CLUSTER"),
    (["--cluster", "cdn-server=a", "--cluster", "cdn-server=b"], "names one member-vnf-index twice"),
    (["--cluster", "cdn-server=edge"], "--inter-cluster-provider NAME=ADDRESS"),
])
def test_the_cli_refuses_bad_placements_with_exit_2(flags: list[str], said: str) -> None:
    done = run_cli("plan", *map(str, CDN_PACKAGES), "--ns-name", "x", *flags)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr

