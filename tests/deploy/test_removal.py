"""The one removal of an NS's networks by label (osm_l2net.deploy.removal), through each of its four callers:
``delete`` (Deployer.terminate), ``gc``, the LCM connector's uninstall and ``ns-delete``. Each must wait until the
NS's pods are gone, remove every network labelled as the NS's (also one the current descriptors no longer plan),
wait until the operator has released the finalizers, and never touch an object that is not ours, even with our name.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, NetworkPlan, Plan, plain
from osm_l2net.deploy.deployer import Deployer, DeploySettings
from osm_l2net.deploy.removal import gc
from osm_l2net.kube.cluster import Cluster, ClusterAccess
from osm_l2net.osm import workflow
from osm_l2net.osm.lcm import ConnectorSettings, NsNetworks
from tests.deploy.conftest import FAST, cdn_plan
from tests.support.k8s_emulator import L2NETWORKS, PODS
from tests.support.k8s_harness import EmulatedCluster

# not a valid label value (spaces, '/', non-ASCII, > 63 characters): the removal must select by the same sanitised
# value the planner labelled with, whichever caller computes the selector
NS_ID = "NS 42/ünïcode " + "x" * 60
SETTINGS = DeploySettings(ready_timeout=5, delete_timeout=5, pods_gone_timeout=5)


class _Nbi:
    """The two NBI calls ns-delete makes, for an NS created by ns-create (its plan id recorded in the NS)."""

    def ns(self, name: str) -> dict[str, Any]:
        return {"_id": "nsr-1", "name": name,
                "instantiate_params": {"additionalParamsForNs": {workflow.NS_ID_PARAM: NS_ID}}}

    def delete_ns(self, ns_id: str, force: bool = False) -> None:
        return None  # terminated at once: no operation to follow


def _delete(cluster: Cluster, plan: Plan, _: pytest.MonkeyPatch) -> None:
    Deployer(cluster, None, SETTINGS, progress=lambda m: None).terminate(plan)


def _gc(cluster: Cluster, plan: Plan, _: pytest.MonkeyPatch) -> None:
    result = gc(cluster, None, ns_id=NS_ID, policy=None)
    assert result.skipped == (), result.skipped


def _connector(cluster: Cluster, plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    def own_cluster(conn: object, uuid: str, namespace: str | None) -> Cluster:  # the connector closes its own
        return Cluster(ClusterAccess(kubeconfig=cluster.endpoint.kubeconfig), policy=FAST, seed=4)

    monkeypatch.setattr(NsNetworks, "_cluster", staticmethod(own_cluster))
    settings = ConnectorSettings(ready_timeout=5, delete_timeout=5, pods_gone_timeout=5)
    NsNetworks(settings)._remove(object(), "k8s-cluster", NS_ID)


def _ns_delete(cluster: Cluster, plan: Plan, _: pytest.MonkeyPatch) -> None:
    workflow.ns_delete(_Nbi(), cluster, "vod", SETTINGS, lambda m: None)  # type: ignore[arg-type]


CALLERS: dict[str, Callable[[Cluster, Plan, pytest.MonkeyPatch], None]] = {
    "delete": _delete, "gc": _gc, "connector": _connector, "ns-delete": _ns_delete}


@pytest.fixture
def cluster(kube_emulator: EmulatedCluster) -> Iterator[Cluster]:
    kube_emulator.operator.start(ready_after=0.0, release_after=0.3)  # finalizers released 0.3 s after a delete
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=FAST, seed=3) as c:
        yield c


def _stale(plan: Plan) -> NetworkPlan:
    """A network of the same NS for a VLD the descriptors no longer have (made by an older version of them)."""
    net = plan.networks[0]
    manifest = plain(net.manifest)
    manifest["metadata"]["name"] = name = f"{net.name[:40]}-stale"
    manifest["metadata"]["labels"][LABEL_VLD_ID] = "retired-vld"
    return dataclasses.replace(net, vld_id="retired-vld", name=name, manifest=manifest)


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_caller_waits_for_pods_removes_by_label_and_leaves_foreign_objects(
        kube_emulator: EmulatedCluster, cluster: Cluster, caller: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = cdn_plan(ns_id=NS_ID)
    ours = [*plan.networks, _stale(plan)]
    Deployer(cluster, None, SETTINGS, progress=lambda m: None).create_networks(
        dataclasses.replace(plan, networks=tuple(ours)))
    kube_emulator.create_namespace("other")
    foreign = kube_emulator.put(L2NETWORKS, "other", {
        "apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
        "metadata": {"name": plan.networks[0].name,
                     "labels": {LABEL_MANAGED_BY: "helm", LABEL_NS_ID: plan.owner_labels[LABEL_NS_ID]}},
        "spec": {"type": "vnet"}})
    kube_emulator.create_pod(plan.namespace, "knf-0", labels={LABEL_NS_ID: plan.owner_labels[LABEL_NS_ID]},
                             annotations={"l2sm/networks": ", ".join(n.name for n in plan.networks)})
    present_while_pod: list[bool] = []

    def pod_goes() -> None:
        present_while_pod.append(all(kube_emulator.l2network(plan.namespace, n.name) is not None for n in ours))
        kube_emulator.delete(PODS, plan.namespace, "knf-0")

    timer = threading.Timer(0.8, pod_goes)
    timer.start()
    try:
        CALLERS[caller](cluster, plan, monkeypatch)
    finally:
        timer.join()
    assert present_while_pod == [True], "the networks stayed until the NS's pod was gone"
    assert [kube_emulator.l2network(plan.namespace, n.name) for n in ours] == [None] * len(ours), \
        "every network labelled as the NS's is gone (finalizers released), the retired VLD's too"
    assert cluster.list_owned(plan.owner_labels) == []
    live = kube_emulator.l2network("other", plan.networks[0].name)  # (the operator double gave it a status)
    assert live is not None and live["metadata"]["uid"] == foreign["metadata"]["uid"]
    assert live["metadata"]["labels"] == foreign["metadata"]["labels"] and "deletionTimestamp" not in live["metadata"]
    assert not kube_emulator.log.select("DELETE", "/namespaces/other/"), "a foreign object is never touched"
    assert not [e for e in kube_emulator.log.select("PATCH", "/namespaces/other/")]
