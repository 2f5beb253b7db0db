"""The deterministic allocator and address rules."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osm_l2net.core.addressing import Allocator, ip_text, network_text, parse_pool, usable


def take_all(net: str, taken: list[str] = [], pools: list[str] = []) -> list[str]:  # noqa: B006 - read only
    n = ipaddress.ip_network(net)
    alloc = Allocator(n, [ipaddress.ip_address(t) for t in taken], [parse_pool(p) for p in pools])
    out = []
    while (a := alloc.next()) is not None:
        out.append(str(a))
    return out


def test_skips_network_broadcast_and_taken() -> None:
    assert take_all("10.0.0.0/29", ["10.0.0.2"]) == ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]


def test_point_to_point_links_use_both_addresses() -> None:
    assert take_all("10.0.0.0/31") == ["10.0.0.0", "10.0.0.1"]
    assert usable(ipaddress.ip_network("10.0.0.4/32"), ipaddress.ip_address("10.0.0.4"))


def test_ipv6_skips_only_the_subnet_router_anycast_address() -> None:
    assert take_all("fd00::/126") == ["fd00::1", "fd00::2", "fd00::3"]


def test_pools_bound_the_candidates_and_are_clipped_to_the_cidr() -> None:
    assert take_all("10.0.0.0/24", ["10.0.0.101"], ["10.0.0.100-10.0.0.103"]) == ["10.0.0.100", "10.0.0.102", "10.0.0.103"]
    assert take_all("10.0.0.0/30", [], ["10.0.0.0/24"]) == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize("pool", ["10.0.0.9-10.0.0.1", "10.0.0.1-fd00::1", "nope"])
def test_bad_pools(pool: str) -> None:
    with pytest.raises(ValueError):
        parse_pool(pool)


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_ip_text_is_str(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert ip_text(ip) == str(ip)


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.integers(0, 128))
def test_network_text_is_str(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int) -> None:
    net = ipaddress.ip_network(f"{ip}/{min(prefix, ip.max_prefixlen)}", strict=False)
    assert network_text(net) == str(net)
