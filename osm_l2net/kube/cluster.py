"""The Kubernetes adapter: creates, waits for, inspects and removes the plan's network objects. ``Cluster`` is the
one object its users hold; each job lives in its own module of this package:

- :mod:`~osm_l2net.kube.client`: access, first contact, retries, error mapping (the only ``kubernetes`` user);
- :mod:`~osm_l2net.kube.networks`: ensure (create or adopt), server dry run, delete one object;
- :mod:`~osm_l2net.kube.waits`: until ready, until gone, until an NS's pods are gone;
- :mod:`~osm_l2net.kube.status`: our networks by label, the planned networks with their pods;

The one removal of an NS's networks by label (delete, gc, LCM, ns-delete) is :mod:`osm_l2net.deploy.removal`: it
orders these steps (pods gone, delete each by uid, finalizers released, none left).

Built on the official client's synchronous API (async callers use ``asyncio.to_thread``). Objects are only modified
or deleted when they carry our ownership labels (and deletes carry a uid precondition, so an object replaced
meanwhile is never touched). ``stats`` counts every request for benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from osm_l2net.core.plan import NetworkPlan, Plan
from osm_l2net.kube import networks, preflight, status, waits
from osm_l2net.kube.client import (
    ApiFailure,
    Client,
    ClusterAccess,
    Endpoint,
    Notify,
    ResolvedAccess,
    connect,
    resolve_access,
    to_error,
)
from osm_l2net.kube.networks import EnsureOutcome
from osm_l2net.kube.state import (
    DeleteResult,
    GcResult,
    NetworkStatus,
    OwnedNetwork,
    Readiness,
    RetryPolicy,
)
from osm_l2net.kube.waits import Progress

__all__ = [
    "ApiFailure", "Cluster", "ClusterAccess", "DeleteResult", "Endpoint", "EnsureOutcome", "GcResult", "NetworkStatus",
    "OwnedNetwork", "Readiness", "ResolvedAccess", "RetryPolicy", "connect",
    "resolve_access", "to_error",
]


class Cluster(Client):
    """Network objects of NS instances in one cluster (see the module docstring). Selections by owner take the
    ownership labels the plan decided (``Plan.owner_labels``; ``core.plan.owner_labels(ns_id)`` without a plan)."""

    def __enter__(self) -> Cluster:
        return self

    # ------------------------------------------------------------ create

    def preflight(self, plan: Plan, progress: Notify) -> None:
        """L2S-M's readiness for ``plan`` (kube/preflight.py): warnings to ``progress``; errors raise
        :class:`~osm_l2net.core.preflight.PreflightError` before anything is created."""
        preflight.run(self, plan, progress)

    def ensure_namespace(self, name: str) -> bool:
        return networks.ensure_namespace(self, name)

    def ensure_network(self, net: NetworkPlan, namespace: str | None = None, *,
                       replace: bool = False) -> EnsureOutcome:
        return networks.ensure_network(self, net, namespace, replace=replace)

    def dry_run_network(self, net: NetworkPlan, namespace: str | None = None, *, replace: bool = False,
                        server: bool = True) -> str:
        return networks.dry_run_network(self, net, namespace, replace=replace, server=server)

    def add_labels(self, net: NetworkPlan, labels: Mapping[str, str], namespace: str | None = None) -> bool:
        return networks.add_labels(self, net, labels, namespace)

    # ------------------------------------------------------------ wait

    def wait_ready(self, nets: Sequence[NetworkPlan], namespace: str | None = None, deadline_s: float = 120.0,
                   progress: Progress | None = None, notify: Notify | None = None) -> list[Readiness]:
        return waits.wait_ready(self, nets, namespace, deadline_s, progress, notify)

    def wait_gone(self, nets: Sequence[NetworkPlan], namespace: str | None = None, deadline_s: float = 120.0,
                  notify: Notify | None = None) -> None:
        waits.wait_gone(self, nets, namespace, deadline_s, notify)

    def wait_pods_gone(self, owner: Mapping[str, str], namespace: str | None = None, deadline_s: float = 300.0,
                       notify: Notify | None = None) -> None:
        waits.wait_pods_gone(self, owner, namespace, deadline_s, notify)

    # ------------------------------------------------------------ read

    def list_owned(self, owner: Mapping[str, str] | None = None, namespace: str | None = None) -> list[OwnedNetwork]:
        return status.list_owned(self, owner, namespace)

    def settled_networks(self, nets: Sequence[NetworkPlan], namespace: str | None = None) -> set[str]:
        return status.settled(self, nets, namespace)

    def network_status(self, nets: Sequence[NetworkPlan], namespace: str | None = None) -> list[NetworkStatus]:
        return status.network_status(self, nets, namespace)

    def network_object(self, net: NetworkPlan, namespace: str | None = None) -> dict[str, object] | None:
        """The planned network's object with its status (L2S-M: ``lastAssignedIP``, ``assignedIPs``), or None."""
        return status.network_object(self, net, namespace)

    # ------------------------------------------------------------ remove

    def delete_networks(self, nets: Sequence[NetworkPlan], namespace: str | None = None, *,
                        force: bool = False) -> DeleteResult:
        return networks.delete_networks(self, nets, namespace, force=force)

    def delete_owned(self, net: OwnedNetwork) -> str:
        return networks.delete_owned(self, net)

    def attached(self, nets: Sequence[OwnedNetwork]) -> dict[tuple[str, str], list[str]]:
        return status.attached(self, nets)

    def wait_owned_gone(self, nets: Sequence[OwnedNetwork], deadline_s: float = 120.0,
                        notify: Notify | None = None) -> None:
        waits.wait_owned_gone(self, nets, deadline_s, notify)
