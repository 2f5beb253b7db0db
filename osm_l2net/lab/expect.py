"""What the scenario must observe, computed from the plan (pure, no I/O).

``expected_path`` follows the plan's own routes hop by hop, as the kernel will: a connected network first, else the
longest matching route. The lead's ``osm_l2net.routing.expected_path`` has the same contract; it is used when present.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from osm_l2net.errors import InputError
from osm_l2net.plan import KduPlan, Plan

DEFAULT_TTL = 64


def _local_expected_path(plan: Plan, member_vnf_index: str, dst_address: str) -> tuple[str, ...]:
    dst = ipaddress.ip_address(dst_address)
    kdu = _kdu(plan, member_vnf_index)
    hops: list[str] = []
    for _ in range(len(plan.kdus) + 1):
        if any(i.address == dst_address for i in kdu.interfaces):
            return tuple(hops) or (dst_address,)
        if any(i.ip and dst in ipaddress.ip_interface(i.ip).network for i in kdu.interfaces):
            return (*hops, dst_address)
        routes = [r for r in kdu.routes if dst in ipaddress.ip_network(r.to, strict=False)]
        if not routes:
            raise InputError.single("plan", kdu.key, f"no route to {dst_address}", "a connected network or a route")
        via = max(routes, key=lambda r: ipaddress.ip_network(r.to, strict=False).prefixlen).via
        hops.append(via)
        kdu = owner_of(plan, via) or _fail(kdu, via)
        if not kdu.forwarding:
            raise InputError.single("plan", kdu.key, f"next hop {via} does not forward", "forwarding: true")
    raise InputError.single("plan", member_vnf_index, f"routing loop towards {dst_address}", "loop-free routes")


def _fail(kdu: KduPlan, via: str) -> KduPlan:
    raise InputError.single("plan", kdu.key, f"next hop {via} belongs to no KNF", "a gateway address of a KNF")


def _kdu(plan: Plan, member: str) -> KduPlan:
    kdu = plan.kdu(*member.split("/", 1)) if "/" in member else plan.kdu(member)
    if kdu is None:
        raise InputError.single("plan", member, "no such member-vnf-index", ", ".join(k.key for k in plan.kdus))
    return kdu


def owner_of(plan: Plan, address: str) -> KduPlan | None:
    return next((k for k in plan.kdus if any(i.address == address for i in k.interfaces)), None)


def _resolve() -> Callable[[Plan, str, str], tuple[str, ...]]:
    try:
        from osm_l2net.routing import expected_path as lead  # type: ignore[attr-defined,import-not-found,unused-ignore]
    except ImportError:
        return _local_expected_path
    return lead  # type: ignore[no-any-return,unused-ignore]


expected_path: Callable[[Plan, str, str], tuple[str, ...]] = _resolve()


def expected_ttl(path: tuple[str, ...]) -> int:
    """TTL of the echo reply: every router on the (symmetric) path decrements it once."""
    return DEFAULT_TTL - (len(path) - 1)


def routers_on(plan: Plan, path: tuple[str, ...]) -> tuple[KduPlan, ...]:
    """The KNFs forwarding along ``path`` (every hop but the destination)."""
    return tuple(k for k in (owner_of(plan, hop) for hop in path[:-1]) if k is not None)
