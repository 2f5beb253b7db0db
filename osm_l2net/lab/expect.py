"""What the scenario must observe, computed from the plan (pure, no I/O): the core's route walk
(``osm_l2net.core.routing``) plus which KNFs forward along it."""

from __future__ import annotations

from osm_l2net.core import routing
from osm_l2net.core.errors import InputError
from osm_l2net.core.plan import KduPlan, Plan


def expected_path(plan: Plan, member_vnf_index: str, dst_address: str) -> tuple[str, ...]:
    """Hop addresses as ``traceroute -n`` shows them; the last is the destination."""
    try:
        return routing.expected_path(plan, member_vnf_index, dst_address)
    except routing.Unreachable as e:
        raise InputError.single("plan", member_vnf_index, f"no path to {dst_address}: {e}",
                                "routes that lead to the address") from e


def expected_ttl(path: tuple[str, ...]) -> int:
    """TTL of the echo reply: every router on the (symmetric) path decrements it once."""
    return routing.expected_ttl(path)


def owner_of(plan: Plan, address: str) -> KduPlan | None:
    return next((k for k in plan.kdus if any(i.address == address for i in k.interfaces)), None)


def routers_on(plan: Plan, path: tuple[str, ...]) -> tuple[KduPlan, ...]:
    """The KNFs forwarding along ``path`` (every hop but the destination)."""
    return tuple(k for k in (owner_of(plan, hop) for hop in path[:-1]) if k is not None)
