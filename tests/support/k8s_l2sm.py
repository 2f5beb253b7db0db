"""An installed L2S-M, as objects in the emulator's store: what `make deploy` of L2S-M and one Overlay leave behind.

The facts, from L2S-M's repository (github.com/Networks-it-uc3m/L2S-M; our own objects, no file copied):

- ``config/default/kustomization.yaml``: namespace ``l2sm-system``, name prefix ``l2sm-``;
  ``config/manager/manager.yaml``: Deployment ``controller-manager`` (-> ``l2sm-controller-manager``), label
  ``control-plane: controller-manager``, container ``manager`` with env ``SWITCHES_NAMESPACE=l2sm-system``;
  ``config/manager/kustomization.yaml``: image ``alexdecb/l2sm-controller-manager:<version>``;
- ``config/webhook/service.yaml``: Service ``webhook-service`` (-> ``l2sm-webhook-service``), port 443 -> 9443,
  selector ``control-plane: controller-manager``; its endpoints are the operator's ready pods (an EndpointSlice with
  label ``kubernetes.io/service-name``, as the EndpointSlice controller writes it);
- ``config/crd/bases/l2sm.l2sm.k8s.local_overlays.yaml``: Overlay (namespaced, v1): ``spec.provider`` required with
  ``name`` and ``domain`` (a list); ``spec.interfaceNumber`` (default 10); ``spec.topology.nodes`` (required in
  topology) and ``links`` (``endpointA``/``endpointB``);
- ``internal/controller/overlay_controller.go``: per Overlay, ``interfaceNumber`` port NADs ``<overlay>-veth<i>`` in the
  Overlay's namespace, labels ``app: l2sm`` and ``overlay: <name>``, owned by the Overlay, CNI config of type bridge
  with ``"mtu": 1400`` and static IPAM;
- ``internal/controller/pod_webhook.go``: the webhook marks a port taken on a node with label ``used-<node>: "true"``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.support.k8s_emulator import DEPLOYMENTS, ENDPOINTSLICES, NADS, OVERLAYS, SERVICES

if TYPE_CHECKING:
    from tests.support.k8s_harness import EmulatedCluster

NAMESPACE = "l2sm-system"
OPERATOR = "l2sm-controller-manager"
WEBHOOK = "l2sm-webhook-service"
OVERLAY = "l2sm-overlay"
IMAGE = "alexdecb/l2sm-controller-manager"


@dataclass(frozen=True)
class L2SMInstall:
    """What to install. ``version`` None: no operator Deployment; ``webhook_ready`` False: its endpoint not ready
    (operator down); ``overlay`` False: no Overlay nor ports; ``switches_namespace`` None: the env var unset."""

    version: str | None = "2.8.7"
    nodes: tuple[str, ...] = ("node-1",)
    interface_number: int = 10
    webhook: bool = True
    webhook_ready: bool = True
    overlay: bool = True
    switches_namespace: str | None = NAMESPACE
    mtu: int = 1400


HEALTHY = L2SMInstall()


def overlay_object(name: str, namespace: str, nodes: Sequence[str], interface_number: int) -> dict[str, Any]:
    """An Overlay with what its CRD requires (spec.provider.name/domain, topology.nodes)."""
    return {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "Overlay",
            "metadata": {"name": name, "namespace": namespace, "finalizers": ["l2sm.operator.io/finalizer"]},
            "spec": {"provider": {"name": "l2sm-controller", "domain": [f"l2sm-controller-service.{NAMESPACE}"]},
                     "interfaceNumber": interface_number,
                     "topology": {"nodes": list(nodes),
                                  "links": [{"endpointA": a, "endpointB": b} for a, b in itertools.pairwise(nodes)]},
                     "switchTemplate": {"spec": {"containers": [{"name": "l2sm-switch",
                                                                 "image": "alexdecb/l2sm-switch:2.8"}]}}}}


def port_object(overlay: dict[str, Any], i: int, mtu: int) -> dict[str, Any]:
    name, ns = overlay["metadata"]["name"], overlay["metadata"]["namespace"]
    config = {"cniVersion": "0.3.0", "type": "bridge", "bridge": f"br{i}", "mtu": mtu, "device": f"{name}-veth{i}",
              "ipam": {"type": "static"}}
    owner = {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "Overlay", "name": name,
             "uid": overlay["metadata"].get("uid", ""), "controller": True, "blockOwnerDeletion": True}
    return {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
            "metadata": {"name": f"{name}-veth{i}", "namespace": ns, "labels": {"app": "l2sm", "overlay": name},
                         "ownerReferences": [owner]},
            "spec": {"config": json.dumps(config)}}


def install(cluster: EmulatedCluster, spec: L2SMInstall = HEALTHY) -> None:
    """Put ``spec``'s L2S-M into the store (no API traffic, nothing in the request log)."""
    if cluster.get(*_ns(NAMESPACE)) is None:
        cluster.create_namespace(NAMESPACE)
    if spec.version is not None:
        env = [{"name": "CONTROLLER_IP", "value": f"l2sm-controller-service.{NAMESPACE}.svc.cluster.local"}]
        if spec.switches_namespace is not None:
            env.append({"name": "SWITCHES_NAMESPACE", "value": spec.switches_namespace})
        labels = {"control-plane": "controller-manager"}
        cluster.put(DEPLOYMENTS, NAMESPACE, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": OPERATOR, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "manager", "image": f"{IMAGE}:{spec.version}",
                                                           "env": env}]}}}})
    if spec.webhook:
        cluster.put(SERVICES, NAMESPACE, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": WEBHOOK},
            "spec": {"ports": [{"port": 443, "protocol": "TCP", "targetPort": 9443}],
                     "selector": {"control-plane": "controller-manager"}}})
        cluster.put(ENDPOINTSLICES, NAMESPACE, {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{WEBHOOK}-x7k2p", "labels": {"kubernetes.io/service-name": WEBHOOK}},
            "addressType": "IPv4", "ports": [{"port": 9443, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": spec.webhook_ready}}]})
    if spec.overlay:
        where = spec.switches_namespace or NAMESPACE
        if cluster.get(*_ns(where)) is None:
            cluster.create_namespace(where)
        overlay = cluster.put(OVERLAYS, where, overlay_object(OVERLAY, where, spec.nodes, spec.interface_number))
        for i in range(1, spec.interface_number + 1):
            cluster.put(NADS, where, port_object(overlay, i, spec.mtu))


def use_ports(cluster: EmulatedCluster, node: str, count: int, namespace: str = NAMESPACE) -> None:
    """Mark ``count`` free ports taken on ``node``, as the webhook does for each attachment of a pod placed there."""
    free = [p for p in cluster.list(NADS, namespace) if (p["metadata"].get("labels") or {}).get("app") == "l2sm"
            and p["metadata"]["labels"].get(f"used-{node}") != "true"]
    assert len(free) >= count, f"only {len(free)} free ports on {node}"
    for port in sorted(free, key=lambda p: p["metadata"]["name"])[:count]:
        cluster.patch(NADS, namespace, port["metadata"]["name"], {"metadata": {"labels": {f"used-{node}": "true"}}})


def _ns(name: str) -> tuple[Any, None, str]:
    from tests.support.k8s_emulator import NAMESPACES

    return NAMESPACES, None, name
