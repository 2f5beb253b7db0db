"""Per-replica address pools (issue 10, bullet 2): a KDU with several replicas on L2S-M gets a podAddressRange block
that L2S-M's IPAM cannot walk into the gateway, a pinned address or the CIDR's network/broadcast address."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from osm_l2net.core.addressing import IPAddress, replica_block
from osm_l2net.core.plan import Plan
from tests.unit import cdn


def scale(n: int) -> dict[str, Any]:
    return {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "cdn-server", "additionalParams": {"replicaCount": n}}]}]}


def unpinned() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    nsd, vnfds = cdn.docs()
    del cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["ip-address"]
    return nsd, vnfds


def assert_valid_block(cidr: ipaddress.IPv4Network, reserved: list[IPAddress], block: ipaddress.IPv4Network) -> None:
    assert block.subnet_of(cidr), "the block lies in the link's cidr"
    assert block.prefixlen >= max(24, cidr.prefixlen), "at most a /24: L2S-M steps only the last byte"
    assert int(block.network_address) % block.num_addresses == 0, "aligned on its size"
    for a in [*reserved, cidr.network_address, cidr.broadcast_address]:
        assert a not in block, f"{a} must stay outside {block}"


# ---------------------------------------------------------------- the pure choice

def test_the_block_is_the_smallest_with_enough_headroom_and_the_lowest_free_one() -> None:
    cidr = ipaddress.IPv4Network("10.0.1.0/24")
    gateway = [ipaddress.IPv4Address("10.0.1.1")]
    three = replica_block(cidr, gateway, 3)
    assert three is not None and str(three.block) == "10.0.1.32/27", "16 wanted -> /27; .0/27 holds .0 and .1"
    assert three.capacity == 31, "L2S-M starts at base + 1: size - 1 addresses"
    ten = replica_block(cidr, gateway, 10)
    assert ten is not None and str(ten.block) == "10.0.1.64/26" and ten.capacity == 63, "40 wanted -> /26"
    assert replica_block(cidr, gateway, 3) == three, "deterministic"


def test_a_large_cidr_still_gets_at_most_a_slash_24() -> None:
    cidr = ipaddress.IPv4Network("10.0.0.0/8")
    pool = replica_block(cidr, [ipaddress.IPv4Address("10.0.0.1")], 500)
    assert pool is not None and pool.block.prefixlen == 24 and pool.capacity == 255
    assert_valid_block(cidr, [ipaddress.IPv4Address("10.0.0.1")], pool.block)  # type: ignore[arg-type]


def test_a_full_link_falls_back_to_smaller_blocks_and_then_to_none() -> None:
    small = ipaddress.IPv4Network("10.0.1.0/28")
    pool = replica_block(small, [ipaddress.IPv4Address("10.0.1.1")], 3)
    assert pool is not None and str(pool.block) == "10.0.1.4/30" and pool.capacity == 3, "the largest free block"
    assert replica_block(ipaddress.IPv4Network("10.0.1.0/30"), [], 1) is None, ".0 and .3 leave no aligned pair"


@settings(max_examples=300, deadline=None)
@given(base=st.integers(0, 2**32 - 1), prefix=st.integers(16, 30), replicas=st.integers(1, 80),
       offsets=st.lists(st.integers(0, 2**16), max_size=40))
def test_any_block_is_aligned_bounded_disjoint_and_exact(base: int, prefix: int, replicas: int,
                                                         offsets: list[int]) -> None:
    cidr = ipaddress.IPv4Network((base, prefix), strict=False)
    reserved: list[IPAddress] = [cidr[o % cidr.num_addresses] for o in offsets]
    pool = replica_block(cidr, reserved, replicas)
    if pool is None:
        return
    assert_valid_block(cidr, reserved, pool.block)  # type: ignore[arg-type]
    assert pool.capacity == pool.block.num_addresses - 1
    bits = pool.block.max_prefixlen - pool.block.prefixlen
    if pool.capacity < max(4 * replicas, 16) and bits < min(8, 32 - prefix):
        # a short block only when no block twice its size is free: checked by brute force
        size, out = 2 << bits, {int(a) for a in reserved} | {int(cidr.network_address), int(cidr.broadcast_address)}
        low = int(cidr.network_address)
        assert all(any(b <= t < b + size for t in out) for b in range(low, low + cidr.num_addresses, size))


# ---------------------------------------------------------------- the plan

def test_a_multi_replica_kdu_on_l2sm_gets_a_pool_disjoint_from_every_plan_address() -> None:
    nsd, vnfds = unpinned()
    plan = cdn.plan(nsd, vnfds, config=scale(3))
    pooled = [n for n in plan.networks if n.pod_address_range]
    kdu = plan.kdu("cdn-server")
    assert kdu is not None and len(pooled) == 1 and pooled[0].vld_id == kdu.interfaces[0].vld_id
    net = pooled[0]
    assert net.manifest["spec"]["podAddressRange"] == net.pod_address_range
    assert net.manifest["spec"]["networkCIDR"] == net.cidr, "the pods' prefix length stays the cidr's"
    block = ipaddress.ip_network(net.pod_address_range)
    assert net.pod_address_capacity == block.num_addresses - 1 >= 3
    used = [ipaddress.ip_address(i.address) for k in plan.kdus for i in k.interfaces
            if i.vld_id == net.vld_id and i.address]
    assert used, "the link has plan addresses to stay clear of"
    gateway = [ipaddress.ip_address(net.gateway_ip)] if net.gateway_ip else []
    assert_valid_block(ipaddress.ip_network(net.cidr), used + gateway, block)  # type: ignore[arg-type]
    d = plan.as_dict()["networks"]
    assert [n.get("podAddressCapacity") for n in d if "podAddressRange" in n] == [net.pod_address_capacity]
    assert Plan.from_dict(plan.as_dict()).network(net.vld_id) == net, "read back from JSON with its pool"


def test_single_replica_plans_have_no_pool() -> None:
    plan = cdn.plan()
    assert all(n.pod_address_range is None and "podAddressRange" not in n.manifest["spec"] for n in plan.networks)
    assert all("podAddressRange" not in n for n in plan.as_dict()["networks"])


def test_replicas_beyond_the_pool_are_refused_at_plan_time_naming_kdu_link_and_path() -> None:
    nsd, vnfds = unpinned()
    ok = cdn.plan(nsd, vnfds, config=scale(3))
    net = next(n for n in ok.networks if n.pod_address_range)
    found = cdn.problems(nsd, vnfds, config=scale(64))  # a /24 link: .0, .1 (gateway), .255 leave at most a /26
    assert len(found) == 1, found
    p = found[0]
    assert "KDU 'cdn-server'" in p.message and f"'{net.vld_id}'" in p.message and "replicaCount 64" in p.message
    assert "holds 63" in p.message and p.expected.startswith("at most 63 replicas")
    assert p.path.endswith("constituent-cpd-id[0]") and p.source.endswith(".yaml")
    assert cdn.plan(nsd, vnfds, config=scale(63)).network(net.vld_id).pod_address_capacity == 63  # type: ignore[union-attr]


def test_multus_still_refuses_replicas_instead_of_pooling() -> None:
    nsd, vnfds = unpinned()
    found = cdn.problems(nsd, vnfds, config=scale(3), provider="multus")
    assert any("cannot give each replica" in p.message for p in found)


def test_the_pooled_l2network_passes_the_real_crd(models: Path, tmp_path: Path) -> None:
    nsd, vnfds = unpinned()
    plan = cdn.plan(nsd, vnfds, config=scale(3))
    objects = tmp_path / "objects.yaml"
    objects.write_text(yaml.safe_dump_all([dict(n.as_dict()["manifest"]) for n in plan.networks]))
    assert "podAddressRange" in objects.read_text()
    done = subprocess.run([sys.executable, str(models / "validate_k8s_object.py"), str(objects)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "FAIL" not in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("n", [2, 7])
def test_the_pool_is_the_same_on_every_run(n: int) -> None:
    nsd, vnfds = unpinned()
    first, second = cdn.plan(nsd, vnfds, config=scale(n)), cdn.plan(nsd, vnfds, config=scale(n))
    assert first.as_dict() == second.as_dict()


def test_a_pool_addressed_kdu_gets_its_routes() -> None:
    """Its address comes from the pool at run time, but its routes are the plan's: without them the replicas answer
    their own link only (found running the two_routers example with three server replicas in the lab)."""
    nsd, vnfds = unpinned()
    kdu = cdn.plan(nsd, vnfds, config=scale(3)).kdu("cdn-server")
    assert kdu is not None and kdu.interfaces[0].ip is None
    assert [(r.to, r.via, r.dev) for r in kdu.routes] == [("10.0.2.0/24", "10.0.1.1", "net1")]
    assert kdu.values["l2net"]["routes"] == [{"to": "10.0.2.0/24", "via": "10.0.1.1", "dev": "net1"}]


def test_a_pool_addressed_router_is_no_next_hop() -> None:
    """A router whose address on a link comes from the pool has no fixed address there to route through: the hosts
    behind it get no route through it (rather than one through an address nobody knows)."""
    from osm_l2net.core.topology import Edge, Topology

    topology = Topology(["host", "router", "server"], {"a": "10.0.1.0/24", "b": "10.0.2.0/24"},
                        [Edge("host", "a", "10.0.1.10"), Edge("router", "a", ""), Edge("router", "b", "10.0.2.1"),
                         Edge("server", "b", "10.0.2.10")], {"router": True})
    routes, _ = topology.routes()
    assert {(r.member_vnf_index, r.to, r.via) for r in routes} == {("server", "10.0.1.0/24", "10.0.2.1")}
