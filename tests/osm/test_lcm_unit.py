"""The LCM connector's logic without a cluster: settings, records, pass-through, per-NS failure sharing, the launcher."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from osm_l2net import api
from osm_l2net.core.errors import InputError, L2NetError
from osm_l2net.core.plan import Plan
from osm_l2net.osm import records
from osm_l2net.osm.lcm import ConnectorSettings, NsNetworks, OsmNotInstalled, load_base, make_connector_class, merge_values
from tests.conftest import CDN_PACKAGES, REPO
from tests.support.osm_lcm_double import FsDouble, OsmDbDouble
from tests.support.osm_records import LcmReplay, create_ns, onboard

VIM = "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01"


class RecordingBase:
    """A K8sHelm3Connector stand-in that only records what it is asked to install (no helm, no cluster)."""

    def __init__(self, fs: Any, db: Any, kubectl_command: str = "", helm_command: str = "", log: Any = None,
                 on_update_db: Any = None) -> None:
        self.fs, self.db, self.log = fs, db, log
        self.installed: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        self.uninstalled: list[str] = []

    async def install(self, cluster_uuid: str, kdu_model: str, kdu_instance: str, atomic: bool = True,
                      timeout: float = 300, params: dict[str, Any] | None = None, db_dict: dict[str, Any] | None = None,
                      kdu_name: str | None = None, namespace: str | None = None, **kwargs: Any) -> bool:
        self.installed.append((kdu_instance, params, kwargs))
        return True

    async def uninstall(self, cluster_uuid: str, kdu_instance: str, **kwargs: Any) -> bool:
        self.uninstalled.append(kdu_instance)
        return True


@pytest.fixture
def osm(tmp_path: Path) -> tuple[OsmDbDouble, FsDouble, Any]:
    db, fs = OsmDbDouble(), FsDouble(tmp_path / "storage")
    return db, fs, onboard(db, fs, CDN_PACKAGES)


# ---------------------------------------------------------------- settings and helpers


def test_settings_from_environment() -> None:
    assert ConnectorSettings.from_env({}) == ConnectorSettings()
    s = ConnectorSettings.from_env({"OSM_L2NET_PROVIDER": "multus", "OSM_L2NET_READY_TIMEOUT": "12.5",
                                    "OSM_L2NET_CONCURRENCY": "3", "OSM_L2NET_VALUES_POD_ANNOTATIONS": "pod.annotations"})
    assert (s.provider, s.ready_timeout, s.concurrency, s.values_layout.pod_annotations) == \
        ("multus", 12.5, 3, "pod.annotations")
    assert s.deploy_settings().ready_timeout == 12.5 and s.plan_options("ns1").namespace == "ns1"
    assert s.preflight and not ConnectorSettings.from_env({"OSM_L2NET_SKIP_PREFLIGHT": "true"}).preflight


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("PROVIDER", "flannel", "unknown provider 'flannel'"),
    ("READY_TIMEOUT", "soon", "'soon' is not a positive number"),
    ("CONCURRENCY", "0", "'0' is not a positive integer"),
    ("SKIP_PREFLIGHT", "maybe", "'maybe' is not a boolean"),
])
def test_bad_settings_are_input_errors_naming_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(InputError) as err:
        ConnectorSettings.from_env({f"OSM_L2NET_{name}": value})
    assert f"$OSM_L2NET_{name}" in str(err.value) and expected in str(err.value)


def test_merge_values_is_deep_ours_win_and_inputs_stay_untouched() -> None:
    user = {"image": "nginx", "podLabels": {"team": "a", "l2sm": "no"}, "replicaCount": 1}
    ours = {"podLabels": {"l2sm": "true"}, "l2net": {"nsId": "x"}}
    merged = merge_values(user, ours)
    assert merged == {"image": "nginx", "podLabels": {"team": "a", "l2sm": "true"}, "replicaCount": 1,
                      "l2net": {"nsId": "x"}}
    assert user["podLabels"] == {"team": "a", "l2sm": "no"}


# ---------------------------------------------------------------- records


def test_records_plan_equals_the_plan_from_package_files(osm: tuple[OsmDbDouble, FsDouble, Any]) -> None:
    """What the connector reads from LCM's db plans exactly as the CLI's files do (same names, IPs, values)."""
    db, _, onboarded = osm
    nsr_id = create_ns(db, onboarded, "vod-service", VIM)
    nsr = db.get_one("nsrs", {"_id": nsr_id})
    assert nsr is not None and "_admin" in nsr["nsd"]
    vnfrs = db.get_list("vnfrs", {"nsr-id-ref": nsr_id})
    vnfds = [db.get_one("vnfds", {"_id": v["vnfd-id"]}) for v in vnfrs]
    descriptors = records.descriptors_from_records(nsr["nsd"], [v for v in vnfds if v], f"nsrs/{nsr_id}")
    instance = records.instance_from_records(nsr, vnfrs, "admin-project")
    from osm_l2net.core.options import PlanOptions
    from osm_l2net.core.planner import build_plan

    from_records = build_plan(descriptors, instance, PlanOptions(namespace="admin-project"))
    from_files = api.plan(CDN_PACKAGES, ns_name="vod-service", ns_id=nsr_id, namespace="admin-project")

    def comparable(plan: Plan) -> dict[str, Any]:
        data = plan.as_dict()
        for kdu in data["kdus"]:
            kdu.pop("chartPath")  # files know the package's chart folder; LCM passes its own kdu_model
        data.pop("warnings")
        return data

    assert comparable(from_records) == comparable(from_files)
    assert from_records.ns_id == nsr_id and from_records.ns_name == "vod-service"


def test_instantiation_params_are_gathered_from_the_nsr_and_vnfrs(osm: tuple[OsmDbDouble, FsDouble, Any]) -> None:
    db, _, onboarded = osm
    config: dict[str, Any] = {"vld": [{"name": "my-first-osm-net", "vnfd-connection-point-ref": [
        {"member-vnf-index-ref": "cdn-server", "vnfd-connection-point-ref": "data-ext", "ip-address": "10.0.1.77"}]}],
        "additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
            {"kdu_name": "cdn-server", "additionalParams": {"service": {"type": "NodePort"}}}]}]}
    config["additionalParamsForNs"] = {"k8s-namespace": "vod-ns"}
    nsr_id = create_ns(db, onboarded, "vod", VIM, config)
    nsr = db.get_one("nsrs", {"_id": nsr_id})
    assert nsr is not None and "additionalParamsForVnf" not in nsr["instantiate_params"], "NBI's shape"
    instance = records.instance_from_records(nsr, db.get_list("vnfrs", {"nsr-id-ref": nsr_id}), "ns")
    vnf = instance.params.vnf("cdn-server")
    assert vnf is not None and instance.params.vld("my-first-osm-net") is not None
    kdu = vnf.kdu("cdn-server")
    assert kdu is not None and kdu.additional_params == {"service": {"type": "NodePort"}}, "decoded from '!!yaml'"
    assert kdu.k8s_namespace == "vod-ns" and instance.params.k8s_namespace == "vod-ns"


def test_kdu_entries_lookup_and_namespace() -> None:
    nsr = {"_id": "n1", "_admin": {"deployed": {"K8s": [
        {"kdu-instance": "a-1", "member-vnf-index": "m1", "kdu-name": "a", "namespace": "p1",
         "k8scluster-type": "helm-chart-v3", "k8scluster-uuid": "c1"},
        {"kdu-instance": "b-2", "member-vnf-index": "m2", "kdu-name": "b", "namespace": "p1",
         "k8scluster-type": "juju-bundle", "k8scluster-uuid": "c1"},
        {"kdu-instance": "c-3", "member-vnf-index": "m3", "kdu-name": "c", "namespace": "other",
         "k8scluster-type": "chart", "k8scluster-uuid": "c2"},
        {"kdu-instance": None, "member-vnf-index": "m4", "kdu-name": "d"},
    ]}}}
    hit = records.find_kdu(nsr, "c-3", "_admin.deployed.K8s.2")
    assert hit is not None and (hit.member_vnf_index, hit.kdu_name, hit.index) == ("m3", "c", 2)
    moved = records.find_kdu(nsr, "a-1", "_admin.deployed.K8s.2")  # a stale path: the kdu-instance decides
    assert moved is not None and moved.kdu_name == "a"
    assert records.find_kdu(nsr, "zzz") is None
    assert records.helm_kdu_instances(nsr) == {"a-1", "c-3"}, "juju KDUs are not this connector's"
    assert records.helm_kdu_instances(nsr, "c1") == {"a-1"}
    assert records.ns_namespace(nsr, None) == "p1" and records.ns_namespace({}, "fallback") == "fallback"


def test_stored_descriptor_keys_are_dropped_but_unknown_descriptor_keys_still_rejected() -> None:
    stored = {"_id": "x", "_admin": {}, "onboardingState": "ONBOARDED", "_links": {}, "id": "v", "product-name": "v",
              "kdu": [{"name": "k", "helm-chart": "k"}]}
    assert records.clean_descriptor(stored) == {"id": "v", "product-name": "v", "kdu": [{"name": "k", "helm-chart": "k"}]}
    with pytest.raises(InputError) as err:
        records.descriptors_from_records({"id": "n", "df": [{"id": "d"}], "bogus": 1}, [], "nsrs/1")
    assert "bogus" in str(err.value)
    assert not records.has_data_links({"id": "n", "virtual-link-desc": [{"id": "mgmt", "mgmt-network": True}]})
    assert records.has_data_links({"id": "n", "virtual-link-desc": [{"id": "mgmt", "mgmt-network": True}, {"id": "d"}]})


# ---------------------------------------------------------------- the connector without a cluster


def test_install_without_an_ns_reference_passes_params_through(tmp_path: Path) -> None:
    db, fs = OsmDbDouble(), FsDouble(tmp_path)
    conn = make_connector_class(RecordingBase)(fs=fs, db=db)
    params = {"a": 1}
    assert asyncio.run(conn.install("c1", "chart", "rel-1", params=params, db_dict=None, vca_id="v")) is True
    assert conn.installed == [("rel-1", params, {"vca_id": "v"})]
    assert db.calls == [] and fs.synced == []


def test_an_ns_with_only_the_management_network_is_left_alone(osm: tuple[OsmDbDouble, FsDouble, Any]) -> None:
    db, fs, onboarded = osm
    nsd = onboarded.nsd
    nsd["virtual-link-desc"] = [v for v in nsd["virtual-link-desc"] if v.get("mgmt-network")]
    nsr_id = create_ns(db, onboarded, "mgmt-only", VIM)
    conn = make_connector_class(RecordingBase)(fs=fs, db=db)
    results = asyncio.run(LcmReplay(db, conn, onboarded).instantiate(nsr_id))
    assert results == [True, True, True]
    assert all(params == {} for _, params, _ in conn.installed), "no attachment, the user's params as LCM gave them"
    assert asyncio.run(LcmReplay(db, conn, onboarded).terminate(nsr_id)) == [True, True, True]
    assert len(conn.uninstalled) == 3
    assert fs.synced == [], "the cluster is never contacted"
    assert {t for m, t, _ in db.calls if m.startswith("get")} <= {"nsrs", "vnfrs"}, "no VNFD read for an NS left alone"


def test_a_failed_network_preparation_is_shared_by_the_ns_kdus_then_retried(
        osm: tuple[OsmDbDouble, FsDouble, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    db, fs, onboarded = osm
    nsr_id = create_ns(db, onboarded, "vod", VIM)
    conn = make_connector_class(RecordingBase)(fs=fs, db=db)
    attempts: list[str] = []

    def failing_prepare(self: NsNetworks, conn: Any, nsr: Any, namespace: str | None) -> None:
        attempts.append(nsr["_id"])
        raise L2NetError("networks did not become ready: net-a: not Available")

    monkeypatch.setattr(NsNetworks, "_plan", failing_prepare)
    replay = LcmReplay(db, conn, onboarded)
    results = asyncio.run(replay.instantiate(nsr_id))
    assert all(isinstance(r, L2NetError) and "not Available" in str(r) for r in results)
    assert attempts == [nsr_id], "one attempt for the three concurrent KDU installs, not three"
    assert conn.installed == [], "no KDU is installed without its networks"
    asyncio.run(replay.instantiate(nsr_id))  # LCM runs the same KDUs again: a new attempt
    assert attempts == [nsr_id, nsr_id]


def test_load_base_without_osm_is_a_clear_error() -> None:
    with pytest.raises(OsmNotInstalled) as err:
        load_base()
    assert "osm_lcm.n2vc.k8s_helm3_conn" in str(err.value) and "LCM image" in str(err.value)


# ---------------------------------------------------------------- the launcher, with a stand-in LCM package

FAKE_LCM = {
    "osm_lcm/__init__.py": "",
    "osm_lcm/n2vc/__init__.py": "",
    "osm_lcm/n2vc/k8s_helm3_conn.py": """
        class K8sHelm3Connector:
            def __init__(self, fs, db, kubectl_command="/usr/bin/kubectl", helm_command="/usr/bin/helm3", log=None,
                         on_update_db=None):
                self.fs, self.db, self.log = fs, db, log
            async def install(self, cluster_uuid, kdu_model, kdu_instance, atomic=True, timeout=300, params=None,
                              db_dict=None, kdu_name=None, namespace=None, **kwargs):
                return True
            async def uninstall(self, cluster_uuid, kdu_instance, **kwargs):
                return True
    """,
    "osm_lcm/ns.py": """
        from osm_lcm.n2vc.k8s_helm3_conn import K8sHelm3Connector

        class NsLcm:
            def __init__(self):
                self.k8sclusterhelm3 = K8sHelm3Connector(kubectl_command="k", helm_command="h", fs=None, log=None,
                                                         db=None, on_update_db=None)
    """,
    "osm_lcm/lcm.py": """
        import json, sys
        from osm_lcm import ns

        class Lcm:
            def start(self):
                self.ns = ns.NsLcm()

        if __name__ == "__main__":
            import time
            lcm = Lcm()
            lcm.start()
            conn = type(lcm.ns.k8sclusterhelm3)
            deadline = time.monotonic() + 30
            while "osm_l2net.osm.networks" not in sys.modules and time.monotonic() < deadline:
                time.sleep(0.05)
            print(json.dumps({"argv": sys.argv[1:], "class": conn.__module__ + "." + conn.__qualname__,
                              "mro": [c.__module__ + "." + c.__qualname__ for c in conn.__mro__],
                              "preloaded": "osm_l2net.osm.networks" in sys.modules}))
    """,
}


def _run_launcher(pythonpath: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run([sys.executable, "-m", "osm_l2net.osm.lcm", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False, cwd=pythonpath[-1])


def test_launcher_starts_lcm_with_the_connector_in_place(tmp_path: Path) -> None:
    for name, text in FAKE_LCM.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    proc = _run_launcher([tmp_path, REPO], "-c", "/app/osm_lcm/lcm.cfg")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["argv"] == ["-c", "/app/osm_lcm/lcm.cfg"], "LCM gets its own arguments untouched"
    assert out["class"] == "osm_l2net.osm.lcm.L2NetK8sHelm3Connector"
    assert out["mro"][1:3] == ["osm_l2net.osm.lcm.Day2Operations", "osm_lcm.n2vc.k8s_helm3_conn.K8sHelm3Connector"], \
        "OSM's class right under the day-2 mixin"
    assert out["preloaded"], "the planner and the Kubernetes client are loaded in the background while LCM starts"


def test_launcher_without_lcm_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    proc = _run_launcher([REPO, tmp_path])
    assert proc.returncode == 2
    assert "OSM LCM is not installed here" in proc.stderr and "Traceback" not in proc.stderr


def test_launcher_rejects_bad_settings_before_starting_lcm(tmp_path: Path) -> None:
    env_backup = os.environ.get("OSM_L2NET_PROVIDER")
    os.environ["OSM_L2NET_PROVIDER"] = "flannel"
    try:
        proc = _run_launcher([REPO, tmp_path])
    finally:
        if env_backup is None:
            del os.environ["OSM_L2NET_PROVIDER"]
        else:
            os.environ["OSM_L2NET_PROVIDER"] = env_backup
    assert proc.returncode == 2 and "OSM_L2NET_PROVIDER" in proc.stderr


def test_importing_the_connector_module_loads_no_heavy_dependency() -> None:
    """LCM imports it at start-up: the Kubernetes client, requests and the planner's graph library come on first use
    (the import-time goal itself is measured in bench/osm_lcm_bench.py)."""
    code = ("import sys, osm_l2net.osm.lcm; "
            "print(sorted(m for m in ('kubernetes', 'requests', 'networkx', 'osm_l2net.kube.cluster', 'osm_l2net.core.planner', "
            "'osm_l2net.deploy.deployer') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, cwd=REPO)
    loaded = proc.stdout.strip()
    heavy = ("kubernetes", "requests", "networkx", "osm_l2net.kube.cluster", "osm_l2net.deploy.deployer")
    assert loaded.startswith("[") and not any(f"'{h}'" in loaded for h in heavy), loaded


def test_the_vnfd_revision_the_ns_was_made_from_is_used(osm: tuple[OsmDbDouble, FsDouble, Any]) -> None:
    """A package updated after the NS was created must not change the NS's plan: vnfds_revisions wins."""
    from osm_l2net.osm.lcm_records import vnfd_record as _vnfd_record

    db, _, onboarded = osm
    nsr_id = create_ns(db, onboarded, "vod", VIM)
    cdn = onboarded.vnfds["cdn_server_knf"]
    db.create("vnfds_revisions", {**cdn, "_id": f"{cdn['_id']}:1"})  # revision 1: what the vnfr names
    db.set_one("vnfds", {"_id": cdn["_id"]}, {"kdu": [{"name": "renamed", "helm-chart": "renamed"}]})  # revision 2
    vnfds = [_vnfd_record(db, v) for v in db.get_list("vnfrs", {"nsr-id-ref": nsr_id})]
    assert sorted(k["name"] for v in vnfds for k in v["kdu"]) == ["cdn-server", "content-server", "router-firewall"]
    without_revision = _vnfd_record(db, {"vnfd-id": cdn["_id"]})
    assert [k["name"] for k in without_revision["kdu"]] == ["renamed"], "no revision named: the current record"



