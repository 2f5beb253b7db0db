"""L2S-M, current API (v2.8+): one ``L2Network`` (l2sm.l2sm.k8s.local/v1, type vnet) per virtual link.

Pods attach with label ``l2sm: "true"`` (the webhook looks only at such pods) and annotation ``l2sm/networks``, a JSON
list with explicit ``ips``. The Multus annotation must not be set too: the webhook skips pods that carry it.
Addresses are always pinned by the plan, because L2S-M's automatic addressing never releases addresses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import COMPACT_JSON, metadata


class L2smProvider:
    name = "l2sm"
    api_version = "l2sm.l2sm.k8s.local/v1"
    kind = "L2Network"
    assigns_addresses = True

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": "vnet"}
        if cidr:
            spec["networkCIDR"] = cidr  # its mask is applied to the pods' addresses
        return {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": metadata(name, namespace, labels, annotations), "spec": spec}

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        entries: list[dict[str, Any]] = []
        for i in interfaces:
            entry: dict[str, Any] = {"name": i.network}
            if i.ip:
                entry["ips"] = [i.ip]
            entries.append(entry)
        return {"l2sm": "true"}, {"l2sm/networks": COMPACT_JSON.encode(entries)}


PROVIDER = L2smProvider()
