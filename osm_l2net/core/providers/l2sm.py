"""L2S-M, current API (v2.8+): one ``L2Network`` (l2sm.l2sm.k8s.local/v1, type vnet) per virtual link.

Pods attach with label ``l2sm: "true"`` (the webhook looks only at such pods) and annotation ``l2sm/networks``, a JSON
list with explicit ``ips``. The Multus annotation must not be set too: the webhook skips pods that carry it.
Addresses are pinned by the plan, because L2S-M's automatic addressing never releases addresses; only a KDU with
several replicas is left to it, inside ``spec.podAddressRange`` (a block the plan reserves, see
``core.addressing.replica_block``), so that it never hands out the gateway, a pinned address or .0/.255.

A network is ready once the operator reports ``status.internalConnectivity: Available`` (pods created earlier are
never connected); the webhook reports a pod it could not attach in annotation ``l2sm/error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii as _json_string
from types import MappingProxyType
from typing import Any

from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import (
    Judgement,
    ProviderBase,
    ResourceRef,
    annotated_networks,
    annotations_of,
    register,
)

FINALIZER = "l2sm.operator.io/finalizer"
ANNOTATION_NETWORKS = "l2sm/networks"
ANNOTATION_ERROR = "l2sm/error"
NAMESPACE = "l2sm-system"  # where the L2S-M deployment runs (its install manifests)
OPERATOR_CHECK = f"kubectl -n {NAMESPACE} get pods"


class L2smProvider(ProviderBase):
    name = "l2sm"
    resource = ResourceRef("l2sm.l2sm.k8s.local", "v1", "l2networks", "L2Network")
    crd_owner = "L2S-M"
    assigns_addresses = True
    pod_address_ranges = True  # spec.podAddressRange: its webhook allocates from it instead of the whole networkCIDR
    stretches = True  # an inter-cluster L2Network of the same name in each cluster, naming the same provider
    precedence = 10  # its webhook writes the Multus annotation too, naming its port NADs, not our networks
    finalizer_hints = MappingProxyType({FINALIZER: f"the L2S-M operator removes it: is it running? {OPERATOR_CHECK}"})

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": "vnet"}
        if cidr:
            spec["networkCIDR"] = cidr  # its mask is applied to the pods' addresses
        return self.network_object(name, namespace, labels, annotations, spec)

    def with_pod_address_range(self, manifest: dict[str, Any], block: str) -> dict[str, Any]:
        # the pods' prefix length stays networkCIDR's: the block only bounds which addresses are handed out
        return {**manifest, "spec": {**manifest["spec"], "podAddressRange": block}}

    def stretched(self, manifest: dict[str, Any], provider_name: str, domain: str) -> dict[str, Any]:
        # one domain entry only: L2S-M joins a list of several into one malformed address
        return {**manifest, "spec": {**manifest["spec"], "provider": {"name": provider_name, "domain": [domain]}}}

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        # the text COMPACT_JSON.encode gives for [{"name": .., "ips": [..]}, ..], written directly in half its time
        # (the encoder is set up anew at each call): a big NS has thousands of KDUs
        entries = [f'{{"name":{_json_string(i.network)},"ips":[{_json_string(i.ip)}]}}' if i.ip
                   else f'{{"name":{_json_string(i.network)}}}' for i in interfaces]
        return {"l2sm": "true"}, {ANNOTATION_NETWORKS: f"[{','.join(entries)}]"}

    def judge(self, obj: Mapping[str, Any]) -> Judgement:
        status = obj.get("status") or {}
        connectivity = status.get("internalConnectivity")
        provider = (obj.get("spec") or {}).get("provider")
        if connectivity == "Available" and provider:
            return _judge_provider(provider, status.get("providerConnectivity"))
        if connectivity == "Available":
            return Judgement(True, "internalConnectivity=Available")
        if connectivity is None:
            return Judgement(False, "no status.internalConnectivity yet", f"is the L2S-M operator running? {OPERATOR_CHECK}")
        return Judgement(False, f"internalConnectivity={connectivity}",
                         f"the L2S-M operator has not connected it: {OPERATOR_CHECK}, then its logs")

    def requested_networks(self, pod: Mapping[str, Any]) -> list[str] | None:
        return annotated_networks(pod, ANNOTATION_NETWORKS)

    def pod_problems(self, pod: Mapping[str, Any]) -> list[str]:
        error = annotations_of(pod).get(ANNOTATION_ERROR)
        return [f"{ANNOTATION_ERROR}: {error}"] if error else []


def _judge_provider(provider: Mapping[str, Any], connectivity: object) -> Judgement:
    """A stretched link's network is ready once its cluster also reached the inter-cluster provider. The operator
    asks the provider once, when it first reconciles the network, and never again: one that stays Unavailable or
    Unknown needs the provider fixed, then the network made again."""
    if connectivity == "Available":
        return Judgement(True, "internalConnectivity=Available, providerConnectivity=Available")
    name, domain = provider.get("name"), ", ".join(map(str, provider.get("domain") or []))
    if connectivity is None:
        return Judgement(False, "internalConnectivity=Available, no status.providerConnectivity yet",
                         f"is the NetworkEdgeDevice of provider {name} in this cluster? kubectl get networkedgedevices -A")
    return Judgement(False, f"internalConnectivity=Available, providerConnectivity={connectivity}",
                     f"this cluster could not reach provider {name} ({domain}) when the network was made, and L2S-M "
                     "does not ask again: fix the provider or this cluster's NetworkEdgeDevice, then delete and "
                     "re-apply the NS")


PROVIDER = register(L2smProvider())
