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
from tests.support.k8s_emulator import CONFIGMAPS, L2NETWORKS, PODS, SECRETS, FaultPlan
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
    listed = co.list_namespaced_custom_object(*NAD[:2], "tenant", NAD[2], label_selector="extra=1")
    assert listed["kind"] == "NetworkAttachmentDefinitionList" and len(listed["items"]) == 1
    assert co.get_namespaced_custom_object(*NAD[:2], "tenant", NAD[2], "net-x")["metadata"]["generation"] == 1
    co.delete_namespaced_custom_object(*NAD[:2], "tenant", NAD[2], "net-x")
    everywhere = co.list_cluster_custom_object(*NAD[:2], NAD[2])["items"]  # the default L2S-M's ports stay
    assert [i["metadata"]["name"] for i in everywhere if i["metadata"]["namespace"] == "tenant"] == []
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
    kube_emulator.wait_for(lambda: bool((kube_emulator.l2network("default", "stuck") or {})
                                        .get("metadata", {}).get("finalizers")), what="the operator's finalizer")
    co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "stuck")
    time.sleep(0.3)  # the operator is down: nothing may happen meanwhile
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


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("0", False), ("false", False), ("False", False), ("FALSE", False),
    ("true", True), ("True", True), ("1", True), ("", True), ("yes", True),
])
def test_boolean_query_parameters_are_read_as_kube_apiserver_reads_them(value: str | None, expected: bool) -> None:
    assert wire.query_bool(value) is expected


def test_watch_True_from_older_clients_is_a_watch(kube_emulator: EmulatedCluster) -> None:
    """kubernetes client 33.1 (LCM v19's pin) sends watch=True: a stream, as kube-apiserver answers it."""
    url = f"{kube_emulator.url}/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}?watch=True&timeoutSeconds=1"
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as response:  # the emulator listens on loopback only
        body = response.read()
    assert body == b"" and time.monotonic() - started >= 0.9, "answered with a list instead of a 1 s watch"
    assert [e.query["watch"] for e in kube_emulator.log.select("GET", PLURAL, watch=True)] == ["True"]


def test_bad_label_selector_is_a_400() -> None:
    with pytest.raises(wire.ApiError) as bad:
        wire.parse_label_selector("a in 1")
    assert bad.value.code == 400


@pytest.mark.parametrize(("meta", "bad"), [
    ({"name": "vod-my-first-osm-net-6a6a0f32"}, None),
    ({"name": "Upper"}, "metadata.name"),
    ({"name": "x" * 254}, "metadata.name"),
    ({"name": "ok", "labels": {"osm.etsi.org/ns-id": "b7aef249-a362-5a5e-ab6c-a4f417ae5bfb"}}, None),
    ({"name": "ok", "labels": {"k": "v" * 64}}, "label value"),
    ({"name": "ok", "labels": {"bad key!": "v"}}, "label key"),
    ({"name": "ok", "labels": {"k": "-x"}}, "label value"),
])
def test_metadata_is_validated_like_the_apiserver(meta: dict[str, Any], bad: str | None) -> None:
    problems = wire.metadata_problems(meta)
    assert (bad is None) == (not problems), problems
    if bad is not None:
        assert bad.split()[0] in problems[0] and (bad.split()[-1] in problems[0])


def test_invalid_names_are_rejected_over_http(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as bad:
        client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL,
                                                                    l2net("Not_A_Name"))
    assert bad.value.status == 422 and "RFC 1123" in json.loads(bad.value.body)["message"]


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


# ---------------------------------------------------------------- workload controller double


def _deployment(name: str, replicas: int, annotations: dict[str, str]) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": {**labels, "l2sm": "true"}, "annotations": annotations},
                                  "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}}


def test_workload_double_creates_replaces_and_deletes_pods(kube_emulator: EmulatedCluster,
                                                           api: client.ApiClient) -> None:
    kube_emulator.workloads.start()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    attach = json.dumps([{"name": "net-a", "ips": ["10.0.1.10/24"]}, {"name": "net-b"}])
    apps.create_namespaced_deployment("default", _deployment("cdn", 2, {"l2sm/networks": attach}))

    def pods() -> list[Any]:
        return core.list_namespaced_pod("default", label_selector="app=cdn").items

    kube_emulator.wait_for(lambda: len(pods()) == 2, what="2 pods")
    status = json.loads(pods()[0].metadata.annotations["k8s.v1.cni.cncf.io/network-status"])
    assert [(s["interface"], s["ips"]) for s in status[1:]] == [("net1", ["10.0.1.10"]), ("net2", [])]
    assert kube_emulator.workloads.violations == [
        f"pod default/{p} created while L2Network {n} does not exist"
        for p in sorted(p.metadata.name for p in pods()) for n in ("net-a", "net-b")]
    apps.patch_namespaced_deployment("cdn", "default", {"spec": {"replicas": 1}})
    kube_emulator.wait_for(lambda: len(pods()) == 1, what="scaled to 1")
    old = pods()[0].metadata.name
    apps.patch_namespaced_deployment("cdn", "default", {"spec": {"template": {"metadata": {"annotations": {
        "l2sm/networks": json.dumps([{"name": "net-a", "ips": ["10.0.1.11/24"]}])}}}}})
    kube_emulator.wait_for(lambda: [p.metadata.name for p in pods()] not in ([], [old]), what="a new pod")
    apps.delete_namespaced_deployment("cdn", "default")
    kube_emulator.wait_for(lambda: pods() == [], what="pods deleted with their deployment")


