"""Property-based tests: random valid NSDs give sound plans; random mutations never escape the project's error type."""

from __future__ import annotations

import ipaddress
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osm_l2net.core.errors import L2NetError
from osm_l2net.core.model import NsInstance
from osm_l2net.core.planner import build_plan
from osm_l2net.core.routing import Unreachable, expected_path, expected_ttl
from tests.support.descriptors import descriptors, service_docs
from tests.support.mutation import mutate
from tests.unit import cdn

shapes = st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 5), st.sampled_from([24, 26, 28]),
                   st.integers(0, 3), st.integers(0, 2**16))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes, st.sampled_from(["l2sm", "l2sm-nad", "multus"]))
def test_random_valid_services_give_sound_plans(shape: tuple[int, int, int, int, int, int], provider: str) -> None:
    groups, links, knfs, prefix, pin_every, seed = shape
    nsd, vnfds = service_docs(groups, links, knfs, prefix=prefix, pin_every=pin_every, seed=seed)
    from osm_l2net.core.options import PlanOptions

    plan = build_plan(descriptors(nsd, vnfds), NsInstance(f"id-{seed}", "prop"), PlanOptions(provider=provider))
    names = [n.name for n in plan.networks]
    assert len(names) == len(set(names)) == groups * links
    cidrs = {n.vld_id: ipaddress.ip_network(n.cidr) for n in plan.networks if n.cidr}
    seen: set[tuple[str, str]] = set()
    for kdu in plan.kdus:
        for i in kdu.interfaces:
            assert i.ip is not None, "every single-replica interface on a link with a cidr gets an address"
            assert ipaddress.ip_interface(i.ip).ip in cidrs[i.vld_id]
            assert (i.vld_id, i.ip) not in seen
            seen.add((i.vld_id, i.ip))
        devs = {i.name for i in kdu.interfaces}
        for r in kdu.routes:
            assert r.dev in devs
            assert not any(ipaddress.ip_interface(i.ip or "").network == ipaddress.ip_network(r.to) for i in kdu.interfaces)
    # routes are consistent: every address in the KNF's own group is reached, with one TTL step per router crossed
    for kdu in plan.kdus:
        group = kdu.member_vnf_index.split("-")[0]
        for other in plan.kdus:
            if other.member_vnf_index.split("-")[0] != group:
                continue
            for i in other.interfaces:
                path = expected_path(plan, kdu.member_vnf_index, i.address or "")
                assert path[-1] == i.address
                assert 1 <= len(path) <= links
                assert expected_ttl(path) == 64 - (len(path) - 1)


def test_isolated_groups_are_unreachable_from_each_other() -> None:
    nsd, vnfds = service_docs(2, 3, 2)
    plan = build_plan(descriptors(nsd, vnfds), NsInstance("iso", "iso"))
    g1 = next(k for k in plan.kdus if k.member_vnf_index.startswith("g1-"))
    try:
        expected_path(plan, "g0-k0", g1.interfaces[0].address or "")
    except Unreachable:
        pass
    else:
        raise AssertionError("two isolated groups must not reach each other")
    assert any("2 groups" in w.message for w in plan.warnings)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 4))
def test_mutated_descriptors_only_raise_the_projects_errors(seed: int, changes: int) -> None:
    rnd = random.Random(seed)
    nsd, vnfds = cdn.docs()
    target = rnd.choice(["nsd", *vnfds])
    for _ in range(changes):
        if target == "nsd":
            mutate(nsd, rnd)
        else:
            mutate(vnfds[target], rnd)
    try:
        cdn.plan(nsd, vnfds)
    except L2NetError as e:
        problems = getattr(e, "problems", ())
        assert problems, f"seed {seed}: an error without a located problem: {e}"
        assert all(p.source for p in problems)
