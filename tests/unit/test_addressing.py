"""The deterministic allocator and address rules."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osm_l2net.core.addressing import Allocator, bounds, int_text, ip_text, network_text, parse_pool, usable


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


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_int_text_is_str(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert int_text(int(ip), ip.version) == str(ip)


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.integers(0, 128))
def test_bounds_are_the_network_and_broadcast_addresses(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                                                        prefix: int) -> None:
    net = ipaddress.ip_network(f"{ip}/{min(prefix, ip.max_prefixlen)}", strict=False)
    assert bounds(net) == (int(net.network_address), int(net.broadcast_address))


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.integers(0, 128),
       st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_usable_is_the_rfc_rule(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int,
                                other: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """usable() on integers says what ipaddress's own membership and network/broadcast addresses say."""
    net = ipaddress.ip_network(f"{ip}/{min(prefix, ip.max_prefixlen)}", strict=False)
    for address in (other, net.network_address, net.broadcast_address, ip):
        reserved = ({net.network_address, net.broadcast_address} if net.version == 4 and net.prefixlen < 31 else
                    {net.network_address} if net.version == 6 and net.prefixlen < 127 else set())
        assert usable(net, address) == (address in net and address not in reserved)


def test_next_value_is_next_as_an_integer() -> None:
    net = ipaddress.ip_network("10.0.0.0/30")
    by_value, by_address = Allocator(net, []), Allocator(net, [])
    values = [by_value.next_value() for _ in range(3)]
    addresses = [by_address.next() for _ in range(3)]
    assert values == [int(ipaddress.ip_address("10.0.0.1")), int(ipaddress.ip_address("10.0.0.2")), None]
    assert addresses == [ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.2"), None]
