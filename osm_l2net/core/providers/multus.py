"""Multus with the reference ``bridge`` CNI plugin and static IPAM: one NetworkAttachmentDefinition per virtual link.

Each pod names its networks in the JSON form of ``k8s.v1.cni.cncf.io/networks`` with its interface name and ``ips``.
A Linux bridge joins pods on one node only; for multi-node clusters use L2S-M (or swap the CNI type in the config).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from osm_l2net.core.names import short_hash
from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import COMPACT_JSON, metadata

_SORTED_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True, check_circular=False)


class MultusProvider:
    name = "multus"
    api_version = "k8s.cni.cncf.io/v1"
    kind = "NetworkAttachmentDefinition"
    assigns_addresses = False  # static IPAM gives every replica the same address

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict[str, Any]:
        config: dict[str, Any] = {
            "cniVersion": "0.3.1",
            "name": name,
            "type": "bridge",
            "bridge": f"l2n{short_hash(namespace, name, length=12)}",  # kernel names are at most 15 characters
            "ipam": {"type": "static"},
        }
        if mtu:
            config["mtu"] = mtu
        return {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": metadata(name, namespace, labels, annotations),
                "spec": {"config": _SORTED_JSON.encode(config)}}

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        entries: list[dict[str, Any]] = []
        for i in interfaces:
            entry: dict[str, Any] = {"name": i.network, "namespace": namespace, "interface": i.name}
            if i.ip:
                entry["ips"] = [i.ip]
            entries.append(entry)
        return {}, {"k8s.v1.cni.cncf.io/networks": COMPACT_JSON.encode(entries)}


PROVIDER = MultusProvider()
