"""The cluster adapter (osm_l2net.kube.cluster) against the Kubernetes API test double over HTTP."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net.core.errors import (
    ClusterAccessDenied,
    ClusterError,
    ConflictError,
    L2NetError,
    TemporaryClusterError,
    WaitTimeout,
)
from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan, owner_labels
from osm_l2net.deploy.removal import gc
from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy, connect, resolve_access
from osm_l2net.kube.state import Readiness
from tests.support.k8s_emulator import L2NETWORKS, PODS, FaultPlan
from tests.support.k8s_harness import L2SM_FINALIZER, EmulatedCluster, PodNetwork
from tests.support.tools import models_dir

FAST = RetryPolicy(attempts=8, base_delay_s=0.01, max_delay_s=0.1, total_s=20.0, connect_timeout_s=2.0,
                   request_timeout_s=2.0)


def l2net(vld: str, ns_id: str = "ns-1", cidr: str = "10.0.1.0/24", name: str | None = None) -> NetworkPlan:
    name = name or f"{vld}-{ns_id}"
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: ns_id, LABEL_VLD_ID: vld}
    manifest = {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
                "metadata": {"name": name, "labels": labels}, "spec": {"type": "vnet", "networkCIDR": cidr}}
    return NetworkPlan(vld, name, cidr, "ipv4", None, manifest)


def nad(vld: str, ns_id: str = "ns-1") -> NetworkPlan:
    name = f"{vld}-{ns_id}"
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: ns_id, LABEL_VLD_ID: vld}
    config = '{"cniVersion": "0.3.0", "type": "host-device", "device": "l2sm-vNet"}'
    manifest = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                "metadata": {"name": name, "labels": labels}, "spec": {"config": config}}
    return NetworkPlan(vld, name, None, "ipv4", None, manifest)


@pytest.fixture
def cluster(kube_emulator: EmulatedCluster) -> Iterator[Cluster]:
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=FAST, seed=1) as c:
        yield c


# ---------------------------------------------------------------- access


def test_access_resolution_follows_kubectl(tmp_path: Path) -> None:
    flag = ClusterAccess(kubeconfig="/x/flag", context="c1")
    assert resolve_access(flag, {"KUBECONFIG": "/x/env"}).source == "--kubeconfig"
    env = resolve_access(ClusterAccess(), {"KUBECONFIG": "/a:/b", "KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert (env.source, env.kubeconfig) == ("$KUBECONFIG", "/a:/b")
    assert resolve_access(ClusterAccess(), {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}).source == "in-cluster"
    home = resolve_access(ClusterAccess(), {}, home=tmp_path)
    assert home.kubeconfig == str(tmp_path / ".kube" / "config")
    with pytest.raises(ClusterError, match=r"names no existing file; fix \$KUBECONFIG"):
        connect(ClusterAccess(), {"KUBECONFIG": f"{tmp_path}/missing:{tmp_path}/also-missing"})
    if not Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists():
        with pytest.raises(ClusterError, match="cannot use the cluster credentials from in-cluster"):
            connect(ClusterAccess(), {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"})


def test_colon_list_and_context_namespace(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    data = json.loads(kube_emulator.kubeconfig.read_text())
    data["contexts"][0]["context"]["namespace"] = "tenant-a"
    other = tmp_path / "other"
    other.write_text(json.dumps(data))
    missing = tmp_path / "missing"
    api, namespace = connect(ClusterAccess(), {"KUBECONFIG": f"{missing}:{other}"})
    api.close()
    assert namespace == "tenant-a"
    bad = tmp_path / "bad"
    bad.write_text("contexts: [")
    with pytest.raises(ClusterError, match="cannot use the cluster credentials"):
        connect(ClusterAccess(kubeconfig=str(bad)))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(("code", "reason", "expected", "hint"), [
    (422, "Invalid", ClusterError, "spec.type: Unsupported value"),
    (403, "Forbidden", ClusterAccessDenied, "check the kubeconfig credentials and RBAC"),
    (401, "Unauthorized", ClusterAccessDenied, "check the kubeconfig credentials and RBAC"),
    (409, "Conflict", ConflictError, "spec.type: Unsupported value"),
    (503, "ServiceUnavailable", TemporaryClusterError, "spec.type: Unsupported value"),
])
def test_api_failures_become_project_errors_keeping_the_status_message(
        code: int, reason: str, expected: type[ClusterError], hint: str) -> None:
    from kubernetes.client.exceptions import ApiException

    from osm_l2net.kube.cluster import to_error

    e = ApiException(status=code, reason=reason)
    e.body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
                         "message": 'L2Network "x" is invalid: spec.type: Unsupported value: "bogus"'})
    err = to_error(e, "create L2Network default/x")
    assert type(err) is expected
    assert str(err).startswith(f"create L2Network default/x: HTTP {code} {reason}: ") and hint in str(err)
    plain = ApiException(status=404, reason="Not Found")
    plain.body = "404 page not found"
    assert "is the CRD installed?" in str(to_error(plain, "create L2Network default/x"))


# ---------------------------------------------------------------- create


def test_create_costs_one_write_and_no_read(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    nets = [l2net("vl-a"), l2net("vl-b", cidr="10.0.2.0/24")]
    assert [cluster.ensure_network(n) for n in nets] == ["created", "created"]
    assert cluster.stats["total"] == 2 and cluster.stats["create"] == 2
    assert next((e.method, e.path, e.status) for e in kube_emulator.log) == ("GET", "/version/", 200), "first contact"
    assert [(e.method, e.status) for e in kube_emulator.log][1:] == [("POST", 201), ("POST", 201)]
    live = kube_emulator.l2network("default", "vl-a-ns-1")
    assert live is not None and live["spec"] == {"type": "vnet", "networkCIDR": "10.0.1.0/24"}
    assert live["metadata"]["labels"][LABEL_NS_ID] == "ns-1"


def test_async_callers_share_a_cluster_through_threads(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    import asyncio

    kube_emulator.operator.start(ready_after=0.05)
    nets = [l2net(f"vl-{i}", cidr=f"10.0.{i}.0/24") for i in range(8)]

    async def apply() -> list[str]:
        outcomes = await asyncio.gather(*(asyncio.to_thread(cluster.ensure_network, n) for n in nets))
        await asyncio.to_thread(cluster.wait_ready, nets, None, 10.0)
        return list(outcomes)

    assert asyncio.run(apply()) == ["created"] * 8
    assert cluster.stats["create"] == 8 and len(kube_emulator.log.select("POST")) == 8


def test_rerun_is_unchanged_and_missing_labels_are_adopted(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    net = l2net("vl-a")
    assert cluster.ensure_network(net) == "created"
    assert cluster.ensure_network(net) == "unchanged"
    assert [e.method for e in kube_emulator.log][1:] == ["POST", "POST", "GET"]  # after the first contact
    kube_emulator.patch(L2NETWORKS, "default", net.name, {"spec": {"podAddressRange": "10.0.1.0/25"}})
    assert cluster.ensure_network(net) == "unchanged", "keys only the cluster set are not ours to remove"
    kube_emulator.patch(L2NETWORKS, "default", net.name, {"metadata": {"labels": {LABEL_VLD_ID: None}}})
    assert cluster.ensure_network(net) == "adopted"
    live = kube_emulator.l2network("default", net.name)
    assert live is not None and live["metadata"]["labels"][LABEL_VLD_ID] == "vl-a"
    assert live["spec"]["podAddressRange"] == "10.0.1.0/25"
    assert kube_emulator.log.entries()[-1].method == "PATCH"


@pytest.mark.parametrize("dry_run", [False, True])
def test_our_network_with_another_spec_is_refused_with_a_diff_and_never_patched(
        kube_emulator: EmulatedCluster, cluster: Cluster, dry_run: bool) -> None:
    # issue 10: a second NSD under the same NS name re-planned vl-a with another CIDR and the first NS's network
    # was patched to it; L2S-M ignores spec edits after creation, so the object and the data plane disagreed
    net = l2net("vl-a", cidr="10.10.0.0/24")
    assert cluster.ensure_network(net) == "created"
    before = kube_emulator.l2network("default", net.name)
    stored = len([w for w in kube_emulator.log.writes() if w.status < 300])
    moved = l2net("vl-a", cidr="10.20.0.0/24")
    with pytest.raises(ConflictError) as err:
        cluster.dry_run_network(moved) if dry_run else cluster.ensure_network(moved)
    message = str(err.value)
    assert f"L2Network default/{net.name}" in message and "spec differs from the plan" in message
    assert "networkCIDR: 10.10.0.0/24 → 10.20.0.0/24" in message
    assert "delete the NS first" in message and "--ns-name" in message
    assert ("apply would leave it untouched" in message) is dry_run
    assert kube_emulator.l2network("default", net.name) == before, "the first NS's network is untouched"
    assert len([w for w in kube_emulator.log.writes() if w.status < 300]) == stored, "0 writes stored"
    assert not kube_emulator.log.select("PATCH")


@pytest.mark.parametrize("labels", [
    {"app.kubernetes.io/managed-by": "helm"},
    {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: "another-ns"},
    {},
])
def test_foreign_object_with_our_name_is_a_conflict_and_untouched(
        kube_emulator: EmulatedCluster, cluster: Cluster, labels: dict[str, str]) -> None:
    net = l2net("vl-a")
    foreign = kube_emulator.put(L2NETWORKS, "default", {
        "apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
        "metadata": {"name": net.name, "labels": labels}, "spec": {"type": "vlink"}})
    with pytest.raises(ConflictError) as err:
        cluster.ensure_network(net)
    message = str(err.value)
    assert f"default/{net.name}" in message and "not this NS instance's" in message
    for key, value in labels.items():
        assert f"{key}={value}" in message
    with pytest.raises(ConflictError, match=r"not this NS instance's.*apply would leave it untouched and fail"):
        cluster.dry_run_network(net)  # the server dry run refuses it the same way, before any write
    after = kube_emulator.l2network("default", net.name)
    assert after == foreign, "a foreign object is never modified"
    assert not kube_emulator.log.select("PATCH") and not kube_emulator.log.select("DELETE")
    assert cluster.delete_networks([net]).absent == (net.name,)
    assert kube_emulator.l2network("default", net.name) == foreign, "nor deleted"


def test_missing_namespace_and_crd_are_clear_errors(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="namespace 'nowhere' does not exist"):
        cluster.ensure_network(l2net("vl-a"), namespace="nowhere")
    odd = NetworkPlan("x", "x", None, "ipv4", None, {"apiVersion": "v9", "kind": "Thing", "metadata": {"name": "x"}})
    with pytest.raises(ClusterError, match="unsupported network kind"):
        cluster.ensure_network(odd)


# ---------------------------------------------------------------- readiness


def test_wait_ready_follows_the_operator(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.operator.start(ready_after=None)  # the operator adds its finalizer but is slow to connect
    nets = [l2net("vl-a"), l2net("vl-b", cidr="10.0.2.0/24")]
    for n in nets:
        cluster.ensure_network(n)
    seen: list[Readiness] = []

    def progress(state: Readiness) -> None:
        seen.append(state)
        if len(seen) == len(nets):  # both reported waiting: now the operator makes them Available
            kube_emulator.operator.start(ready_after=0.1)

    states = cluster.wait_ready(nets, deadline_s=10, progress=progress)
    assert [s.ready for s in states] == [True, True]
    assert {s.name for s in seen if not s.ready} == {n.name for n in nets}, "progress reports the wait"
    assert [s.name for s in seen if s.ready] and seen[-1].ready
    assert cluster.stats["watch"] >= 1, "waits by watching, not by polling"
    assert cluster.stats["list"] <= 3


def test_never_ready_times_out_naming_the_networks(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.operator.start(ready_after=None)
    nets = [l2net("vl-a"), l2net("vl-b", cidr="10.0.2.0/24")]
    for n in nets:
        cluster.ensure_network(n)
    kube_emulator.patch(L2NETWORKS, "default", nets[1].name, {"status": {"internalConnectivity": "Available"}})
    with pytest.raises(WaitTimeout) as err:
        cluster.wait_ready(nets, deadline_s=1)
    message = str(err.value)
    assert f"default/{nets[0].name}" in message and "is the L2S-M operator running" in message
    assert nets[1].name not in message


def test_nad_is_ready_when_present(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    net = nad("vl-a")
    assert cluster.ensure_network(net) == "created"
    live = kube_emulator.nad("default", net.name)
    assert live is not None and live["spec"]["config"] == net.manifest["spec"]["config"]
    assert cluster.wait_ready([net], deadline_s=2)[0].ready
    with pytest.raises(WaitTimeout, match="not found"):
        cluster.wait_ready([nad("vl-missing")], deadline_s=1)


# ---------------------------------------------------------------- delete


def test_delete_waits_for_the_operator_to_release_its_finalizer(kube_emulator: EmulatedCluster,
                                                                cluster: Cluster) -> None:
    kube_emulator.operator.start(ready_after=0.0, release_after=0.3)
    net = l2net("vl-a")
    cluster.ensure_network(net)
    cluster.wait_ready([net], deadline_s=5)
    assert kube_emulator.l2network("default", net.name)["metadata"]["finalizers"] == [L2SM_FINALIZER]  # type: ignore[index]
    assert cluster.delete_networks([net]).deleted == (net.name,)
    cluster.wait_gone([net], deadline_s=5)
    history = kube_emulator.history(L2NETWORKS, "default", net.name)
    assert history[-1] is None
    held = [v for v in history if v and v["metadata"].get("deletionTimestamp")]
    assert held and held[0]["metadata"]["finalizers"] == [L2SM_FINALIZER], "deletion was held by the finalizer"
    assert kube_emulator.operator.actions[-1] == ("released", "default", net.name)
    assert cluster.delete_networks([net]).absent == (net.name,), "deleting again is a no-op"


def test_stuck_finalizer_times_out_naming_it(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.operator.start(release_finalizer=False)
    net = l2net("vl-a")
    cluster.ensure_network(net)
    cluster.wait_ready([net], deadline_s=5)
    cluster.delete_networks([net])
    with pytest.raises(WaitTimeout) as err:
        cluster.wait_gone([net], deadline_s=1)
    assert net.name in str(err.value) and L2SM_FINALIZER in str(err.value)
    assert "is it running?" in str(err.value)


def test_attached_pods_block_delete_and_are_named(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.operator.start(release_finalizer=False)
    net, other = l2net("vl-a"), l2net("vl-b", cidr="10.0.2.0/24")
    for n in (net, other):
        cluster.ensure_network(n)
    cluster.wait_ready([net, other], deadline_s=5)  # the operator's finalizer is on
    kube_emulator.create_pod("default", "cdn-0", annotations={"l2sm/networks": json.dumps([{"name": net.name}])})
    kube_emulator.create_pod("default", "old-0", annotations={"k8s.v1.cni.cncf.io/networks": net.name})
    with pytest.raises(ClusterError) as err:
        cluster.delete_networks([net, other])
    assert "cdn-0" in str(err.value) and "old-0" in str(err.value) and net.name in str(err.value)
    assert not kube_emulator.log.select("DELETE"), "nothing deleted while pods are attached"
    assert cluster.delete_networks([net], force=True).deleted == (net.name,)
    with pytest.raises(WaitTimeout) as stuck:
        cluster.wait_gone([net], deadline_s=1)
    assert "pods still attached: cdn-0, old-0" in str(stuck.value)


def test_wait_pods_gone(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.create_pod("default", "knf-0", labels={LABEL_NS_ID: "ns-1"})
    kube_emulator.create_pod("default", "unrelated", labels={LABEL_NS_ID: "ns-2"})
    with pytest.raises(WaitTimeout, match=r"knf-0 \(Running\)"):
        cluster.wait_pods_gone(owner_labels("ns-1"), deadline_s=1)
    timer = threading.Timer(0.3, kube_emulator.delete, (PODS, "default", "knf-0"))
    timer.start()
    try:
        cluster.wait_pods_gone(owner_labels("ns-1"), deadline_s=5)
    finally:
        timer.join()
    assert kube_emulator.get(PODS, "default", "unrelated") is not None


# ---------------------------------------------------------------- status, list, gc


def test_network_status_joins_attached_pods(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.operator.start()
    net, missing = l2net("vl-a"), l2net("vl-z")
    cluster.ensure_network(net)
    cluster.wait_ready([net], deadline_s=5)
    attach = json.dumps([{"name": net.name, "ips": ["10.0.1.10/24"]}])
    kube_emulator.create_pod("default", "cdn-0", annotations={"l2sm/networks": attach},
                             networks=[PodNetwork("l2sm-veth3", "net1", ("10.0.1.10/24",))])
    kube_emulator.create_pod("default", "cdn-1", annotations={
        "l2sm/networks": attach, "l2sm/error": "No interfaces available for node node-1"})
    status, absent = cluster.network_status([net, missing])
    assert status.exists and status.ready and status.finalizers == (L2SM_FINALIZER,)
    pods = {p.pod: p for p in status.pods}
    assert (pods["cdn-0"].interface, pods["cdn-0"].ips, pods["cdn-0"].problems) == ("net1", ("10.0.1.10",), ())
    assert pods["cdn-1"].interface is None
    assert any("No interfaces available" in p for p in pods["cdn-1"].problems)
    assert any("no interface" in p for p in pods["cdn-1"].problems)
    assert not absent.exists and absent.problems == (f"{missing.name}: not found",)
    assert len(status.problems) == 2


def test_network_status_for_multus_nads_matches_by_name(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    a, b = nad("vl-a"), nad("vl-b")
    for n in (a, b):
        cluster.ensure_network(n)
    kube_emulator.create_pod("default", "router-0", annotations={"k8s.v1.cni.cncf.io/networks": f"{a.name}, {b.name}"},
                             networks=[PodNetwork(b.name, "net2", ("10.0.2.1/24",))])
    sa, sb = cluster.network_status([a, b])
    assert sa.ready and sb.ready
    assert sb.pods[0].interface == "net2" and sb.pods[0].ips == ("10.0.2.1",) and not sb.pods[0].problems
    assert sa.pods[0].interface is None and sa.problems == (f"{a.name}: pod router-0: no interface for {a.name} "
                                                            "in k8s.v1.cni.cncf.io/network-status",)


def _foreign(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
            "metadata": {"name": name, "labels": labels}, "spec": {"type": "vnet"}}


def test_gc_per_ns_and_cluster_wide_never_touches_foreign_objects(kube_emulator: EmulatedCluster,
                                                                  cluster: Cluster) -> None:
    for ns in ("tenant-a", "tenant-b"):
        kube_emulator.create_namespace(ns)
    cluster.ensure_network(l2net("vl-a", "ns-1"), namespace="tenant-a")
    cluster.ensure_network(nad("vl-b", "ns-1"), namespace="tenant-a")
    cluster.ensure_network(l2net("vl-a", "ns-2"), namespace="tenant-b")
    cluster.ensure_network(l2net("vl-a", "ns-3"), namespace="tenant-b")
    kube_emulator.create_pod("tenant-b", "ns3-pod", annotations={"l2sm/networks": "vl-a-ns-3"})
    foreign = [kube_emulator.put(L2NETWORKS, "tenant-a", _foreign("theirs", {})),
               kube_emulator.put(L2NETWORKS, "tenant-b", _foreign("helms", {LABEL_MANAGED_BY: "helm",
                                                                           LABEL_NS_ID: "ns-1"}))]
    owned = cluster.list_owned()
    assert [(o.namespace, o.name, o.kind) for o in owned] == [
        ("tenant-a", "vl-a-ns-1", "L2Network"), ("tenant-a", "vl-b-ns-1", "NetworkAttachmentDefinition"),
        ("tenant-b", "vl-a-ns-2", "L2Network"), ("tenant-b", "vl-a-ns-3", "L2Network")]
    assert [o.name for o in cluster.list_owned(owner_labels("ns-2"))] == ["vl-a-ns-2"]

    assert gc(cluster, {"ns-1", "ns-2", "ns-3"}) .deleted == ()
    swept = gc(cluster, {"ns-2"})  # cluster-wide: ns-1 and ns-3 are gone
    assert sorted(n.name for n in swept.deleted) == ["vl-a-ns-1", "vl-b-ns-1"]
    assert [(n.name, why) for n, why in swept.skipped] == [("vl-a-ns-3", "pods still attached: ns3-pod")]
    assert gc(cluster, None, ns_id="ns-2", namespace="tenant-b").deleted[0].name == "vl-a-ns-2"
    assert [o.name for o in cluster.list_owned()] == ["vl-a-ns-3"]
    for obj in foreign:
        meta = obj["metadata"]
        assert kube_emulator.l2network(meta["namespace"], meta["name"]) == obj
    with pytest.raises(ValueError, match="gc needs"):
        gc(cluster, None)


# ---------------------------------------------------------------- faults


def test_retry_after_is_honoured_and_failures_are_project_errors(kube_emulator: EmulatedCluster) -> None:
    slept: list[float] = []
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=FAST, seed=2,
                 sleep=slept.append) as c:
        kube_emulator.faults = FaultPlan(seed=1, rate=1.0, kinds=(429,), retry_after=3, limit=1)
        assert c.ensure_network(l2net("vl-a")) == "created"
        assert slept == [3.0] and c.stats["retries"] == 1
        kube_emulator.faults = FaultPlan(seed=1, rate=1.0, kinds=(503,))
        with pytest.raises(TemporaryClusterError) as err:
            c.ensure_network(l2net("vl-b"))
        assert "HTTP 503" in str(err.value) and "gave up after 8 attempts" in str(err.value)
        assert err.value.__cause__ is not None and err.value.temporary
        assert len(slept) == 1 + 7 and max(slept[1:]) <= FAST.max_delay_s


def test_unreachable_cluster_is_a_temporary_error_after_bounded_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    slept: list[float] = []
    no_first_contact = dataclasses.replace(FAST, first_contact_attempts=0)  # the request retries themselves
    with Cluster(ClusterAccess(kubeconfig=str(kubeconfig)), policy=no_first_contact, sleep=slept.append) as c:
        with pytest.raises(TemporaryClusterError, match="gave up after 8 attempts") as err:
            c.list_owned()
        assert c.stats["list"] == 8 and len(slept) == 7
    assert "Connection refused" in str(err.value) and err.value.__cause__ is not None


@pytest.mark.parametrize(("rate", "attempts", "must_fail"), [(0.2, 10, False), (0.6, 2, True)])
def test_seeded_faults_over_many_cycles_leak_nothing(kube_emulator: EmulatedCluster, rate: float, attempts: int,
                                                     must_fail: bool) -> None:
    """Gentle faults are absorbed by retries; harsh ones surface as project errors; neither leaks an object."""
    kube_emulator.operator.start(ready_after=0.0, release_after=0.0)
    policy = RetryPolicy(attempts=attempts, base_delay_s=0.01, max_delay_s=0.1, total_s=20.0, connect_timeout_s=1.0,
                         request_timeout_s=0.25)
    plan = FaultPlan(seed=20261126, rate=rate, kinds=(500, 503, 429, "timeout"), delay=0.4, retry_after=0)
    failures: list[L2NetError] = []
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=policy, seed=3) as c:
        kube_emulator.faults = plan
        for cycle in range(12 if not must_fail else 6):
            nets = [l2net(f"vl-{i}", ns_id=f"ns-{cycle}", cidr=f"10.{cycle}.{i}.0/24") for i in range(4)]
            try:
                outcomes = [c.ensure_network(n) for n in nets]
                assert set(outcomes) <= {"created", "unchanged"}
                c.wait_ready(nets, deadline_s=10)
            except L2NetError as e:  # anything else fails the test
                failures.append(e)
            finally:
                _teardown(c, nets, failures)
        kube_emulator.faults = None
        assert c.list_owned() == []
        retries = c.stats["retries"]
        print(f"requests {dict(c.stats)}, injected {len(plan.injected)}, failures surfaced {len(failures)}")
    assert kube_emulator.list(L2NETWORKS) == [], "no leaked network objects"
    assert len(plan.injected) >= 10 and retries >= 5
    assert {k for _, _, k in plan.injected} >= {500, 503, 429, "timeout"}
    assert bool(failures) is must_fail
    for f in failures:
        assert isinstance(f, TemporaryClusterError | WaitTimeout), repr(f)
        assert "gave up after" in str(f) or "not ready after" in str(f) or "still present" in str(f), str(f)


def test_conflict_faults_on_writes_are_resolved_by_reading(kube_emulator: EmulatedCluster, cluster: Cluster) -> None:
    kube_emulator.operator.start()
    kube_emulator.faults = FaultPlan(seed=5, rate=0.5, kinds=(409,), match="^(POST|DELETE|PATCH) ")
    nets = [l2net(f"vl-{i}", cidr=f"10.0.{i}.0/24") for i in range(6)]
    assert {cluster.ensure_network(n) for n in nets} == {"created"}
    for n in nets:
        kube_emulator.patch(L2NETWORKS, "default", n.name, {"metadata": {"labels": {LABEL_VLD_ID: None}}})
    assert {cluster.ensure_network(n) for n in nets} == {"adopted"}
    cluster.wait_ready(nets, deadline_s=5)
    result = cluster.delete_networks(nets)
    assert sorted(result.deleted + result.absent) == sorted(n.name for n in nets) and not result.skipped
    cluster.wait_gone(nets, deadline_s=5)
    assert kube_emulator.list(L2NETWORKS) == []
    assert kube_emulator.faults is not None and len(kube_emulator.faults.injected) >= 4


def _teardown(c: Cluster, nets: list[NetworkPlan], failures: list[L2NetError]) -> None:
    for _ in range(30):
        try:
            c.delete_networks(nets)
            c.wait_gone(nets, deadline_s=10)
            return
        except L2NetError as e:
            failures.append(e)
    pytest.fail(f"teardown kept failing: {failures[-5:]}")


# ---------------------------------------------------------------- conformance of what we create


def test_created_objects_conform_to_the_real_crds(kube_emulator: EmulatedCluster, cluster: Cluster,
                                                  tmp_path: Path) -> None:
    validator = models_dir() / "validate_k8s_object.py"
    if not validator.is_file():
        pytest.skip(f"conformance models not found at {validator.parent} (set OSM_L2NET_MODELS)")
    cluster.ensure_network(l2net("vl-a"))
    cluster.ensure_network(nad("vl-b"))
    objs = [kube_emulator.l2network("default", "vl-a-ns-1"), kube_emulator.nad("default", "vl-b-ns-1")]
    docs = []
    for obj in objs:
        assert obj is not None
        meta = {k: obj["metadata"][k] for k in ("name", "namespace", "labels")}
        docs.append({"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta, "spec": obj["spec"]})
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    proc = subprocess.run([sys.executable, str(validator), str(path)], capture_output=True, text=True,
                          timeout=120, check=False, env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- with the real planner


@pytest.mark.parametrize("provider", ["l2sm", "l2sm-nad", "multus"])
def test_cdn_plan_lifecycle_in_the_plans_namespace(kube_emulator: EmulatedCluster, cluster: Cluster,
                                                   provider: str) -> None:
    from osm_l2net import api
    from osm_l2net.core.options import PlanOptions
    from tests.conftest import CDN_PACKAGES

    plan = api.plan(CDN_PACKAGES, ns_name="vod", namespace="vod", options=PlanOptions(provider=provider))
    kube_emulator.create_namespace("vod")
    kube_emulator.operator.start(ready_after=0.1, release_after=0.1)
    assert [cluster.ensure_network(n) for n in plan.networks] == ["created"] * len(plan.networks)
    assert cluster.stats["total"] == len(plan.networks), "one request per network, nothing else"
    assert all(s.ready for s in cluster.wait_ready(plan.networks, deadline_s=10))
    assert {(o.namespace, o.vld_id) for o in cluster.list_owned(plan.owner_labels)} == {
        ("vod", "my-first-osm-net"), ("vod", "my-second-osm-net")}
    assert not [o for o in kube_emulator.list(L2NETWORKS, "default")], "nothing lands outside the plan's namespace"
    cluster.delete_networks(plan.networks)
    cluster.wait_gone(plan.networks, deadline_s=10)
    assert cluster.list_owned() == []


def test_the_missing_crd_hint_is_made_by_to_error_for_the_kind_named() -> None:
    """One place builds the 404 hint: ``to_error(e, what, ref)`` names the kind's CRD and its provider."""
    from kubernetes.client.exceptions import ApiException

    from osm_l2net.core import providers
    from osm_l2net.kube.cluster import to_error

    L2NETWORK, NAD = providers.get("l2sm").resource, providers.NAD

    plain = ApiException(status=404, reason="Not Found")
    plain.body = "404 page not found"
    for ref, provider in ((L2NETWORK, "L2S-M"), (NAD, "Multus")):
        err = to_error(plain, f"create {ref.kind} default/x", ref)
        assert str(err) == (f"create {ref.kind} default/x: HTTP 404: the API server does not serve {ref.plural} "
                            f"({ref.api_version}): is the CRD installed? {provider} installs it "
                            f"(kubectl get crd {ref.plural}.{ref.group})")
    gone = ApiException(status=404, reason="Not Found")
    gone.body = json.dumps({"kind": "Status", "code": 404, "reason": "NotFound", "message": "namespaces \"t\" not found",
                            "details": {"name": "t", "kind": "namespaces"}})
    assert str(to_error(gone, "create L2Network t/x", L2NETWORK)) == "create L2Network t/x: namespace 't' does not exist"


