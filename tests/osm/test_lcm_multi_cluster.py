"""The LCM connector for an NS whose VNFs OSM placed on two K8s clusters (issue 12, bullet 2, the connector).

NBI chooses each VNF's cluster from its VIM account and records it in the vnfr's ``kdur[].k8s-cluster.id``; LCM maps
that id to the uuid it hands its helm 3 connector (``k8sclusters._admin.helm-chart-v3.id``). The connector reads the
same records: the CDN's cache at the edge, the router and content server in the core, so my-first-osm-net is
stretched and each cluster gets only its part. Replayed with two Kubernetes API test doubles and the real helm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.osm.conftest import tool
from tests.support.k8s_emulator import L2NETWORKS, NEDS
from tests.support.k8s_harness import EmulatedCluster
from tests.support.osm_lcm_double import FsDouble, K8sHelm3ConnectorDouble, OsmDbDouble
from tests.support.osm_records import LcmReplay, create_ns, onboard

NAMESPACE = "admin-project"
VIM = "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01"
# OSM's K8s cluster ids (what NBI writes in kdur[].k8s-cluster.id) and the uuids LCM passes the connector
OSM_IDS = {"edge": "osm-k8s-edge", "core": "osm-k8s-core"}
UUIDS = {"edge": "0e6a2c7d-edge-4f5a-8b9c-0d1e2f3a4b5c", "core": "1f7b3d8e-core-4f5a-8b9c-0d1e2f3a4b5c"}
PLACEMENT = {"cdn-server": "edge", "router-firewall": "core", "content-server": "core"}


@dataclass
class World:
    db: OsmDbDouble
    replay: LcmReplay
    clusters: dict[str, EmulatedCluster]
    nsr_id: str

    def l2networks(self, name: str) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in self.clusters[name].list(L2NETWORKS, NAMESPACE)}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in (("READY_TIMEOUT", "10"), ("DELETE_TIMEOUT", "10"), ("PODS_GONE_TIMEOUT", "10"),
                        ("INTER_CLUSTER_PROVIDER", "idco=10.0.0.5")):
        monkeypatch.setenv(f"OSM_L2NET_{name}", value)
    with EmulatedCluster() as edge, EmulatedCluster() as core:
        clusters = {"edge": edge, "core": core}
        db, fs = OsmDbDouble(), FsDouble(tmp_path / "storage")
        for name, cluster in clusters.items():
            cluster.operator.start()
            cluster.put(NEDS, "l2sm-system", {
                "apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "NetworkEdgeDevice", "metadata": {"name": f"ned-{name}"},
                "spec": {"provider": {"name": "idco", "domain": ["10.0.0.5"]},
                         "nodeConfig": {"nodeName": "node-1", "ipAddress": "192.0.2.10"}}})
            fs.add_cluster(UUIDS[name], cluster.kubeconfig)
            db.create("k8sclusters", {"_id": OSM_IDS[name], "name": name,
                                      "_admin": {"helm-chart-v3": {"id": UUIDS[name]}}})
        onboarded = onboard(db, fs, CDN_PACKAGES)
        nsr_id = create_ns(db, onboarded, "vod-service", VIM)
        for vnfr in db.get_list("vnfrs", {"nsr-id-ref": nsr_id}):  # NBI's choice of cluster per VNF
            osm_id = OSM_IDS[PLACEMENT[vnfr["member-vnf-index-ref"]]]
            db.set_one("vnfrs", {"_id": vnfr["_id"]},
                       {"kdur": [{**k, "k8s-cluster": {"id": osm_id}} for k in vnfr["kdur"]]})
        connector = make_connector_class(K8sHelm3ConnectorDouble)(
            fs=fs, db=db, kubectl_command=tool("kubectl"), helm_command=tool("helm"), log=None, on_update_db=None)
        replay = LcmReplay(db, connector, onboarded, cluster_uuid=UUIDS["core"],
                           clusters={m: UUIDS[c] for m, c in PLACEMENT.items()})
        yield World(db, replay, clusters, nsr_id)


def test_each_cluster_gets_its_part_and_every_part_is_ready_before_any_kdu(world: World) -> None:
    assert asyncio.run(world.replay.instantiate(world.nsr_id)) == [True, True, True]
    edge, core = world.l2networks("edge"), world.l2networks("core")
    assert len(core) == 2 and len(edge) == 1 and set(edge) < set(core)  # the stretched link has a part in both
    stretched = next(iter(edge))
    for nets in (edge, core):
        assert nets[stretched]["spec"]["provider"] == {"name": "idco", "domain": ["10.0.0.5"]}
    assert edge[stretched]["spec"]["podAddressRange"] != core[stretched]["spec"]["podAddressRange"]
    ready = [t for c in world.clusters.values()
             for (a, _, _), t in zip(c.operator.actions, c.operator.stamps, strict=True) if a == "available"]
    installs = [e.at for c in world.clusters.values() for e in c.log.entries()
                if e.method == "POST" and e.path.endswith("/secrets") and e.status < 300]
    assert len(ready) == 3 and installs
    assert max(ready) < min(installs), "a KDU was installed before every cluster's networks were Available"
    deployments = {name: [e for e in c.log.entries() if e.method == "POST" and "/deployments" in e.path]
                   for name, c in world.clusters.items()}
    assert len(deployments["edge"]) == 1 and len(deployments["core"]) == 2  # each KDU on its own cluster


def test_terminate_removes_each_clusters_part(world: World) -> None:
    assert asyncio.run(world.replay.instantiate(world.nsr_id)) == [True, True, True]
    assert asyncio.run(world.replay.terminate(world.nsr_id)) == [True, True, True]
    assert world.l2networks("edge") == {} and world.l2networks("core") == {}


def test_a_failure_on_one_cluster_undoes_the_other_and_installs_nothing(world: World) -> None:
    """The edge's L2S-M never reports its network Available: the core's networks, made by this attempt, go again."""
    world.clusters["edge"].operator.stop()
    world.clusters["edge"].operator.start(ready_after=None)
    import os

    os.environ["OSM_L2NET_READY_TIMEOUT"] = "0.5"  # monkeypatch restores it: the fixture set it first
    results = asyncio.run(world.replay.instantiate(world.nsr_id))
    assert all(isinstance(r, Exception) for r in results), results
    assert world.l2networks("core") == {} and world.l2networks("edge") == {}
    assert not [e for c in world.clusters.values() for e in c.log.entries()
                if e.method == "POST" and "/deployments" in e.path]
