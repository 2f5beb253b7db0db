"""What the cluster holds of ours: the networks carrying our labels, and each planned network with its readiness
and the pods attached to it. Reads only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from osm_l2net.core.errors import ClusterError
from osm_l2net.core.plan import NetworkPlan
from osm_l2net.kube import state as ks
from osm_l2net.kube.client import Client, log
from osm_l2net.kube.networks import alignment
from osm_l2net.kube.state import NetworkStatus, OwnedNetwork


def list_owned(api: Client, owner: Mapping[str, str] | None = None, namespace: str | None = None) -> list[OwnedNetwork]:
    """Our network objects carrying the ``owner`` labels (``Plan.owner_labels`` or ``core.plan.owner_labels``;
    None: every NS's), in one namespace or cluster-wide; one list per kind."""
    found: list[OwnedNetwork] = []
    for ref in ks.network_kinds():
        items, _ = api.list_objects(ref, namespace, ks.label_selector(owner))
        found.extend(OwnedNetwork.from_object(o) for o in items if ks.is_ours(o))
    return sorted(found, key=lambda o: (o.namespace, o.name, o.kind))


def settled(api: Client, networks: Sequence[NetworkPlan], namespace: str | None = None) -> set[str]:
    """The planned networks already in the cluster exactly as planned (ours, the planned spec, no label to add, not
    being deleted): apply leaves them without a write, so a re-run with the same inputs writes nothing. One list per
    kind and namespace. Anything else (absent, foreign, another spec, a list that fails: a namespace not created
    yet) is not settled and goes through ``ensure_network``, which creates, adopts or refuses it and says why."""
    found: set[str] = set()
    for ref, ns, nets in api.groups(networks, namespace):
        try:
            live = {o["metadata"]["name"]: o for o in api.list_objects(ref, ns, ks.selector_for(nets))[0]}
        except ClusterError as e:  # this list only saves writes: ensure_network's path reports what is wrong
            log.info("%s: not known which networks are already there (%s); each goes through create-or-adopt", ns, e)
            continue
        for net in nets:
            obj, body = live.get(net.name), ks.with_namespace(net.manifest, ns)
            if (obj is not None and ks.same_owner(obj, body) and not obj["metadata"].get("deletionTimestamp")
                    and not ks.spec_drift(obj, body) and not alignment(obj, body)):
                found.add(net.name)
    return found


def network_status(api: Client, networks: Sequence[NetworkPlan], namespace: str | None = None) -> list[NetworkStatus]:
    """Each planned network (ours only) with its readiness and the pods attached (interface, IPs, problems)."""
    result: dict[str, NetworkStatus] = {}
    pods_by_ns: dict[str, list[dict[str, Any]]] = {}
    for ref, ns, nets in api.groups(networks, namespace):
        if ns not in pods_by_ns:
            pods_by_ns[ns] = api.pods(ns)
        pods = pods_by_ns[ns]
        owned = {o["metadata"]["name"]: o for o in api.list_objects(ref, ns, ks.selector_for(nets))[0] if ks.is_ours(o)}
        for net in nets:
            obj = owned.get(net.name)
            state = ks.readiness(ref.kind, net.name, obj)
            attachments = tuple(a for p in pods if (a := ks.attachment(p, net.name)) is not None)
            finalizers = tuple((obj or {}).get("metadata", {}).get("finalizers") or ())
            result[net.name] = NetworkStatus(net.name, ref.kind, ns, obj is not None, state.ready, state.explained,
                                             finalizers, attachments)
    return [result[n.name] for n in networks]


def network_object(api: Client, net: NetworkPlan, namespace: str | None = None) -> dict[str, Any] | None:
    """The planned network's object as the cluster holds it (status included), or None when it does not exist."""
    ref = ks.resource_of(net.manifest)
    return api.read(ref, api.ns_of(net, namespace), net.name)


def attached(api: Client, nets: Sequence[OwnedNetwork]) -> dict[tuple[str, str], list[str]]:
    """(namespace, name) of each network some pod still asks for -> those pods (any pod, labelled or not: L2S-M does
    not check, attached pods would keep dead interfaces); one pod list per namespace."""
    pods = {ns: api.pods(ns) for ns in sorted({n.namespace for n in nets})}
    found = {(n.namespace, n.name): ks.attached_pods(pods[n.namespace], n.name) for n in nets}
    return {place: names for place, names in found.items() if names}
