"""The router chart's ``firewall:`` values → nftables rules, and the same rules as a pure predicate (no I/O).

The chart's values.yaml is the source of truth (merged with the plan's values the way helm merges ``-f``):
``protected`` addresses receive forwarded traffic only when an ``allow`` entry matches;
replies (established/related) always pass. The predicate lets the scenario compute what it must observe
instead of hard-coding it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from osm_l2net.core.errors import InputError

_PROTOS = ("tcp", "udp", "icmp")
TABLE = "osm_l2net"


@dataclass(frozen=True)
class Allow:
    source: ipaddress.IPv4Network
    proto: str
    port: int | None


@dataclass(frozen=True)
class Firewall:
    enabled: bool
    protected: tuple[ipaddress.IPv4Network, ...]
    allow: tuple[Allow, ...]

    def permits(self, src: str, dst: str, proto: str, port: int | None = None) -> bool:
        """Would a new forwarded packet (src → dst, proto, dport) pass this router?"""
        daddr, saddr = ipaddress.ip_address(dst), ipaddress.ip_address(src)
        if not self.enabled or not any(daddr in net for net in self.protected):
            return True
        return any(
            saddr in a.source and a.proto == proto and (a.port is None or a.port == port) for a in self.allow
        )

    def nft_script(self) -> str:
        """An ``nft -f`` script: flush-and-replace our own table only, so reapplying is idempotent."""
        lines = [f"table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{",
                 "  chain forward {", "    type filter hook forward priority 0; policy accept;",
                 "    ct state established,related accept"]
        if self.enabled and self.protected:
            targets = ", ".join(str(n) for n in self.protected)
            for a in self.allow:
                match = f"ip saddr {a.source} ip daddr {{ {targets} }}"
                if a.proto == "icmp":
                    lines.append(f"    {match} meta l4proto icmp accept")
                elif a.port is None:
                    lines.append(f"    {match} meta l4proto {a.proto} accept")
                else:
                    lines.append(f"    {match} {a.proto} dport {a.port} accept")
            lines.append(f"    ip daddr {{ {targets} }} counter drop")
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"


NO_FIREWALL = Firewall(False, (), ())


def firewall_from_values(values: Mapping[str, Any], source: str) -> Firewall:
    block = values.get("firewall")
    if block is None:
        return NO_FIREWALL
    if not isinstance(block, Mapping):
        raise InputError.single(source, "firewall", "not a mapping", "firewall: {enabled, protected, allow}")
    try:
        protected = tuple(ipaddress.IPv4Network(p, strict=False) for p in block.get("protected", ()))
        allow = tuple(_allow(a, f"firewall.allow[{i}]", source) for i, a in enumerate(block.get("allow", ())))
    except (ValueError, TypeError) as e:
        raise InputError.single(source, "firewall", str(e), "IPv4 networks in protected/allow[].from") from e
    return Firewall(bool(block.get("enabled", True)), protected, allow)


def _allow(entry: Any, path: str, source: str) -> Allow:
    if not isinstance(entry, Mapping) or entry.get("proto") not in _PROTOS:
        raise InputError.single(source, path, f"invalid rule {entry!r}", "{from: CIDR, proto: tcp|udp|icmp, port: N}")
    port = entry.get("port")
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise InputError.single(source, f"{path}.port", f"invalid port {port!r}", "1-65535")
    return Allow(ipaddress.IPv4Network(entry.get("from", "0.0.0.0/0"), strict=False), entry["proto"], port)
