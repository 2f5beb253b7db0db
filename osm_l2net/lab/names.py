"""Deterministic, kernel-safe names and MAC addresses for everything the lab creates (pure, no I/O).

Every name carries the lab's prefix so that ``lab down`` can find what it owns by scanning, without trusting saved
state: network namespaces are ``l2n-<lab>`` (the lab's switch, holding one bridge per plan network) and
``l2n-<lab>-<pod>`` (one per KNF pod). Lab names contain no ``-``, so ``l2n-a-*`` never matches the namespaces
of a lab called ``a-b``.
Bridges (``l2b<hash>``) and switch-side veth ends (``l2v<hash>``) are 15 characters, the kernel's limit, and their
hashes include the NS id, so two NS instances never share a bridge.
"""

from __future__ import annotations

import hashlib
import re

from osm_l2net.core.errors import InputError

NETNS_PREFIX = "l2n-"
BRIDGE_PREFIX = "l2b"
VETH_PREFIX = "l2v"
IFNAME_MAX = 15  # IFNAMSIZ - 1
ALIAS_PREFIX = "osm-l2net lab="
_LAB_RE = re.compile(r"^[a-z0-9_]{1,24}$")
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$")
_POD_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,62}$")


def short_hash(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def check_lab_name(lab: str) -> str:
    if not _LAB_RE.match(lab):
        raise InputError.single("lab", "name", f"invalid lab name {lab!r}",
                                "1-24 characters of a-z, 0-9 and _ (no '-')")
    return lab


def check_ifname(name: str, where: str) -> str:
    if not _IFNAME_RE.match(name) or len(name) > IFNAME_MAX:
        raise InputError.single(where, "name", f"interface name {name!r} is not usable by the kernel",
                                f"at most {IFNAME_MAX} characters of letters, digits, '_', '.', '-'")
    return name


def switch_netns(lab: str) -> str:
    return f"{NETNS_PREFIX}{lab}"


def pod_netns(lab: str, pod: str) -> str:
    if not _POD_RE.match(pod):
        raise InputError.single("lab", pod, f"cannot name a network namespace after {pod!r}",
                                "letters, digits, '_', '.', '-' (at most 63)")
    return f"{NETNS_PREFIX}{lab}-{pod}"


def owns_netns(lab: str, name: str) -> bool:
    """True for the lab's switch namespace and its pod namespaces (and nothing of another lab)."""
    return name == switch_netns(lab) or name.startswith(switch_netns(lab) + "-")


def bridge_name(lab: str, ns_id: str, vld_id: str) -> str:
    return BRIDGE_PREFIX + short_hash(lab, ns_id, vld_id)


def veth_name(lab: str, ns_id: str, pod: str, ifname: str) -> str:
    return VETH_PREFIX + short_hash(lab, ns_id, pod, ifname)


def link_alias(lab: str, ns_id: str, what: str) -> str:
    """The ifalias written on every link we create: ownership that survives a lost state file."""
    return f"{ALIAS_PREFIX}{lab} ns={ns_id} {what}"[:255]


def stable_mac(*parts: str) -> str:
    """A locally administered unicast MAC derived from ``parts``: a recreated pod keeps its MACs, so peers' ARP caches
    stay valid across a scale 0 → 1 (the PoC's cut-off resumes in about a second instead of stalling ~100 s)."""
    raw = bytearray(hashlib.sha256("\x1f".join(parts).encode()).digest()[:6])
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in raw)
