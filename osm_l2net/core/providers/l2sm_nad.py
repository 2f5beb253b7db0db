"""L2S-M as of the 2023 PoC (v1, until Feb 2024): a NetworkAttachmentDefinition the operator recognises by its config.

The operator matches the raw substring ``"device": "l2sm-vNet"`` (one space after the colon), so the config string is
written byte-exact, never re-serialised. Pods attach with the plain Multus annotation (names only); there is no IPAM,
so the chart sets addresses and routes itself from the ``l2net`` values block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import metadata

CONFIG = '{"cniVersion": "0.3.0", "type": "host-device", "device": "l2sm-vNet"}'


class L2smNadProvider:
    name = "l2sm-nad"
    api_version = "k8s.cni.cncf.io/v1"
    kind = "NetworkAttachmentDefinition"
    assigns_addresses = False

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": metadata(name, namespace, labels, annotations), "spec": {"config": CONFIG}}

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"k8s.v1.cni.cncf.io/networks": ", ".join(i.network for i in interfaces)}


PROVIDER = L2smNadProvider()
