"""Fixtures for the OSM integration tests: LCM's db/fs and helm 3 connector (test doubles), the connector class over
them, the CDN packages onboarded, and the emulated cluster registered as an OSM K8s cluster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy
from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.support.k8s_harness import EmulatedCluster
from tests.support.osm_lcm_double import FsDouble, K8sHelm3ConnectorDouble, OsmDbDouble
from tests.support.osm_records import LcmReplay, Onboarded, onboard
from tests.support.tools import find_tool

CLUSTER_UUID = "5b7c3a62-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
FAST = RetryPolicy(attempts=8, base_delay_s=0.01, max_delay_s=0.1, total_s=20.0, connect_timeout_s=2.0,
                   request_timeout_s=2.0)


def tool(name: str) -> str:
    found = find_tool(name)
    if found is None:
        pytest.fail(f"no {name} binary: run ./scripts/fetch-helm (CI does) or set OSM_L2NET_{name.upper()}")
    return found


@dataclass
class Lcm:
    """LCM's side of one test: db, fs, the connector (ours over the helm 3 double) and the replay of deploy_kdus."""

    db: OsmDbDouble
    fs: FsDouble
    connector: Any
    onboarded: Onboarded
    cluster: EmulatedCluster

    def replay(self, **kwargs: Any) -> LcmReplay:
        return LcmReplay(self.db, self.connector, self.onboarded, cluster_uuid=CLUSTER_UUID, **kwargs)

    def kube(self) -> Cluster:
        return Cluster(ClusterAccess(kubeconfig=str(self.cluster.kubeconfig)), policy=FAST, seed=3)


@pytest.fixture
def lcm(kube_emulator: EmulatedCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lcm]:
    for name, value in (("READY_TIMEOUT", "10"), ("DELETE_TIMEOUT", "10"), ("PODS_GONE_TIMEOUT", "10")):
        monkeypatch.setenv(f"OSM_L2NET_{name}", value)
    db, fs = OsmDbDouble(), FsDouble(tmp_path / "storage")
    fs.add_cluster(CLUSTER_UUID, kube_emulator.kubeconfig)
    onboarded = onboard(db, fs, CDN_PACKAGES)
    connector_class = make_connector_class(K8sHelm3ConnectorDouble)
    connector = connector_class(fs=fs, db=db, kubectl_command=tool("kubectl"), helm_command=tool("helm"), log=None,
                                on_update_db=None)
    yield Lcm(db, fs, connector, onboarded, kube_emulator)
