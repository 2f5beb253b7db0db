"""Follow a plan's addresses and routes hop by hop, as the kernel would. Pure.

Gives the path a packet takes from a KNF to an address (what ``traceroute`` shows: each router's address on the link the
packet arrives on, then the destination) so that the lab and tests compute their expectations from the plan instead of
hard-coding them.
"""

from __future__ import annotations

import ipaddress

from osm_l2net.core.plan import KduPlan, Plan

DEFAULT_TTL = 64


class Unreachable(Exception):
    """No route (or no forwarding KNF) leads to the address."""


def expected_path(plan: Plan, member_vnf_index: str, dst_address: str, max_hops: int = 30) -> tuple[str, ...]:
    """Addresses a traceroute from ``member_vnf_index`` to ``dst_address`` shows; the last one is the destination."""
    dst = ipaddress.ip_address(dst_address)
    current = _kdu(plan, member_vnf_index)
    path: list[str] = []
    for _ in range(max_hops):
        if any(i.address == str(dst) for i in current.interfaces):
            return tuple(path) if path else (str(dst),)
        next_hop = _next_hop(current, dst)
        if next_hop is None:
            raise Unreachable(f"{current.key} has no route to {dst}")
        if next_hop == str(dst):
            path.append(next_hop)
            return tuple(path)
        router = _owner(plan, next_hop)
        if router is not None and any(i.address == str(dst) for i in router.interfaces):
            path.append(str(dst))  # the next hop owns the destination address: it answers itself
            return tuple(path)
        if router is None or not router.forwarding:
            raise Unreachable(f"{next_hop} (next hop from {current.key} to {dst}) does not forward")
        path.append(next_hop)
        current = router
    raise Unreachable(f"more than {max_hops} hops to {dst}")


def expected_ttl(path: tuple[str, ...], initial: int = DEFAULT_TTL) -> int:
    """TTL of the replies from the destination: one less per router crossed."""
    return initial - (len(path) - 1)


def _kdu(plan: Plan, member: str) -> KduPlan:
    kdu = next((k for k in plan.kdus if k.member_vnf_index == member and k.interfaces), None)
    if kdu is None:
        raise Unreachable(f"'{member}' has no L2 interface in the plan")
    return kdu


def _owner(plan: Plan, address: str) -> KduPlan | None:
    return next((k for k in plan.kdus for i in k.interfaces if i.address == address), None)


def _next_hop(kdu: KduPlan, dst: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Directly connected subnets first, then the longest matching static route."""
    for i in kdu.interfaces:
        if i.ip and dst in ipaddress.ip_interface(i.ip).network:
            return str(dst)
    matching = [r for r in kdu.routes if dst in ipaddress.ip_network(r.to)]
    if not matching:
        return None
    return max(matching, key=lambda r: ipaddress.ip_network(r.to).prefixlen).via
