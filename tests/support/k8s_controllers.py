"""``WorkloadControllerDouble``: plays, visibly, the parts of a cluster that turn a helm release into attached pods.

The Kubernetes API test double has no controllers. When started, this double reacts to Deployments and StatefulSets
the way the Deployment/ReplicaSet/StatefulSet controllers, the scheduler, the kubelet, the L2S-M webhook and Multus
together would:

- a Deployment gets ONE ReplicaSet for its current pod template, named ``<deployment>-<pod-template-hash>``, owned by
  it (``ownerReferences``, ``controller: true``), with the template plus the ``pod-template-hash`` label; a
  ReplicaSet of an older template is deleted (the real controller scales it to 0 and keeps it as history);
- ``spec.replicas`` pods from the template (labels, annotations, ``pod-template-hash``, owner reference to the
  ReplicaSet or StatefulSet, node, phase Running, and the ``PodScheduled``/``Initialized``/``ContainersReady``/
  ``Ready`` conditions the kubelet reports once the readiness probe passes), with
  ``k8s.v1.cni.cncf.io/network-status`` for the networks the pod asks for (``l2sm/networks`` or
  ``k8s.v1.cni.cncf.io/networks``); pods are replaced when the template changes and deleted with their workload;
- the status helm's ``--wait``/``--atomic`` reads: ReplicaSet and Deployment (or StatefulSet) ``observedGeneration``
  equal to ``metadata.generation``, ``replicas``/``readyReplicas``/``availableReplicas``/``updatedReplicas``
  counted from the pods' Ready conditions, never assumed.

``pods_ready=False`` plays pods whose readiness probe never passes (Running, ``Ready: False``): ``helm --wait`` then
times out as on a real cluster. It also records L2S-M ordering violations: a pod created while one of its L2Networks
does not exist or is not ``Available`` would never be attached by the real SDN controller (``violations``).
``port_exhaustion=True`` plays the webhook out of switch ports: pods get ``l2sm/error`` and no interface.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from tests.support.k8s_emulator import L2NETWORKS, PODS, Resource

if TYPE_CHECKING:
    from tests.support.k8s_harness import EmulatedCluster

DEPLOYMENTS = Resource("apps", "v1", "deployments")
STATEFULSETS = Resource("apps", "v1", "statefulsets")
REPLICASETS = Resource("apps", "v1", "replicasets")
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
        self.pods_ready = True
        self.violations: list[str] = []
        self._ipam = L2smIpamDouble(cluster)

    @property
    def refusals(self) -> list[str]:
        """Pods the L2S-M webhook refused because a network's range had no address left."""
        return self._ipam.refusals

    def start(self, port_exhaustion: bool = False, pods_ready: bool = True) -> None:
        def apply() -> None:
            self.running, self.port_exhaustion, self.pods_ready = True, port_exhaustion, pods_ready
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
            for rs in self._replica_sets(namespace, workload, name):
                emu.delete_object(REPLICASETS, namespace, rs["metadata"]["name"])
            return
        template = (workload.get("spec") or {}).get("template") or {}
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        replicas = int((workload.get("spec") or {}).get("replicas", 1))
        controller = workload if res == STATEFULSETS else self._replica_set(workload, template, digest, replicas)
        wanted = [f"{name}-{i}" if res == STATEFULSETS else f"{name}-{digest}-{i}" for i in range(replicas)]
        for pod in pods:
            labels = pod["metadata"].get("labels") or {}
            if pod["metadata"]["name"] not in wanted or labels.get("pod-template-hash") != digest:
                emu.delete_object(PODS, namespace, pod["metadata"]["name"])
        present = {p["metadata"]["name"] for p in self._owned_pods(namespace, owner)}
        for index, pod_name in enumerate(wanted):
            if pod_name not in present:
                pod = self._pod(controller, template, pod_name, index, owner, digest)
                if pod is not None:  # None: the L2S-M webhook refused it (no address left)
                    emu.put_object(PODS, namespace, pod)
        ready = sum(1 for p in self._owned_pods(namespace, owner) if _is_ready(p))
        if res == DEPLOYMENTS:
            self._set_status(REPLICASETS, controller, _replica_status(controller, replicas, ready))
        self._set_status(res, workload, _workload_status(res, workload, replicas, ready, f"{name}-{digest}"))

    def _replica_sets(self, namespace: str, workload: dict[str, Any] | None, name: str) -> list[dict[str, Any]]:
        """The ReplicaSets a Deployment controls (by owner uid; by owner name once the Deployment is gone)."""
        uid = workload["metadata"]["uid"] if workload else None
        return [rs for rs in self._cluster.emulator.list_objects(REPLICASETS, namespace)
                if any(r.get("kind") == "Deployment" and (r.get("uid") == uid if uid else r.get("name") == name)
                       for r in rs["metadata"].get("ownerReferences") or [])]

    def _replica_set(self, deployment: dict[str, Any], template: dict[str, Any], digest: str,
                     replicas: int) -> dict[str, Any]:
        """The Deployment's ReplicaSet for the current template (created if missing, older ones deleted)."""
        emu, meta = self._cluster.emulator, deployment["metadata"]
        namespace, rs_name = meta["namespace"], f"{meta['name']}-{digest}"
        for rs in self._replica_sets(namespace, deployment, meta["name"]):
            if rs["metadata"]["name"] != rs_name:
                emu.delete_object(REPLICASETS, namespace, rs["metadata"]["name"])
        spec = deployment.get("spec") or {}
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), "pod-template-hash": digest}
        selector = dict(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), "pod-template-hash": digest}
        body = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": namespace, "labels": labels,
                             "ownerReferences": [_owner_ref(deployment)]},
                "spec": {"replicas": replicas, "selector": selector,
                         "template": {**template, "metadata": {**tmeta, "labels": labels}}}}
        live = emu.get_object(REPLICASETS, namespace, rs_name)
        if live is None:
            return emu.put_object(REPLICASETS, namespace, body)
        if live.get("spec") != body["spec"]:
            return emu.patch_object(REPLICASETS, namespace, rs_name, {"spec": body["spec"]})
        return live

    def _set_status(self, res: Resource, obj: dict[str, Any], status: dict[str, Any]) -> None:
        """Write a controller's status, only when it changed (the MODIFIED event brings the double back here)."""
        meta = obj["metadata"]
        live = self._cluster.emulator.get_object(res, meta["namespace"], meta["name"])
        if live is not None and (live.get("status") or {}) != status:
            self._cluster.emulator.patch_object(res, meta["namespace"], meta["name"], {"status": status})

    def _pod(self, workload: dict[str, Any], template: dict[str, Any], name: str, index: int, owner: str,
             digest: str) -> dict[str, Any] | None:
        meta = template.get("metadata") or {}
        namespace = workload["metadata"]["namespace"]
        labels = {**(meta.get("labels") or {}), OWNER_LABEL: owner, "pod-template-hash": digest}
        annotations = dict(meta.get("annotations") or {})
        flavour, networks = _requested(annotations)
        self._check_order(namespace, name, flavour, networks)
        if flavour == "l2sm" and self.port_exhaustion:
            annotations["l2sm/error"] = "No interfaces available for node node-1"
            networks = []
        elif flavour == "l2sm":
            addressed = self._ipam.address(namespace, name, networks)
            if addressed is None:
                return None
            networks = addressed
        annotations["k8s.v1.cni.cncf.io/network-status"] = self._status(namespace, name, flavour, networks, index)
        ready = "True" if self.pods_ready else "False"
        conditions = [{"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
                      {"type": "ContainersReady", "status": ready}, {"type": "Ready", "status": ready}]
        containers = [{"name": c.get("name", ""), "ready": self.pods_ready, "started": True, "restartCount": 0,
                       "image": c.get("image", ""),
                       "imageID": "sha256:" + hashlib.sha256(str(c.get("image", "")).encode()).hexdigest(),
                       "containerID": "containerd://" + hashlib.sha256(f"{name}/{c.get('name')}".encode()).hexdigest(),
                       "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
                      for c in (template.get("spec") or {}).get("containers") or []]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": labels, "annotations": annotations,
                             "ownerReferences": [_owner_ref(workload)]},
                "spec": {**(template.get("spec") or {}), "nodeName": "node-1"},
                "status": {"phase": "Running", "podIP": f"10.244.0.{10 + index}", "conditions": conditions,
                           "containerStatuses": containers}}

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


