"""Creating, adopting and deleting network objects. Objects are only modified or deleted when they carry our
ownership labels, and deletes carry a uid precondition, so an object replaced meanwhile is never touched. Creating a
network costs exactly one write and no read when the name is free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from osm_l2net.core.errors import ClusterError, ConflictError, TemporaryClusterError
from osm_l2net.core.plan import MANAGED_BY, NetworkPlan
from osm_l2net.kube import state as ks
from osm_l2net.kube.client import ApiFailure, Client, log, to_error
from osm_l2net.kube.state import DeleteResult, OwnedNetwork, ResourceRef
from osm_l2net.kube.waits import wait_absent

EnsureOutcome = Literal["created", "adopted", "unchanged", "replaced"]
NAMESPACE_LABEL = "osm-l2net.etsi.org/created-by"


def ensure_namespace(api: Client, name: str) -> bool:
    """Create the namespace the NS's networks go into when it is missing (True when this call created it).

    Networks are created before helm would create the KDUs' namespace (``--create-namespace``), so a fresh
    namespace must exist first. One write, no read: 409 means it exists; 403 means we may not create namespaces,
    which is fine when it exists (the network create then says clearly if it does not). Never modified, never
    deleted: a namespace may hold more than this NS.
    """
    what = f"create Namespace {name}"
    try:
        api.create_namespace(name, {NAMESPACE_LABEL: MANAGED_BY}, what)
    except ApiFailure as e:
        if e.code in (403, 409):
            return False
        if e.code == 404:  # namespaces are built in: a 404 is the address, never a missing CRD
            raise ClusterError(f"{what}: HTTP 404 from {api.endpoint.describe()}: the server does not serve "
                               f"/api/v1/namespaces; is the server address a Kubernetes API server (a proxy or "
                               f"path prefix in front of it?)") from e
        raise to_error(e, what) from e
    return True


def _foreign(ref: ResourceRef, ns: str, name: str, live: Mapping[str, Any], body: Mapping[str, Any],
             consequence: str) -> ConflictError:
    return ConflictError(f"{ref.kind} {ns}/{name} already exists and is not this NS instance's "
                         f"({ks.describe_owner(live)}; expected {ks.describe_owner(body)}): {consequence}; remove it "
                         f"or choose another network name")


def _spec_changed(ref: ResourceRef, ns: str, name: str, live: Mapping[str, Any], drift: Mapping[str, Any],
                  consequence: str) -> ConflictError:
    # L2S-M reconciles an L2Network only until its finalizer is set, and pods keep the NAD config they attached
    # with: a patched spec would leave the object and the data plane disagreeing, so it is never patched in place.
    have = live.get("spec") or {}
    diff = "; ".join(f"{key}: {_shown(have.get(key))} → {_shown(value)}" for key, value in sorted(drift.items()))
    return ConflictError(f"{ref.kind} {ns}/{name} is this NS instance's but its spec differs from the plan "
                         f"(cluster → plan: {diff}): {consequence}; a network spec is never changed in place: delete "
                         f"the NS first (osm-l2net delete), or deploy under another NS name (--ns-name), or apply --replace to "
                         f"delete and create it again (when no pod is attached)")


def _refuse_attached(api: Client, ref: ResourceRef, ns: str, name: str, live: Mapping[str, Any],
                     drift: Mapping[str, Any], consequence: str) -> None:
    """--replace deletes the network: never under pods attached to it (L2S-M does not check; they would keep an
    interface on a network that no longer exists). Pods found as delete and status find them: any pod asking for it."""
    pods = ks.attached_pods(api.pods(ns), name)
    if pods:
        have = live.get("spec") or {}
        diff = "; ".join(f"{key}: {_shown(have.get(key))} → {_shown(value)}" for key, value in sorted(drift.items()))
        raise ConflictError(f"{ref.kind} {ns}/{name}: its spec differs from the plan ({diff}) and --replace would "
                            f"delete and create it, but pods are attached to it: {', '.join(pods)}: {consequence}; "
                            f"remove the KNFs first (osm-l2net delete --ns-name …, or helm uninstall), then apply again")


def _delete_for_replace(api: Client, ref: ResourceRef, ns: str, name: str, live: Mapping[str, Any]) -> None:
    """Delete our network as it was read (uid precondition) and wait until it is gone, for --replace."""
    outcome = delete_one(api, ref, ns, name, str(live["metadata"]["uid"]))
    if outcome not in ("deleted", "absent"):
        raise ConflictError(f"{ref.kind} {ns}/{name}: not replaced: {outcome}")
    wait_absent(api, ref, ns, [name], api.policy.total_s)
    log.info("delete %s %s/%s: its spec differed from the plan (--replace): creating it again", ref.kind, ns, name)


def _shown(value: object) -> str:
    return "(unset)" if value is None else str(value)


def ensure_network(api: Client, net: NetworkPlan, namespace: str | None = None, *,
                   replace: bool = False) -> EnsureOutcome:
    """Create the network; if the name is taken by our own object with the planned spec, add the labels it lacks
    ("adopted") or leave it ("unchanged"); if the object is anything else's, raise ``ConflictError`` and touch nothing.
    If its spec differs: ``replace`` and no pod attached, delete it and create it again ("replaced"); else
    ``ConflictError`` (naming the pods attached, or the diff) and nothing touched."""
    ref, ns = ks.resource_of(net.manifest), api.ns_of(net, namespace)
    body = ks.with_namespace(net.manifest, ns)
    what = f"create {ref.kind} {ns}/{net.name}"
    replaced = False
    for _ in range(api.policy.attempts):
        try:
            api.create(ref, ns, body, what)
            return "replaced" if replaced else "created"
        except ApiFailure as e:
            if e.code != 409:
                raise to_error(e, what, ref) from e
        live = api.read(ref, ns, net.name)
        if live is None:
            continue  # deleted meanwhile (or the 409 was spurious): create again
        if not ks.same_owner(live, body):
            raise _foreign(ref, ns, net.name, live, body, "left untouched")
        if live["metadata"].get("deletionTimestamp"):
            wait_absent(api, ref, ns, [net.name], api.policy.total_s)
            continue
        if drift := ks.spec_drift(live, body):
            if not replace:
                raise _spec_changed(ref, ns, net.name, live, drift, "left untouched")
            _refuse_attached(api, ref, ns, net.name, live, drift, "left untouched")
            _delete_for_replace(api, ref, ns, net.name, live)
            replaced = True
            continue
        patch = alignment(live, body)
        if not patch:
            return "unchanged"
        _patch(api, ref, ns, net.name, patch, f"update {ref.kind} {ns}/{net.name}")
        log.info("update %s %s/%s: adopted, added labels %s", ref.kind, ns, net.name,
                 sorted(patch.get("metadata", {}).get("labels", {})))
        return "adopted"
    raise TemporaryClusterError(f"{what}: the name kept being taken and released; gave up")


def dry_run_network(api: Client, net: NetworkPlan, namespace: str | None = None, *, replace: bool = False,
                    server: bool = True) -> str:
    """What ensure_network would do ("create", "update", "unchanged", "replace"), refusing what it would refuse (a
    foreign object, our object with another spec unless ``replace``); ``server``: its write sent with dryRun=All, so
    the API server runs its schema, admission and RBAC checks and stores nothing (kubectl's --dry-run=server); else
    reads only. "replace" sends nothing: a delete and create of an object that exists cannot be judged by a dryRun
    create."""
    ref, ns = ks.resource_of(net.manifest), api.ns_of(net, namespace)
    body = ks.with_namespace(net.manifest, ns)
    live = api.read(ref, ns, net.name)
    if live is not None and not ks.same_owner(live, body):
        raise _foreign(ref, ns, net.name, live, body, "apply would leave it untouched and fail")
    if live is None and not server:
        return "create"
    if live is None:
        what = f"create {ref.kind} {ns}/{net.name} (server dry run)"
        try:
            api.create(ref, ns, body, what, dry_run=True)
        except ApiFailure as e:
            if e.missing_namespace:
                raise ClusterError(f"{what}: namespace {ns} does not exist: apply would create it, but the server "
                                   f"can check the networks only in an existing namespace (use --dry-run=client, "
                                   f"or create the namespace first)") from e
            raise to_error(e, what, ref) from e
        return "create"
    if drift := ks.spec_drift(live, body):
        consequence = "apply would leave it untouched and fail"
        if not replace:
            raise _spec_changed(ref, ns, net.name, live, drift, consequence)
        _refuse_attached(api, ref, ns, net.name, live, drift, consequence)
        return "replace"
    patch = alignment(live, body)
    if not patch:
        return "unchanged"
    if server:
        _patch(api, ref, ns, net.name, patch, f"update {ref.kind} {ns}/{net.name} (server dry run)", dry_run=True)
    return "update"


def add_labels(api: Client, net: NetworkPlan, labels: Mapping[str, str], namespace: str | None = None) -> bool:
    """Add ``labels`` to our network ``net`` (ns-create's nsr id, known only once NBI made it): False when it is not
    there or not this NS's (nothing is changed then). The patch carries the resourceVersion read: an object replaced
    or changed meanwhile makes it fail (409) rather than label something else."""
    ref, ns = ks.resource_of(net.manifest), api.ns_of(net, namespace)
    live = api.read(ref, ns, net.name)
    if live is None or not ks.same_owner(live, ks.with_namespace(net.manifest, ns)):
        return False
    missing = {k: v for k, v in labels.items() if ks.labels_of(live).get(k) != v}
    if missing:
        meta = {"labels": missing, "resourceVersion": live["metadata"].get("resourceVersion")}
        _patch(api, ref, ns, net.name, {"metadata": meta}, f"label {ref.kind} {ns}/{net.name}")
    return True


def alignment(live: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch bringing our live object's labels in line with the plan (empty: nothing to change). Metadata
    only: a spec that differs is refused before (see :func:`_spec_changed`). Apply and its server dry run send the
    same patch."""
    labels = {k: v for k, v in ks.labels_of(body).items() if ks.labels_of(live).get(k) != v}
    return {"metadata": {"labels": labels}} if labels else {}


def _patch(api: Client, ref: ResourceRef, ns: str, name: str, patch: Mapping[str, Any], what: str, *,
           dry_run: bool = False) -> None:
    try:
        api.patch(ref, ns, name, patch, what, dry_run=dry_run)
    except ApiFailure as e:
        raise to_error(e, what, ref) from e


def delete_networks(api: Client, networks: Sequence[NetworkPlan], namespace: str | None = None, *,
                    force: bool = False) -> DeleteResult:
    """Delete the planned networks that carry our labels (uid precondition: a replaced object is left alone): the
    rollback of what a run created. An NS's networks are removed by label: :func:`osm_l2net.deploy.removal.remove_owned`.

    Pods must be gone first (L2S-M does not check, attached pods keep dead interfaces): unless ``force``,
    ``ClusterError`` names the pods still attached and nothing is deleted."""
    groups = api.groups(networks, namespace)
    if not force:
        for ns in sorted({ns for _, ns, _ in groups}):
            pods = api.pods(ns)
            attached = {n.name: ks.attached_pods(pods, n.name) for _, n_ns, nets in groups if n_ns == ns for n in nets}
            busy = "; ".join(f"{name}: {', '.join(p)}" for name, p in attached.items() if p)
            if busy:
                raise ClusterError(f"pods are still attached to networks in {ns} ({busy}): remove the KNFs first")
    deleted: list[str] = []
    absent: list[str] = []
    skipped: list[str] = []
    for ref, ns, nets in groups:
        owned = {o["metadata"]["name"]: o for o in api.list_objects(ref, ns, ks.selector_for(nets))[0] if ks.is_ours(o)}
        for net in nets:
            obj = owned.get(net.name)
            outcome = "absent" if obj is None else delete_one(api, ref, ns, net.name, obj["metadata"]["uid"])
            if outcome == "deleted":
                deleted.append(net.name)
            elif outcome == "absent":
                absent.append(net.name)
            else:
                skipped.append(f"{net.name}: {outcome}")
    return DeleteResult(tuple(deleted), tuple(absent), tuple(skipped))


def delete_one(api: Client, ref: ResourceRef, ns: str, name: str, uid: str) -> str:
    """Delete our object ``name`` as it was listed (``uid``): "deleted", "absent", or why it was left alone."""
    what = f"delete {ref.kind} {ns}/{name}"
    for _ in range(api.policy.attempts):
        try:
            api.delete(ref, ns, name, uid, what)
            return "deleted"
        except ApiFailure as e:
            if e.code == 404:
                return "absent"
            if e.code != 409:
                raise to_error(e, what) from e
        # 409: the uid precondition failed, or a transient conflict; only the object can tell which
        live = api.read(ref, ns, name)
        if live is None:
            return "absent"
        if live["metadata"].get("uid") != uid:
            return "replaced meanwhile by another object (uid differs): left alone"
    raise TemporaryClusterError(f"{what}: kept conflicting; gave up")


def delete_owned(api: Client, net: OwnedNetwork) -> str:
    """Delete one of our networks as it was listed (its uid: an object replaced meanwhile is left alone)."""
    return delete_one(api, ks.resource_of_kind(net.kind), net.namespace, net.name, net.uid)