def test_apply_and_its_server_dry_run_send_the_same_alignment_patch(kube_emulator: EmulatedCluster,
                                                                     cluster: Cluster) -> None:
    from osm_l2net.kube.networks import alignment

    net = l2net("vl-a")
    cluster.ensure_network(net)
    live = kube_emulator.patch(L2NETWORKS, "default", net.name, {"spec": {"podAddressRange": "10.0.1.0/25"},
                                                                 "metadata": {"labels": {LABEL_VLD_ID: None}}})
    wanted = dict(net.manifest)
    assert alignment(live, wanted) == {"metadata": {"labels": {LABEL_VLD_ID: "vl-a"}}}, "labels only, never spec"
    assert alignment(wanted, wanted) == {}
    assert cluster.dry_run_network(net) == "update"
    assert _vld_label(kube_emulator, net.name) is None, "a dry run stores nothing"
    assert cluster.ensure_network(net) == "adopted"
    patches = kube_emulator.log.select("PATCH", f"/l2networks/{net.name}")
    assert [p.query.get("dryRun") for p in patches] == ["All", None]
    assert _vld_label(kube_emulator, net.name) == "vl-a"


def _vld_label(emulated: EmulatedCluster, name: str) -> object:
    stored = emulated.l2network("default", name)
    return (stored or {}).get("metadata", {}).get("labels", {}).get(LABEL_VLD_ID)
