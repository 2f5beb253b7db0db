"""Multus with the reference ``bridge`` CNI plugin and static IPAM: one NetworkAttachmentDefinition per virtual link.

Each pod names its networks in the JSON form of ``k8s.v1.cni.cncf.io/networks`` with its interface name and ``ips``.
A Linux bridge joins pods on one node only; for multi-node clusters use L2S-M (or swap the CNI type in the config).
A NAD is ready once created.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from osm_l2net.core.names import short_hash
from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import (
    ANNOTATION_MULTUS_NETWORKS,
    COMPACT_JSON,
    NAD,
    ProviderBase,
    register,
)

_SORTED_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True, check_circular=False)


class MultusProvider(ProviderBase):
    name = "multus"
    resource = NAD
    crd_owner = "Multus"
    assigns_addresses = False  # static IPAM gives every replica the same address

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
        config: dict[str, Any] = {
            "cniVersion": "0.3.1",
            "name": name,
            "type": "bridge",
            "bridge": f"l2n{short_hash(namespace, name, length=12)}",  # kernel names are at most 15 characters
            "ipam": {"type": "static"},
        }
        if mtu:
            config["mtu"] = mtu
        return self.network_object(name, namespace, labels, annotations, {"config": _SORTED_JSON.encode(config)})

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        entries: list[dict[str, Any]] = []
        for i in interfaces:
            entry: dict[str, Any] = {"name": i.network, "namespace": namespace, "interface": i.name}
            if i.ip:
                entry["ips"] = [i.ip]
            entries.append(entry)
        return {}, {ANNOTATION_MULTUS_NETWORKS: COMPACT_JSON.encode(entries)}


PROVIDER = register(MultusProvider())
