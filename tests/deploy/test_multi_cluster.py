"""An NS on two clusters (issue 12, bullet 2): apply, status and delete against two Kubernetes API test doubles at
once, with the real helm, through one kubeconfig with a context per cluster (as an operator's kubeconfig has).

The CDN service as the issue places it: the cache (cdn-server) at the edge, the router and the content server in the
core, so my-first-osm-net is stretched over both clusters and my-second-osm-net is local to the core. The order is
proven from both clusters' request logs and operator doubles, on one clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import osm_l2net
from osm_l2net.core.errors import L2NetError
from osm_l2net.core.options import InterClusterProvider, PlanOptions
from osm_l2net.deploy.deployer import DeployError, DeploySettings
from osm_l2net.helm.runner import HelmSettings
from tests.conftest import DESCRIPTORS
from tests.deploy.conftest import FAST
from tests.support.k8s_emulator import L2NETWORKS, NEDS, FaultPlan
from tests.support.k8s_harness import EmulatedCluster

PLACEMENT = {"cdn-server": "edge", "router-firewall": "core", "content-server": "core"}
OPTIONS = PlanOptions(placement=PLACEMENT, inter_cluster=InterClusterProvider("idco", "10.0.0.5"))


@dataclass
class TwoClusters:
    edge: EmulatedCluster
    core: EmulatedCluster
    kubeconfig: Path
    helm_binary: str
    scratch: Path

    def __getitem__(self, name: str) -> EmulatedCluster:
        return {"edge": self.edge, "core": self.core}[name]

    def common(self, lines: list[str] | None = None) -> dict[str, object]:
        # the emulator serves no /openapi and runs no controllers (tests/deploy/conftest.py): no validation, no waits
        helm = HelmSettings(binary=self.helm_binary, wait=False, atomic=False, timeout=60, create_namespace=False,
                            extra_flags=("--disable-openapi-validation",), tmp_dir=str(self.scratch))
        return {"kubeconfig": self.kubeconfig, "helm": helm, "policy": FAST,
                "progress": (lines.append if lines is not None else lambda _: None),
                "settings": DeploySettings(ready_timeout=5.0, delete_timeout=5.0, pods_gone_timeout=5.0)}


def merged_kubeconfig(path: Path, clusters: dict[str, EmulatedCluster]) -> Path:
    """One kubeconfig, a context per cluster (named as the placement names them), none current."""
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
              "clusters": [{"name": n, "cluster": {"server": c.url}} for n, c in clusters.items()],
              "users": [{"name": "emulator", "user": {"token": "emulator-test-double"}}],
              "contexts": [{"name": n, "context": {"cluster": n, "user": "emulator", "namespace": "default"}}
                           for n in clusters],
              "current-context": "core"}
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


@pytest.fixture
def two(helm_binary: str, tmp_path: Path) -> Iterator[TwoClusters]:
    with EmulatedCluster(tmp_path) as edge, EmulatedCluster() as core:
        for name, cluster in (("edge", edge), ("core", core)):
            cluster.operator.start()
            cluster.put(NEDS, "l2sm-system", ned(name))  # what the pre-flight asks of a cluster a stretched link spans
        yield TwoClusters(edge, core, merged_kubeconfig(tmp_path / "kubeconfig", {"edge": edge, "core": core}),
                          helm_binary, tmp_path)


def ned(cluster: str) -> dict[str, object]:
    """The cluster's NetworkEdgeDevice of provider idco (its CRD's required fields)."""
    return {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "NetworkEdgeDevice", "metadata": {"name": f"ned-{cluster}"},
            "spec": {"provider": {"name": "idco", "domain": ["10.0.0.5"]},
                     "nodeConfig": {"nodeName": "node-1", "ipAddress": "192.0.2.10"}}}


def test_a_cluster_without_the_providers_edge_device_stops_the_apply_before_any_write(two: TwoClusters) -> None:
    two.edge.delete(NEDS, "l2sm-system", "ned-edge")
    for c in (two.edge, two.core):
        c.log.clear()
    with pytest.raises(L2NetError) as caught:
        osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS,
                        **two.common())
    assert "no NetworkEdgeDevice has it" in str(caught.value)
    assert not [e for c in (two.edge, two.core) for e in c.log.entries() if e.is_write]


def l2networks(cluster: EmulatedCluster) -> dict[str, dict[str, object]]:
    return {o["metadata"]["name"]: o for o in cluster.list(L2NETWORKS, "default")}


def test_each_cluster_gets_its_part_and_the_stretched_link_in_both(two: TwoClusters) -> None:
    applied = osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS,
                              **two.common())
    plan = applied.plan
    first = next(n.name for n in plan.networks if n.vld_id == "my-first-osm-net")
    second = next(n.name for n in plan.networks if n.vld_id == "my-second-osm-net")
    assert set(l2networks(two.core)) == {first, second} and set(l2networks(two.edge)) == {first}
    ranges = {c: l2networks(two[c])[first]["spec"]["podAddressRange"] for c in ("edge", "core")}  # type: ignore[index]
    assert ranges["edge"] != ranges["core"]
    for c in ("edge", "core"):
        spec = l2networks(two[c])[first]["spec"]
        assert spec["provider"] == {"name": "idco", "domain": ["10.0.0.5"]}  # type: ignore[index]
    assert sorted(applied.reports) == ["core", "edge"]
    assert sorted(applied.report.installed) == sorted(f"{k.release_name}@{k.cluster}" for k in plan.kdus)
    # each KDU's Deployment on its own cluster only: the cache at the edge, the router and content server in the core
    assert len(_posted(two.edge, "/deployments")) == 1 and len(_posted(two.core, "/deployments")) == 2


def _posted(cluster: EmulatedCluster, suffix: str) -> list[str]:
    return [e.path for e in cluster.log.entries() if e.method == "POST" and e.path.endswith(suffix)]


def test_every_clusters_networks_are_ready_before_any_kdu_is_installed(two: TwoClusters) -> None:
    osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS, **two.common())
    ready = [t for c in (two.edge, two.core) for (a, _, _), t in zip(c.operator.actions, c.operator.stamps,
                                                                      strict=True) if a == "available"]
    installs = [e.at for c in (two.edge, two.core) for e in c.log.entries()
                if e.method == "POST" and "/deployments" in e.path]
    assert len(ready) == 3 and len(installs) == 3  # three networks (one stretched), three KDUs
    assert max(ready) < min(installs), "a KDU was installed before every cluster's networks were Available"


def test_delete_uninstalls_every_clusters_kdus_before_removing_any_network(two: TwoClusters) -> None:
    applied = osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS,
                              **two.common())
    for c in (two.edge, two.core):
        c.log.clear()
    deleted = osm_l2net.delete(applied.plan, context="core", **two.common())
    uninstalls = [e.at for c in (two.edge, two.core) for e in c.log.entries()
                  if e.method == "DELETE" and "/deployments/" in e.path]
    removals = [e.at for c in (two.edge, two.core) for e in c.log.entries()
                if e.method == "DELETE" and "/l2networks/" in e.path]
    assert len(uninstalls) == 3 and len(removals) == 3
    assert max(uninstalls) < min(removals)
    assert l2networks(two.edge) == {} and l2networks(two.core) == {}
    assert len(deleted.report.deleted) == 3 and len(deleted.report.uninstalled) == 3


def test_status_names_each_rows_cluster(two: TwoClusters) -> None:
    applied = osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS,
                              **two.common())
    found = osm_l2net.status(applied.plan, kubeconfig=two.kubeconfig, context="core", policy=FAST)
    rows = found.as_dict()["networks"]
    assert sorted((r["cluster"], r["vld"]) for r in rows) == [
        ("core", "my-first-osm-net"), ("core", "my-second-osm-net"), ("edge", "my-first-osm-net")]
    assert found.ready


def test_a_failure_on_one_cluster_undoes_this_run_on_both(two: TwoClusters) -> None:
    """The edge's network is refused (HTTP 500 on every L2Network POST there): what this run made in the core goes
    too, and nothing is installed anywhere."""
    two.edge.faults = FaultPlan(seed=1, rate=1.0, kinds=(500,), match=r"^POST .*/l2networks$")
    with pytest.raises(DeployError) as caught:
        osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS,
                        **two.common())
    assert "cluster edge: networks failed" in str(caught.value)
    assert l2networks(two.core) == {} and l2networks(two.edge) == {}
    assert not _posted(two.core, "/deployments") and not _posted(two.edge, "/deployments")
    assert len(caught.value.report.rolled_back) == 2  # the core's two networks


def test_a_context_missing_from_the_kubeconfig_stops_before_any_write(two: TwoClusters) -> None:
    options = PlanOptions(placement={**PLACEMENT, "cdn-server": "nowhere"}, inter_cluster=OPTIONS.inter_cluster)
    with pytest.raises(L2NetError) as caught:
        osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=options,
                        **two.common())
    assert "nowhere" in str(caught.value)
    assert not [e for c in (two.edge, two.core) for e in c.log.entries() if e.is_write]


def test_a_provider_the_cluster_cannot_reach_is_named_in_the_wait(two: TwoClusters) -> None:
    """L2S-M asks the inter-cluster provider once, when it first reconciles the network; the wait ends with why."""
    two.edge.operator.provider_reachable = False
    with pytest.raises(DeployError) as caught:
        osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", context="core", options=OPTIONS,
                        **{**two.common(), "settings": DeploySettings(ready_timeout=1.0, delete_timeout=5.0)})
    assert "providerConnectivity=Unavailable" in str(caught.value)
    assert l2networks(two.core) == {} and l2networks(two.edge) == {}


def test_the_cli_applies_shows_and_deletes_an_ns_on_two_clusters(two: TwoClusters) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{Path(two.helm_binary).parent}:{os.environ['PATH']}",
           "HOME": str(two.scratch)}
    placement = [f"--cluster={m}={c}" for m, c in PLACEMENT.items()] + ["--inter-cluster-provider", "idco=10.0.0.5"]
    common = [str(DESCRIPTORS), "--ns-name", "vod-service-deployment", *placement, "--kubeconfig", str(two.kubeconfig),
              "--context", "core", "--ready-timeout", "5s"]
    helm = ["--no-wait", "--no-atomic", "--no-create-namespace", "--helm-flag=--disable-openapi-validation"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "osm_l2net.cli", *args], capture_output=True, text=True,
                              timeout=300, check=False, env=env, cwd=two.scratch)

    applied = cli("apply", *common, *helm)
    assert applied.returncode == 0, applied.stderr
    assert "cluster edge: networks" in applied.stderr and "networks ready on 2 clusters" in applied.stderr
    assert "@edge" in applied.stdout and "@core" in applied.stdout
    status = cli("status", *common, "-o", "json")
    assert status.returncode == 0, status.stderr
    assert sorted(r["cluster"] for r in json.loads(status.stdout)["networks"]) == ["core", "core", "edge"]
    table = cli("status", *common)
    assert table.stdout.startswith("CLUSTER") and "edge" in table.stdout
    dry = cli("apply", *common, *helm, "--dry-run=client", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    assert {(c["cluster"], c["action"]) for c in json.loads(dry.stdout)["changes"]} == {("core", "unchanged"),
                                                                                     ("edge", "unchanged")}
    deleted = cli("delete", *common, *helm)
    assert deleted.returncode == 0, deleted.stderr
    assert l2networks(two.edge) == {} and l2networks(two.core) == {}
