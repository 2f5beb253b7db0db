"""The deterministic allocator and address rules."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osm_l2net.core.addressing import Allocator, address, bounds, int_text, ip_text, network, network_text, parse_pool, usable


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


def _parsed(parse: Any, text: str) -> tuple[str, str]:
    """What a parser gives for a text: its result's type and text, or its error's type and message."""
    try:
        result = parse(text)
    except ValueError as e:
        return type(e).__name__, str(e)
    return type(result).__name__, str(result)


OCTETS = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "010", "0x1", "+1", "-1", " 1", "1 ",
                                                                  "\u0661", "", "1\n", "256", "999", "0001"]))
V4_TEXTS = st.builds(".".join, st.lists(OCTETS, min_size=3, max_size=5))
PREFIXES = st.one_of(st.integers(0, 40).map(str), st.sampled_from(["00", "024", "", " 24", "24\n", "0x18", "255.255.255.0"]))


@settings(max_examples=500)
@given(V4_TEXTS)
def test_address_parses_as_ipaddress_does(text: str) -> None:
    """The IPv4 fast path of address(): the same address, or ipaddress's own error, for every text."""
    assert _parsed(address.__wrapped__, text) == _parsed(ipaddress.ip_address, text)


@settings(max_examples=500)
@given(st.one_of(st.builds(lambda a, p: f"{a}/{p}", V4_TEXTS, PREFIXES),
                 st.builds(lambda a, p: f"{a}/{p}", st.ip_addresses(v=4).map(str), st.integers(0, 33))))
def test_network_parses_as_ipaddress_does(text: str) -> None:
    """The IPv4 fast path of network(): the same strict network (host bits refused), or ipaddress's own error."""
    assert _parsed(network.__wrapped__, text) == _parsed(lambda t: ipaddress.ip_network(t, strict=True), text)


@pytest.mark.parametrize("text", ["10.0.1.0/24", "0.0.0.0/0", "255.255.255.255/32", "10.0.1.1/24", "fd00::/64"])
def test_network_keeps_ipaddress_s_attributes(text: str) -> None:
    try:
        expected = ipaddress.ip_network(text)
    except ValueError:
        return
    got = network.__wrapped__(text)
    assert (type(got), got, got.netmask, got.broadcast_address, got.prefixlen, next(iter(got.hosts()), None)) == (
        type(expected), expected, expected.netmask, expected.broadcast_address, expected.prefixlen,
        next(iter(expected.hosts()), None))

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
    for candidate in (other, net.network_address, net.broadcast_address, ip):
        reserved = ({net.network_address, net.broadcast_address} if net.version == 4 and net.prefixlen < 31 else
                    {net.network_address} if net.version == 6 and net.prefixlen < 127 else set())
        assert usable(net, candidate) == (candidate in net and candidate not in reserved)


def test_next_value_is_next_as_an_integer() -> None:
    net = ipaddress.ip_network("10.0.0.0/30")
    by_value, by_address = Allocator(net, []), Allocator(net, [])
    values = [by_value.next_value() for _ in range(3)]
    addresses = [by_address.next() for _ in range(3)]
    assert values == [int(ipaddress.ip_address("10.0.0.1")), int(ipaddress.ip_address("10.0.0.2")), None]
    assert addresses == [ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.2"), None]
