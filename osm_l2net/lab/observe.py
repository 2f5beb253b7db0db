"""Parsers for what the tools print (pure): ping and traceroute output → observed values."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received.*?(\d+(?:\.\d+)?)% packet loss")
_TTL = re.compile(r"\bttl=(\d+)")
_HOP = re.compile(r"^\s*(\d+)\s+(.*)$")
_ADDR = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")


@dataclass(frozen=True)
class PingResult:
    transmitted: int
    received: int
    loss: float
    ttls: tuple[int, ...]

    def __str__(self) -> str:
        ttl = ",".join(str(t) for t in sorted(set(self.ttls))) or "-"
        return f"{self.received}/{self.transmitted} received, {self.loss:g}% loss, ttl={ttl}"


def parse_ping(text: str) -> PingResult:
    match = _SUMMARY.search(text)
    if not match:
        return PingResult(0, 0, 100.0, ())
    return PingResult(int(match.group(1)), int(match.group(2)), float(match.group(3)),
                      tuple(int(t) for t in _TTL.findall(text)))


def parse_traceroute(text: str) -> tuple[str, ...]:
    """Hop addresses of ``traceroute -n`` (``*`` for a hop that did not answer); the header line is skipped."""
    hops: list[str] = []
    for line in text.splitlines():
        match = _HOP.match(line)
        if not match or line.startswith("traceroute"):
            continue
        addr = _ADDR.search(match.group(2))
        hops.append(addr.group(1) if addr else "*")
    return tuple(hops)
