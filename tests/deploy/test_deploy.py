"""Instantiate/terminate of the CDN service over real HTTP with the real helm binary: order, attachment, idempotency,
ownership, rollback. Runs against the Kubernetes API test double, and a real cluster when opted in (conftest)."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from osm_l2net.core.errors import ConflictError, WaitTimeout
from osm_l2net.core.plan import Plan
from osm_l2net.deploy.deployer import Deployer, DeployError, DeploySettings
from osm_l2net.kube.cluster import Cluster, ClusterAccess
from tests.deploy.conftest import FAST, Env, cdn_plan
from tests.support.k8s_emulator import L2NETWORKS, NAMESPACES, PODS


def releases(env: Env, plan: Plan) -> set[str]:
    found = {r.name for r in env.helm().list_releases(None)}
    return found & {k.release_name for k in plan.kdus}


def owned(env: Env, plan: Plan) -> list[str]:
    with env.cluster() as cluster:
        return [o.name for o in cluster.list_owned(plan.owner_labels)]


def test_cdn_service_end_to_end(env: Env) -> None:
    env.operator(ready_after=0.3)
    plan = cdn_plan()
    report = env.deployer().instantiate(plan)
    assert sorted(report.created) == sorted(n.name for n in plan.networks)
    assert sorted(report.installed) == sorted(k.release_name for k in plan.kdus)
    helm = env.helm()
    for kdu in plan.kdus:  # each release carries exactly its own attachment
        values = helm.get_values(kdu.release_name, kdu.namespace)
        assert values["podAnnotations"] == dict(kdu.pod_annotations)
        assert values["podLabels"]["l2sm"] == "true"
        assert values["l2net"]["routes"] == [r.as_dict() for r in kdu.routes]
        manifests = helm.get_manifest(kdu.release_name, kdu.namespace)
        templates = [m["spec"]["template"]["metadata"] for m in manifests if m.get("kind") == "Deployment"]
        assert templates and all(t["annotations"]["l2sm/networks"] == kdu.pod_annotations["l2sm/networks"] for t in templates)
    report = env.deployer().terminate(plan)
    assert sorted(report.deleted) == sorted(n.name for n in plan.networks)
    assert owned(env, plan) == [] and releases(env, plan) == set()


def test_networks_are_available_before_any_release_exists(env: Env) -> None:
    """Proved from the API server's own global resourceVersion order, not from our code's say-so."""
    emulated = env.emulator
    env.operator(ready_after=0.5)
    plan = cdn_plan()
    env.deployer().instantiate(plan)
    ready_rvs = [int(emulated.l2network("default", n.name)["metadata"]["resourceVersion"]) for n in plan.networks]
    for n in plan.networks:
        assert emulated.l2network("default", n.name)["status"]["internalConnectivity"] == "Available"
    release_writes = [e for e in emulated.log.select("POST", "/secrets") if e.status < 300]
    assert len(release_writes) >= len(plan.kdus)
    assert max(ready_rvs) < min(e.resource_version or 0 for e in release_writes)
    creates = [e for e in emulated.log.select("POST", "/l2networks") if e.status < 300]
    assert len(creates) == len(plan.networks), "exactly one create per network"
    env.deployer().terminate(plan)


def test_a_network_that_never_becomes_available_times_out_by_name_and_is_rolled_back(env: Env) -> None:
    emulated = env.emulator
    env.operator(ready_after=None)  # the operator never marks networks Available
    plan = cdn_plan()
    with pytest.raises(DeployError) as err:
        env.deployer(ready_timeout=0.5).instantiate(plan)
    assert isinstance(err.value.__cause__, WaitTimeout)
    assert plan.networks[0].name in str(err.value) and plan.networks[1].name in str(err.value)
    assert sorted(err.value.report.rolled_back) == sorted(n.name for n in plan.networks)
    assert owned(env, plan) == [] and releases(env, plan) == set()
    assert emulated.log.select("POST", "/secrets") == [], "no release is installed on networks that are not ready"


def test_rerun_is_idempotent_and_adopts(env: Env) -> None:
    env.operator()
    plan = cdn_plan()
    env.deployer().instantiate(plan)
    again = env.deployer().instantiate(plan)
    assert again.created == [] and sorted(again.unchanged) == sorted(n.name for n in plan.networks)
    assert again.installed == [] and sorted(again.existing_releases) == sorted(k.release_name for k in plan.kdus)
    env.deployer().terminate(plan)
    second = env.deployer().terminate(plan)  # nothing left: still succeeds, does nothing
    assert second.deleted == [] and second.uninstalled == []


def test_a_foreign_object_with_our_name_is_refused_and_left_alone(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = cdn_plan()
    foreign = {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
               "metadata": {"name": plan.networks[1].name, "labels": {"team": "someone-else"}}, "spec": {"type": "vnet"}}
    emulated.put(L2NETWORKS, "default", foreign)
    with pytest.raises(DeployError) as err:
        env.deployer().instantiate(plan)
    assert isinstance(err.value.__cause__, ConflictError)
    assert err.value.exit_code == 3
    still = emulated.l2network("default", plan.networks[1].name)
    assert still is not None and still["metadata"]["labels"] == {"team": "someone-else"} and "networkCIDR" not in still["spec"]
    assert emulated.l2network("default", plan.networks[0].name) is None, "what this run created was rolled back"


def test_two_instances_of_one_nsd_side_by_side(env: Env) -> None:
    env.operator()
    a, b = cdn_plan("vod-a"), cdn_plan("vod-b")
    assert not {n.name for n in a.networks} & {n.name for n in b.networks}
    assert not {k.release_name for k in a.kdus} & {k.release_name for k in b.kdus}
    env.deployer().instantiate(a)
    env.deployer().instantiate(b)
    helm = env.helm()
    for plan, other in ((a, b), (b, a)):
        others = {n.name for n in other.networks}
        for kdu in plan.kdus:
            attached = {e["name"] for e in json.loads(helm.get_values(kdu.release_name, kdu.namespace)["podAnnotations"]["l2sm/networks"])}
            assert attached and not attached & others, "no cross-attachment"
    env.deployer().terminate(a)
    assert sorted(owned(env, b)) == sorted(n.name for n in b.networks), "terminating one NS leaves the other intact"
    env.deployer().terminate(b)
    assert owned(env, b) == []


def test_terminate_waits_for_the_ns_pods_before_deleting_networks(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = cdn_plan()
    env.deployer(with_helm=False).create_networks(plan)
    emulated.create_pod("default", "cache-0", labels={"osm.etsi.org/ns-id": plan.ns_id},
                        annotations={"l2sm/networks": plan.kdus[0].pod_annotations["l2sm/networks"]})
    deleted_at: list[float] = []

    def pod_goes() -> None:
        time.sleep(0.5)
        deleted_at.append(time.monotonic())
        emulated.delete(PODS, "default", "cache-0")

    threading.Thread(target=pod_goes, daemon=True).start()
    env.deployer(with_helm=False).terminate(plan)
    assert deleted_at, "terminate returned before the pod was gone"
    deletes = [e for e in emulated.log.select("DELETE", "/l2networks") if e.status < 300]
    assert len(deletes) == len(plan.networks)
    assert owned(env, plan) == []


def test_pods_that_never_go_block_network_deletion_with_their_names(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = cdn_plan()
    env.deployer(with_helm=False).create_networks(plan)
    emulated.create_pod("default", "stuck-pod", labels={"osm.etsi.org/ns-id": plan.ns_id})
    with pytest.raises(WaitTimeout, match="stuck-pod"):
        env.deployer(with_helm=False, pods_gone_timeout=0.3).terminate(plan)
    assert sorted(owned(env, plan)) == sorted(n.name for n in plan.networks), "networks kept while pods remain"
    emulated.delete(PODS, "default", "stuck-pod")
    env.deployer(with_helm=False).terminate(plan)
    assert owned(env, plan) == []


def test_pods_come_up_attached_status_shows_them_and_terminate_waits_for_them(env: Env) -> None:
    """With the workload controller double: every pod is created after its networks are Available (the double
    records any violation), status joins networks with the pods' interfaces and addresses, and terminate removes
    the pods before the networks."""
    emulated = env.emulator
    env.operator(ready_after=0.3)
    emulated.workloads.start()
    plan = cdn_plan()
    env.deployer().instantiate(plan)
    with env.cluster() as cluster:
        found = {s.name: s for s in cluster.network_status(list(plan.networks), plan.namespace)}
    first, second = (found[n.name] for n in plan.networks)
    assert first.ready and second.ready
    ips_first = sorted(ip for p in first.pods for ip in p.ips)
    ips_second = sorted(ip for p in second.pods for ip in p.ips)
    assert ips_first == ["10.0.1.1", "10.0.1.10"] and ips_second == ["10.0.2.1", "10.0.2.10"]
    assert not first.problems and not second.problems
    assert emulated.workloads.violations == []
    env.deployer().terminate(plan)
    assert emulated.list(PODS, "default") == [] and owned(env, plan) == []


def test_port_exhaustion_is_reported_by_status(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    emulated.workloads.start(port_exhaustion=True)
    plan = cdn_plan()
    env.deployer().instantiate(plan)
    with env.cluster() as cluster:
        problems = [p for s in cluster.network_status(list(plan.networks), plan.namespace) for p in s.problems]
    assert any("No interfaces available" in p for p in problems), problems
    env.deployer().terminate(plan)


def test_a_missing_namespace_is_created_before_the_networks_and_never_deleted(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = cdn_plan(namespace="vod-fresh")
    report = env.deployer(with_helm=False).instantiate(plan)
    namespace = emulated.get(NAMESPACES, None, "vod-fresh")
    assert namespace is not None and namespace["metadata"]["labels"]["osm-l2net.etsi.org/created-by"] == "osm-l2net"
    first_network = min(e.seq for e in emulated.log.select("POST", "/l2networks"))
    assert next(e.seq for e in emulated.log.select("POST", "/api/v1/namespaces")) < first_network
    assert sorted(report.created) == sorted(n.name for n in plan.networks)
    env.deployer(with_helm=False).instantiate(plan)  # again: the namespace exists (409), nothing else changes
    env.deployer(with_helm=False).terminate(plan)
    assert emulated.get(NAMESPACES, None, "vod-fresh") is not None


def test_every_wait_of_the_deployer_says_what_it_waits_for(env: Env) -> None:
    """apply/delete (stderr) and the LCM connector (its log) get these lines through the Deployer's progress."""
    emulated = env.emulator
    emulated.operator.start(ready_after=None)  # finalizer, never a status
    lines: list[str] = []
    policy = dataclasses.replace(FAST, progress_interval_s=0.1)
    with Cluster(ClusterAccess(kubeconfig=str(env.kubeconfig)), policy=policy) as cluster:
        deployer = Deployer(cluster, None, DeploySettings(ready_timeout=0.6, pods_gone_timeout=0.6), progress=lines.append)
        plan = cdn_plan()
        with pytest.raises(DeployError):
            deployer.create_networks(plan)
        waiting = [line for line in lines if "no status.internalConnectivity yet after" in line]
        assert len(waiting) >= 2, lines
        assert all("(is the L2S-M operator running? kubectl -n l2sm-system get pods)" in line for line in waiting)
        assert lines.index(waiting[0]) < next(i for i, line in enumerate(lines) if line.startswith("rolling back"))

        emulated.operator.start(ready_after=0.0)
        deployer.create_networks(plan)
        emulated.create_pod("default", "stuck-pod", labels={"osm.etsi.org/ns-id": plan.ns_id})
        lines.clear()
        with pytest.raises(WaitTimeout):
            deployer.remove_networks(plan)
        assert any(line.startswith(f"pods of NS {plan.ns_id} in default: 1 left after") and "stuck-pod" in line
                   for line in lines), lines
        emulated.delete(PODS, "default", "stuck-pod")
        deployer.remove_networks(plan)
