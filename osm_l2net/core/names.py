"""Kubernetes names and label values derived from OSM ids. Pure and deterministic."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from functools import lru_cache

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # slug()'s fixed points: no upper case, no '-' run or end
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
MAX_NAME = 63
MAX_RELEASE = 53  # helm's limit for release names
MAX_IFNAME = 15  # the kernel's IFNAMSIZ - 1
_NS_ID_NAMESPACE = uuid.UUID("6b1f3a7e-2c4d-5e8f-9a0b-1c2d3e4f5a6b")


@lru_cache(maxsize=4096)
def slug(text: str, limit: int) -> str:
    """Lower-case DNS-1123 fragment of ``text`` (non-alphanumerics become '-'), at most ``limit`` characters."""
    if len(text) <= limit and _SLUG.fullmatch(text):
        return text  # already what the rewriting below would give (it is a cheap test: most ids are like this)
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return out or "x"


def short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def network_name(ns_name: str, ns_id: str, vld_id: str) -> str:
    """One name of :func:`network_names`."""
    return network_names(ns_name, ns_id, (vld_id,))[vld_id]


def network_names(ns_name: str, ns_id: str, vld_ids: Iterable[str]) -> dict[str, str]:
    """``<ns>-<vld>-<hash(ns id, vld id)>`` for each of ``vld_ids``: readable, ≤ 63 chars, DNS-1123, unique per NS
    instance and VLD.

    L2S-M looks networks up by name across namespaces and uses the name as the SDN network id, so two NS instances of
    the same NSD must never produce the same name: the hash covers the NS instance id. The VLD ids are slugged
    without ``slug``'s cache: a big NS has more of them than it holds, and each would only evict another.
    """
    ns_part, vld_part = slug(ns_name, 24), slug.__wrapped__
    return {vld_id: f"{ns_part}-{vld_part(vld_id, 29)}-{short_hash(ns_id, vld_id)}" for vld_id in vld_ids}


def release_name(ns_id: str, member_vnf_index: str, kdu_name: str) -> str:
    """A helm release name unique per NS instance and KDU (≤ 53 chars), when ``kdu-deployment-name`` is not given.

    OSM appends random digits instead; a deterministic name lets a re-run after a crash find the release it made.
    """
    return f"{slug(kdu_name, 40)}-{short_hash(ns_id, member_vnf_index, kdu_name)}"


def default_ns_id(ns_name: str) -> str:
    """A stable NS id for plans made outside OSM, so re-running with the same --ns-name converges on the same objects."""
    return str(uuid.uuid5(_NS_ID_NAMESPACE, ns_name))


@lru_cache(maxsize=4096)
def label_value(text: str) -> str:
    """A valid Kubernetes label value for ``text`` (kept verbatim when already valid, else sanitised and hashed)."""
    if len(text) <= MAX_NAME and LABEL_VALUE.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")[:50].strip("-_.")
    return f"{cleaned}-{short_hash(text)}" if cleaned else short_hash(text)


def dns1123_problem(name: str, limit: int = MAX_NAME) -> str | None:
    """Why ``name`` cannot be a Kubernetes DNS-1123 label, or None when it can."""
    if len(name) > limit:
        return f"'{name}' is {len(name)} characters long"
    if not DNS1123_LABEL.fullmatch(name):
        return f"'{name}' is not a DNS-1123 label"
    return None
