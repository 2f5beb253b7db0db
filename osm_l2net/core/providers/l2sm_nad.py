"""L2S-M as of the 2023 PoC (v1, until Feb 2024): a NetworkAttachmentDefinition the operator recognises by its config.

The operator matches the raw substring ``"device": "l2sm-vNet"`` (one space after the colon), so the config string is
written byte-exact, never re-serialised. Pods attach with the plain Multus annotation (names only); there is no IPAM,
so the chart sets addresses and routes itself from the ``l2net`` values block. A NAD is ready once created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import ANNOTATION_MULTUS_NETWORKS, NAD, ProviderBase, register

CONFIG = '{"cniVersion": "0.3.0", "type": "host-device", "device": "l2sm-vNet"}'


class L2smNadProvider(ProviderBase):
    name = "l2sm-nad"
    resource = NAD
    crd_owner = "Multus"
    assigns_addresses = False

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
        return self.network_object(name, namespace, labels, annotations, {"config": CONFIG})

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {ANNOTATION_MULTUS_NETWORKS: ", ".join(i.network for i in interfaces)}


PROVIDER = register(L2smNadProvider())
