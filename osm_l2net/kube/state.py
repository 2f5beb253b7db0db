"""Pure reading of cluster objects for the Kubernetes adapter: ownership, readiness, pod attachments, backoff.

Nothing here does I/O or imports ``kubernetes``; ``client.py`` fetches the objects and these functions judge them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from osm_l2net.core import providers
from osm_l2net.core.errors import ClusterError
from osm_l2net.core.plan import (
    ANNOTATION_NS_ID,
    ANNOTATION_NS_NAME,
    LABEL_MANAGED_BY,
    LABEL_NS_ID,
    LABEL_NS_NAME,
    LABEL_NSD_ID,
    LABEL_NSR_ID,
    LABEL_VLD_ID,
    MANAGED_BY,
    NetworkPlan,
    plain,
)
from osm_l2net.core.providers import ANNOTATION_NETWORK_STATUS, ResourceRef

__all__ = ["ResourceRef"]  # re-exported: the cluster adapter's name for where a kind lives in the API

def network_kinds() -> tuple[ResourceRef, ...]:
    """Every kind of network object some provider creates (read from the registry: a new provider adds its own)."""
    return providers.resources()


def resource_for(manifest: Mapping[str, Any]) -> ResourceRef | None:
    provider = providers.for_resource(manifest.get("apiVersion"), manifest.get("kind"))
    return provider.resource if provider else None


def resource_of(manifest: Mapping[str, Any]) -> ResourceRef:
    ref = resource_for(manifest)
    if ref is None:
        raise ClusterError(f"unsupported network kind {manifest.get('apiVersion')}/{manifest.get('kind')} "
                           f"(supported: {', '.join(r.api_version + '/' + r.kind for r in network_kinds())})")
    return ref


def resource_of_kind(kind: str) -> ResourceRef:
    """The API resource of a network kind as found in the cluster (our objects are always of a registered kind)."""
    provider = providers.for_kind(kind)
    if provider is None:
        raise ClusterError(f"unsupported network kind {kind} (supported: {', '.join(r.kind for r in network_kinds())})")
    return provider.resource


def missing_kind_hint(ref: ResourceRef) -> str:
    """Why the server answers 404 to a network kind's collection when the namespace exists: its CRD is missing."""
    provider = providers.for_resource(ref.api_version, ref.kind)
    owner = provider.crd_owner if provider else "its provider"
    crd = f"{ref.plural}.{ref.group}"
    return (f"the API server does not serve {ref.plural} ({ref.api_version}): is the CRD installed? {owner} "
            f"installs it (kubectl get crd {crd})")


def missing_crd_hint() -> str:
    """Which CRD each provider needs, for a 404 whose kind is not known (e.g. ``L2S-M provides l2networks.…``)."""
    provided = dict.fromkeys(f"{p.crd_owner} provides {p.resource.plural}.{p.resource.group}"
                             for p in providers.registered())
    return f"is the CRD installed? {', '.join(provided)}"


def missing_kubeconfig(source: str, value: str) -> str:
    """What to do when no file named by the chosen kubeconfig source exists; ``source`` as ``ResolvedAccess``."""
    if source == "$KUBECONFIG":
        return (f"no kubeconfig: $KUBECONFIG={value} names no existing file; fix $KUBECONFIG or pass "
                f"--kubeconfig FILE")
    if source == "~/.kube/config":
        return (f"no kubeconfig: {value} does not exist and neither --kubeconfig nor $KUBECONFIG is set; pass "
                f"--kubeconfig FILE or set $KUBECONFIG (inside a pod, its service account is used)")
    return f"no kubeconfig: {value} (given by {source}) does not exist; check the path"


def unknown_context(context: str, kubeconfig: str, source: str, known: Sequence[str]) -> str:
    listed = ", ".join(known) or "none"
    return (f"context {context!r} is not in the kubeconfig {kubeconfig} (chosen by {source}); its contexts: {listed} "
            f"(kubectl config get-contexts)")


def with_namespace(manifest: Mapping[str, Any], ns: str) -> dict[str, Any]:
    body: dict[str, Any] = plain(manifest)
    body.setdefault("metadata", {})["namespace"] = ns
    return body


def selector_for(nets: Sequence[NetworkPlan]) -> str:
    """The owner selector of these networks' NS instance, read from their labels (all of ours when they span several)."""
    ids = {labels_of(n.manifest).get(LABEL_NS_ID) for n in nets}
    ns_id = ids.pop() if len(ids) == 1 else None
    return label_selector({LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: ns_id} if ns_id else None)


