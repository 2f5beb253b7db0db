"""Fixtures for orchestration tests: the emulated cluster (or a real one, opt-in), the real helm binary, the CDN plan."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from osm_l2net import api
from osm_l2net.core.plan import Plan
from osm_l2net.deploy.deployer import Deployer, DeploySettings
from osm_l2net.helm.runner import Helm, HelmSettings
from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy
from tests.conftest import CDN_PACKAGES
from tests.support.k8s_harness import EmulatedCluster
from tests.support.tools import find_tool

FAST = RetryPolicy(attempts=8, base_delay_s=0.01, max_delay_s=0.1, total_s=20.0, connect_timeout_s=2.0,
                   request_timeout_s=2.0)


@pytest.fixture(scope="session")
def helm_binary() -> str:
    found = find_tool("helm")
    if found is None:
        pytest.fail("no helm binary: run ./scripts/fetch-helm (CI does) or set OSM_L2NET_HELM")
    return found


def cdn_plan(ns_name: str = "vod-service-deployment", ns_id: str | None = None, namespace: str = "default") -> Plan:
    return api.plan(CDN_PACKAGES, ns_name=ns_name, ns_id=ns_id, namespace=namespace)


class Env:
    """One cluster under test: the emulated one (the tests play the L2S-M operator), or a real one (opt-in)."""

    def __init__(self, kubeconfig: Path, helm_binary: str, scratch: Path, emulated: EmulatedCluster | None) -> None:
        self.kubeconfig = kubeconfig
        self.helm_binary = helm_binary
        self.scratch = scratch
        self.emulated = emulated

    @property
    def emulator(self) -> EmulatedCluster:
        if self.emulated is None:
            pytest.skip("needs the emulator's test hooks (request log, faults, operator double)")
        return self.emulated

    def operator(self, ready_after: float | None = 0.0) -> None:
        """Emulated: play the L2S-M operator. Real: the cluster's own operator does it."""
        if self.emulated is not None:
            self.emulated.operator.start(ready_after=ready_after)

    def cluster(self) -> Cluster:
        return Cluster(ClusterAccess(kubeconfig=str(self.kubeconfig)), policy=FAST, seed=7)

    def helm(self) -> Helm:
        if self.emulated is None:
            return Helm(HelmSettings(binary=self.helm_binary, kubeconfig=str(self.kubeconfig), timeout=300,
                                     tmp_dir=str(self.scratch)))
        # the emulator has no OpenAPI document and no controllers: no schema validation, no --wait / --atomic; and
        # helm validates --create-namespace's Namespace against /openapi whatever the flags: namespaces exist already
        return Helm(HelmSettings(binary=self.helm_binary, kubeconfig=str(self.kubeconfig), wait=False,
                                 atomic=False, timeout=60, extra_flags=("--disable-openapi-validation",),
                                 create_namespace=False, tmp_dir=str(self.scratch)))

    def deployer(self, cluster: Cluster | None = None, with_helm: bool = True, **settings: object) -> Deployer:
        wait = 5.0 if self.emulated is not None else 300.0
        defaults: dict[str, object] = {"ready_timeout": wait, "delete_timeout": wait, "pods_gone_timeout": wait}
        return Deployer(cluster or self.cluster(), self.helm() if with_helm else None,
                        DeploySettings(**{**defaults, **settings}), progress=lambda m: None)  # type: ignore[arg-type]


@pytest.fixture(params=["emulated", "real"])
def env(request: pytest.FixtureRequest, helm_binary: str, tmp_path: Path) -> Iterator[Env]:
    """The same tests run against the emulator always, and against a real cluster with L2S-M when
    OSM_L2NET_E2E_KUBECONFIG names its kubeconfig (docs/cluster.md). A separate variable from $KUBECONFIG, so that a
    developer's everyday cluster is never used by accident."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    if request.param == "real":
        kubeconfig = os.environ.get("OSM_L2NET_E2E_KUBECONFIG")
        if not kubeconfig:
            pytest.skip("opt-in end-to-end mode: set OSM_L2NET_E2E_KUBECONFIG to a real cluster with L2S-M installed")
        yield Env(Path(kubeconfig), helm_binary, scratch, None)
    else:
        emulated = request.getfixturevalue("kube_emulator")
        yield Env(emulated.kubeconfig, helm_binary, scratch, emulated)
    leftovers = list(scratch.iterdir())
    assert not leftovers, f"values/metadata files left behind: {leftovers}"
