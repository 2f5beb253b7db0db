"""IP address helpers and the deterministic allocator. Pure."""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# What ipaddress accepts for IPv4, written plainly: octets 0-255 in ASCII digits without leading zeros, and a prefix
# length 0-32 without them. A text that does not match goes to ipaddress, which also words every error.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_IPV4_NET = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(3[0-2]|[12]?[0-9])")


@lru_cache(maxsize=1 << 16)
def address(text: str) -> IPAddress:
    """Parse an address once: loading, checking and planning all look at the same strings."""
    m = _IPV4.fullmatch(text) if type(text) is str else None
    if m is None:  # IPv6, or no address: ipaddress decides and words the error
        return ipaddress.ip_address(text)
    a, b, c, d = m.groups()  # an IPv4Address from its integer skips ipaddress's parsing: twice as fast
    return ipaddress.IPv4Address(int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d))


@lru_cache(maxsize=1 << 16)
def network(text: str) -> IPNetwork:
    """Parse a network prefix (strict: no host bits) once."""
    m = _IPV4_NET.fullmatch(text) if type(text) is str else None
    if m is None:
        return ipaddress.ip_network(text, strict=True)
    a, b, c, d, length = m.groups()  # from integers, a third faster; host bits are refused in the same words
    return ipaddress.IPv4Network((int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d), int(length)), strict=True)


_OCTETS = tuple(str(i) for i in range(256))


def ip_text(ip: IPAddress) -> str:
    """``str(ip)``, for IPv4 in a third of the time: planning formats one address per interface."""
    if type(ip) is ipaddress.IPv4Address:
        v = int(ip)  # one Python-level call (__int__); ``.packed`` is two and a bytes object
        return f"{_OCTETS[v >> 24]}.{_OCTETS[v >> 16 & 255]}.{_OCTETS[v >> 8 & 255]}.{_OCTETS[v & 255]}"
    return str(ip)


def int_text(value: int, version: int) -> str:
    """``str()`` of the address ``value`` of IP ``version``, without making an address object for IPv4: the planner
    formats every address it allocates."""
    if version == 4:
        return f"{_OCTETS[value >> 24]}.{_OCTETS[value >> 16 & 255]}.{_OCTETS[value >> 8 & 255]}.{_OCTETS[value & 255]}"
    return str(ipaddress.IPv6Address(value))


def network_text(net: IPNetwork) -> str:
    """``str(net)`` (``<network address>/<prefix length>``), faster for IPv4: planning formats one per link."""
    if type(net) is ipaddress.IPv4Network:
        return f"{ip_text(net.network_address)}/{net.prefixlen}"
    return str(net)


def bounds(net: IPNetwork) -> tuple[int, int]:
    """The first and last address of ``net`` as integers. Not ``net.broadcast_address``: its first read on each
    network object goes through two cached_property lookups (the hostmask's too), which on a freshly loaded
    10,000-link NS cost more than the whole overlap check."""
    first = int(net.network_address)
    return first, first | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)


def is_ip(text: str) -> bool:
    try:
        address(text)
    except ValueError:
        return False
    return True


def parse_pool(pool: str) -> tuple[IPAddress, IPAddress]:
    """An OSM ``ip-allocation-pools`` entry: ``first-last``, a CIDR, or one address."""
    if "-" in pool:
        first, last = (ipaddress.ip_address(p.strip()) for p in pool.split("-", 1))
    elif "/" in pool:
        net = ipaddress.ip_network(pool, strict=False)
        first, last = net[0], net[-1]
    else:
        first = last = ipaddress.ip_address(pool.strip())
    if first.version != last.version or int(first) > int(last):
        raise ValueError(f"'{pool}' is not an ascending range of one IP version")
    return first, last


def usable(net: IPNetwork, address: IPAddress) -> bool:
    """Inside the network and not its network or (IPv4) broadcast address, except on /31, /32 (RFC 3021)."""
    low, high = host_range(net)
    return address.version == net.version and low <= int(address) <= high


def host_range(net: IPNetwork) -> tuple[int, int]:
    """The lowest and highest address of ``net`` that :func:`usable` accepts, as integers."""
    first, last = bounds(net)
    if net.version == 4 and net.prefixlen < 31:
        return first + 1, last - 1  # not the network or broadcast address
    if net.version == 6 and net.prefixlen < 127:
        return first + 1, last  # not the subnet-router anycast address
    return first, last


