"""The LCM connector driven as LCM drives it (all KDU installs of an NS at once, later all uninstalls at once), over the
helm 3 connector double that runs the real helm against the Kubernetes API test double."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from osm_l2net import api
from osm_l2net.core.plan import Plan, owner_labels
from tests.conftest import CDN_PACKAGES
from tests.osm.conftest import CLUSTER_UUID, Lcm, tool
from tests.support.k8s_emulator import PODS, FaultPlan
from tests.support.osm_records import create_ns

pytestmark = pytest.mark.helm
NAMESPACE = "admin-project"  # LCM's default KDU namespace: the project id
VIM = "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01"


def expected_plan(nsr_id: str, ns_name: str) -> Plan:
    """The plan made from the package files, independently of the connector's reading of LCM's records."""
    return api.plan(CDN_PACKAGES, ns_name=ns_name, ns_id=nsr_id, namespace=NAMESPACE)


def helm_values(lcm: Lcm, release: str) -> dict[str, Any]:
    env = {"KUBECONFIG": str(lcm.cluster.kubeconfig), "HOME": str(Path(lcm.fs.path)), "PATH": ""}
    out = subprocess.run([tool("helm"), "get", "values", release, "-n", NAMESPACE, "-o", "json"], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    values: dict[str, Any] = json.loads(out)
    return values


def releases(lcm: Lcm) -> list[str]:
    env = {"KUBECONFIG": str(lcm.cluster.kubeconfig), "HOME": str(Path(lcm.fs.path)), "PATH": ""}
    out = subprocess.run([tool("helm"), "list", "-A", "-o", "json"], env=env, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return sorted(r["name"] for r in json.loads(out))


def owned(lcm: Lcm, ns_id: str | None = None) -> list[str]:
    with lcm.kube() as cluster:
        return [o.name for o in cluster.list_owned(owner_labels(ns_id) if ns_id else None)]


def test_cdn_ns_installs_concurrently_with_networks_ready_first_and_each_kdu_attached(lcm: Lcm) -> None:
    lcm.cluster.operator.start(ready_after=0.3)
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    results = asyncio.run(replay.instantiate(nsr_id))
    assert results == [True, True, True]
    plan = expected_plan(nsr_id, "vod-service")
    # the networks: exactly the planned ones, created once each, Available
    assert sorted(owned(lcm, nsr_id)) == sorted(n.name for n in plan.networks)
    creates = lcm.cluster.log.select("POST", "/l2networks")  # every attempt, answered 201 or 409
    assert len(creates) == len(plan.networks), "one create per network, although three KDUs asked at once"
    assert lcm.cluster.log.select("GET", "/l2networks/") == [], "and no re-read of a name already taken"
    ready_rvs = []
    for net in plan.networks:
        obj = lcm.cluster.l2network(NAMESPACE, net.name)
        assert obj is not None and obj["status"]["internalConnectivity"] == "Available"
        ready_rvs.append(int(obj["metadata"]["resourceVersion"]))
    # ... and Available before the first helm release record was written (the API server's global order)
    release_writes = [e for e in lcm.cluster.log.select("POST", "/secrets") if e.status < 300]
    assert len(release_writes) >= len(plan.kdus)
    assert max(ready_rvs) < min(e.resource_version or 0 for e in release_writes)
    # each KDU got its own attachment, as the plan from the package files says, under LCM's release name
    names = replay.releases(nsr_id)
    for kdu in plan.kdus:
        values = helm_values(lcm, names[(kdu.member_vnf_index, kdu.kdu_name)])
        assert values["podAnnotations"] == dict(kdu.pod_annotations)
        assert values["podLabels"] == dict(kdu.pod_labels)
        assert values["l2net"]["interfaces"] == [i.as_dict() for i in kdu.interfaces]
        assert values["l2net"]["routes"] == [r.as_dict() for r in kdu.routes]
        assert values["l2net"]["nsId"] == nsr_id
    assert [i for i, _, _ in lcm.connector.installs] and all(ns == NAMESPACE for _, _, ns in lcm.connector.installs)
    assert set(lcm.fs.synced) == {CLUSTER_UUID}

    results = asyncio.run(replay.terminate(nsr_id))
    assert results == [True, True, True]
    assert owned(lcm) == [] and releases(lcm) == []
    deletes = [e for e in lcm.cluster.log.select("DELETE", "/l2networks") if e.status < 300]
    assert len(deletes) == len(plan.networks), "the networks are deleted once, by the last uninstall"
    first_net_delete = min(e.seq for e in deletes)
    release_deletes = [e for e in lcm.cluster.log.select("DELETE", "/secrets") if e.status < 300]
    assert len(release_deletes) == len(plan.kdus)
    assert max(e.seq for e in release_deletes) < first_net_delete, "networks go only after every release"


def test_networks_that_never_become_ready_fail_every_kdu_once_and_leave_nothing(lcm: Lcm,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_L2NET_READY_TIMEOUT", "0.5")
    lcm.cluster.operator.start(ready_after=None)  # L2S-M never reports the networks Available
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    results = asyncio.run(replay.instantiate(nsr_id))
    plan = expected_plan(nsr_id, "vod-service")
    assert all(isinstance(r, Exception) for r in results)
    assert all(n.name in str(results[0]) for n in plan.networks), "the error names the networks that were not ready"
    creates = lcm.cluster.log.select("POST", "/l2networks")
    assert len(creates) == len(plan.networks), "one attempt for the NS, not one per KDU"
    assert owned(lcm, nsr_id) == [], "the networks this attempt created are deleted again"
    assert lcm.cluster.log.select("POST", "/secrets") == [] and lcm.connector.installs == []
    # LCM's retry of the same KDUs is a new attempt, and succeeds once L2S-M works
    lcm.cluster.operator.start(ready_after=0.0)
    assert asyncio.run(replay.instantiate(nsr_id)) == [True, True, True]
    assert sorted(owned(lcm, nsr_id)) == sorted(n.name for n in plan.networks)
    asyncio.run(replay.terminate(nsr_id))
    assert owned(lcm) == []


def test_a_failing_chart_keeps_the_networks_for_the_other_kdus_until_terminate(lcm: Lcm, tmp_path: Path) -> None:
    lcm.cluster.operator.start(ready_after=0.0)
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay(chart_override={"content-server": str(tmp_path / "no-such-chart")})
    results = asyncio.run(replay.instantiate(nsr_id))
    names = replay.releases(nsr_id)
    nsr = lcm.db.get_one("nsrs", {"_id": nsr_id})
    assert nsr is not None
    by_kdu = dict(zip([e["kdu-name"] for e in nsr["_admin"]["deployed"]["K8s"]], results, strict=True))
    assert isinstance(by_kdu["content-server"], Exception) and by_kdu["cdn-server"] is True
    plan = expected_plan(nsr_id, "vod-service")
    assert sorted(owned(lcm, nsr_id)) == sorted(n.name for n in plan.networks), "running KDUs keep their networks"
    assert releases(lcm) == sorted([names[("cdn-server", "cdn-server")], names[("router-firewall", "router-firewall")]])
    assert asyncio.run(replay.terminate(nsr_id)) == [True, True, True]  # LCM uninstalls failed KDUs too
    assert owned(lcm) == [] and releases(lcm) == []


def test_two_ns_instances_at_once_share_nothing(lcm: Lcm) -> None:
    lcm.cluster.operator.start(ready_after=0.2)
    # the router chart names its objects "router-server-knf" (the PoC's name) unless told otherwise: the chart's
    # documented way for two instances in one namespace, passed as the user would (and kept by the connector)
    config = {"additionalParamsForVnf": [{"member-vnf-index": "router-firewall", "additionalParamsForKdu": [
        {"kdu_name": "router-firewall", "additionalParams": {"fullnameOverride": ""}}]}]}
    a = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM, config)
    b = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM, config)  # same NSD, name and namespace: only the ids differ
    replay = lcm.replay()

    async def both() -> list[list[Any]]:
        return list(await asyncio.gather(replay.instantiate(a), replay.instantiate(b)))

    assert asyncio.run(both()) == [[True] * 3, [True] * 3]
    plans = {a: expected_plan(a, "vod-service"), b: expected_plan(b, "vod-service")}
    nets = {ns: {n.name for n in p.networks} for ns, p in plans.items()}
    assert not nets[a] & nets[b], "no shared network names"
    assert set(owned(lcm, a)) == nets[a] and set(owned(lcm, b)) == nets[b]
    for ns, plan in plans.items():
        names = replay.releases(ns)
        for kdu in plan.kdus:
            values = helm_values(lcm, names[(kdu.member_vnf_index, kdu.kdu_name)])
            attached = {n["name"] for n in json.loads(values["podAnnotations"]["l2sm/networks"])}
            assert attached and attached <= nets[ns], "a KDU is attached only to its own NS's networks"
            assert values["podLabels"]["osm.etsi.org/ns-id"] == ns
            if kdu.kdu_name == "router-firewall":
                assert values["fullnameOverride"] == "", "the user's KDU params are kept"
    asyncio.run(replay.terminate(a))
    assert owned(lcm, a) == [] and set(owned(lcm, b)) == nets[b], "terminating one NS leaves the other intact"
    assert len(releases(lcm)) == 3
    asyncio.run(replay.terminate(b))
    assert owned(lcm) == [] and releases(lcm) == []


def test_networks_are_removed_only_after_the_ns_pods_are_gone(lcm: Lcm) -> None:
    lcm.cluster.operator.start(ready_after=0.0)
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    asyncio.run(replay.instantiate(nsr_id))
    plan = expected_plan(nsr_id, "vod-service")
    for kdu in plan.kdus:  # what the Deployments' ReplicaSets would run (the API test double has no controllers)
        lcm.cluster.create_pod(NAMESPACE, f"{kdu.kdu_name}-pod", labels=dict(kdu.pod_labels),
                               annotations=dict(kdu.pod_annotations))
    seen_while_pods: list[bool] = []

    async def terminate_while_pods_linger() -> None:
        task = asyncio.create_task(replay.terminate(nsr_id))
        await asyncio.sleep(1.0)  # the releases are gone by now, the pods still terminating
        seen_while_pods.append(all(lcm.cluster.l2network(NAMESPACE, n.name) is not None for n in plan.networks))
        for kdu in plan.kdus:
            lcm.cluster.delete(PODS, NAMESPACE, f"{kdu.kdu_name}-pod")
        assert await task == [True, True, True]

    asyncio.run(terminate_while_pods_linger())
    assert releases(lcm) == []
    assert seen_while_pods == [True], "the networks stayed while pods were attached"
    assert owned(lcm) == []


def test_api_server_faults_during_the_ns_lifecycle_are_retried_and_leak_nothing(lcm: Lcm) -> None:
    """Seeded 500/503 answers on the network objects (create, watch, list, delete) are retried; nothing leaks."""
    lcm.cluster.operator.start(ready_after=0.0)
    faults = FaultPlan(seed=11, rate=0.5, kinds=(500, 503), match=r"l2networks", limit=6)
    lcm.cluster.faults = faults
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    assert asyncio.run(replay.instantiate(nsr_id)) == [True, True, True]
    plan = expected_plan(nsr_id, "vod-service")
    assert sorted(owned(lcm, nsr_id)) == sorted(n.name for n in plan.networks)
    assert asyncio.run(replay.terminate(nsr_id)) == [True, True, True]
    assert faults.injected, "faults were injected"
    assert owned(lcm) == [] and releases(lcm) == []


def test_the_event_loop_keeps_running_while_networks_are_prepared(lcm: Lcm) -> None:
    """LCM's other work goes on meanwhile: a heartbeat on the loop never stalls for the readiness wait (2 s here),
    which it would if the connector waited, planned or called the API on the loop."""
    lcm.cluster.operator.start(ready_after=2.0)
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    gaps: list[float] = []

    async def run() -> list[Any]:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        async def heartbeat() -> None:
            last = loop.time()
            while not stop.is_set():
                await asyncio.sleep(0.02)
                now = loop.time()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        try:
            return await replay.instantiate(nsr_id)
        finally:
            stop.set()
            await beat

    assert asyncio.run(run()) == [True, True, True]
    assert sum(gaps) >= 2.0, "the networks took the operator's 2 s to become ready"
    assert max(gaps) < 1.0, f"the loop stalled for {max(gaps):.2f} s"
    asyncio.run(replay.terminate(nsr_id))


def test_a_foreign_exception_while_preparing_rolls_back_once_and_fails_every_kdu_once(
        lcm: Lcm, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only the project's errors: a client's own exception (here the newest client's watch raising TypeError)
    rolls back what the attempt created, and every KDU of the attempt fails once with the same error."""
    from kubernetes import watch

    def broken(self: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("injected: the client's watch is broken")

    lcm.cluster.operator.start(ready_after=0.3)  # not Available at once: the readiness wait must watch
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    plan = expected_plan(nsr_id, "vod-service")
    with monkeypatch.context() as patch:
        patch.setattr(watch.Watch, "stream", broken)
        results = asyncio.run(replay.instantiate(nsr_id))
    assert all(isinstance(r, Exception) for r in results), results
    assert len({str(r) for r in results}) == 1 and "TypeError" in str(results[0]) and "rolled back" in str(results[0])
    assert len(lcm.cluster.log.select("POST", "/l2networks")) == len(plan.networks), "one attempt, not one per KDU"
    assert len([e for e in lcm.cluster.log.select("DELETE", "/l2networks") if e.status < 300]) == len(plan.networks)
    lcm.cluster.wait_for(lambda: owned(lcm, nsr_id) == [], what="the rolled-back networks to be gone")
    assert lcm.connector.installs == []
    assert asyncio.run(replay.instantiate(nsr_id)) == [True, True, True], "LCM's retry is a new attempt"
    assert asyncio.run(replay.terminate(nsr_id)) == [True, True, True]
    assert owned(lcm) == []


def test_an_unready_l2sm_webhook_fails_the_attempt_once_before_anything_is_created(lcm: Lcm) -> None:
    from tests.support import k8s_l2sm
    from tests.support.k8s_emulator import ENDPOINTSLICES

    lcm.cluster.operator.start()
    slice_name = f"{k8s_l2sm.WEBHOOK}-x7k2p"
    lcm.cluster.patch(ENDPOINTSLICES, k8s_l2sm.NAMESPACE, slice_name,
                      {"endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": False}}]})
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    results = asyncio.run(replay.instantiate(nsr_id))
    assert all(isinstance(r, Exception) for r in results)
    assert all("l2sm-webhook-service: has no ready endpoint" in str(r) for r in results)
    assert lcm.cluster.log.writes() == [], "no namespace, network or release: nothing was created"
    assert lcm.connector.installs == []
    assert len(lcm.cluster.log.select("GET", "/deployments/l2sm-controller-manager")) == 1, "one check for the NS"
    # LCM's retry, once the operator is ready again, is a new attempt and succeeds
    lcm.cluster.patch(ENDPOINTSLICES, k8s_l2sm.NAMESPACE, slice_name,
                      {"endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]})
    assert asyncio.run(replay.instantiate(nsr_id)) == [True, True, True]
    asyncio.run(replay.terminate(nsr_id))
    assert owned(lcm) == []


def test_skip_preflight_lets_the_connector_go_on(lcm: Lcm, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import k8s_l2sm
    from tests.support.k8s_emulator import ENDPOINTSLICES

    monkeypatch.setenv("OSM_L2NET_SKIP_PREFLIGHT", "true")
    lcm.cluster.operator.start()
    lcm.cluster.delete(ENDPOINTSLICES, k8s_l2sm.NAMESPACE, f"{k8s_l2sm.WEBHOOK}-x7k2p")
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-service", VIM)
    replay = lcm.replay()
    assert asyncio.run(replay.instantiate(nsr_id)) == [True, True, True]
    assert lcm.cluster.log.select("GET", "/deployments/l2sm-controller-manager") == []
    asyncio.run(replay.terminate(nsr_id))
