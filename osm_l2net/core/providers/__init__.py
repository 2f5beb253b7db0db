"""Network providers: how a virtual link becomes a cluster object and how a pod asks to be attached to it.

One module per provider; each exposes ``PROVIDER``, an object with ``network_manifest`` and ``pod_metadata``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from osm_l2net.core.plan import Interface


class Provider(Protocol):
    name: str
    api_version: str
    kind: str
    #: whether the provider can give each replica its own address from the link's cidr (L2S-M's IPAM can)
    assigns_addresses: bool

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict[str, Any]: ...

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]: ...


#: the compact JSON of pod annotations, made once (``json.dumps`` with options builds an encoder per call)
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def get(name: str) -> Provider:
    from osm_l2net.core.providers import l2sm, l2sm_nad, multus

    providers: dict[str, Provider] = {p.name: p for p in (l2sm.PROVIDER, l2sm_nad.PROVIDER, multus.PROVIDER)}
    if name not in providers:
        raise KeyError(name)
    return providers[name]


def metadata(name: str, namespace: str, labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels), "annotations": dict(annotations)}
