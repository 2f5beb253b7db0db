"""The connector's day-2 operations (upgrade, rollback, get_scale_count, scale) on the 3.11 tier: over a helm 3
connector double that RECORDS what OSM's connector would be asked (with v19's signatures) and keeps each release's
user values as helm does (reset: the params only; reuse: the last values with the params over them; rollback: the
previous revision's), with the networks in the Kubernetes API test double. What runs helm for real is
tests/lcm_real/test_day2.py."""

from __future__ import annotations

import asyncio
import copy
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net.core.plan import deep_merge
from osm_l2net.osm.day2 import AttachmentLost, Day2Refused
from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.lcm_real.lcm_world import scalable_packages
from tests.osm.conftest import CLUSTER_UUID, tool
from tests.support.k8s_emulator import L2NETWORKS
from tests.support.k8s_harness import EmulatedCluster
from tests.support.osm_lcm_double import FsDouble, K8sHelm3ConnectorDouble, OsmDbDouble
from tests.support.osm_records import create_ns, onboard

NAMESPACE = "admin-project"
VIM = "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01"


class RecordingHelm3(K8sHelm3ConnectorDouble):
    """v19's day-2 methods, recorded; each release's user values kept per revision (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.revisions: dict[str, list[dict[str, Any]]] = {}
        self.renders_pod_metadata = True  # False: a chart that dropped podAnnotations from its pod template

    async def upgrade(self, cluster_uuid: str, kdu_instance: str, kdu_model: str | None = None, atomic: bool = True,
                      timeout: float = 300, params: dict[str, Any] | None = None, db_dict: dict[str, Any] | None = None,
                      namespace: str | None = None, targetHostK8sLabels: dict[str, Any] | None = None,
                      reset_values: bool = False, reuse_values: bool = True, reset_then_reuse_values: bool = False,
                      force: bool = False) -> int:
        self.calls.append(("upgrade", {"params": copy.deepcopy(params), "reset_values": reset_values,
                                       "reuse_values": reuse_values, "kdu_model": kdu_model,
                                       "reset_then_reuse_values": reset_then_reuse_values,
                                       "targetHostK8sLabels": targetHostK8sLabels}))
        history = self.revisions.setdefault(kdu_instance, [{}])
        history.append(copy.deepcopy(params or {}) if reset_values else deep_merge(history[-1], params or {}))
        return len(history)

    async def rollback(self, cluster_uuid: str, kdu_instance: str, revision: Any = 0,
                       db_dict: dict[str, Any] | None = None) -> int:
        self.calls.append(("rollback", {"revision": revision}))
        history = self.revisions[kdu_instance]
        history.append(copy.deepcopy(history[-2]))
        return len(history)

    async def get_scale_count(self, resource_name: str, kdu_instance: str, cluster_uuid: str, kdu_model: str,
                              **kwargs: Any) -> int:
        self.calls.append(("get_scale_count", {}))
        return int(self.revisions.get(kdu_instance, [{}])[-1].get("replicaCount", 1))

    async def scale(self, kdu_instance: str, scale: int, resource_name: str, total_timeout: float = 1800,
                    cluster_uuid: str | None = None, kdu_model: str | None = None, atomic: bool = True,
                    db_dict: dict[str, Any] | None = None, **kwargs: Any) -> bool:
        self.calls.append(("scale", {"scale": scale}))
        history = self.revisions.setdefault(kdu_instance, [{}])
        history.append(deep_merge(history[-1], {"replicaCount": scale}))
        return True

    async def get_instance_info(self, cluster_uuid: str, kdu_instance: str) -> dict[str, Any]:
        return {"name": kdu_instance, "namespace": NAMESPACE, "revision": len(self.revisions.get(kdu_instance, [1]))}

    def _init_paths_env(self, cluster_name: str, create_if_not_exist: bool = True) -> tuple[dict[str, str],
                                                                                          dict[str, str]]:
        return {"kube_config": str(Path(self.fs.path) / cluster_name / ".kube" / "config")}, {}

    async def get_values_kdu(self, kdu_instance: str, namespace: str, kubeconfig: str) -> str:
        return yaml.safe_dump(self.revisions[kdu_instance][-1])

    def manifest_of(self, release: str) -> list[dict[str, Any]]:
        """What ``helm get manifest`` would give for the release's last revision (the connector's read-back)."""
        values = self.revisions[release][-1]
        meta = ({"labels": values.get("podLabels") or {}, "annotations": values.get("podAnnotations") or {}}
                if self.renders_pod_metadata else {"labels": {"app": release}})
        return [{"kind": "Deployment", "metadata": {"name": release}, "spec": {"template": {"metadata": meta}}}]


@pytest.fixture(autouse=True)
def _manifests_from_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector reads a release back with helm; this stand-in of OSM's connector has no cluster, so it answers."""
    from osm_l2net.osm import lcm

    monkeypatch.setattr(lcm, "_manifest", lambda conn, kubeconfig, release, namespace: conn.manifest_of(release))


