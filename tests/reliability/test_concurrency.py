"""Campaign 4: 20 NS instances of the CDN service applied at the same time (one thread, Deployer and Cluster each)
against one emulated cluster, in one namespace: no name collisions, no cross-attachment (every pod asks only for its own
NS's networks, with its own NS's addresses), no pod created before its networks were Available, and terminating them
all (again concurrently) leaves no object behind. Fast default: 20 NS, 4 of them with their KDUs (helm); long mode:
all 20 with their KDUs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from osm_l2net.core.names import label_value
from osm_l2net.core.plan import LABEL_NS_ID, Plan
from osm_l2net.deploy.deployer import Report
from tests.deploy.conftest import Env, cdn_plan
from tests.reliability.conftest import Scale, report
from tests.support.k8s_emulator import L2NETWORKS, PODS

INSTANCES = 20
ANNOTATION = "l2sm/networks"


def all_at_once(env: Env, plans: list[Plan], helm_for: int, step: Callable[[Any, Plan], Report]) -> list[Report]:
    """Run ``step`` for every plan in its own thread with its own Deployer (and Cluster), released together."""
    start = threading.Barrier(len(plans))

    def one(i: int) -> Report:
        deployer = env.deployer(with_helm=i < helm_for)
        start.wait()
        try:
            return step(deployer, plans[i])
        finally:
            deployer.cluster.close()

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        return list(pool.map(one, range(len(plans))))


def test_twenty_ns_instances_applied_at_once_share_nothing(env: Env, scale: Scale) -> None:
    env.operator()
    emulated = env.emulator
    emulated.workloads.start()
    helm_for = scale(4, INSTANCES)
    plans = [cdn_plan(ns_name=f"vod-{i:02d}") for i in range(INSTANCES)]
    networks = [n.name for p in plans for n in p.networks]
    releases = [k.release_name for p in plans[:helm_for] for k in p.kdus]
    assert len(set(networks)) == len(networks) and len(set(releases)) == len(releases), "the plans collide by name"
    assert len({p.ns_id for p in plans}) == INSTANCES

    started = time.monotonic()
    applied = all_at_once(env, plans, helm_for, lambda d, p: d.instantiate(p))
    applied_s = time.monotonic() - started
    assert [sorted(r.created) for r in applied] == [sorted(n.name for n in p.networks) for p in plans]
    assert sum(len(r.installed) for r in applied) == len(releases)

    # every network exists once, labelled with the NS that planned it
    by_name = {o["metadata"]["name"]: o for o in emulated.list(L2NETWORKS, "default")}
    assert sorted(by_name) == sorted(networks)
    for p in plans:
        for n in p.networks:
            assert by_name[n.name]["metadata"]["labels"][LABEL_NS_ID] == label_value(p.ns_id)
    # every pod asks for exactly what its own NS planned for its KDU, nothing of another NS
    pods = emulated.list(PODS, "default")
    assert len(pods) == sum(len(p.kdus) for p in plans[:helm_for])
    for p in plans[:helm_for]:
        own = {n.name for n in p.networks}
        mine = [o for o in pods if (o["metadata"].get("labels") or {}).get(LABEL_NS_ID) == label_value(p.ns_id)]
        asked = sorted(o["metadata"]["annotations"][ANNOTATION] for o in mine)
        assert asked == sorted(k.pod_annotations[ANNOTATION] for k in p.kdus), f"NS {p.ns_name}: attachments"
        for o in mine:
            names = {a["name"] for a in json.loads(o["metadata"]["annotations"][ANNOTATION])}
            assert names and names <= own, f"pod {o['metadata']['name']} of {p.ns_name} asks for {names - own}"
    assert emulated.workloads.violations == [], "a pod was created before its networks were Available"

    started = time.monotonic()
    terminated = all_at_once(env, plans, helm_for, lambda d, p: d.terminate(p))
    terminated_s = time.monotonic() - started
    assert sum(len(r.deleted) for r in terminated) == len(networks)
    assert emulated.list(L2NETWORKS, "default") == [] and emulated.list(PODS, "default") == []
    assert env.helm().list_releases(None) == []
    report("concurrent-ns", scale, instances=INSTANCES, with_kdus=helm_for, networks=len(networks),
           releases=len(releases), pods=len(pods), collisions=0, cross_attachments=0, leaks=0,
           apply_seconds=round(applied_s, 1), terminate_seconds=round(terminated_s, 1))
