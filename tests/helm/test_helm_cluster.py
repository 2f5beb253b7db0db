"""install / upgrade / list / uninstall with the real helm binary against the KubernetesAPIEmulator test double.

The emulator has no controllers (no pod ever becomes ready), so helm runs with wait=False / atomic=False here, and
with --disable-openapi-validation (the emulator serves no /openapi). helm validates the Namespace of --create-namespace
against /openapi/v2 whatever the flags, so namespaces are created beforehand here (create_namespace=False).
What helm sent is read back from the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from osm_l2net.core.errors import ToolError
from osm_l2net.core.plan import KduPlan
from osm_l2net.helm.runner import AttachmentError, Helm, HelmSettings, Release, TemporaryToolError, verify_release

from .conftest import HOOK_TEMPLATES, NO_HOOK_TEMPLATES, ChartFactory, make_kdu

try:
    from tests.support.k8s_emulator import FaultPlan, Resource
    from tests.support.k8s_harness import EmulatedCluster
except ImportError:  # pragma: no cover - only before the kube branch is merged
    pytest.skip("needs tests/support emulator (branch kube)", allow_module_level=True)

pytestmark = pytest.mark.helm

DEPLOYMENTS = Resource("apps", "v1", "deployments")
STATEFULSETS = Resource("apps", "v1", "statefulsets")
CONFIGMAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
NS = "osm-ns"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    with EmulatedCluster(workdir=tmp_path, namespaces=(NS, "fresh-ns")) as emulated:
        yield emulated
        errors = emulated.server_errors
    assert not errors, f"the Kubernetes API emulator raised internally: {errors!r}"


@pytest.fixture
def khelm(helm_binary: str, cluster: EmulatedCluster, scratch: Path) -> Helm:
    return Helm(
        HelmSettings(
            binary=helm_binary,
            kubeconfig=str(cluster.kubeconfig),
            atomic=False,
            wait=False,
            timeout=60,
            extra_flags=("--disable-openapi-validation",),
            create_namespace=False,
            tmp_dir=str(scratch),
        )
    )


def pod_template_meta(obj: dict[str, Any] | None) -> dict[str, Any]:
    assert obj is not None, "the object was not created"
    meta: dict[str, Any] = obj["spec"]["template"]["metadata"]
    return meta


def test_install_list_status_values_manifest_uninstall(
    khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory, kdu: KduPlan, scratch: Path
) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    release = khelm.install("cdn-1", str(chart), NS, kdu.values)
    assert release == Release("cdn-1", NS, 1, "deployed", "hooked-0.1.0", "1.0")
    assert os.listdir(scratch) == [], "values file removed after install"

    meta = pod_template_meta(cluster.get(DEPLOYMENTS, NS, "cdn-1"))
    assert meta["labels"] == {"app": "hooked", **kdu.pod_labels}
    assert meta["annotations"] == dict(kdu.pod_annotations)
    assert cluster.get(CONFIGMAPS, NS, "cdn-1-cfg") is not None

    assert [(r.name, r.namespace, r.status) for r in khelm.list_releases(NS)] == [("cdn-1", NS, "deployed")]
    assert [r.name for r in khelm.list_releases()] == ["cdn-1"]
    assert khelm.list_releases("other") == []
    status = khelm.status("cdn-1", NS)
    assert status is not None and status["info"]["status"] == "deployed"
    assert khelm.get_values("cdn-1", NS) == kdu.values
    manifests = verify_release(khelm, kdu, "cdn-1")
    assert sorted(m["kind"] for m in manifests) == ["ConfigMap", "Deployment"]

    assert khelm.uninstall("cdn-1", NS) is True
    assert cluster.get(DEPLOYMENTS, NS, "cdn-1") is None
    assert cluster.get(CONFIGMAPS, NS, "cdn-1-cfg") is None
    assert khelm.list_releases(NS) == []
    assert khelm.status("cdn-1", NS) is None
    assert khelm.uninstall("cdn-1", NS) is False, "uninstalling an absent release is done, not an error"
    assert khelm.uninstall("never-installed", "no-such-namespace") is False


def test_install_with_post_renderer_sends_attached_pods(
    khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory, kdu: KduPlan, scratch: Path
) -> None:
    chart = make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")
    with khelm.attachment_post_renderer(kdu) as post_renderer:
        khelm.install("cdn-1", str(chart), NS, {"replicas": 2}, post_renderer)
    assert os.listdir(scratch) == []
    deployment = cluster.get(DEPLOYMENTS, NS, "cdn-1-web")
    assert deployment is not None and deployment["spec"]["replicas"] == 2
    assert pod_template_meta(deployment)["labels"] == {"app": "web", **kdu.pod_labels}
    assert pod_template_meta(cluster.get(STATEFULSETS, NS, "cdn-1-db"))["annotations"] == {
        "keep": "me",
        **kdu.pod_annotations,
    }
    verify_release(khelm, kdu, "cdn-1")

    khelm.install("plain-1", str(chart), NS, {"replicas": 1})
    with pytest.raises(AttachmentError, match=r"release plain-1: .*Deployment/plain-1-web"):
        verify_release(khelm, kdu, "plain-1")


def test_upgrade_replaces_or_reuses_values_and_can_install(
    khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory
) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    first = make_kdu(labels={"l2sm": "true", "a": "1"})
    khelm.install("cdn-1", str(chart), NS, first.values)
    second = make_kdu(labels={"l2sm": "true", "b": "2"}, annotations={})
    upgraded = khelm.upgrade("cdn-1", str(chart), NS, {"podLabels": dict(second.pod_labels)})
    assert (upgraded.revision, upgraded.status) == (2, "deployed")
    assert khelm.get_values("cdn-1", NS) == {"podLabels": {"l2sm": "true", "b": "2"}}, "values replaced, not merged"
    meta = pod_template_meta(cluster.get(DEPLOYMENTS, NS, "cdn-1"))
    assert meta["labels"] == {"app": "hooked", "l2sm": "true", "b": "2"}
    assert "annotations" not in meta

    khelm.upgrade("cdn-1", str(chart), NS, {"podAnnotations": {"x": "y"}}, reuse_values=True)
    assert khelm.get_values("cdn-1", NS) == {"podLabels": {"l2sm": "true", "b": "2"}, "podAnnotations": {"x": "y"}}

    with pytest.raises(ToolError, match=r"has no deployed releases|not found"):
        khelm.upgrade("fresh-1", str(chart), NS, {})
    installed = khelm.upgrade("fresh-1", str(chart), "fresh-ns", {}, install=True)
    assert (installed.name, installed.namespace, installed.revision) == ("fresh-1", "fresh-ns", 1)


def test_installing_a_taken_name_is_a_permanent_error(khelm: Helm, make_chart: ChartFactory) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    khelm.install("cdn-1", str(chart), NS, {})
    with pytest.raises(ToolError) as err:
        khelm.install("cdn-1", str(chart), NS, {})
    assert err.value.temporary is False
    assert "cannot re-use a name that is still in use" in err.value.stderr_tail
    assert [r.revision for r in khelm.list_releases(NS)] == [1]


def test_api_server_faults_are_temporary_errors(khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    cluster.faults = FaultPlan(seed=1, rate=1.0, kinds=(503,), match=r"^POST .*/secrets$")
    with pytest.raises(TemporaryToolError) as err:
        khelm.install("cdn-1", str(chart), NS, {})
    assert err.value.temporary is True
    assert "unable to handle the request" in err.value.stderr_tail
    cluster.faults = None
    assert khelm.list_releases(NS) == [], "nothing was recorded for the failed install"
    assert khelm.install("cdn-1", str(chart), NS, {}).status == "deployed", "a retry succeeds once the fault is gone"


def test_wrong_context_is_a_permanent_error(khelm: Helm) -> None:
    lost = Helm(replace(khelm.settings, kube_context="no-such-context"))
    with pytest.raises(ToolError) as err:
        lost.list_releases(NS)
    assert err.value.temporary is False
    assert "no-such-context" in err.value.stderr_tail


def test_post_rendered_labels_reach_the_api_as_strings(khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory) -> None:
    lookalikes = {"yes-no": "y", "number": "1e3", "flag": "N"}
    chart = make_chart(
        "quoted",
        {
            "deployment.yaml": """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: q}
                spec:
                  selector: {matchLabels: {app: q}}
                  template:
                    metadata:
                      labels: {app: q, yes-no: "y", number: "1e3"}
                    spec: {containers: [{name: c, image: busybox}]}
                """
        },
    )
    kdu = make_kdu(labels={"flag": "N"}, annotations={"note": "y"})
    with khelm.attachment_post_renderer(kdu) as post_renderer:
        khelm.install("q-1", str(chart), NS, {}, post_renderer)
    meta = pod_template_meta(cluster.get(DEPLOYMENTS, NS, "q"))
    assert meta["labels"] == {"app": "q", **lookalikes}
    assert meta["annotations"] == {"note": "y"}


def test_uninstall_with_wait_returns_once_resources_are_gone(
    khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory, kdu: KduPlan
) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    khelm.install("cdn-1", str(chart), NS, kdu.values)
    waiting = Helm(replace(khelm.settings, wait=True, timeout=20))
    assert waiting.uninstall("cdn-1", NS) is True
    assert cluster.get(DEPLOYMENTS, NS, "cdn-1") is None
    assert waiting.uninstall("cdn-1", NS) is False


def test_deployed_reads_state_values_chart_and_manifest_and_rollback_restores_a_revision(
    khelm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory, kdu: KduPlan
) -> None:
    """What apply compares with its plan, from reads only; and the undo of an upgrade a failed run made."""
    chart = make_chart("hooked", HOOK_TEMPLATES)
    assert khelm.deployed("cdn-1", NS) is None
    khelm.install("cdn-1", str(chart), NS, {**kdu.values, "big": 2**60 + 1})
    khelm.install("cdn-10", str(chart), NS, {})  # --filter is anchored: cdn-1 is not cdn-10
    before = len(cluster.log.entries())
    found = khelm.deployed("cdn-1", NS)
    assert found is not None
    assert (found.name, found.revision, found.status, found.chart) == ("cdn-1", 1, "deployed", "hooked-0.1.0")
    assert found.config["podLabels"] == dict(kdu.pod_labels) and float(found.config["big"]) == float(2**60 + 1)
    assert sorted(m["kind"] for m in found.manifests) == ["ConfigMap", "Deployment"]
    assert "big" not in repr(found), "values may hold secrets: not in a repr"
    assert [e for e in cluster.log.entries()[before:] if e.is_write] == []
    assert khelm.show_chart(str(chart))["version"] == "0.1.0"

    khelm.upgrade("cdn-1", str(chart), NS, {"podLabels": {"x": "1"}})
    khelm.rollback("cdn-1", NS, 1)
    back = khelm.deployed("cdn-1", NS)
    assert back is not None and (back.revision, back.status) == (3, "deployed")
    assert back.config["podLabels"] == dict(kdu.pod_labels)
    meta = pod_template_meta(cluster.get(DEPLOYMENTS, NS, "cdn-1"))
    assert meta["labels"] == {"app": "hooked", **kdu.pod_labels}
