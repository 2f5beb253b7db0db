"""The VNFD's scaling declaration for KDUs (OSM IM: ``df[].kdu-resource-profile[]`` referred to by a scaling
aspect's ``kdu-resource-delta[]``): a KDU that OSM's scale may grow gets no pinned address and a per-replica pool
sized for its max-number-of-instances; a pinned one is refused with the profile's path. And what is left of a pool
as L2S-M's IPAM counts it (GetNextAvailableIP: base + 1, then lastAssignedIP + 1, never wraps, never gives back)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from osm_l2net.core.addressing import addresses_left
from osm_l2net.core.errors import DescriptorError, InputError
from tests.unit import cdn


def scaling(max_instances: Any = 3, referenced: bool = True, kdu: str = "cdn-server") -> dict[str, Any]:
    deltas = [{"id": "d", "kdu-resource-delta": [{"id": "p", "number-of-instances": 1}]}] if referenced else [
        {"id": "d", "vdu-delta": []}]
    return {"kdu-resource-profile": [{"id": "p", "kdu-name": kdu, "min-number-of-instances": 1,
                                      "max-number-of-instances": max_instances}],
            "scaling-aspect": [{"id": "a", "name": "a", "max-scale-level": 2,
                                "aspect-delta-details": {"deltas": deltas}}]}


def with_scaling(pinned: bool, **kwargs: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    nsd, vnfds = cdn.docs()
    vnfds["cdn_server_knf"]["vnfd"]["df"][0].update(scaling(**kwargs))
    if not pinned:
        del cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["ip-address"]
    return nsd, vnfds


def test_a_scalable_kdu_gets_no_address_and_a_pool_sized_for_its_max() -> None:
    nsd, vnfds = with_scaling(pinned=False, max_instances=10)
    plan = cdn.plan(nsd, vnfds)
    kdu = plan.kdu("cdn-server")
    assert kdu is not None and [i.ip for i in kdu.interfaces] == [None], "no address: the IPAM gives each its own"
    assert kdu.replicas == 1, "instantiated with one replica (replicaCount), scaled later by OSM"
    net = plan.network(kdu.interfaces[0].vld_id)
    assert net is not None and net.pod_address_range == "10.0.1.64/26" and net.pod_address_capacity == 63, \
        "4 addresses per replica of max 10: a /26, clear of the router's 10.0.1.1"
    assert net.manifest["spec"]["podAddressRange"] == "10.0.1.64/26"


def test_a_pinned_address_on_a_scalable_kdu_is_refused_with_the_profile_path() -> None:
    nsd, vnfds = with_scaling(pinned=True)
    with pytest.raises(InputError) as caught:
        cdn.plan(nsd, vnfds)
    problem = next(p for p in caught.value.problems if "max-number-of-instances" in p.path)
    assert problem.source.endswith("cdn_server_vnfd.yaml")
    assert problem.path == "vnfd.df[0].kdu-resource-profile[0].max-number-of-instances"
    assert "10.0.1.10 (" in problem.message and "same address" in problem.message
    assert "kdu-resource-delta[0]" in problem.message, "names the scaling aspect that scales it"


def test_a_profile_no_scaling_aspect_refers_to_changes_nothing() -> None:
    """LCM scales a KDU only through a kdu-resource-delta; a profile alone is never used."""
    nsd, vnfds = with_scaling(pinned=True, referenced=False)
    assert cdn.plan(nsd, vnfds) == cdn.plan()


def test_max_one_keeps_the_pinned_address() -> None:
    nsd, vnfds = with_scaling(pinned=True, max_instances=1)
    kdu = cdn.plan(nsd, vnfds).kdu("cdn-server")
    assert kdu is not None and kdu.interfaces[0].ip == "10.0.1.10/24"


@pytest.mark.parametrize(("bad", "path"), [
    ("many", "vnfd.df[0].kdu-resource-profile[0].max-number-of-instances"),
    (0, "vnfd.df[0].kdu-resource-profile[0].max-number-of-instances"),  # below min 1 (the IM's must rule)
])
def test_bad_profile_counts_are_refused_with_their_path(bad: Any, path: str) -> None:
    nsd, vnfds = with_scaling(pinned=False, max_instances=bad)
    with pytest.raises(DescriptorError) as caught:
        cdn.plan(nsd, vnfds)
    assert path in [p.path for p in caught.value.problems]


def test_a_profile_of_an_unknown_kdu_is_refused() -> None:
    nsd, vnfds = with_scaling(pinned=False, kdu="no-such-kdu")
    with pytest.raises(DescriptorError, match="no-such-kdu"):
        cdn.plan(nsd, vnfds)


def test_multus_cannot_give_scaled_replicas_their_own_address() -> None:
    nsd, vnfds = with_scaling(pinned=False)
    with pytest.raises(InputError, match="cannot give each replica its own address"):
        cdn.plan(nsd, vnfds, provider="multus")


BLOCK = ipaddress.ip_network("10.0.1.32/27")


@pytest.mark.parametrize(("last", "left"), [
    (None, 31),  # .33 to .63
    ("10.0.1.33", 30),
    ("10.0.1.37", 26),  # scale 1 -> 3 -> 1 -> 3 used five: .33 to .37
    ("10.0.1.62", 1),
    ("10.0.1.63", 0),  # the block's last address: nothing after it
    ("10.0.1.64", 0),  # outside the block: the next address would be outside the range
    ("10.0.1.37/24", 26),  # with a prefix length
    ("not an address", 0),
])
def test_addresses_left_count_as_l2sm_allocates(last: str | None, left: int) -> None:
    assert addresses_left(BLOCK, last) == left


def test_a_slash_24_block_stops_at_255_without_wrapping() -> None:
    block = ipaddress.ip_network("10.0.7.0/24")
    assert addresses_left(block, None) == 255
    assert addresses_left(block, "10.0.7.254") == 1
    assert addresses_left(block, "10.0.7.255") == 0


def test_a_max_beyond_what_the_link_can_pool_is_refused_naming_the_profile() -> None:
    nsd, vnfds = with_scaling(pinned=False, max_instances=64)  # a /24 with .0, .1 and .255 taken: at most a /26
    with pytest.raises(InputError) as caught:
        cdn.plan(nsd, vnfds)
    [problem] = caught.value.problems
    assert "may be scaled to 64 replicas (max-number-of-instances of its kdu-resource-profile)" in problem.message
    assert "holds 63" in problem.message and problem.expected.startswith("at most 63 replicas")
