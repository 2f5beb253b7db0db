"""The project's LCM connector over OSM LCM v19's REAL ``K8sHelm3Connector`` (Python 3.10, LCM's pins), driven as
``NsLcm.deploy_kdus`` / ``terminate`` drive it (``lcm_replay.py``), with the real helm (``--atomic``: it waits for
the Deployments' new ReplicaSets, the Services' cluster IPs) and kubectl against the Kubernetes API test double
served from another process. See conftest.py for what is real and what is a double."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from osm_l2net import api
from osm_l2net.core.plan import Plan
from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.lcm_real.lcm_world import Lcm, start_lcm

pytestmark = pytest.mark.helm


@pytest.fixture
def lcm(n2vc: Any, served: Any, helm_wrapper: Path, kubectl: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Lcm:
    return start_lcm(n2vc, served, helm_wrapper, kubectl, tmp_path, monkeypatch, CDN_PACKAGES)


def expected_plan(nsr_id: str, namespace: str) -> Plan:
    """The plan from the package files, independently of the connector's reading of LCM's records."""
    return api.plan(CDN_PACKAGES, ns_name="vod-service", ns_id=nsr_id, namespace=namespace)


def succeeded(results: list[Any]) -> bool:
    """Every call returned (N2VC's uninstall returns helm's output as a table, its install True)."""
    return bool(results) and not any(isinstance(r, BaseException) for r in results)


def attached(pod: dict[str, Any]) -> list[str]:
    """The networks Multus reports on a pod (the workload double writes what L2S-M would attach)."""
    status = json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])
    requested = json.loads(pod["metadata"]["annotations"].get("l2sm/networks") or "[]")
    return [r["name"] for r in requested][: len(status) - 1]


def test_the_tier_runs_lcms_python_and_pins_and_the_real_n2vc(n2vc: Any, osm_source: Path) -> None:
    import sys

    import kubernetes
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiTypeError

    pins = dict(line.split("#")[0].strip().split("==") for line in (osm_source / "lcm" / "requirements.txt").read_text().splitlines()
                if "==" in line.split("#")[0])
    assert sys.version_info[:2] == (3, 10)
    assert kubernetes.__version__ == pins["kubernetes"] == "33.1.0"
    assert Path(n2vc.__file__).is_relative_to(osm_source), "the real N2VC, from OSM's source"
    # the keyword the project's watch once passed does not exist on LCM's client: the bug this tier exists to catch
    with pytest.raises(ApiTypeError, match="deserialize"):
        next(watch.Watch().stream(kubernetes.client.CoreV1Api().list_namespaced_pod, "x", deserialize=False))


def test_cdn_ns_as_lcm_deploys_and_terminates_it(lcm: Lcm) -> None:
    nsr_id, namespace = lcm.new_ns()
    plan = expected_plan(nsr_id, namespace)
    since = lcm.served.last_seq()

    async def lifecycle() -> tuple[list[Any], list[Any], dict[str, Any]]:  # one event loop, as LCM has
        installed = await lcm.replay.instantiate(nsr_id)
        state = {"networks": lcm.networks(namespace), "pods": lcm.pods(namespace), "releases": lcm.releases(namespace),
                 "deployments": lcm.served.objects("apps", "v1", "deployments", namespace)}
        return installed, await lcm.replay.terminate(nsr_id), state

    installed, terminated, state = asyncio.run(lifecycle())
    assert installed == [True, True, True]
    # networks: created once each although three KDUs asked at once, Available before the first release record
    creates = lcm.served.select("POST", "/l2networks", since)
    assert sorted(e.status for e in creates) == [201] * len(plan.networks)
    assert sorted(n["metadata"]["name"] for n in state["networks"]) == sorted(n.name for n in plan.networks)
    assert all(n["status"]["internalConnectivity"] == "Available" for n in state["networks"])
    assert lcm.served.select("GET", "/l2networks", since) and any(
        str(e.query.get("watch")).lower() == "true" for e in lcm.served.select("GET", "/l2networks", since)), \
        "the readiness wait watched (kubernetes 33.1.0's Watch)"
    release_writes = [e for e in lcm.served.select("POST", "/secrets", since) if e.status < 300]
    assert len(release_writes) >= len(plan.kdus)
    available_rvs = [int(n["metadata"]["resourceVersion"]) for n in state["networks"]]
    assert max(available_rvs) < min(e.resource_version or 0 for e in release_writes)
    # every release is deployed (helm --atomic waited: new ReplicaSet ready) and its pods are attached as planned
    names = lcm.replay.releases(nsr_id)
    assert state["releases"] == sorted(names.values())
    assert all(d["status"]["readyReplicas"] == d["spec"]["replicas"] for d in state["deployments"])
    for kdu in plan.kdus:
        release = names[(kdu.member_vnf_index, kdu.kdu_name)]
        pods = [p for p in state["pods"] if p["metadata"]["labels"].get("app.kubernetes.io/instance") == release]
        assert pods, f"no pods of {release}"
        for pod in pods:
            assert attached(pod) == [i.network for i in kdu.interfaces]
            assert pod["metadata"]["labels"]["osm.etsi.org/ns-id"] == nsr_id
    assert [v for v in lcm.served.violations() if f" {namespace}/" in v] == [], "no pod before its networks were Available"
    # LCM's _install_kdu read the services back (cluster IPs assigned by the API server)
    vnfrs = lcm.db.get_list("vnfrs", {"nsr-id-ref": nsr_id})
    services = [s for v in vnfrs for k in v["kdur"] for s in k.get("services") or []]
    assert services and all(s["cluster_ip"] for s in services)
    # terminate: every release and every network gone, networks only after the releases
    assert succeeded(terminated), terminated
    assert lcm.releases(namespace) == [] and lcm.networks(namespace) == []
    net_deletes = [e for e in lcm.served.select("DELETE", "/l2networks", since) if e.status < 300]
    release_deletes = [e for e in lcm.served.select("DELETE", "/secrets", since) if e.status < 300]
    assert len(net_deletes) == len(plan.networks)
    assert max(e.seq for e in release_deletes) < min(e.seq for e in net_deletes)


def test_atomic_install_fails_when_pods_never_become_ready(lcm: Lcm) -> None:
    """The workload double is not kinder than a cluster: pods whose readiness probe never passes make helm's
    --atomic wait time out and roll the release back. (Timeout 2 s instead of deploy_kdus' 1800 s, to keep CI short.)"""
    lcm.served.workloads(pods_ready=False)
    lcm.replay.timeout = 2
    nsr_id, namespace = lcm.new_ns()

    async def lifecycle() -> tuple[list[Any], list[str], list[Any]]:
        installed = await lcm.replay.instantiate(nsr_id)
        left = lcm.releases(namespace)
        return installed, left, await lcm.replay.terminate(nsr_id)

    installed, left, terminated = asyncio.run(lifecycle())
    assert all(isinstance(r, Exception) for r in installed), installed
    assert all("context deadline exceeded" in str(r) or "timed out" in str(r) for r in installed), installed
    assert left == [], "--atomic uninstalled every failed release"
    assert succeeded(terminated) and lcm.networks(namespace) == []


def _same_single_error(results: list[Any]) -> str:
    assert all(isinstance(r, Exception) for r in results), results
    messages = {str(r) for r in results}
    assert len(messages) == 1, f"every KDU fails with the same error: {messages}"
    return messages.pop()


def test_a_foreign_exception_while_preparing_rolls_back_once_and_fails_every_kdu_once(
        lcm: Lcm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact failure LCM's pins once caused (``ApiTypeError`` from the client's watch), injected again."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiTypeError

    def broken(self: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        raise ApiTypeError(f"Got an unexpected keyword argument 'deserialize' to method {func.__name__}")

    nsr_id, namespace = lcm.new_ns()
    plan = expected_plan(nsr_id, namespace)
    since = lcm.served.last_seq()
    with monkeypatch.context() as patch:
        patch.setattr(watch.Watch, "stream", broken)
        message = _same_single_error(asyncio.run(lcm.replay.instantiate(nsr_id)))
    assert "ApiTypeError" in message and nsr_id in message and "rolled back" in message
    creates = lcm.served.select("POST", "/l2networks", since)
    assert len(creates) == len(plan.networks), "prepared once for the NS, not once per KDU"
    deletes = [e for e in lcm.served.select("DELETE", "/l2networks", since) if e.status < 300]
    assert len(deletes) == len(plan.networks), "one rollback of what the attempt created"
    lcm.served.wait_for(lambda: lcm.networks(namespace) == [], what="the rolled-back networks to be gone")
    assert lcm.served.select("POST", "/secrets", since) == [], "no KDU was installed"
    # LCM's retry of the operation (new release names, deploy_kdus again) is a new attempt, and succeeds
    async def retry() -> tuple[list[Any], list[Any]]:
        return await lcm.replay.instantiate(nsr_id), await lcm.replay.terminate(nsr_id)

    installed, terminated = asyncio.run(retry())
    assert installed == [True, True, True] and succeeded(terminated)
    assert lcm.networks(namespace) == [] and lcm.releases(namespace) == []


def test_an_api_fault_while_preparing_rolls_back_once_and_fails_every_kdu_once(lcm: Lcm) -> None:
    nsr_id, namespace = lcm.new_ns()
    plan = expected_plan(nsr_id, namespace)
    since = lcm.served.last_seq()
    # the readiness wait's first list is refused (403: not retried); the rollback's requests are not. The list
    # before it (which networks are already as planned, kube/status.settled) is refused too: that one only saves
    # writes, so the creates go on as if nothing were there
    lcm.served.faults({"seed": 1, "rate": 1.0, "kinds": [403], "match": r"^GET .*/l2networks$", "limit": 2})
    message = _same_single_error(asyncio.run(lcm.replay.instantiate(nsr_id)))
    lcm.served.faults(None)
    assert nsr_id in message and "403" in message
    assert len(lcm.served.select("POST", "/l2networks", since)) == len(plan.networks)
    assert len([e for e in lcm.served.select("DELETE", "/l2networks", since) if e.status < 300]) == len(plan.networks)
    lcm.served.wait_for(lambda: lcm.networks(namespace) == [], what="the rolled-back networks to be gone")
    assert lcm.served.select("POST", "/secrets", since) == []


def test_a_foreign_exception_during_terminate_leaves_no_networks(lcm: Lcm, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiTypeError

    lcm.served.operator(ready_after=0.3, release_after=0.5)  # L2S-M takes 0.5 s to release: the removal must wait
    nsr_id, namespace = lcm.new_ns()

    def broken(self: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        raise ApiTypeError(f"Got an unexpected keyword argument 'deserialize' to method {func.__name__}")

    async def lifecycle() -> tuple[list[Any], list[Any]]:
        installed = await lcm.replay.instantiate(nsr_id)
        with monkeypatch.context() as patch:  # the removal's waits (pods gone, networks gone) use the watch
            patch.setattr(watch.Watch, "stream", broken)
            return installed, await lcm.replay.terminate(nsr_id)

    installed, terminated = asyncio.run(lifecycle())
    assert installed == [True, True, True]
    assert succeeded(terminated), "the networks were deleted by label instead: the uninstall succeeds"
    lcm.served.wait_for(lambda: lcm.networks(namespace) == [], what="the NS's networks to be gone")
    assert lcm.releases(namespace) == []



@pytest.mark.parametrize("method", ["__init__", "install", "uninstall", "_namespace_exists", "_create_namespace"])
def test_the_main_suites_helm3_connector_double_has_the_real_signatures(n2vc: Any, method: str) -> None:
    """The 3.11 suite (tests/osm) runs the connector over K8sHelm3ConnectorDouble: its calls must be the real ones."""
    import inspect

    from tests.support.osm_lcm_double import K8sHelm3ConnectorDouble

    def shape(fn: Any) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    real = getattr(n2vc.K8sHelm3Connector, method)
    assert shape(getattr(K8sHelm3ConnectorDouble, method)) == shape(real)
    ours = getattr(make_connector_class(n2vc.K8sHelm3Connector), method)
    assert shape(ours) == shape(real), "the project's connector keeps OSM's signature"


@pytest.mark.parametrize("method", ["upgrade", "rollback", "get_scale_count", "scale"])
def test_the_day2_overrides_keep_the_real_signatures(n2vc: Any, method: str) -> None:
    """LCM calls these by keyword (ns.py action, scale, _scale_kdu; k8s_helm3_conn.migrate): every real parameter,
    in order, with its default; ``**kwargs`` added where the real one has none (passed on to it)."""
    import inspect

    def shape(fn: Any) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    real = shape(getattr(n2vc.K8sHelm3Connector, method))
    ours = shape(getattr(make_connector_class(n2vc.K8sHelm3Connector), method))
    kwargs = ("kwargs", inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty)
    assert ours == (real if real[-1] == kwargs else [*real, kwargs])
