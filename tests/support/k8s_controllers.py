"""``WorkloadControllerDouble``: plays, visibly, the parts of a cluster that turn a helm release into attached pods.

The Kubernetes API test double has no controllers. When started, this double reacts to Deployments and StatefulSets
the way the Deployment/StatefulSet controllers, the scheduler, the L2S-M webhook and Multus together would:
it creates ``spec.replicas`` pods from the pod template (labels, annotations, ``pod-template-hash``, owner
reference, node, phase Running), writes ``k8s.v1.cni.cncf.io/network-status`` for the networks the pod asks for
(``l2sm/networks`` or ``k8s.v1.cni.cncf.io/networks``), replaces pods when the template changes, and deletes them
with their workload. It also records L2S-M ordering violations: a pod created while one of its L2Networks does not
exist or is not ``Available`` would never be attached by the real SDN controller (``violations``).
``port_exhaustion=True`` plays the webhook out of switch ports: pods get ``l2sm/error`` and no interface.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import TYPE_CHECKING, Any

from tests.support.k8s_emulator import L2NETWORKS, PODS, Resource

if TYPE_CHECKING:
    from tests.support.k8s_harness import EmulatedCluster

DEPLOYMENTS = Resource("apps", "v1", "deployments")
STATEFULSETS = Resource("apps", "v1", "statefulsets")
_KINDS = {DEPLOYMENTS: "Deployment", STATEFULSETS: "StatefulSet"}
OWNER_LABEL = "osm-l2net.test/owner"  # set by this double only, to find a workload's pods again


def _requested(annotations: dict[str, str]) -> tuple[str, list[tuple[str, list[str]]]]:
    """("l2sm" | "multus" | "", [(network, [ips])]) in attachment order."""
    for key, flavour in (("l2sm/networks", "l2sm"), ("k8s.v1.cni.cncf.io/networks", "multus")):
        text = (annotations.get(key) or "").strip()
        if not text:
            continue
        if text.startswith("["):
            entries = json.loads(text)
            return flavour, [(str(e["name"]), [str(i) for i in e.get("ips") or []]) for e in entries]
        return flavour, [(n.strip().split("/")[-1].split("@")[0], []) for n in text.split(",") if n.strip()]
    return "", []


class WorkloadControllerDouble:
    """See the module docstring. ``start()``/``stop()`` from the test; everything else runs on the server loop."""

    def __init__(self, cluster: EmulatedCluster) -> None:
        self._cluster = cluster
        self.running = False
        self.port_exhaustion = False
        self.violations: list[str] = []

    def start(self, port_exhaustion: bool = False) -> None:
        def apply() -> None:
            self.running, self.port_exhaustion = True, port_exhaustion
            for res in _KINDS:
                for obj in self._cluster.emulator.list_objects(res):
                    self._reconcile(res, obj["metadata"]["namespace"], obj["metadata"]["name"])

        self._cluster.call(apply)

    def stop(self) -> None:
        def apply() -> None:
            self.running = False

        self._cluster.call(apply)

    # -- on the server loop
    def on_event(self, event: str, res: Resource, obj: dict[str, Any]) -> None:
        if not self.running or res not in _KINDS:
            return
        meta = obj["metadata"]
        asyncio.get_running_loop().call_soon(self._reconcile, res, meta["namespace"], meta["name"])

    def _owned_pods(self, namespace: str, owner: str) -> list[dict[str, Any]]:
        return [p for p in self._cluster.emulator.list_objects(PODS, namespace)
                if (p["metadata"].get("labels") or {}).get(OWNER_LABEL) == owner]

    def _reconcile(self, res: Resource, namespace: str, name: str) -> None:
        emu = self._cluster.emulator
        owner = f"{_KINDS[res]}.{name}"
        workload = emu.get_object(res, namespace, name)
        pods = self._owned_pods(namespace, owner)
        if workload is None or workload["metadata"].get("deletionTimestamp"):
            for pod in pods:
                emu.delete_object(PODS, namespace, pod["metadata"]["name"])
            return
        template = (workload.get("spec") or {}).get("template") or {}
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        replicas = int((workload.get("spec") or {}).get("replicas", 1))
        wanted = [f"{name}-{i}" if res == STATEFULSETS else f"{name}-{digest}-{i}" for i in range(replicas)]
        for pod in pods:
            labels = pod["metadata"].get("labels") or {}
            if pod["metadata"]["name"] not in wanted or labels.get("pod-template-hash") != digest:
                emu.delete_object(PODS, namespace, pod["metadata"]["name"])
        present = {p["metadata"]["name"] for p in self._owned_pods(namespace, owner)}
        for index, pod_name in enumerate(wanted):
            if pod_name not in present:
                emu.put_object(PODS, namespace, self._pod(workload, template, pod_name, index, owner, digest))

    def _pod(self, workload: dict[str, Any], template: dict[str, Any], name: str, index: int, owner: str,
             digest: str) -> dict[str, Any]:
        meta = template.get("metadata") or {}
        namespace = workload["metadata"]["namespace"]
        labels = {**(meta.get("labels") or {}), OWNER_LABEL: owner, "pod-template-hash": digest}
        annotations = dict(meta.get("annotations") or {})
        flavour, networks = _requested(annotations)
        self._check_order(namespace, name, flavour, networks)
        if flavour == "l2sm" and self.port_exhaustion:
            annotations["l2sm/error"] = "No interfaces available for node node-1"
            networks = []
        annotations["k8s.v1.cni.cncf.io/network-status"] = self._status(namespace, name, flavour, networks, index)
        ref = {"apiVersion": workload.get("apiVersion", "apps/v1"), "kind": workload.get("kind"),
               "name": workload["metadata"]["name"], "uid": workload["metadata"]["uid"], "controller": True}
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": labels, "annotations": annotations, "ownerReferences": [ref]},
                "spec": {**(template.get("spec") or {}), "nodeName": "node-1"},
                "status": {"phase": "Running", "podIP": f"10.244.0.{10 + index}"}}

    def _status(self, namespace: str, pod: str, flavour: str, networks: list[tuple[str, list[str]]],
                index: int) -> str:
        entries: list[dict[str, Any]] = [{"name": "cbr0", "interface": "eth0", "ips": [f"10.244.0.{10 + index}"],
                                          "default": True, "dns": {}}]
        for n, (network, ips) in enumerate(networks, start=1):
            port = f"l2sm-system/l2sm-veth{n}" if flavour == "l2sm" else f"{namespace}/{network}"
            mac_seed = hashlib.sha256(f"{namespace}/{pod}/{n}".encode()).hexdigest()
            mac = "02:" + ":".join(mac_seed[i:i + 2] for i in range(0, 10, 2))
            entries.append({"name": port, "interface": f"net{n}", "ips": [ip.split("/")[0] for ip in ips],
                            "mac": mac, "dns": {}})
        return json.dumps(entries, indent=4)

    def _check_order(self, namespace: str, pod: str, flavour: str, networks: list[tuple[str, list[str]]]) -> None:
        if flavour != "l2sm":
            return
        for network, _ in networks:
            found = [o for o in self._cluster.emulator.list_objects(L2NETWORKS) if o["metadata"]["name"] == network]
            available = any((o.get("status") or {}).get("internalConnectivity") == "Available" for o in found)
            if not available:
                state = "does not exist" if not found else "is not Available"
                self.violations.append(f"pod {namespace}/{pod} created while L2Network {network} {state}")
