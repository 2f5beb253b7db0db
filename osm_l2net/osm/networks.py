"""The one seam between the OSM integrations (LCM connector, NBI workflow) and the cluster: create a plan's networks
and wait until they are ready, or remove an NS instance's networks. Both integrations call only these functions.

Removal selects by ownership label (``osm.etsi.org/ns-id``), not by a re-made plan: what the cluster holds for the
NS is what gets removed, even if the descriptors changed since (the project's rule: select by label, never trust
saved state).
"""

from __future__ import annotations

from collections.abc import Callable

from osm_l2net.core.names import label_value
from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan, Plan
from osm_l2net.deploy.deployer import Deployer, DeploySettings
from osm_l2net.kube import cluster as kube
from osm_l2net.kube.state import network_kinds

Progress = Callable[[str], None]


def create_networks(cluster: kube.Cluster, plan: Plan, settings: DeploySettings,
                    progress: Progress | None = None) -> list[str]:
    """Ensure every network of the plan, then wait until all are ready. On failure, the networks this call created
    are deleted again before the error propagates. Returns the names of the networks this call created."""
    return Deployer(cluster, settings=settings, progress=progress).create_networks(plan).created


def remove_ns_networks(cluster: kube.Cluster, ns_id: str, settings: DeploySettings, *, force: bool = False,
                       progress: Progress | None = None) -> list[str]:
    """Remove every network labelled as NS ``ns_id``'s, in each namespace that holds some: wait until the NS's pods
    are gone (unless ``force``), delete, wait until gone. Returns the names removed."""
    deployer = Deployer(cluster, settings=settings, progress=progress)
    removed: list[str] = []
    for plan in owned_plans(cluster, ns_id):
        removed.extend(deployer.remove_networks(plan, force=force).deleted)
    return removed


def owned_plans(cluster: kube.Cluster, ns_id: str) -> list[Plan]:
    """One removal plan per namespace holding networks labelled with ``ns_id`` (cluster-wide list, one per kind)."""
    by_namespace: dict[str, list[NetworkPlan]] = {}
    api_version = {r.kind: r.api_version for r in network_kinds()}
    for owned in cluster.list_owned(label_value(ns_id)):
        labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: owned.ns_id, LABEL_VLD_ID: owned.vld_id}
        manifest = {"apiVersion": api_version[owned.kind], "kind": owned.kind,
                    "metadata": {"name": owned.name, "namespace": owned.namespace, "labels": labels}}
        by_namespace.setdefault(owned.namespace, []).append(
            NetworkPlan(owned.vld_id, owned.name, None, "ipv4", None, manifest))
    return [Plan(ns_id, ns_id, "", namespace, "", tuple(nets), ()) for namespace, nets in sorted(by_namespace.items())]

