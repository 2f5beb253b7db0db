"""Pure reading of cluster objects for the Kubernetes adapter: ownership, readiness, pod attachments, backoff.

Nothing here does I/O or imports ``kubernetes``; ``kube.py`` fetches the objects and these functions judge them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from osm_l2net.errors import ClusterError
from osm_l2net.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan, plain

L2SM_FINALIZER = "l2sm.operator.io/finalizer"
ANNOTATION_L2SM_NETWORKS = "l2sm/networks"
ANNOTATION_L2SM_ERROR = "l2sm/error"
ANNOTATION_MULTUS_NETWORKS = "k8s.v1.cni.cncf.io/networks"
ANNOTATION_NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status"


@dataclass(frozen=True)
class ResourceRef:
    """Where a kind lives in the API: ``/apis/<group>/<version>/namespaces/<ns>/<plural>``."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


L2NETWORK = ResourceRef("l2sm.l2sm.k8s.local", "v1", "l2networks", "L2Network")
NAD = ResourceRef("k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition")
NETWORK_KINDS: tuple[ResourceRef, ...] = (L2NETWORK, NAD)


def resource_for(manifest: Mapping[str, Any]) -> ResourceRef | None:
    return next((r for r in NETWORK_KINDS
                 if r.kind == manifest.get("kind") and r.api_version == manifest.get("apiVersion")), None)


def resource_of(manifest: Mapping[str, Any]) -> ResourceRef:
    ref = resource_for(manifest)
    if ref is None:
        raise ClusterError(f"unsupported network kind {manifest.get('apiVersion')}/{manifest.get('kind')} "
                           f"(supported: {', '.join(r.api_version + '/' + r.kind for r in NETWORK_KINDS)})")
    return ref


def with_namespace(manifest: Mapping[str, Any], ns: str) -> dict[str, Any]:
    body: dict[str, Any] = plain(manifest)
    body.setdefault("metadata", {})["namespace"] = ns
    return body


def selector_for(nets: Sequence[NetworkPlan]) -> str:
    """The owner selector of these networks' NS instance (all of ours when they span several)."""
    ids = {labels_of(n.manifest).get(LABEL_NS_ID) for n in nets}
    return owner_selector(ids.pop() if len(ids) == 1 else None)


def owner_selector(ns_id: str | None = None) -> str:
    """The label selector of every object we own (optionally of one NS instance)."""
    selector = f"{LABEL_MANAGED_BY}={MANAGED_BY}"
    return f"{selector},{LABEL_NS_ID}={ns_id}" if ns_id else selector


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def is_ours(obj: Mapping[str, Any]) -> bool:
    return labels_of(obj).get(LABEL_MANAGED_BY) == MANAGED_BY and bool(labels_of(obj).get(LABEL_NS_ID))