def test_a_failed_attempt_counts_the_kdus_lcm_recorded_after_it_started(
        osm: tuple[OsmDbDouble, FsDouble, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """As deploy_kdus does: each KDU task writes its release name only as it starts, so the first install reads an
    nsr without the others'. Their installs still belong to the failed attempt (same error, no re-preparation), and
    a foreign exception is that attempt's error just like the project's own."""
    import threading

    db, fs, onboarded = osm
    nsr_id = create_ns(db, onboarded, "vod", VIM)
    conn = make_connector_class(RecordingBase)(fs=fs, db=db)
    entries = LcmReplay(db, conn, onboarded).deploy_entries(nsr_id)
    for i in range(1, len(entries)):  # only the first task has started: the others have not named their KDU yet
        db.set_one("nsrs", {"_id": nsr_id}, {f"_admin.deployed.K8s.{i}.kdu-instance": None})
    started, written = threading.Event(), threading.Event()
    attempts: list[str] = []

    def failing_prepare(self: NsNetworks, conn: Any, nsr: Any, namespace: str | None) -> None:
        attempts.append(nsr["_id"])
        started.set()
        assert written.wait(10)
        raise RuntimeError("the client broke")

    monkeypatch.setattr(NsNetworks, "_plan", failing_prepare)

    def install(i: int) -> Any:
        return conn.install(cluster_uuid="k8s-cluster-1", kdu_model="m", kdu_instance=entries[i]["kdu-instance"],
                            db_dict={"collection": "nsrs", "filter": {"_id": nsr_id}, "path": f"_admin.deployed.K8s.{i}"})

    async def installs() -> list[Any]:
        first = asyncio.ensure_future(install(0))
        assert await asyncio.to_thread(started.wait, 10)
        others = []
        for i in range(1, len(entries)):  # the other tasks start: name their KDU, then install
            db.set_one("nsrs", {"_id": nsr_id}, {f"_admin.deployed.K8s.{i}.kdu-instance": entries[i]["kdu-instance"]})
            others.append(asyncio.ensure_future(install(i)))
        await asyncio.sleep(0.1)  # they read their records and wait for the NS's lock
        written.set()
        return list(await asyncio.gather(first, *others, return_exceptions=True))

    results = asyncio.run(installs())
    assert attempts == [nsr_id], "one preparation for the attempt"
    assert all(isinstance(r, L2NetError) for r in results) and len({str(r) for r in results}) == 1, results
    assert "unexpected RuntimeError: the client broke" in str(results[0])
