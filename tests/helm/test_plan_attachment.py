"""The planner's real CDN plan through helm: every provider's pod metadata reaches every pod template.

Charts with the documented values hook get it from the plan's values alone; charts without it get it from the
post-renderer. The same plan then installs and uninstalls on the KubernetesAPIEmulator test double.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from osm_l2net import api
from osm_l2net.core import providers
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.plan import Plan
from osm_l2net.helm.runner import AttachmentError, Helm, HelmSettings, check_attachment, verify_release
from tests.conftest import CDN_PACKAGES
from tests.support.k8s_emulator import Resource
from tests.support.k8s_harness import EmulatedCluster

from .conftest import HOOK_TEMPLATES, NO_HOOK_TEMPLATES, ChartFactory

pytestmark = pytest.mark.helm
NS = "vod"


def cdn_plan(provider: str) -> Plan:
    return api.plan(CDN_PACKAGES, ns_name="vod-service-deployment", namespace=NS, options=PlanOptions(provider=provider))


@pytest.mark.parametrize("provider", providers.names())
def test_plan_values_attach_pods_of_hooked_charts_and_post_renderer_the_others(
    provider: str, helm: Helm, make_chart: ChartFactory
) -> None:
    plan = cdn_plan(provider)
    hooked = str(make_chart("hooked", HOOK_TEMPLATES))
    plain = str(make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n"))
    assert len(plan.kdus) == 3
    for kdu in plan.kdus:
        assert kdu.pod_annotations, f"{provider}: {kdu.key} has networks, so it has attachment annotations"
        release = kdu.release_name or kdu.kdu_name
        verify_release(helm, kdu, release, chart=hooked)
        with pytest.raises(AttachmentError):
            verify_release(helm, kdu, release, chart=plain, values=kdu.values)
        with helm.attachment_post_renderer(kdu) as post_renderer:
            manifests = verify_release(helm, kdu, release, chart=plain, values=kdu.values, post_renderer=post_renderer)
        other = next(k for k in plan.kdus if k is not kdu)
        assert check_attachment(manifests, other), "another KDU's attachment must not pass for this one"


@pytest.fixture
def cluster(tmp_path: Path) -> Any:
    with EmulatedCluster(workdir=tmp_path, namespaces=(NS,)) as emulated:
        yield emulated
        errors = emulated.server_errors
    assert not errors, f"the Kubernetes API emulator raised internally: {errors!r}"


def test_cdn_plan_installs_verifies_and_uninstalls_on_the_emulator(
    helm: Helm, cluster: EmulatedCluster, make_chart: ChartFactory
) -> None:
    plan = cdn_plan("l2sm")
    on_cluster = Helm(
        replace(
            helm.settings,
            kubeconfig=str(cluster.kubeconfig),
            atomic=False,
            wait=False,
            create_namespace=False,
            extra_flags=("--disable-openapi-validation",),
        )
    )
    assert isinstance(on_cluster.settings, HelmSettings)
    charts = {"cdn-server": "hooked", "router-firewall": "nohook", "content-server": "hooked"}
    paths = {
        "hooked": str(make_chart("hooked", HOOK_TEMPLATES)),
        "nohook": str(make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")),
    }
    for kdu in plan.kdus:
        assert kdu.release_name
        chart = paths[charts[kdu.kdu_name]]
        with on_cluster.attachment_post_renderer(kdu) as post_renderer:
            use = post_renderer if charts[kdu.kdu_name] == "nohook" else None
            on_cluster.install(kdu.release_name, chart, kdu.namespace, kdu.values, use)
        verify_release(on_cluster, kdu, kdu.release_name)

    releases = {r.name: r.status for r in on_cluster.list_releases(NS)}
    assert releases == {k.release_name: "deployed" for k in plan.kdus}
    router = plan.kdu("router-firewall")
    assert router is not None and router.release_name
    deployment = cluster.get(Resource("apps", "v1", "deployments"), NS, f"{router.release_name}-web")
    assert deployment is not None
    assert deployment["spec"]["template"]["metadata"]["annotations"] == dict(router.pod_annotations)

    for kdu in reversed(plan.kdus):
        assert kdu.release_name and on_cluster.uninstall(kdu.release_name, kdu.namespace) is True
    assert on_cluster.list_releases() == []
    assert cluster.list(Resource("apps", "v1", "deployments"), NS) == []
    assert cluster.list(Resource("", "v1", "secrets"), NS) == [], "helm's release records are gone too"