def label_selector(owner: Mapping[str, str] | None) -> str:
    """The label selector of the objects ``owner`` (ownership labels) marks; None: every object we own, of any NS."""
    return ",".join(f"{k}={v}" for k, v in (owner or {LABEL_MANAGED_BY: MANAGED_BY}).items())


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def is_ours(obj: Mapping[str, Any]) -> bool:
    return labels_of(obj).get(LABEL_MANAGED_BY) == MANAGED_BY and bool(labels_of(obj).get(LABEL_NS_ID))


def same_owner(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Same managed-by and ns-id; a vld-id, and an NSD id, on both sides must agree too (an NS id is derived from the
    NS name outside OSM: a network of another NSD deployed under the same name is another NS's)."""
    have, want = labels_of(live), labels_of(wanted)
    if have.get(LABEL_MANAGED_BY) != MANAGED_BY or want.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return False
    if not have.get(LABEL_NS_ID) or have.get(LABEL_NS_ID) != want.get(LABEL_NS_ID):
        return False
    if not same_nsd(have.get(LABEL_NSD_ID, ""), want.get(LABEL_NSD_ID, "")):
        return False
    return LABEL_VLD_ID not in have or LABEL_VLD_ID not in want or have[LABEL_VLD_ID] == want[LABEL_VLD_ID]


def same_nsd(have: str, want: str) -> bool:
    """Whether an NSD label ``have`` (empty: none) may be this plan's (``want``; empty: a plan that does not know):
    objects made before the label existed carry none and stay this NS id's, to adopt and to remove."""
    return not have or not want or have == want


def spec_drift(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of the wanted spec whose live value differs (keys only the server set, e.g. defaults, are ignored)."""
    have, want = live.get("spec") or {}, wanted.get("spec") or {}
    return {k: v for k, v in want.items() if have.get(k) != v}


def describe_owner(obj: Mapping[str, Any]) -> str:
    labels = labels_of(obj)
    shown = {k: labels[k] for k in (LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_NSD_ID, LABEL_NS_NAME, LABEL_VLD_ID)
             if k in labels}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "no ownership labels"


# ---------------------------------------------------------------- readiness and deletion


@dataclass(frozen=True)
class Readiness:
    """One network's state while waiting; passed to progress callbacks and named in WaitTimeout.

    ``detail`` is what was observed, ``hint`` what to check about it (empty when there is nothing to check)."""

    name: str
    kind: str
    ready: bool
    detail: str
    hint: str = ""

    @property
    def explained(self) -> str:
        return f"{self.detail} ({self.hint})" if self.hint else self.detail


def readiness(kind: str, name: str, obj: Mapping[str, Any] | None) -> Readiness:
    """Absent and being-deleted objects are never ready; an existing one is as its provider judges it."""
    if obj is None:
        return Readiness(name, kind, False, "not found")
    meta = obj.get("metadata", {})
    if meta.get("deletionTimestamp"):
        return Readiness(name, kind, False, "being deleted", "an earlier delete is still finalizing")
    provider = providers.for_kind(kind)
    if provider is None:
        return Readiness(name, kind, True, "present")
    verdict = provider.judge(obj)
    return Readiness(name, kind, verdict.ready, verdict.detail, verdict.hint)


# ---------------------------------------------------------------- what a wait is still missing (progress lines)


def _seconds(elapsed_s: float) -> str:
    return f"{elapsed_s:.0f}s" if elapsed_s >= 10 else f"{elapsed_s:.1f}s"


def _listed(texts: Sequence[str], shown: int = 5) -> str:
    """The first ``shown`` texts, then how many more: a progress line stays short whatever the number."""
    listed = ", ".join(texts[:shown])
    return listed + (f" and {len(texts) - shown} more" if len(texts) > shown else "")


def _names(ns: str, names: Sequence[str], shown: int = 5) -> str:
    return _listed([f"{ns}/{n}" for n in names[:shown]] + list(names[shown:]), shown)


def not_ready_summary(kind: str, ns: str, states: Sequence[Readiness], elapsed_s: float) -> list[str]:
    """One line per distinct reason a wait for readiness is still on, e.g. ``L2Network default/x: no
    status.internalConnectivity yet after 12s (is the L2S-M operator running? kubectl -n l2sm-system get pods)``;
    none when nothing is missing. Bounded in length whatever the number of networks."""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for state in states:
        if not state.ready:
            by_reason.setdefault((state.detail, state.hint), []).append(state.name)
    return [f"{kind} {_names(ns, names)}: {detail} after {_seconds(elapsed_s)}" + (f" ({hint})" if hint else "")
            for (detail, hint), names in by_reason.items()]


def still_present_summary(kind: str, ns: str, objs: Mapping[str, Mapping[str, Any]], names: Sequence[str],
                          elapsed_s: float) -> list[str]:
    """What a wait for deletion still sees, one line per reason (finalizers, no deletionTimestamp)."""
    by_reason: dict[str, list[str]] = {}
    for name in names:
        if name in objs:
            by_reason.setdefault(stuck_reason(objs[name], ()), []).append(name)
    return [f"{kind} {_names(ns, left)}: still present after {_seconds(elapsed_s)}: {reason}"
            for reason, left in by_reason.items()]


def pods_left_summary(ns_id: str, ns: str, pods: Mapping[str, Mapping[str, Any]], selector: str,
                      elapsed_s: float) -> list[str]:
    """What a wait for an NS's pods to go still sees (nothing when none is left)."""
    if not pods:
        return []
    names = sorted(pods)
    shown = _listed([f"{n} ({pod_state(pods[n])})" for n in names[:5]] + names[5:])
    return [f"pods of NS {ns_id} in {ns}: {len(names)} left after {_seconds(elapsed_s)}: {shown} "
            f"(kubectl -n {ns} get pods -l {selector})"]


def stuck_reason(obj: Mapping[str, Any], attached: Sequence[str]) -> str:
    """Why an object we deleted is still there: finalizers, attached pods, or deletion not yet started."""
    meta = obj.get("metadata", {})
    parts: list[str] = []
    finalizers = list(meta.get("finalizers") or [])
    if finalizers:
        hints = [h for p in providers.registered() for f, h in p.finalizer_hints.items() if f in finalizers]
        hint = f" ({'; '.join(dict.fromkeys(hints))})" if hints else ""
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


def _request(pod: Mapping[str, Any]) -> tuple[providers.Provider, list[str]] | None:
    """The provider a pod asks to attach it, and the networks it asks for (None when it asks none)."""
    for provider in providers.by_precedence():
        names = provider.requested_networks(pod)
        if names is not None:
            return provider, names
    return None


def requested_networks(pod: Mapping[str, Any]) -> list[str]:
    """Networks a pod asks for, in attachment order (``l2sm/networks`` before the Multus annotation: providers'
    precedence)."""
    request = _request(pod)
    return request[1] if request else []


def attachment(pod: Mapping[str, Any], network: str) -> PodAttachment | None:
    """How ``pod`` is attached to ``network`` (None when it does not ask for it).

    Multus names an interface after its attachment definition; with L2S-M that is a port NAD (``<overlay>-vethN``),
    not the L2Network, so an entry not found by name is taken by position (interfaces follow annotation order).
    """
    request = _request(pod)
    if request is None or network not in request[1]:
        return None
    provider, requested = request
    meta = pod.get("metadata", {})
    entries = provider.interfaces(pod)
    entry = next((e for e in entries if str(e.get("name", "")).split("/")[-1] == network), None)
    index = requested.index(network)
    if entry is None and len(entries) == len(requested):
        entry = entries[index]
    problems = list(provider.pod_problems(pod))
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
    """Bounded retries: exponential backoff with jitter, at most ``attempts`` tries and ``total_s`` seconds per call;
    the timeouts of requests and of the first contact, and the interval of a wait's progress lines."""

    attempts: int = 6
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    total_s: float = 60.0
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 15.0
    # the first request (GET /version) before anything else: short, so a dead address fails in seconds, not minutes
    first_contact_timeout_s: float = 4.0
    first_contact_attempts: int = 3  # 0: no first-contact check
    # how often a wait says what it is still waiting for (it also reports every change at once)
    progress_interval_s: float = 5.0

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
    nsd_id: str = ""  # the NSD label ("": made by a version without it)
    ns_name: str = ""  # the NS name, verbatim (annotation)
    full_ns_id: str = ""  # the NS id, verbatim (annotation; else the label)
    nsr_id: str = ""  # OSM's nsr id label (ns-create adds it)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> OwnedNetwork:
        meta, labels = obj.get("metadata", {}), labels_of(obj)
        notes = dict(meta.get("annotations") or {})
        kind = str(obj.get("kind", ""))
        return cls(kind, str(meta.get("name", "")), str(meta.get("namespace", "")), labels.get(LABEL_NS_ID, ""),
                   labels.get(LABEL_VLD_ID, ""), str(meta.get("uid", "")),
                   readiness(kind, str(meta.get("name", "")), obj).ready, bool(meta.get("deletionTimestamp")),
                   tuple(meta.get("finalizers") or ()), labels.get(LABEL_NSD_ID, ""),
                   str(notes.get(ANNOTATION_NS_NAME, "")),
                   str(notes.get(ANNOTATION_NS_ID) or labels.get(LABEL_NS_ID, "")), labels.get(LABEL_NSR_ID, ""))


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
