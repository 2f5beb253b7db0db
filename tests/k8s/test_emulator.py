"""The Kubernetes API test double against real clients: the official python client, helm and kubectl, over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ReadTimeoutError

from tests.support import k8s_wire as wire
from tests.support.k8s_emulator import CONFIGMAPS, L2NETWORKS, SECRETS, FaultPlan
from tests.support.k8s_harness import L2SM_FINALIZER, EmulatedCluster, PodNetwork
from tests.support.tools import find_tool

GROUP, VERSION, PLURAL = "l2sm.l2sm.k8s.local", "v1", "l2networks"
NAD = ("k8s.cni.cncf.io", "v1", "network-attachment-definitions")


@pytest.fixture
def api(kube_emulator: EmulatedCluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kube_emulator.kubeconfig))
    yield api_client
    api_client.close()


def l2net(name: str, labels: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "L2Network",
            "metadata": {"name": name, "labels": labels or {}, **meta},
            "spec": {"type": "vnet", "networkCIDR": "10.0.1.0/24"}}


def raw_get(url: str) -> tuple[int, Any, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


def test_kubeconfig_is_private_and_points_at_loopback(kube_emulator: EmulatedCluster) -> None:
    assert kube_emulator.kubeconfig.stat().st_mode & 0o777 == 0o600
    assert kube_emulator.url.startswith("http://127.0.0.1:")
    assert json.loads(kube_emulator.kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == kube_emulator.url


def test_l2network_crud_with_the_official_client(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    co = client.CustomObjectsApi(api)
    created = co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("net-a", {"team": "a"}))
    assert created is not None, "create must answer 201 with the object (the client maps only 201 to a body)"
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1 and int(meta["resourceVersion"]) > 0
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("net-b", {"team": "b"}))

    got = co.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "net-a")
    assert got["spec"] == {"type": "vnet", "networkCIDR": "10.0.1.0/24"}
    listed = co.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, label_selector="team=b")
    assert listed["kind"] == "L2NetworkList" and listed["apiVersion"] == f"{GROUP}/{VERSION}"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["net-b"]
    listed = co.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, label_selector="team in (a,b),!x")
    assert len(listed["items"]) == 2

    patched = co.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "net-a",
                                                {"spec": {"podAddressRange": "10.0.1.0/25"}})
    assert patched["metadata"]["generation"] == 2
    assert patched["spec"]["podAddressRange"] == "10.0.1.0/25" and patched["spec"]["type"] == "vnet"
    assert int(patched["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])

    stale = dict(got, spec={"type": "vlink"})
    with pytest.raises(ApiException) as stale_put:
        co.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "net-a", stale)
    assert stale_put.value.status == 409
    replaced = co.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "net-a",
                                                   dict(patched, spec={"type": "vlink"}))
    assert replaced["spec"] == {"type": "vlink"}

    co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "net-a")
    with pytest.raises(ApiException) as gone:
        co.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "net-a")
    assert gone.value.status == 404
    assert json.loads(gone.value.body)["kind"] == "Status"


def test_nad_in_a_new_namespace_and_json_patch(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    core, co = client.CoreV1Api(api), client.CustomObjectsApi(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="tenant")))
    nad = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
           "metadata": {"name": "net-x", "labels": {"app.kubernetes.io/managed-by": "osm-l2net"}},
           "spec": {"config": '{"cniVersion": "0.3.0", "type": "host-device", "device": "l2sm-vNet"}'}}
    created = co.create_namespaced_custom_object(*NAD[:2], "tenant", NAD[2], nad)
    assert created["spec"]["config"] == nad["spec"]["config"], "the config string must be stored byte-exact"
    ops = [{"op": "add", "path": "/metadata/labels/extra", "value": "1"},
           {"op": "test", "path": "/spec/config", "value": nad["spec"]["config"]}]
    patched = co.patch_namespaced_custom_object(*NAD[:2], "tenant", NAD[2], "net-x", ops,
                                                _content_type="application/json-patch+json")
    assert patched["metadata"]["labels"]["extra"] == "1"
    with pytest.raises(ApiException) as missing_ns:
        co.create_namespaced_custom_object(*NAD[:2], "nowhere", NAD[2], nad)
    assert missing_ns.value.status == 404


def test_finalizers_hold_deletion_until_removed(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    co = client.CustomObjectsApi(api)
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("held", finalizers=[L2SM_FINALIZER]))
    answer = co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "held")
    assert answer["metadata"]["deletionTimestamp"]
    still = co.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "held")
    assert still["metadata"]["finalizers"] == [L2SM_FINALIZER] and still["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as adding:
        co.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "held",
                                          {"metadata": {"finalizers": [L2SM_FINALIZER, "other/x"]}})
    assert adding.value.status == 422
    co.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "held", {"metadata": {"finalizers": None}})
    assert kube_emulator.l2network("default", "held") is None


def test_resource_versions_are_a_global_increasing_counter(kube_emulator: EmulatedCluster,
                                                           api: client.ApiClient) -> None:
    co, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("one"))
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm")))
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("two"))
    co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "one")
    writes = kube_emulator.log.writes()
    assert [w.method for w in writes] == ["POST", "POST", "POST", "DELETE"]
    versions = [w.resource_version for w in writes]
    assert all(v is not None for v in versions) and versions == sorted(set(versions)), versions
    listed = co.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert int(listed["metadata"]["resourceVersion"]) == versions[-1]


def test_watch_resumes_from_a_resource_version_and_honours_timeout(kube_emulator: EmulatedCluster,
                                                                   api: client.ApiClient) -> None:
    co = client.CustomObjectsApi(api)
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("before", {"x": "1"}))
    rv = co.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["metadata"]["resourceVersion"]
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("after", {"x": "1"}))
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("other", {"x": "2"}))
    started = time.monotonic()
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in watch.Watch().stream(
        co.list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL, label_selector="x=1",
        resource_version=rv, timeout_seconds=1)]
    assert events == [("ADDED", "after")]
    assert time.monotonic() - started < 10, "timeoutSeconds must end the stream"
    streams = kube_emulator.log.select("GET", PLURAL, watch=True)
    assert streams and streams[0].status == 200


def test_deletecollection_by_label(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for name, owner in (("a", "us"), ("b", "us"), ("c", "them")):
        core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, labels={"owner": owner})))
    core.delete_collection_namespaced_config_map("default", label_selector="owner=us")
    assert [c["metadata"]["name"] for c in kube_emulator.list(CONFIGMAPS)] == ["c"]


def test_discovery_trailing_slashes_and_core_group_version(kube_emulator: EmulatedCluster) -> None:
    for path in ("/api/", "/version/", "/apis/"):
        status, body, headers = raw_get(kube_emulator.url + path)
        assert status == 200 and headers["Content-Type"].startswith("application/json"), path
    assert raw_get(kube_emulator.url + "/api/v1")[1]["groupVersion"] == "v1"
    resources = {r["name"]: r for r in raw_get(f"{kube_emulator.url}/apis/{GROUP}/{VERSION}")[1]["resources"]}
    assert resources["l2networks"]["kind"] == "L2Network" and resources["l2networks"]["namespaced"] is True
    status, body, _ = raw_get(kube_emulator.url + "/apis/nothing.example/v1/things")
    assert status == 404 and body["kind"] == "Status"


def test_fault_plan_is_reproducible_from_its_seed() -> None:
    def run(seed: int) -> tuple[list[tuple[str, str, int | str]], list[int]]:
        plan = FaultPlan(seed=seed, rate=0.5, kinds=(500, 429, 409))
        with EmulatedCluster(faults=plan) as cluster:
            codes = [raw_get(f"{cluster.url}/api/v1/namespaces/default/configmaps/x{i}")[0] for i in range(30)]
        return plan.injected, codes

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first[0] != other[0]
    injected, codes = first
    assert 5 < len(injected) < 25
    assert sorted(c for c in codes if c != 404) == sorted(int(k) for _, _, k in injected)


def test_injected_faults_carry_status_bodies_and_retry_after(kube_emulator: EmulatedCluster) -> None:
    kube_emulator.faults = FaultPlan(seed=1, rate=1.0, kinds=(429,), retry_after=2, limit=1)
    status, body, headers = raw_get(f"{kube_emulator.url}/api/v1/namespaces/default/configmaps")
    assert status == 429 and headers["Retry-After"] == "2"
    assert body["kind"] == "Status" and body["code"] == 429 and body["reason"] == "TooManyRequests"
    assert raw_get(f"{kube_emulator.url}/api/v1/namespaces/default/configmaps")[0] == 200, "limit=1"
    assert [e.fault for e in kube_emulator.log] == ["429", None]


def test_timeout_fault_delays_past_the_client_timeout_then_applies(kube_emulator: EmulatedCluster,
                                                                    api: client.ApiClient) -> None:
    kube_emulator.faults = FaultPlan(seed=3, rate=1.0, kinds=("timeout",), delay=0.6, limit=1, match="^POST ")
    co = client.CustomObjectsApi(api)
    with pytest.raises(ReadTimeoutError):
        co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("slow"), _request_timeout=0.2)
    deadline = time.monotonic() + 5
    while kube_emulator.l2network("default", "slow") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kube_emulator.l2network("default", "slow") is not None, "a slow server still applies the request"


def test_operator_double_marks_available_and_releases_finalizer(kube_emulator: EmulatedCluster,
                                                                api: client.ApiClient) -> None:
    kube_emulator.operator.start(ready_after=0.2)
    co = client.CustomObjectsApi(api)
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("svc"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        obj = kube_emulator.l2network("default", "svc")
        if obj and obj.get("status", {}).get("internalConnectivity") == "Available":
            break
        time.sleep(0.05)
    assert obj is not None and obj["status"]["internalConnectivity"] == "Available"
    assert obj["metadata"]["finalizers"] == [L2SM_FINALIZER]
    co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "svc")
    deadline = time.monotonic() + 5
    while kube_emulator.l2network("default", "svc") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kube_emulator.l2network("default", "svc") is None
    assert [a[0] for a in kube_emulator.operator.actions] == ["finalizer", "available", "released"]


def test_operator_down_keeps_deleting_networks(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    kube_emulator.operator.start(ready_after=None, release_finalizer=False)
    co = client.CustomObjectsApi(api)
    co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, l2net("stuck"))
    time.sleep(0.2)
    co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "stuck")
    time.sleep(0.3)
    obj = kube_emulator.l2network("default", "stuck")
    assert obj is not None and obj["metadata"]["deletionTimestamp"] and "status" not in obj
    kube_emulator.operator.start(release_finalizer=True)  # the operator comes back
    deadline = time.monotonic() + 5
    while kube_emulator.l2network("default", "stuck") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kube_emulator.l2network("default", "stuck") is None


def test_pods_with_network_status(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    kube_emulator.create_pod("default", "cdn-0", labels={"osm.etsi.org/ns-id": "ns1"},
                             annotations={"l2sm/networks": '[{"name":"net-a"}]'},
                             networks=[PodNetwork("net-a", "net1", ("10.0.1.10/24",))])
    pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector="osm.etsi.org/ns-id=ns1").items
    assert [p.metadata.name for p in pods] == ["cdn-0"]
    status = json.loads(pods[0].metadata.annotations["k8s.v1.cni.cncf.io/network-status"])
    assert status[1] == {"name": "default/net-a", "interface": "net1", "ips": ["10.0.1.10"],
                         "mac": "02:00:00:00:00:01", "dns": {}}
    assert pods[0].status.phase == "Running"


# ---------------------------------------------------------------- pure wire helpers

@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("a=1", {"a": "1"}, True), ("a==1", {"a": "2"}, False), ("a!=1", {}, True), ("a", {"a": ""}, True),
    ("!a", {"a": "1"}, False), ("a in (1, 2),b notin (3)", {"a": "2"}, True), ("a in (1),b", {"a": "1"}, False),
])
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    reqs = wire.parse_label_selector(selector)
    assert wire.labels_match(reqs, {"metadata": {"labels": labels}}) is expected


def test_bad_label_selector_is_a_400() -> None:
    with pytest.raises(wire.ApiError) as bad:
        wire.parse_label_selector("a in 1")
    assert bad.value.code == 400


def test_patches() -> None:
    doc = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert wire.merge_patch(doc, {"a": {"b": None, "e": 2}, "d": [3]}) == {"a": {"c": [1, 2], "e": 2}, "d": [3]}
    ops = [{"op": "add", "path": "/a/c/-", "value": 3}, {"op": "move", "from": "/d", "path": "/f"},
           {"op": "replace", "path": "/a/b", "value": 5}, {"op": "remove", "path": "/a/c/0"}]
    assert wire.json_patch(doc, ops) == {"a": {"b": 5, "c": [2, 3]}, "f": 1}
    assert doc == {"a": {"b": 1, "c": [1, 2]}, "d": 1}, "patches never mutate their input"
    with pytest.raises(wire.ApiError):
        wire.json_patch(doc, [{"op": "test", "path": "/d", "value": 2}])


# ---------------------------------------------------------------- real helm and kubectl

def _tool(name: str) -> str:
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} not found: run ./scripts/fetch-helm or set OSM_L2NET_{name.upper()}")
    return path


def _run(argv: list[str], cluster: EmulatedCluster, tmp_path: Path, stdin: str | None = None) -> str:
    env = {"KUBECONFIG": str(cluster.kubeconfig), "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{argv} failed: {proc.stderr}"
    return proc.stdout


@pytest.mark.helm
def test_helm_install_list_uninstall(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    helm = _tool("helm")
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
        "data:\n  x: {{ .Values.x | quote }}\n")
    _run([helm, "install", "rel", str(chart), "--set", "x=1", "--disable-openapi-validation"], kube_emulator, tmp_path)
    assert kube_emulator.get(CONFIGMAPS, "default", "rel-cm") is not None
    releases = json.loads(_run([helm, "list", "-o", "json"], kube_emulator, tmp_path))
    assert [(r["name"], r["status"]) for r in releases] == [("rel", "deployed")]
    secrets = kube_emulator.list(SECRETS, "default")
    assert [s["metadata"]["labels"]["owner"] for s in secrets] == ["helm"], "helm's release record (protobuf-sent)"
    _run([helm, "uninstall", "rel"], kube_emulator, tmp_path)
    assert kube_emulator.get(CONFIGMAPS, "default", "rel-cm") is None
    assert kube_emulator.list(SECRETS, "default") == []
    assert json.loads(_run([helm, "list", "-o", "json"], kube_emulator, tmp_path)) == []


@pytest.mark.helm
def test_kubectl_apply_and_get_l2networks(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    kubectl = _tool("kubectl")
    _run([kubectl, "apply", "--validate=false", "-f", "-"], kube_emulator, tmp_path, json.dumps(l2net("from-kubectl")))
    listed = json.loads(_run([kubectl, "get", "l2networks", "-o", "json"], kube_emulator, tmp_path))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["from-kubectl"]
    assert listed["items"][0]["spec"]["type"] == "vnet"
    assert L2NETWORKS.plural in _run([kubectl, "api-resources", "--api-group", GROUP], kube_emulator, tmp_path)
