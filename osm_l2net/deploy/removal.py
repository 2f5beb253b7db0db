"""The one way an NS instance's networks are removed, used by ``osm-l2net delete`` (through the Deployer), ``gc``,
the LCM connector's uninstall and ``ns-delete``: select by ownership label (never by a re-made plan or saved state),
wait until the NS's pods are gone, delete each object as it was listed (uid precondition: one replaced meanwhile by
another object of the same name is left alone), wait until its finalizer has been released, then check that nothing
of the NS is left. Objects without our labels are never listed, so never touched.

Each step is one call of the cluster adapter, so that a crash between any two of them is cured by running again
(tests/deploy/test_faults.py); this module does no I/O itself and does not import the Kubernetes client.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from osm_l2net.core.errors import ClusterError, WaitTimeout
from osm_l2net.core.plan import LABEL_NS_ID, owner_labels
from osm_l2net.kube.state import GcResult, OwnedNetwork, same_nsd

if TYPE_CHECKING:  # the kubernetes client is slow to import; LCM loads this module at start
    from osm_l2net.kube.cluster import Cluster

Notify = Callable[[str], None]
Kept = list[tuple[OwnedNetwork, str]]


@dataclass(frozen=True)
class RemovalPolicy:
    """``force``: do not wait for the NS's pods, delete networks with pods attached too. ``strict``: anything that
    cannot be removed is an error (delete, the connector, ns-delete); else it is kept and reported (gc). ``wait``:
    wait until the deleted objects are gone (their finalizers released)."""

    force: bool = False
    strict: bool = True
    wait: bool = True
    pods_timeout_s: float = 300.0
    gone_timeout_s: float = 300.0


@dataclass(frozen=True)
class Removal:
    deleted: tuple[OwnedNetwork, ...] = ()  # gone (without waiting: being deleted)
    kept: tuple[tuple[OwnedNetwork, str], ...] = ()  # left in place, with why

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.deleted]


def remove_owned(cluster: Cluster, owner: Mapping[str, str] | None, namespace: str | None = None,
                 policy: RemovalPolicy | None = None, *, spare: Collection[str] = (),
                 notify: Notify | None = None, nsd: str = "") -> Removal:
    """Remove the networks the ``owner`` labels mark (``Plan.owner_labels`` or ``core.plan.owner_labels``; None:
    every NS's but those whose ns-id label is in ``spare``), in ``namespace`` or cluster-wide. ``nsd`` (a plan's
    ``nsd_label``): of those, only the ones of that NSD or of none (made before the label existed): a network of
    another NSD deployed under the same NS id is another NS's. Empty (gc, the LCM connector, ns-delete): by NS id."""
    policy = policy or RemovalPolicy()
    found = _select(cluster.list_owned(owner, namespace), spare, nsd)
    kept = [] if policy.force else _wait_for_pods(cluster, found, policy, notify)
    if not policy.force:
        kept += _attached(cluster, _without(found, kept))
    if policy.strict and kept:
        raise ClusterError("networks not removed, nothing deleted: " + "; ".join(
            f"{o.kind} {o.namespace}/{o.name}: {why}" for o, why in kept) + " (remove the KNFs first)")
    going: list[OwnedNetwork] = []
    for net in _without(found, kept):
        outcome = "deleted" if net.deleting else cluster.delete_owned(net)  # being deleted: only wait for it
        if outcome == "deleted":
            going.append(net)
        elif outcome != "absent":
            kept.append((net, outcome))
    gone, stuck = _wait_gone(cluster, going, policy, notify) if policy.wait else (going, [])
    if policy.strict:
        _check_none_left(cluster, owner, namespace, spare, policy, nsd)
    return Removal(tuple(gone), tuple(kept + stuck))


def _select(found: list[OwnedNetwork], spare: Collection[str], nsd: str) -> list[OwnedNetwork]:
    return [o for o in found if o.ns_id not in spare and same_nsd(o.nsd_id, nsd)]


def gc(cluster: Cluster, existing_ns_ids: Collection[str] | None, ns_id: str | None = None,
       namespace: str | None = None, policy: RemovalPolicy | None = None, notify: Notify | None = None) -> GcResult:
    """Remove our networks whose NS instance no longer exists: those of ``ns_id`` (when its NS is gone), or,
    cluster-wide / in ``namespace``, every one whose NS id is not in ``existing_ns_ids`` (NS ids as OSM gives them).
    Networks that cannot go (pods still attached, a finalizer never released) are kept and reported."""
    if existing_ns_ids is None and ns_id is None:
        raise ValueError("gc needs the NS instances that still exist, or the ns_id of one that is gone")
    if ns_id is not None and existing_ns_ids is not None and ns_id in existing_ns_ids:
        return GcResult((), ())
    spare = {owner_labels(i)[LABEL_NS_ID] for i in existing_ns_ids or ()}
    removal = remove_owned(cluster, owner_labels(ns_id) if ns_id else None, namespace,
                           policy or RemovalPolicy(strict=False), spare=spare, notify=notify)
    return GcResult(removal.deleted, removal.kept)


def _without(nets: list[OwnedNetwork], kept: Kept) -> list[OwnedNetwork]:
    left_alone = {(o.namespace, o.name, o.kind) for o, _ in kept}
    return [o for o in nets if (o.namespace, o.name, o.kind) not in left_alone]


def _wait_for_pods(cluster: Cluster, found: list[OwnedNetwork], policy: RemovalPolicy, notify: Notify | None) -> Kept:
    """Wait until each NS's labelled pods are gone where its networks are; not strict: an NS whose pods stay is kept."""
    kept: Kept = []
    for ns_id, ns in sorted({(o.ns_id, o.namespace) for o in found}):
        try:
            cluster.wait_pods_gone({LABEL_NS_ID: ns_id}, ns, policy.pods_timeout_s, notify)
        except WaitTimeout as e:
            if policy.strict:
                raise
            kept += [(o, str(e)) for o in found if (o.ns_id, o.namespace) == (ns_id, ns)]
    return kept


def _attached(cluster: Cluster, nets: list[OwnedNetwork]) -> Kept:
    busy = cluster.attached(nets) if nets else {}
    return [(o, f"pods still attached: {', '.join(busy[(o.namespace, o.name)])}") for o in nets
            if (o.namespace, o.name) in busy]


def _wait_gone(cluster: Cluster, going: list[OwnedNetwork], policy: RemovalPolicy,
               notify: Notify | None) -> tuple[list[OwnedNetwork], Kept]:
    try:
        cluster.wait_owned_gone(going, policy.gone_timeout_s, notify)
    except WaitTimeout as e:
        if policy.strict:
            raise
        return [], [(n, str(e)) for n in going]
    return going, []


def _check_none_left(cluster: Cluster, owner: Mapping[str, str] | None, namespace: str | None,
                     spare: Collection[str], policy: RemovalPolicy, nsd: str) -> None:
    """Nothing of the NS may be left (without waiting: nothing that is not being deleted)."""
    left = [o for o in _select(cluster.list_owned(owner, namespace), spare, nsd) if policy.wait or not o.deleting]
    if left:
        whose = f"NS {owner[LABEL_NS_ID]}" if owner and LABEL_NS_ID in owner else "the NS instances"
        raise ClusterError(f"networks of {whose} still present after delete: {[o.name for o in left]}")