class L2smIpamDouble:
    """L2S-M's automatic addressing, as its webhook does it (internal/controller/pod_utils.go, GetNextAvailableIP),
    for a pod's L2Networks asked for without ``ips``: only a network with ``spec.networkCIDR`` addresses pods; the
    range is ``spec.podAddressRange`` (else the networkCIDR); the first address is the range's base + 1, every later
    one ``status.lastAssignedIP`` + 1; only the last byte steps and it never wraps (past .255, or past the range, the
    range is exhausted); ``status.assignedIPs`` (address -> pod) only grows: nothing is given back when a pod goes,
    so every pod ever created used one address. The address carries the networkCIDR's mask. An exhausted range makes
    the webhook fail, and the webhook's failure policy is Fail: the pod is not created (``refusals`` says why).
    Networks are looked up by name in every namespace, as L2S-M does. Never kinder: no reuse, no wrap, no skip."""

    def __init__(self, cluster: EmulatedCluster) -> None:
        self._cluster = cluster
        self.refusals: list[str] = []

    def address(self, namespace: str, pod: str,
                networks: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]] | None:
        out: list[tuple[str, list[str]]] = []
        for network, ips in networks:
            if ips:
                out.append((network, ips))
                continue
            found = [o for o in self._cluster.emulator.list_objects(L2NETWORKS) if o["metadata"]["name"] == network]
            spec = (found[0].get("spec") or {}) if found else {}
            if not spec.get("networkCIDR"):
                out.append((network, []))  # pure L2: a random link-local address, none in the status
                continue
            ip = self._next(found[0], pod)
            if ip is None:
                self.refusals.append(f"pod {namespace}/{pod}: no IP address left in L2Network {network} (range "
                                     f"{spec.get('podAddressRange') or spec['networkCIDR']})")
                return None
            out.append((network, [f"{ip}/{ipaddress.ip_network(spec['networkCIDR'], strict=False).prefixlen}"]))
        return out

    def _next(self, net: dict[str, Any], pod: str) -> str | None:
        spec, status = net.get("spec") or {}, net.get("status") or {}
        pool = ipaddress.ip_network(spec.get("podAddressRange") or spec["networkCIDR"], strict=False)
        last = status.get("lastAssignedIP")
        value = int(pool.network_address) + 1 if not last else int(ipaddress.ip_address(str(last).split("/")[0])) + 1
        if last and value & 0xFF == 0:
            return None  # the last byte would wrap
        if not int(pool.network_address) <= value <= int(pool.broadcast_address):
            return None
        ip = str(ipaddress.ip_address(value))
        meta = net["metadata"]
        assigned = {**(status.get("assignedIPs") or {}), ip: pod}
        self._cluster.emulator.patch_object(L2NETWORKS, meta["namespace"], meta["name"],
                                            {"status": {"lastAssignedIP": ip, "assignedIPs": assigned}})
        return ip


def _owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner.get("apiVersion", "apps/v1"), "kind": owner.get("kind"),
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], "controller": True,
            "blockOwnerDeletion": True}


def _is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _replica_status(rs: dict[str, Any], replicas: int, ready: int) -> dict[str, Any]:
    return {"observedGeneration": rs["metadata"].get("generation", 1), "replicas": replicas,
            "fullyLabeledReplicas": replicas, "readyReplicas": ready, "availableReplicas": ready}


def _workload_status(res: Resource, workload: dict[str, Any], replicas: int, ready: int,
                     revision: str) -> dict[str, Any]:
    status: dict[str, Any] = {"observedGeneration": workload["metadata"].get("generation", 1), "replicas": replicas,
                              "updatedReplicas": replicas, "readyReplicas": ready, "availableReplicas": ready}
    if res == STATEFULSETS:
        status.update(currentReplicas=replicas, currentRevision=revision, updateRevision=revision)
    else:
        available = "True" if ready >= replicas else "False"
        status["conditions"] = [{"type": "Available", "status": available, "reason": "MinimumReplicasAvailable"
                                 if available == "True" else "MinimumReplicasUnavailable"}]
        status["unavailableReplicas"] = max(0, replicas - ready)
    return status