def test_workload_double_plays_port_exhaustion(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    kube_emulator.workloads.start(port_exhaustion=True)
    client.AppsV1Api(api).create_namespaced_deployment("default", _deployment("r", 1, {"l2sm/networks": "net-a"}))
    kube_emulator.wait_for(lambda: bool(kube_emulator.list(PODS, "default")), what="the pod")
    [pod] = kube_emulator.list(PODS, "default")
    assert pod["metadata"]["annotations"]["l2sm/error"] == "No interfaces available for node node-1"
    assert len(json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])) == 1


def test_workload_double_addresses_pool_pods_as_l2sm_and_never_gives_an_address_back(
        kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    """L2S-M's GetNextAvailableIP: base + 1, then lastAssignedIP + 1; the last byte steps and never wraps; every pod
    ever created keeps its address in status.assignedIPs; an exhausted range fails the webhook: no pod."""
    kube_emulator.workloads.start()
    net = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "L2Network", "metadata": {"name": "pool-net"},
           "spec": {"type": "vnet", "networkCIDR": "10.0.1.0/24", "podAddressRange": "10.0.1.248/29"},
           "status": {"internalConnectivity": "Available"}}
    kube_emulator.call(lambda: kube_emulator.emulator.put_object(L2NETWORKS, "default", net))
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", _deployment("pool", 3, {"l2sm/networks": '[{"name": "pool-net"}]'}))

    def addresses() -> list[str]:
        return sorted(json.loads(p["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])[1]["ips"][0]
                      for p in kube_emulator.list(PODS, "default"))

    def scale(n: int, pods: int) -> None:
        apps.patch_namespaced_deployment("pool", "default", {"spec": {"replicas": n}})
        kube_emulator.wait_for(lambda: len(kube_emulator.list(PODS, "default")) == pods, what=f"{pods} pods")

    kube_emulator.wait_for(lambda: len(kube_emulator.list(PODS, "default")) == 3, what="3 pods")
    assert addresses() == ["10.0.1.249", "10.0.1.250", "10.0.1.251"], "the range's base + 1, then one by one"
    scale(1, 1)
    scale(3, 3)
    assert addresses() == ["10.0.1.249", "10.0.1.252", "10.0.1.253"], "nothing given back by the scale in"
    scale(6, 5)  # .254 and .255, then the last byte would wrap: the third new pod is refused
    status = kube_emulator.l2network("default", "pool-net")["status"]  # type: ignore[index]
    assert status["lastAssignedIP"] == "10.0.1.255" and len(status["assignedIPs"]) == 7
    assert status["internalConnectivity"] == "Available", "the operator's status is kept"
    assert kube_emulator.workloads.refusals
    assert all(r.startswith("pod default/pool-") and r.endswith(": no IP address left in L2Network pool-net (range "
                                                                "10.0.1.248/29)") for r in kube_emulator.workloads.refusals)


@pytest.mark.helm
def test_helm_release_pods_attach_to_planned_networks(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    """What an orchestrator will do: networks first, chart second, and teardown in reverse order."""
    from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, MANAGED_BY, NetworkPlan, owner_labels
    from osm_l2net.kube.cluster import Cluster, ClusterAccess

    helm = _tool("helm")
    kube_emulator.operator.start(ready_after=0.1, release_after=0.1)
    kube_emulator.workloads.start()
    manifest = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "L2Network",
                "metadata": {"name": "vod-net1", "labels": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: "ns-9"}},
                "spec": {"type": "vnet", "networkCIDR": "10.0.1.0/24"}}
    net = NetworkPlan("net1", "vod-net1", "10.0.1.0/24", "ipv4", None, manifest)
    chart = tmp_path / "knf"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: knf\nversion: 0.1.0\n")
    (chart / "templates" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n"
        "  selector:\n    matchLabels: {app: {{ .Release.Name }}}\n  template:\n    metadata:\n"
        "      labels: {app: {{ .Release.Name }}, {{- range $k, $v := .Values.podLabels }} {{ $k }}: {{ $v | quote }},"
        "{{- end }} }\n      annotations:\n{{ toYaml .Values.podAnnotations | indent 8 }}\n"
        "    spec:\n      containers: [{name: main, image: busybox}]\n")
    values = tmp_path / "values.yaml"
    values.write_text(json.dumps({"podLabels": {"l2sm": "true", LABEL_NS_ID: "ns-9"},
                                  "podAnnotations": {"l2sm/networks": '[{"name":"vod-net1","ips":["10.0.1.10/24"]}]'}}))
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig))) as cluster:
        cluster.ensure_network(net)
        cluster.wait_ready([net], deadline_s=10)
        _run([helm, "install", "cdn", str(chart), "-f", str(values), "--disable-openapi-validation"],
             kube_emulator, tmp_path)
        kube_emulator.wait_for(lambda: bool(cluster.network_status([net])[0].pods), what="the KNF's pod")
        [state] = cluster.network_status([net])
        assert [(p.interface, p.ips, p.problems) for p in state.pods] == [("net1", ("10.0.1.10",), ())]
        assert kube_emulator.workloads.violations == [], "the chart was installed after the network was ready"
        [pod] = kube_emulator.list(PODS, "default")
        assert pod["metadata"]["labels"][LABEL_NS_ID] == "ns-9" and pod["metadata"]["labels"]["l2sm"] == "true"
        _run([helm, "uninstall", "cdn"], kube_emulator, tmp_path)
        cluster.wait_pods_gone(owner_labels("ns-9"), deadline_s=10)
        cluster.delete_networks([net])
        cluster.wait_gone([net], deadline_s=10)