def same_owner(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Same managed-by and ns-id; a vld-id on both sides must agree too."""
    have, want = labels_of(live), labels_of(wanted)
    if have.get(LABEL_MANAGED_BY) != MANAGED_BY or want.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return False
    if not have.get(LABEL_NS_ID) or have.get(LABEL_NS_ID) != want.get(LABEL_NS_ID):
        return False
    return LABEL_VLD_ID not in have or LABEL_VLD_ID not in want or have[LABEL_VLD_ID] == want[LABEL_VLD_ID]


def spec_drift(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of the wanted spec whose live value differs (keys only the server set, e.g. defaults, are ignored)."""
    have, want = live.get("spec") or {}, wanted.get("spec") or {}
    return {k: v for k, v in want.items() if have.get(k) != v}


def describe_owner(obj: Mapping[str, Any]) -> str:
    labels = labels_of(obj)
    shown = {k: labels[k] for k in (LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID) if k in labels}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "no ownership labels"


# ---------------------------------------------------------------- readiness and deletion


@dataclass(frozen=True)
class Readiness:
    """One network's state while waiting; passed to progress callbacks and named in WaitTimeout."""

    name: str
    kind: str
    ready: bool
    detail: str


def readiness(kind: str, name: str, obj: Mapping[str, Any] | None) -> Readiness:
    if obj is None:
        return Readiness(name, kind, False, "not found")
    meta = obj.get("metadata", {})
    if meta.get("deletionTimestamp"):
        return Readiness(name, kind, False, "being deleted")
    if kind != L2NETWORK.kind:
        return Readiness(name, kind, True, "present")
    status = obj.get("status") or {}
    connectivity = status.get("internalConnectivity")
    if connectivity == "Available":
        return Readiness(name, kind, True, "internalConnectivity=Available")
    if connectivity is None:
        return Readiness(name, kind, False, "no status.internalConnectivity yet (is the L2S-M operator running?)")
    return Readiness(name, kind, False, f"internalConnectivity={connectivity}")


def stuck_reason(obj: Mapping[str, Any], attached: Sequence[str]) -> str:
    """Why an object we deleted is still there: finalizers, attached pods, or deletion not yet started."""
    meta = obj.get("metadata", {})
    parts: list[str] = []
    finalizers = list(meta.get("finalizers") or [])
    if finalizers:
        hint = " (the L2S-M operator removes it: is it running?)" if L2SM_FINALIZER in finalizers else ""
        parts.append(f"finalizers {finalizers} still present{hint}")
    if not meta.get("deletionTimestamp"):
        parts.append("no deletionTimestamp (the delete request did not reach it)")
    if attached:
        parts.append(f"pods still attached: {', '.join(attached)}")
    return "; ".join(parts) or "still present"


# ---------------------------------------------------------------- pods


def pod_state(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata", {})
    phase = (pod.get("status") or {}).get("phase", "Unknown")
    if meta.get("deletionTimestamp"):
        finalizers = meta.get("finalizers") or []
        return f"{phase}, terminating" + (f", finalizers {finalizers}" if finalizers else "")
    return str(phase)


@dataclass(frozen=True)
class PodAttachment:
    """One pod attached to one network: its interface and addresses as Multus reports them, and what is wrong."""

    pod: str
    phase: str
    interface: str | None
    ips: tuple[str, ...]
    problems: tuple[str, ...] = ()


def requested_networks(pod: Mapping[str, Any]) -> list[str]:
    """Networks a pod asks for, in attachment order (``l2sm/networks`` first, else the Multus annotation)."""
    notes = pod.get("metadata", {}).get("annotations") or {}
    for key in (ANNOTATION_L2SM_NETWORKS, ANNOTATION_MULTUS_NETWORKS):
        if notes.get(key):
            return _network_names(str(notes[key]))
    return []


def _network_names(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except ValueError:
            return []
        return [str(e.get("name", "")) for e in entries if isinstance(e, Mapping) and e.get("name")]
    names = [n.strip() for n in text.split(",") if n.strip()]
    return [n.split("/")[-1].split("@")[0] for n in names]  # "ns/net@iface" -> net


def _status_entries(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    notes = pod.get("metadata", {}).get("annotations") or {}
    try:
        entries = json.loads(notes.get(ANNOTATION_NETWORK_STATUS) or "[]")
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, Mapping) and not e.get("default")]


def attachment(pod: Mapping[str, Any], network: str) -> PodAttachment | None:
    """How ``pod`` is attached to ``network`` (None when it does not ask for it).

    Multus names an interface after its attachment definition; with L2S-M that is a port NAD (``<overlay>-vethN``),
    not the L2Network, so an entry not found by name is taken by position (interfaces follow annotation order).
    """
    requested = requested_networks(pod)
    if network not in requested:
        return None
    meta = pod.get("metadata", {})
    entries = _status_entries(pod)
    entry = next((e for e in entries if str(e.get("name", "")).split("/")[-1] == network), None)
    index = requested.index(network)
    if entry is None and len(entries) == len(requested):
        entry = entries[index]
    problems: list[str] = []
    error = (meta.get("annotations") or {}).get(ANNOTATION_L2SM_ERROR)
    if error:
        problems.append(f"l2sm/error: {error}")
    if entry is None:
        problems.append(f"no interface for {network} in {ANNOTATION_NETWORK_STATUS}")
    phase = str((pod.get("status") or {}).get("phase", "Unknown"))
    ips = tuple(str(i) for i in (entry or {}).get("ips") or ())
    interface = str(entry["interface"]) if entry and entry.get("interface") else None
    return PodAttachment(str(meta.get("name", "")), phase, interface, ips, tuple(problems))


def attached_pods(pods: Sequence[Mapping[str, Any]], network: str) -> list[str]:
    return sorted(str(p["metadata"]["name"]) for p in pods if network in requested_networks(p))


# ---------------------------------------------------------------- backoff


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff with jitter, at most ``attempts`` tries and ``total_s`` seconds per call."""

    attempts: int = 6
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    total_s: float = 60.0
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 15.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Equal jitter: half the exponential step fixed, half random; never less than the server's Retry-After."""
        step = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        jittered = step / 2 + rng.uniform(0, step / 2)
        return max(jittered, retry_after or 0.0)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class OwnedNetwork:
    """A network object carrying our labels, as found in the cluster."""

    kind: str
    name: str
    namespace: str
    ns_id: str
    vld_id: str
    uid: str
    ready: bool
    deleting: bool
    finalizers: tuple[str, ...] = ()

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> OwnedNetwork:
        meta, labels = obj.get("metadata", {}), labels_of(obj)
        kind = str(obj.get("kind", ""))
        return cls(kind, str(meta.get("name", "")), str(meta.get("namespace", "")), labels.get(LABEL_NS_ID, ""),
                   labels.get(LABEL_VLD_ID, ""), str(meta.get("uid", "")),
                   readiness(kind, str(meta.get("name", "")), obj).ready, bool(meta.get("deletionTimestamp")),
                   tuple(meta.get("finalizers") or ()))


@dataclass(frozen=True)
class NetworkStatus:
    """One planned network joined with the pods attached to it."""

    name: str
    kind: str
    namespace: str
    exists: bool
    ready: bool
    detail: str
    finalizers: tuple[str, ...]
    pods: tuple[PodAttachment, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        own = () if self.ready else (f"{self.name}: {self.detail}",)
        return own + tuple(f"{self.name}: pod {p.pod}: {problem}" for p in self.pods for problem in p.problems)


@dataclass(frozen=True)
class DeleteResult:
    deleted: tuple[str, ...] = ()  # delete accepted (maybe still finalizing: see wait_gone)
    absent: tuple[str, ...] = ()  # nothing to delete (404 or never created)
    skipped: tuple[str, ...] = ()  # present but not ours, or replaced meanwhile: left alone, with the reason


@dataclass(frozen=True)
class GcResult:
    deleted: tuple[OwnedNetwork, ...] = ()
    skipped: tuple[tuple[OwnedNetwork, str], ...] = ()  # (network, why it was kept)
