"""Lab profile: which behaviour each KNF gets in the lab (content server, router, cache) and its parameters.

Addresses, routes and firewall rules are NOT in the profile: they come from the plan and the charts' values.
The profile only says what runs in each pod (roles), sizes and rates, the lab-only external-user link, and the
scenario's timings. Pure: ``load_profile`` takes the parsed YAML mapping.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from osm_l2net.core.errors import InputError

SCHEMA = "osm-l2net.etsi.org/lab-profile/v1"
ROLES = ("content-server", "router", "cache", "none")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(|k|kb|kib|m|mb|mib|g|gib)\s*$", re.I)
_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*$", re.I)
_UNITS = {"": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 2**20, "mb": 10**6, "mib": 2**20, "g": 2**30, "gib": 2**30}
_RATES = {"bit": 1, "kbit": 1000, "mbit": 10**6, "gbit": 10**9}


@dataclass(frozen=True)
class Member:
    """One member-vnf-index (or member/kdu) and its lab role."""

    member: str
    role: str
    file: str = "video-content-file.avi"
    size: int = 4 * 2**20
    rate_bps: int | None = 1_600_000  # tbf on the content server's egress; 1600 kbit ≈ the PoC's 200 kB/s
    port: int = 80
    probe_port: int = 8081  # a non-HTTP listener on the content server: the firewall must block it
    source: str | None = None  # cache: the member whose file it pulls (its address comes from the plan)
    output: str = "video.avi"
    pull: str = "auto"  # cache: "auto" pulls at once; "manual" waits for Lab.start_pull (the scenario pings first)


@dataclass(frozen=True)
class External:
    """A lab-only link from ``attach`` (the cache) to an external-user namespace."""

    attach: str
    name: str
    member_ip: str
    user_ip: str


@dataclass(frozen=True)
class Timings:
    cutoff_at: float = 0.2  # cut the router once this fraction of the file is in the cache
    down_seconds: float = 3.0
    resume_within: float = 10.0
    download_timeout: float = 180.0
    isolation_instance: bool = True


@dataclass(frozen=True)
class Profile:
    members: tuple[Member, ...] = ()
    external: External | None = None
    timings: Timings = field(default_factory=Timings)
    source: str = "lab profile"

    def member(self, key: str, member_vnf_index: str) -> Member | None:
        return next((m for m in self.members if m.member in (key, member_vnf_index)), None)

    def with_content(self, size: int | None = None, rate_bps: int | None = None) -> Profile:
        """Override file size / rate of every content server (CLI --size/--rate, tests)."""
        members = tuple(
            replace(m, size=size or m.size, rate_bps=m.rate_bps if rate_bps is None else rate_bps)
            if m.role == "content-server" else m for m in self.members
        )
        return replace(self, members=members)

    def with_pull(self, pull: str) -> Profile:
        return replace(self, members=tuple(replace(m, pull=pull) if m.role == "cache" else m for m in self.members))

    def with_timings(self, **changes: Any) -> Profile:
        return replace(self, timings=replace(self.timings, **changes))


def parse_size(value: Any, where: str) -> int:
    match = _SIZE_RE.match(str(value))
    if not match:
        raise InputError.single(where, "size", f"invalid size {value!r}", "e.g. 4MiB, 512KiB, 1000000")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_rate(value: Any, where: str) -> int | None:
    if value in (None, "", "unlimited"):
        return None
    match = _RATE_RE.match(str(value))
    if not match:
        raise InputError.single(where, "rate", f"invalid rate {value!r}", "e.g. 1600kbit, 10mbit, unlimited")
    return int(float(match.group(1)) * _RATES[match.group(2).lower()])


def load_profile(data: Mapping[str, Any], source: str = "lab profile") -> Profile:
    if data.get("schema", SCHEMA) != SCHEMA:
        raise InputError.single(source, "schema", f"unknown schema {data.get('schema')!r}", SCHEMA)
    members = data.get("members") or {}
    if not isinstance(members, Mapping):
        raise InputError.single(source, "members", "not a mapping", "member-vnf-index: {role: ...}")
    parsed = tuple(_member(str(k), v, f"{source}: members.{k}") for k, v in members.items())
    external = _external(data.get("external-user"), source) if data.get("external-user") else None
    timings = _timings(data.get("scenario") or {}, source)
    return Profile(parsed, external, timings, source)


def _member(key: str, spec: Any, where: str) -> Member:
    if not isinstance(spec, Mapping) or spec.get("role") not in ROLES:
        raise InputError.single(where, "role", f"invalid member entry {spec!r}", "role: " + " | ".join(ROLES))
    base = Member(key, spec["role"])
    return replace(
        base,
        file=str(spec.get("file", base.file)),
        size=parse_size(spec["size"], where) if "size" in spec else base.size,
        rate_bps=parse_rate(spec["rate"], where) if "rate" in spec else base.rate_bps,
        port=int(spec.get("port", base.port)),
        probe_port=int(spec.get("probe-port", base.probe_port)),
        source=spec.get("source"),
        output=str(spec.get("output", base.output)),
        pull=_choice(spec.get("pull", base.pull), ("auto", "manual"), f"{where}.pull"),
    )


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise InputError.single(where, "", f"invalid value {value!r}", " | ".join(allowed))
    return str(value)


def _external(spec: Any, source: str) -> External:
    where = f"{source}: external-user"
    try:
        ext = External(str(spec["attach"]), str(spec.get("name", "external-user")), spec["member-ip"], spec["user-ip"])
        a, b = ipaddress.ip_interface(ext.member_ip), ipaddress.ip_interface(ext.user_ip)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError.single(where, "", f"invalid external-user link: {e}", "{attach, member-ip, user-ip}") from e
    if a.network != b.network:
        raise InputError.single(where, "user-ip", f"{b} is not on {a.network}", "both ends on one subnet")
    return ext


def _timings(spec: Mapping[str, Any], source: str) -> Timings:
    names = {"cutoff-at": "cutoff_at", "down-seconds": "down_seconds", "resume-within": "resume_within",
             "download-timeout": "download_timeout", "isolation-instance": "isolation_instance"}
    unknown = set(spec) - set(names)
    if unknown:
        raise InputError.single(source, "scenario", f"unknown keys {sorted(unknown)}", ", ".join(names))
    return replace(Timings(), **{names[k]: v for k, v in spec.items()})
