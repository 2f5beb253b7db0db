"""The kube adapter's waits on LCM v19's pinned kubernetes client (33.1), against the API test double as a server.

Client 33.1 sends ``watch=True`` where later clients send ``watch=true``. kube-apiserver reads both as a watch
(apimachinery: only absent, "0" and "false" in any case are false); the test double once read only "true" and "1",
so on this tier every wait got a plain list back, saw "the watch ended at once", backed off and listed again: each
network-ready wait of the connector took up to twice the operator's time. These tests hold the wait to one list and
one watch stream, and to the operator's time.
"""

from __future__ import annotations

import time
from typing import Any

import kubernetes

from osm_l2net.core.model import NsInstance
from osm_l2net.core.planner import build_plan
from osm_l2net.core.providers import get
from osm_l2net.deploy.deployer import DeploySettings
from osm_l2net.kube import cluster as kube
from osm_l2net.osm.networks import create_networks, remove_ns_networks
from tests.support.descriptors import descriptors, service_docs
from tests.support.k8s_wire import query_bool

READY_AFTER = 0.4


def cluster_of(served: Any) -> kube.Cluster:
    return kube.Cluster(kube.ClusterAccess(kubeconfig=str(served.kubeconfig), namespace="default"))


def test_this_tier_runs_the_client_that_sends_watch_True() -> None:
    assert kubernetes.__version__.startswith("33."), kubernetes.__version__  # LCM v19's pin (osm-v19 requirements)


def test_a_watch_stream_lasts_its_timeout_instead_of_ending_at_once(served: Any) -> None:
    served.faults(None)
    cluster = cluster_of(served)
    ref = get("l2sm").resource
    _, rv = cluster.list_objects(ref, "default", "")
    started = time.monotonic()
    events = list(cluster.events(ref, "default", "", rv, 1))
    assert events == []
    assert time.monotonic() - started >= 0.9, "the server answered the watch with a list: it ended at once"


def test_network_ready_wait_is_one_list_and_one_watch_and_ends_with_the_operator(served: Any) -> None:
    served.faults(None)
    served.operator(ready_after=READY_AFTER)
    plan = build_plan(descriptors(*service_docs(1, 4, 2)), NsInstance("pinned-wait", "pinned-wait",
                                                                       namespace="default"))
    cluster = cluster_of(served)
    since = served.last_seq()
    started = time.monotonic()
    try:
        created = create_networks(cluster, plan, DeploySettings())
        took = time.monotonic() - started
        calls = served.select("GET", "l2networks", since=since)
    finally:
        remove_ns_networks(cluster, plan.ns_id, DeploySettings())
    assert sorted(created) == sorted(n.name for n in plan.networks)
    watches = [e for e in calls if query_bool(e.query.get("watch"))]  # as the server tells them apart
    lists = [e for e in calls if not query_bool(e.query.get("watch"))]
    assert len(watches) == 1 and watches[0].query["watch"] == "True", [e.query for e in calls]
    assert len(lists) == 2, [e.query for e in calls]  # the settled-networks read, then the wait's one list
    assert took < READY_AFTER + 0.35, f"{took:.2f} s: the wait did not end when the operator marked the networks"