def deployed(db: OsmDbDouble, nsr_id: str, fs: FsDouble) -> dict[tuple[str, str], dict[str, Any]]:
    """LCM's deploy_kdus records (_admin.deployed.K8s), as after an instantiate; (member, kdu) -> (entry, db_dict)."""
    entries = []
    for vnfr in db.get_list("vnfrs", {"nsr-id-ref": nsr_id}):
        for kdur in vnfr["kdur"]:
            entries.append({"kdu-instance": f"{kdur['kdu-name']}-000000000{len(entries)}",
                            "member-vnf-index": vnfr["member-vnf-index-ref"], "kdu-name": kdur["kdu-name"],
                            "namespace": kdur["k8s-namespace"], "k8scluster-type": "helm-chart-v3",
                            "k8scluster-uuid": CLUSTER_UUID, "kdu-model": f"{fs.path}/charts/{kdur['helm-chart']}"})
    db.set_one("nsrs", {"_id": nsr_id}, {"_admin.deployed.K8s": entries})
    return {(e["member-vnf-index"], e["kdu-name"]): {**e, "db_dict": {
        "collection": "nsrs", "filter": {"_id": nsr_id}, "path": f"_admin.deployed.K8s.{i}"}}
        for i, e in enumerate(entries)}


class Day2:
    def __init__(self, cluster: EmulatedCluster, tmp_path: Path, packages: list[str]) -> None:
        self.cluster = cluster
        self.db, self.fs = OsmDbDouble(), FsDouble(tmp_path / "storage")
        self.fs.add_cluster(CLUSTER_UUID, cluster.kubeconfig)
        self.onboarded = onboard(self.db, self.fs, packages)
        self.connector = make_connector_class(RecordingHelm3)(
            fs=self.fs, db=self.db, kubectl_command=tool("kubectl"), helm_command=tool("helm"),
            log=logging.getLogger("lcm.k8s"), on_update_db=None)
        cluster.operator.start(ready_after=0.0)
        self.nsr_id = create_ns(self.db, self.onboarded, "vod-service", VIM, cluster_uuid=CLUSTER_UUID)
        self.kdus = deployed(self.db, self.nsr_id, self.fs)

    @property
    def base(self) -> RecordingHelm3:
        helm: RecordingHelm3 = self.connector
        return helm

    def kdu(self, member: str) -> dict[str, Any]:
        return self.kdus[(member, member)]

    def installed(self, member: str, values: dict[str, Any]) -> None:
        self.base.revisions[self.kdu(member)["kdu-instance"]] = [copy.deepcopy(values)]

    def upgrade(self, member: str, **kwargs: Any) -> Any:
        k = self.kdu(member)
        return asyncio.run(self.connector.upgrade(cluster_uuid=CLUSTER_UUID, kdu_instance=k["kdu-instance"],
                                                  kdu_model=k["kdu-model"], db_dict=k["db_dict"], **kwargs))

    def scale(self, member: str, count: int) -> Any:
        k = self.kdu(member)
        return asyncio.run(self.connector.scale(kdu_instance=k["kdu-instance"], scale=count, resource_name="",
                                                total_timeout=1800, vca_id=None, cluster_uuid=CLUSTER_UUID,
                                                kdu_model=k["kdu-model"], atomic=True, db_dict=k["db_dict"]))


