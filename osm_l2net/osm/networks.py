"""The one seam between the OSM integrations (LCM connector, NBI workflow) and the cluster: create a plan's networks
and wait until they are ready, or remove an NS instance's networks. Both integrations call only these functions.

Removal selects by ownership label (``core.plan.owner_labels``: the labels the planner put on the networks), not by
a re-made plan: what the cluster holds for the NS is what gets removed, even if the descriptors changed since (the
project's rule: select by label, never trust saved state). It is the same removal ``osm-l2net delete`` and ``gc``
use (:func:`osm_l2net.deploy.removal.remove_owned`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from osm_l2net.core.errors import L2NetError
from osm_l2net.core.plan import Plan, nsr_labels, owner_labels
from osm_l2net.deploy.deployer import Deployer, DeploySettings, Report
from osm_l2net.deploy.removal import RemovalPolicy, remove_owned
from osm_l2net.kube import cluster as kube

Progress = Callable[[str], None]


def create_networks(cluster: kube.Cluster, plan: Plan, settings: DeploySettings,
                    progress: Progress | None = None) -> list[str]:
    """Ensure every network of the plan, then wait until all are ready. On failure, the networks this call created
    are deleted again before the error propagates. Returns the names of the networks this call created."""
    return Deployer(cluster, settings=settings, progress=progress).create_networks(plan).created


def delete_created(cluster: kube.Cluster, plan: Plan, names: Sequence[str], settings: DeploySettings) -> None:
    """Delete the networks of the plan named ``names`` (ones a failed attempt created here) and wait until gone."""
    report = Report(plan.ns_id, created=list(names))
    Deployer(cluster, settings=settings).undo(plan, report, {})


def remove_ns_networks(cluster: kube.Cluster, ns_id: str, settings: DeploySettings, *, force: bool = False,
                       wait: bool = True, progress: Progress | None = None) -> list[str]:
    """Remove every network labelled as NS ``ns_id``'s, in each namespace that holds some: wait until the NS's pods
    are gone (unless ``force``), delete, wait until gone (unless not ``wait``), check none is left. Returns the names
    removed."""
    policy = RemovalPolicy(force=force, wait=wait, pods_timeout_s=settings.pods_gone_timeout,
                           gone_timeout_s=settings.delete_timeout)
    return remove_owned(cluster, owner_labels(ns_id), None, policy, notify=progress).names


def label_nsr(cluster: kube.Cluster, plan: Plan, nsr_id: str, progress: Progress | None = None) -> list[str]:
    """Label the plan's networks with OSM's nsr id, once NBI has made it (after the networks: see osm/workflow.py),
    so that ``osm-l2net status --ns-id <nsr id>`` finds them. Best effort: the NS exists in OSM by now and must not
    be rolled back for a label; a network not labelled is still found by NS name. Returns the names labelled."""
    labelled: list[str] = []
    for net in plan.networks:
        try:
            if cluster.add_labels(net, nsr_labels(nsr_id), plan.namespace):
                labelled.append(net.name)
        except L2NetError as e:
            if progress is not None:
                progress(f"warning: network {net.name} not labelled with nsr id {nsr_id} ({e}): status finds it by "
                         f"--ns-name")
    return labelled
