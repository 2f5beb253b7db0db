"""Campaign 5: what a user sees when the environment is wrong. Each case runs the real `osm-l2net` console script and
expects one line of the project's error on stderr, the documented exit code, no traceback and nothing left behind."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osm_l2net import api
from osm_l2net.core.errors import EXIT_ACCESS
from osm_l2net.kube.cluster import Cluster, ClusterAccess
from tests.conftest import CDN_PACKAGES, DESCRIPTORS, MODELS, REPO
from tests.deploy.conftest import FAST, Env
from tests.support.k8s_emulator import L2NETWORKS, PODS
from tests.support.k8s_harness import EmulatedCluster
from tests.support.k8s_hooks import FaultPlan
from tests.support.nbi_double import OsmNbiDouble

EXE = Path(sys.executable).with_name("osm-l2net")
EMULATOR_HELM = ["--helm-flag=--disable-openapi-validation", "--no-wait", "--no-atomic", "--no-create-namespace"]


def cli(tmp_path: Path, *args: str, code: int, **env: str) -> str:
    """Run the command; check the exit code, the absence of a traceback and that the error is one line. Returns it."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clean = {"PATH": f"{REPO / '.tools' / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
             "PYTHONPATH": str(REPO), **env}
    started = time.monotonic()
    done = subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=180, check=False, env=clean)
    where = f"{args[0]}: exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == code, where
    assert "Traceback" not in done.stderr + done.stdout and "internal error" not in done.stderr, where
    if code == 0:
        return ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"one error line expected: {where}"
    print(f"\n[reliability:clear-errors] {args[0]}: exit {code} in {time.monotonic() - started:.1f} s: {errors[0]}")
    return errors[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_bad_kubeconfig_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("this: is: not: a kubeconfig")
    line = cli(tmp_path, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus", "--kubeconfig", str(bad), code=1)
    assert str(bad) in line or "kubeconfig" in line, line


def test_an_unreachable_cluster_is_one_clear_line_after_bounded_retries(tmp_path: Path) -> None:
    port = closed_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]}))
    started = time.monotonic()
    line = cli(tmp_path, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus", "--kubeconfig", str(kubeconfig), code=1)
    assert "127.0.0.1" in line and str(port) in line and "gave up after" in line, line
    assert time.monotonic() - started < 90, "the retries are bounded"


@pytest.fixture
def nbi(kube_emulator: EmulatedCluster) -> Iterator[OsmNbiDouble]:
    schema = MODELS / "osm-nbi" / "ns_instantiate.schema.json"
    if not schema.is_file():
        pytest.fail(f"NBI's ns_instantiate schema is not at {schema} (set OSM_L2NET_MODELS)")
    kube_emulator.operator.start(ready_after=0.0)
    with OsmNbiDouble(CDN_PACKAGES, schema, users={"admin": "s3cret-pw"}) as double:
        yield double


def ns_create(tmp_path: Path, nbi: OsmNbiDouble, cluster: EmulatedCluster, password: str, code: int) -> str:
    return cli(tmp_path, "ns-create", "--ns_name", "vod", "--nsd_name", "vod_service_ns", "--vim_account",
               "openstack-site", "--kubeconfig", str(cluster.kubeconfig), "-n", "default", "--poll-interval", "0.01",
               "--ready-timeout", "10", code=code, OSM_HOSTNAME=nbi.url, OSM_USER="admin", OSM_PASSWORD=password,
               OSM_PROJECT="admin")


def test_nbi_401_is_exit_5_without_the_password(tmp_path: Path, nbi: OsmNbiDouble,
                                                kube_emulator: EmulatedCluster) -> None:
    line = ns_create(tmp_path, nbi, kube_emulator, "wrong-guess-123", code=EXIT_ACCESS)
    assert "HTTP 401" in line and "wrong-guess-123" not in line
    assert kube_emulator.list(L2NETWORKS, "default") == [] and nbi.bodies == []


def test_nbi_500_is_exit_1_and_the_networks_made_for_it_are_removed(tmp_path: Path, nbi: OsmNbiDouble,
                                                                     kube_emulator: EmulatedCluster) -> None:
    nbi.fail["POST /osm/nslcm/v1/ns_instances_content"] = 500
    line = ns_create(tmp_path, nbi, kube_emulator, "s3cret-pw", code=1)
    assert "HTTP 500" in line
    assert kube_emulator.list(L2NETWORKS, "default") == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_from_the_kubernetes_api_are_exit_5(tmp_path: Path, kube_emulator: EmulatedCluster,
                                                                status: int) -> None:
    """The exit-code table (osm_l2net/core/errors.py): 401/403 is 5 from every adapter; here our Kubernetes client."""
    kube_emulator.faults = FaultPlan(seed=1, rate=1.0, kinds=(status,), match="l2networks")
    line = cli(tmp_path, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus", "--kubeconfig", str(kube_emulator.kubeconfig),
               code=EXIT_ACCESS)
    assert f"HTTP {status}" in line and "credentials and RBAC" in line, line
    kube_emulator.faults = None
    assert kube_emulator.list(L2NETWORKS, "default") == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_met_by_helm_are_exit_5(env: Env, tmp_path: Path, status: int) -> None:
    """The same refusal met by helm (its release storage: secrets) is the same code, and the networks roll back."""
    env.operator()
    env.emulator.faults = FaultPlan(seed=1, rate=1.0, kinds=(status,), match="/secrets")
    line = cli(tmp_path, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--kubeconfig", str(env.kubeconfig), *EMULATOR_HELM, code=EXIT_ACCESS)
    assert "helm" in line and "credentials and RBAC" in line, line
    env.emulator.faults = None
    with Cluster(ClusterAccess(kubeconfig=str(env.kubeconfig)), policy=FAST) as cluster:
        assert cluster.list_owned() == [], "the failed apply rolled its networks back"


def hookless_packages(tmp_path: Path) -> list[str]:
    """The CDN packages, with content-server's chart made blind to podLabels/podAnnotations (a third-party chart)."""
    copy = tmp_path / "content_server_knf"
    shutil.copytree(DESCRIPTORS / "content_server_knf", copy)
    deployment = copy / "helm-chart-v3s" / "content-server" / "templates" / "deployment.yaml"
    text = deployment.read_text()
    hooks = ('{{- include "l2net.podLabels" (list . (include "content-server.selectorLabels" .)) | nindent 8 }}',
             "{{- $annotations := deepCopy (.Values.podAnnotations | default dict) }}")
    assert all(h in text for h in hooks), "the chart changed: update this test's edit"
    text = text.replace(hooks[0], '{{- include "content-server.selectorLabels" . | nindent 8 }}')
    deployment.write_text(text.replace(hooks[1], "{{- $annotations := dict }}"))
    return [p for p in CDN_PACKAGES if not p.endswith("content_server_knf")] + [str(copy)]


def hookless_apply(env: Env, tmp_path: Path, mode: str, code: int) -> tuple[str, str]:
    env.operator()
    packages = hookless_packages(tmp_path)
    line = cli(tmp_path, "apply", *packages, "--ns-name", "vod-service-deployment", "--kubeconfig", str(env.kubeconfig), *EMULATOR_HELM,
               "--post-renderer", mode, code=code)
    kdu = api.plan(packages, ns_name="vod-service-deployment").kdu("content-server", "content-server")
    assert kdu is not None
    return line, kdu.release_name


def test_a_chart_without_values_hook_and_no_post_renderer_fails_naming_the_release(env: Env, tmp_path: Path) -> None:
    line, release = hookless_apply(env, tmp_path, "never", code=1)
    assert release in line and "post-renderer" in line, line
    with Cluster(ClusterAccess(kubeconfig=str(env.kubeconfig)), policy=FAST) as cluster:
        assert cluster.list_owned() == [], "the failed apply rolled its networks back"


def test_a_release_that_fails_the_attachment_check_is_not_left_behind(env: Env, tmp_path: Path) -> None:
    _, release = hookless_apply(env, tmp_path, "never", code=1)
    assert release not in {r.name for r in env.helm().list_releases(None)}


def test_a_chart_without_values_hook_is_attached_by_the_post_renderer_in_auto_mode(env: Env, tmp_path: Path) -> None:
    hookless_apply(env, tmp_path, "auto", code=0)
    env.emulator.workloads.start()
    pods = env.emulator.list(PODS, "default")
    attached = [p for p in pods if "l2sm/networks" in (p["metadata"].get("annotations") or {})]
    assert len(attached) == 3, "all three KDUs' pods ask for their networks, the hookless one included"
    env.deployer().terminate(api.plan(hookless_packages(tmp_path / "again"), ns_name="vod-service-deployment"))
    assert env.emulator.list(L2NETWORKS, "default") == [] and env.helm().list_releases(None) == []