class Allocator:
    """Hands out addresses of one link in ascending order, skipping taken ones; deterministic for the same input.

    Candidates come from the link's ``ip-allocation-pools`` when given, else from the whole CIDR, and only the ones
    :func:`usable` accepts. Addresses pinned by descriptors or parameters, and the gateway, are marked taken first, so
    an allocated address never collides. Works on integers, a cursor stepping through each range: a 10,000-link NS
    makes thousands of allocators, most of which hand out one or two addresses.
    """

    def __init__(self, net: IPNetwork, taken: Iterable[IPAddress], pools: Iterable[tuple[IPAddress, IPAddress]] = ()):
        low, high = host_range(net)
        self.version = net.version
        self._taken = {int(t) for t in taken}
        # each pool clipped to the usable range; pools may overlap: what one gave is taken for the next
        self._ranges = [(max(int(a), low), min(int(b), high)) for a, b in pools] or [(low, high)]
        self._range = 0
        self._next = self._ranges[0][0]

    def next(self) -> IPAddress | None:
        """The next free address, or None when the link is full."""
        value = self.next_value()
        if value is None:
            return None
        return ipaddress.IPv4Address(value) if self.version == 4 else ipaddress.IPv6Address(value)

    def next_value(self) -> int | None:
        """:meth:`next` as an integer (for :func:`int_text`), or None when the link is full."""
        taken, ranges = self._taken, self._ranges
        while self._range < len(ranges):
            value, last = self._next, ranges[self._range][1]
            while value <= last and value in taken:
                value += 1
            if value <= last:
                taken.add(value)
                self._next = value + 1
                return value
            self._range += 1
            if self._range < len(ranges):
                self._next = ranges[self._range][0]
        return None


#: Host bits of the largest replica block: L2S-M's IPAM steps only an address's last byte, so a block must fit in one
#: /24 (IPv4) or /120 (IPv6) or its allocation spins.
MAX_BLOCK_HOST_BITS = 8
#: Headroom per replica: L2S-M never frees an address, so every pod ever created (restarts, rolling upgrades, scale
#: in and out) uses one; four per replica covers a few day-2 operations before the range runs dry.
ADDRESSES_PER_REPLICA = 4
MIN_BLOCK_CAPACITY = 16


@dataclass(frozen=True)
class ReplicaBlock:
    """An aligned block of a link's CIDR handed to the provider's IPAM; ``capacity`` addresses come out of it."""

    block: IPNetwork

    @property
    def capacity(self) -> int:
        return block_capacity(self.block)


def block_capacity(block: IPNetwork) -> int:
    """L2S-M starts at the block's base address + 1 and stops at its last address: size - 1 addresses."""
    return block.num_addresses - 1


def replica_block(cidr: IPNetwork, reserved: Iterable[IPAddress], replicas: int) -> ReplicaBlock | None:
    """The block of ``cidr`` that the provider's IPAM hands replicas' addresses from, or None if none fits.

    Rules (deterministic: same input, same block):
    - aligned on its size, at most 2**MAX_BLOCK_HOST_BITS addresses and never larger than ``cidr``;
    - it holds no ``reserved`` address (pinned, gateway and plan-allocated ones) and neither the network nor the
      broadcast address of ``cidr`` (so a block is never the whole of a small CIDR);
    - size: the smallest block whose capacity is at least max(ADDRESSES_PER_REPLICA * replicas, MIN_BLOCK_CAPACITY);
      when no block that large is free, the largest free one, so a small link still gets a pool. Whether that pool is
      enough for ``replicas`` is the caller's judgement (capacity is stated, not assumed);
    - among blocks of that size, the lowest free one.
    """
    host_bits = cidr.max_prefixlen - cidr.prefixlen
    want = max(ADDRESSES_PER_REPLICA * replicas, MIN_BLOCK_CAPACITY)
    taken = sorted({int(a) for a in reserved if a in cidr} | {int(cidr.network_address), int(cidr.broadcast_address)})
    sizes = [b for b in range(min(host_bits, MAX_BLOCK_HOST_BITS), 0, -1)]  # largest first
    fitting = [b for b in sizes if (1 << b) - 1 >= want]
    order = [min(fitting)] if fitting else []
    order += [b for b in sizes if not fitting or b < min(fitting)]  # fall back to ever smaller blocks
    for bits in order:
        base = _first_free(int(cidr.network_address), int(cidr.broadcast_address), 1 << bits, taken)
        if base is not None:
            return ReplicaBlock(ipaddress.ip_network((base, cidr.max_prefixlen - bits)))
    return None


def _first_free(low: int, high: int, size: int, taken: list[int]) -> int | None:
    """The lowest aligned ``size`` block in [low, high] holding no ``taken`` value (sorted).

    Each block that is skipped holds a taken value, so this looks at most len(taken) + 1 blocks, even in a /8.
    """
    base = low
    while base + size - 1 <= high:
        i = bisect_left(taken, base)
        if i == len(taken) or taken[i] >= base + size:
            return base
        base = (taken[i] // size + 1) * size  # skip past the block holding the taken value
    return None


def addresses_left(block: IPNetwork, last_assigned: str | None) -> int:
    """How many more pods L2S-M's IPAM can address from a ``podAddressRange`` block (its GetNextAvailableIP): the
    first pod gets the block's base + 1, every later one ``status.lastAssignedIP`` + 1, stepping the last byte only
    and never wrapping; nothing is ever given back. A ``lastAssignedIP`` outside the block (or unreadable) leaves
    nothing: the next address would be outside the range."""
    base, last = int(block.network_address), int(block.broadcast_address)
    if not last_assigned:
        start = base + 1
    else:
        try:
            value = int(ipaddress.ip_address(last_assigned.split("/")[0]))
        except ValueError:
            return 0
        if not base <= value <= last:
            return 0
        start = value + 1
    top = min(last, start | 0xFF)  # the last byte steps to 255 at most (a block is never larger than a /24)
    return max(0, top - start + 1)