@pytest.fixture
def day2(kube_emulator: EmulatedCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Day2:
    monkeypatch.setenv("OSM_L2NET_READY_TIMEOUT", "10")
    return Day2(kube_emulator, tmp_path, CDN_PACKAGES)


@pytest.fixture
def scalable(kube_emulator: EmulatedCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Day2:
    monkeypatch.setenv("OSM_L2NET_READY_TIMEOUT", "10")
    return Day2(kube_emulator, tmp_path, scalable_packages(tmp_path / "packages"))


@pytest.mark.parametrize("mode", [{"reset_values": True, "reuse_values": False},
                                  {"reset_then_reuse_values": True, "reuse_values": False},
                                  {}])
def test_every_upgrade_carries_the_attachment_whatever_the_values_mode(day2: Day2, mode: dict[str, Any]) -> None:
    revision = day2.upgrade("cdn-server", params={"cdn": {"limitRate": "200k"}}, **mode)
    assert revision == 2
    (name, call), = day2.base.calls[:1]
    assert name == "upgrade" and {k: call[k] for k in mode} == mode, "the values mode is passed on unchanged"
    params = call["params"]
    assert params["cdn"] == {"limitRate": "200k"}, "the caller's params are kept"
    assert params["podAnnotations"]["l2sm/networks"].count("10.0.1.10/24") == 1
    assert params["podLabels"]["l2sm"] == "true" and params["l2net"]["interfaces"][0]["ip"] == "10.0.1.10/24"
    assert day2.cluster.l2network(NAMESPACE, params["l2net"]["interfaces"][0]["network"]) is not None, \
        "the NS's networks were ensured first"


def test_an_upgrade_whose_release_lost_the_attachment_fails_clearly(day2: Day2) -> None:
    day2.base.renders_pod_metadata = False
    with pytest.raises(AttachmentLost, match=r"upgrade of KDU cdn-server/cdn-server .* without its L2 attachment: "
                                             r"no pod template in its manifest \(Deployment cdn-server-0+\) carries"):
        day2.upgrade("cdn-server", params={}, reset_values=True, reuse_values=False)


def test_an_upgrade_to_several_replicas_of_a_pinned_kdu_is_refused_before_helm(day2: Day2) -> None:
    with pytest.raises(Day2Refused, match=r"upgrade of KDU cdn-server/cdn-server .* to 3 replicas refused: it has "
                                          r"pinned addresses \(net1 10\.0\.1\.10/24 on my-first-osm-net\)"):
        day2.upgrade("cdn-server", params={"replicaCount": "3"})
    assert day2.base.calls == []


def test_a_migration_warns_that_l2sm_picks_the_port_node_at_random(day2: Day2,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "lcm.k8s"):
        day2.upgrade("cdn-server", namespace=NAMESPACE, targetHostK8sLabels={"zone": "b"}, force=True, params=None)
    assert any("RANDOM node" in r.getMessage() and "{'zone': 'b'}" in r.getMessage() for r in caplog.records)
    assert day2.base.calls[0][1]["targetHostK8sLabels"] == {"zone": "b"}, "the migration itself goes on"


def test_a_rollback_to_a_revision_without_the_attachment_is_re_attached(day2: Day2) -> None:
    day2.installed("cdn-server", {})  # revision 1: no attachment (made by plain N2VC)
    day2.upgrade("cdn-server", params={})  # revision 2: attached
    day2.base.calls.clear()
    k = day2.kdu("cdn-server")
    revision = asyncio.run(day2.connector.rollback(cluster_uuid=CLUSTER_UUID, kdu_instance=k["kdu-instance"],
                                                   db_dict=k["db_dict"]))
    assert [c[0] for c in day2.base.calls] == ["rollback", "upgrade"]
    upgrade = day2.base.calls[1][1]
    assert upgrade["reuse_values"] is True and upgrade["kdu_model"] == k["kdu-model"]
    assert revision == 4 and day2.base.revisions[k["kdu-instance"]][-1]["podLabels"]["l2sm"] == "true"


def test_a_rollback_to_an_attached_revision_is_left_alone(day2: Day2) -> None:
    day2.upgrade("cdn-server", params={})
    day2.upgrade("cdn-server", params={"cdn": {"limitRate": "1M"}})
    day2.base.calls.clear()
    k = day2.kdu("cdn-server")
    assert asyncio.run(day2.connector.rollback(CLUSTER_UUID, k["kdu-instance"], db_dict=k["db_dict"])) == 4
    assert [c[0] for c in day2.base.calls] == ["rollback"]


def test_a_pinned_kdu_is_not_scaled_beyond_one(day2: Day2) -> None:
    with pytest.raises(Day2Refused, match=r"router-firewall/router-firewall .* to 2 replicas refused"):
        day2.scale("router-firewall", 2)
    assert day2.base.calls == []
    assert day2.scale("router-firewall", 0) is True, "scaling a pinned KDU to 0 or 1 is harmless"


def test_scaling_a_pool_kdu_counts_every_address_l2sm_ever_gave(scalable: Day2) -> None:
    release = scalable.kdu("cdn-server")["kdu-instance"]
    scalable.installed("cdn-server", {"replicaCount": 1})
    assert scalable.scale("cdn-server", 3) is True, "a fresh pool: 31 addresses left"
    net = next(n for n in scalable.cluster.emulator.list_objects(L2NETWORKS) if (n["spec"].get("podAddressRange")))
    assert net["spec"]["podAddressRange"] == "10.0.1.32/27"
    scalable.scale("cdn-server", 1)

    def last_assigned(ip: str) -> None:
        scalable.cluster.call(lambda: scalable.cluster.emulator.patch_object(
            L2NETWORKS, net["metadata"]["namespace"], net["metadata"]["name"], {"status": {"lastAssignedIP": ip}}))

    last_assigned("10.0.1.61")  # two left: .62 and .63
    assert scalable.scale("cdn-server", 3) is True
    scalable.scale("cdn-server", 1)
    last_assigned("10.0.1.62")
    calls = len(scalable.base.calls)
    with pytest.raises(Day2Refused, match=r"from 1 to 3 replicas refused: its 2 new pod\(s\) need 2 address\(es\) "
                                          r"from each pool, but .*10\.0\.1\.32/27, lastAssignedIP 10\.0\.1\.62\) has 1 "
                                          r"left.* at most 2 replicas"):
        scalable.scale("cdn-server", 3)
    assert [c[0] for c in scalable.base.calls[calls:]] == ["get_scale_count"], "refused before helm"
    assert scalable.base.revisions[release][-1]["replicaCount"] == 1


def test_get_scale_count_is_osms(day2: Day2) -> None:
    k = day2.kdu("cdn-server")
    day2.installed("cdn-server", {"replicaCount": 1})
    assert asyncio.run(day2.connector.get_scale_count("", k["kdu-instance"], vca_id=None, cluster_uuid=CLUSTER_UUID,
                                                      kdu_model=k["kdu-model"])) == 1