def _pb_field(number: int, payload: bytes | int) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_protobuf_secret_and_delete_options_decode() -> None:
    meta = (_pb_field(1, b"sh.helm.release.v1.r.v1") + _pb_field(3, b"") +
            _pb_field(11, _pb_field(1, b"owner") + _pb_field(2, b"helm")) + _pb_field(14, b"f/x"))
    secret = _pb_field(1, meta) + _pb_field(2, _pb_field(1, b"release") + _pb_field(2, b"\x00\x01payload")) + \
        _pb_field(3, b"helm.sh/release.v1")
    envelope = wire.PROTOBUF_MAGIC + _pb_field(1, _pb_field(1, b"v1") + _pb_field(2, b"Secret")) + _pb_field(2, secret)
    decoded = wire.decode_protobuf(envelope)
    assert decoded == {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                       "metadata": {"name": "sh.helm.release.v1.r.v1", "labels": {"owner": "helm"},
                                    "finalizers": ["f/x"]},
                       "data": {"release": "AAFwYXlsb2Fk"}}
    options = _pb_field(1, 0) + _pb_field(2, _pb_field(1, b"uid-1")) + _pb_field(4, b"Background")
    envelope = wire.PROTOBUF_MAGIC + _pb_field(1, _pb_field(2, b"DeleteOptions")) + _pb_field(2, options)
    assert wire.decode_protobuf(envelope) == {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                                              "preconditions": {"uid": "uid-1"}, "propagationPolicy": "Background"}
    with pytest.raises(wire.ApiError) as unsupported:
        wire.decode_protobuf(wire.PROTOBUF_MAGIC + _pb_field(1, _pb_field(2, b"Pod")))
    assert unsupported.value.code == 415


# ---------------------------------------------------------------- CRD schema validation


def test_crd_schemas_are_enforced_like_the_apiserver(kube_emulator: EmulatedCluster, api: client.ApiClient) -> None:
    if kube_emulator.emulator.schemas is None:
        pytest.skip("the shared conformance models (CRDs) are not there: set OSM_L2NET_MODELS")
    co = client.CustomObjectsApi(api)
    bad = l2net("bad")
    bad["spec"]["type"] = "bogus"
    with pytest.raises(ApiException) as invalid:
        co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, bad)
    assert invalid.value.status == 422
    assert "spec.type" in json.loads(invalid.value.body)["message"] and "bogus" in invalid.value.body
    extra = l2net("extra")
    extra["spec"]["mtu"] = 1400
    created = co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, extra)
    assert "mtu" not in created["spec"], "unknown fields are pruned by default, as kube-apiserver does"
    assert [e.status for e in kube_emulator.log.select("POST")] == [422, 201]
    with pytest.raises(ApiException) as strict:
        co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, dict(extra, metadata={"name": "s"}),
                                           field_validation="Strict")
    assert strict.value.status == 400 and 'unknown field "spec.mtu"' in json.loads(strict.value.body)["message"]


@pytest.mark.helm
def test_kubectl_validates_on_the_server_and_helm_creates_namespaces(kube_emulator: EmulatedCluster,
                                                                     tmp_path: Path) -> None:
    if kube_emulator.emulator.schemas is None:
        pytest.skip("the shared conformance models (CRDs) are not there: set OSM_L2NET_MODELS")
    kubectl, helm = _tool("kubectl"), _tool("helm")
    _run([kubectl, "apply", "-f", "-"], kube_emulator, tmp_path, json.dumps(l2net("strict-ok")))
    bad = l2net("strict-bad")
    bad["spec"]["mtu"] = 1400
    env = {"KUBECONFIG": str(kube_emulator.kubeconfig), "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run([kubectl, "apply", "-f", "-"], env=env, input=json.dumps(bad), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode != 0 and 'unknown field "spec.mtu"' in proc.stderr
    chart = tmp_path / "ns-chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: nschart\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
    _run([helm, "install", "r", str(chart), "-n", "fresh", "--create-namespace", "--disable-openapi-validation"],
         kube_emulator, tmp_path)
    assert kube_emulator.get(CONFIGMAPS, "fresh", "cm") is not None
