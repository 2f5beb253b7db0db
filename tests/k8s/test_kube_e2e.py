"""Opt-in end-to-end run of the cluster adapter against a REAL cluster with L2S-M (or Multus) installed.

Set ``OSM_L2NET_E2E_KUBECONFIG`` (deliberately not $KUBECONFIG: a test must never touch a cluster by accident);
optional ``OSM_L2NET_E2E_NAMESPACE`` (default "default") and ``OSM_L2NET_E2E_PROVIDER`` ("l2sm" or "nad").
Creates two networks under a fresh ns-id, waits until ready, reads their status, deletes them and waits until gone.
"""

from __future__ import annotations

import os
import uuid

import pytest

from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan, owner_labels
from osm_l2net.kube.cluster import Cluster, ClusterAccess

pytestmark = pytest.mark.e2e

KUBECONFIG = os.environ.get("OSM_L2NET_E2E_KUBECONFIG")


def _plan(ns_id: str, vld: str, cidr: str, provider: str) -> NetworkPlan:
    name = f"e2e-{ns_id[:8]}-{vld}"
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: ns_id, LABEL_VLD_ID: vld}
    if provider == "nad":
        config = '{"cniVersion": "0.3.0", "type": "host-device", "device": "l2sm-vNet"}'
        manifest = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                    "metadata": {"name": name, "labels": labels}, "spec": {"config": config}}
    else:
        manifest = {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
                    "metadata": {"name": name, "labels": labels}, "spec": {"type": "vnet", "networkCIDR": cidr}}
    return NetworkPlan(vld, name, cidr, "ipv4", None, manifest)


@pytest.mark.skipif(not KUBECONFIG, reason="end-to-end mode: set OSM_L2NET_E2E_KUBECONFIG to a test cluster")
def test_networks_lifecycle_on_a_real_cluster() -> None:
    ns_id = str(uuid.uuid4())
    provider = os.environ.get("OSM_L2NET_E2E_PROVIDER", "l2sm")
    nets = [_plan(ns_id, "vl-a", "10.231.1.0/24", provider), _plan(ns_id, "vl-b", "10.231.2.0/24", provider)]
    access = ClusterAccess(kubeconfig=KUBECONFIG, namespace=os.environ.get("OSM_L2NET_E2E_NAMESPACE"))
    with Cluster(access) as cluster:
        try:
            assert [cluster.ensure_network(n) for n in nets] == ["created", "created"]
            assert cluster.stats["total"] == 2
            assert [cluster.ensure_network(n) for n in nets] == ["unchanged", "unchanged"]
            assert all(s.ready for s in cluster.wait_ready(nets, deadline_s=120))
            assert [s.exists for s in cluster.network_status(nets)] == [True, True]
            assert {o.name for o in cluster.list_owned(owner_labels(ns_id))} == {n.name for n in nets}
        finally:
            cluster.delete_networks(nets)
            cluster.wait_gone(nets, deadline_s=120)
        assert cluster.list_owned(owner_labels(ns_id)) == []
