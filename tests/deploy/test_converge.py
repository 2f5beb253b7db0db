"""apply converges (issue 10 item 4): a re-run upgrades exactly the releases whose values or chart differ from the
plan, leaves the others without a single helm or Kubernetes API write, says why it upgrades (key paths, never
values), and its dry runs show the upgrade and a network's spec drift from reads only. A failed upgrade is rolled
back by helm --atomic and nothing that existed before the run is removed. Real helm against the API double."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net import api
from osm_l2net.core.errors import ConflictError
from osm_l2net.core.plan import KduPlan, Plan
from osm_l2net.deploy import api as library
from osm_l2net.deploy.deployer import Deployer, DeployError, UpgradeFailed
from osm_l2net.helm.runner import Helm
from tests.conftest import CDN_PACKAGES, REPO
from tests.deploy.conftest import Env, cdn_plan
from tests.deploy.test_cli_cluster import EMULATOR_HELM
from tests.support.k8s_emulator import L2NETWORKS, PODS, Resource
from tests.support.k8s_harness import EmulatedCluster
from tests.support.k8s_hooks import FaultPlan

DEPLOYMENTS = Resource("apps", "v1", "deployments")
SECRETS = Resource("", "v1", "secrets")
# a value that must never be printed: an origin URL with credentials in it
SECRET = "http://fetch:s3cr3t-token@10.0.2.10:80/video-content-file.avi"


def cdn_config(origin: str = SECRET) -> dict[str, Any]:
    """--config (ns-create's form) changing one value of the CDN server's KDU only."""
    return {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "cdn-server", "additionalParams": {"cdn": {"origin": origin}}}]}]}


def planned(config: dict[str, Any] | None = None, packages: list[str] | None = None) -> Plan:
    return api.plan(packages or CDN_PACKAGES, ns_name="vod-service-deployment", config=config)


def kdu_of(plan: Plan, member: str) -> KduPlan:
    return next(k for k in plan.kdus if k.member_vnf_index == member)


def revisions(env: Env, plan: Plan) -> dict[str, int]:
    listed = {r.name: r.revision for r in env.helm().list_releases(None)}
    return {k.release_name: listed[k.release_name] for k in plan.kdus}


def deployer(env: Env, lines: list[str], helm: Helm | None = None, **settings: Any) -> Deployer:
    made = env.deployer(**settings)
    made.progress = lines.append
    if helm is not None:
        made.helm = helm
    return made


def test_a_rerun_with_identical_inputs_writes_nothing_and_upgrades_nothing(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    emulated.workloads.start()
    plan = planned(cdn_config())
    env.deployer().instantiate(plan)
    before, rv = len(emulated.log.entries()), emulated.emulator.resource_version
    lines: list[str] = []
    again = deployer(env, lines).instantiate(planned(cdn_config()))
    assert again.upgraded == [] and again.installed == [] and again.created == []
    assert sorted(again.existing_releases) == sorted(k.release_name for k in plan.kdus)
    assert sorted(again.unchanged) == sorted(n.name for n in plan.networks)
    rerun = emulated.log.entries()[before:]
    assert rerun, "the re-run did read the cluster"
    assert [e for e in rerun if e.is_write] == [], "no write request at all (not even a create answered 409)"
    assert emulated.emulator.resource_version == rv, "nothing in the store changed"
    assert set(revisions(env, plan).values()) == {1}, "no helm upgrade"
    assert not any(line.startswith("upgrading") for line in lines) and "0 upgraded, 3 unchanged" in lines[-1]


def test_a_changed_config_value_upgrades_exactly_that_release_and_names_the_key_not_the_value(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    emulated.workloads.start()
    first = planned()
    env.deployer().instantiate(first)
    cdn = kdu_of(first, "cdn-server")
    others = [k for k in first.kdus if k is not cdn]
    before = len(emulated.log.entries())
    lines: list[str] = []
    report = deployer(env, lines).instantiate(planned(cdn_config()))

    assert report.upgraded == [cdn.release_name] and report.installed == []
    assert sorted(report.existing_releases) == sorted(k.release_name for k in others)
    assert revisions(env, first) == {cdn.release_name: 2, **{k.release_name: 1 for k in others}}
    assert env.helm().get_values(cdn.release_name, cdn.namespace)["cdn"] == {"origin": SECRET}
    writes = [f"{e.method} {e.path}" for e in emulated.log.entries()[before:] if e.is_write]
    new_record = "POST /api/v1/namespaces/default/secrets"  # helm's record of revision 2 (named in the body)
    assert writes.count(new_record) == 1 and all(cdn.release_name in w for w in writes if w != new_record), writes
    records = sorted(s["metadata"]["name"] for s in emulated.list(SECRETS, "default"))
    assert records == sorted([f"sh.helm.release.v1.{cdn.release_name}.v1", f"sh.helm.release.v1.{cdn.release_name}.v2",
                              *(f"sh.helm.release.v1.{k.release_name}.v1" for k in others)])

    upgrading = [line for line in lines if line.startswith("upgrading")]
    assert upgrading == [f"upgrading cdn-server/cdn-server (default/{cdn.release_name}, revision 1): values added: "
                         f"cdn"], lines
    assert not any("s3cr3t" in line for line in lines), "values may hold secrets: key paths only"

    deployment = next(d for d in emulated.list(DEPLOYMENTS, "default")
                      if d["metadata"]["name"].startswith(cdn.release_name))
    template = deployment["spec"]["template"]["metadata"]
    assert template["annotations"]["l2sm/networks"] == cdn.pod_annotations["l2sm/networks"], "still attached"
    pods = [p for p in emulated.list(PODS, "default") if p["metadata"]["name"].startswith(cdn.release_name)]
    assert pods and all(p["metadata"]["annotations"]["l2sm/networks"] == cdn.pod_annotations["l2sm/networks"]
                        for p in pods)
    assert emulated.workloads.violations == []

    again: list[str] = []
    second = planned({**cdn_config("http://10.0.2.10:80/other.avi")})
    assert deployer(env, again).instantiate(second).upgraded == [cdn.release_name]
    assert [line for line in again if line.startswith("upgrading")] == [
        f"upgrading cdn-server/cdn-server (default/{cdn.release_name}, revision 2): values changed: cdn.origin"]


def test_a_new_chart_version_is_an_upgrade(env: Env, tmp_path: Path) -> None:
    env.operator()
    packages = [str(shutil.copytree(p, tmp_path / Path(p).name)) for p in CDN_PACKAGES]
    plan = planned(packages=packages)
    env.deployer().instantiate(plan)
    cdn = kdu_of(plan, "cdn-server")
    chart_yaml = Path(str(cdn.chart_path)) / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    lines: list[str] = []
    report = deployer(env, lines).instantiate(planned(packages=packages))
    assert report.upgraded == [cdn.release_name]
    assert "chart cdn-server-1.0.0 → cdn-server-1.0.1" in next(line for line in lines if line.startswith("upgrading"))
    listed = {r.name: r.chart for r in env.helm().list_releases(None)}
    assert listed[cdn.release_name] == "cdn-server-1.0.1"



def _atomic_helm(env: Env) -> Helm:
    """helm with --atomic --wait, as a real apply runs it (the emulator's workload double lets --wait pass)."""
    return Helm(dataclasses.replace(env.helm().settings, atomic=True, wait=True, timeout=30))


def _refuse_configmap_patch_once(emulated: EmulatedCluster, kdu: KduPlan) -> None:
    """The upgrade's change of the KDU's ConfigMap (where cdn.origin goes) is refused once; helm's rollback then
    goes through."""
    emulated.faults = FaultPlan(seed=1, rate=1.0, kinds=(500,), limit=1,
                                match=lambda method, path: method == "PATCH" and "/configmaps/" in path
                                and kdu.release_name in path)

def test_a_failed_upgrade_is_rolled_back_by_helm_atomic_and_nothing_else_is_removed(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    emulated.workloads.start()  # pods become ready: helm --wait (which --atomic implies) can pass
    first = planned()
    env.deployer().instantiate(first)
    cdn = kdu_of(first, "cdn-server")
    atomic = _atomic_helm(env)
    _refuse_configmap_patch_once(emulated, cdn)
    lines: list[str] = []
    with pytest.raises(DeployError) as err:
        deployer(env, lines, helm=atomic).instantiate(planned(cdn_config()))
    emulated.faults = None
    failure = err.value
    assert isinstance(failure.__cause__, UpgradeFailed) and failure.exit_code == 1
    text = str(failure)
    assert f"upgrade of default/{cdn.release_name} (KDU cdn-server/cdn-server) from revision 1 failed" in text
    assert "helm --atomic rolled it back: revision 3 runs revision 1's chart and values" in text
    assert "s3cr3t" not in text
    assert failure.report.rolled_back == [cdn.release_name] and failure.report.upgraded == []
    assert sorted(failure.report.unchanged) == sorted(n.name for n in first.networks)
    for net in first.networks:  # they existed before the run: kept
        assert emulated.get(L2NETWORKS, "default", net.name) is not None
    status = env.helm().deployed(cdn.release_name, cdn.namespace)
    assert status is not None and (status.status, status.revision) == ("deployed", 3)
    assert "cdn" not in status.config, "revision 1's values run again"
    assert revisions(env, first) == {**{k.release_name: 1 for k in first.kdus}, cdn.release_name: 3}


def test_a_failed_upgrade_rolls_back_the_upgrades_this_run_made_and_keeps_what_was_there(env: Env) -> None:
    """Two releases changed: one upgrade fails (helm --atomic undoes it), the other succeeded and is rolled back to
    the revision that ran before, as a failed run uninstalls what it installed."""
    emulated = env.emulator
    env.operator()
    emulated.workloads.start()
    first = planned()
    env.deployer().instantiate(first)
    cdn, router = kdu_of(first, "cdn-server"), kdu_of(first, "router-firewall")
    config = cdn_config()
    config["additionalParamsForVnf"].append({"member-vnf-index": "router-firewall", "additionalParamsForKdu": [
        {"kdu_name": "router-firewall", "additionalParams": {"fullnameOverride": "router-server-knf"}}]})
    atomic = _atomic_helm(env)
    _refuse_configmap_patch_once(emulated, cdn)
    lines: list[str] = []
    with pytest.raises(DeployError) as err:
        deployer(env, lines, helm=atomic, concurrency=1).instantiate(planned(config))
    emulated.faults = None
    assert sorted(err.value.report.rolled_back) == sorted([cdn.release_name, router.release_name])
    assert str(err.value).startswith(f"KDU installation failed (releases rolled back: "
                                     f"{', '.join(sorted([cdn.release_name, router.release_name]))}): upgrade of")
    router_now = env.helm().deployed(router.release_name, router.namespace)
    assert router_now is not None and router_now.status == "deployed" and "fullnameOverride" not in router_now.config
    assert router_now.revision == 3, "upgraded to 2 by the run, then rolled back to 1's chart and values as 3"
    assert any(line.startswith("rolling back 1 release(s)") for line in lines), lines
    for net in first.networks:
        assert emulated.get(L2NETWORKS, "default", net.name) is not None


def test_without_atomic_a_failed_upgrade_is_left_failed_and_the_next_run_upgrades_it_again(env: Env) -> None:
    """A release whose last upgrade failed ran before: it is upgraded again, never uninstalled and installed anew
    (a failed first install is)."""
    emulated = env.emulator
    env.operator()
    first = planned()
    env.deployer().instantiate(first)
    cdn = kdu_of(first, "cdn-server")
    emulated.faults = FaultPlan(seed=1, rate=1.0, kinds=(500,), limit=1,
                                match=lambda method, path: method == "PATCH" and "/configmaps/" in path
                                and cdn.release_name in path)
    with pytest.raises(DeployError) as err:
        env.deployer().instantiate(planned(cdn_config()))  # the test double's helm: --no-atomic
    emulated.faults = None
    assert "it is left failed at revision 2 (without --atomic); a re-run upgrades it again" in str(err.value)
    assert err.value.report.rolled_back == []
    lines: list[str] = []
    again = deployer(env, lines).instantiate(planned(cdn_config()))
    assert again.upgraded == [cdn.release_name] and again.installed == []
    assert any("its last upgrade failed (revision 2)" in line for line in lines), lines
    now = env.helm().deployed(cdn.release_name, cdn.namespace)
    assert now is not None and (now.status, now.revision) == ("deployed", 3)
    assert not [e for e in emulated.log.select("DELETE") if "sh.helm.release" in e.path], "never uninstalled"


def test_dry_runs_show_the_upgrade_with_its_keys_and_write_nothing(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = planned()
    env.deployer().instantiate(plan)
    cdn = kdu_of(plan, "cdn-server")
    before = len(emulated.log.entries())
    for mode in ("client", "server"):
        result = library.apply(planned(cdn_config()), kubeconfig=env.kubeconfig, helm=env.helm().settings,
                               dry_run=mode)  # type: ignore[arg-type]
        actions = {(c.kind, c.name): (c.action, c.detail) for c in result.changes}
        assert actions[("HelmRelease", cdn.release_name)] == ("upgrade", "values added: cdn"), mode
        assert {a for (kind, _), (a, _) in actions.items() if kind != "HelmRelease"} == {"unchanged"}
        assert sum(a == "unchanged" for (kind, _), (a, _) in actions.items() if kind == "HelmRelease") == 2
    writes = [e for e in emulated.log.entries()[before:] if e.is_write]
    assert writes == [], [f"{e.method} {e.path}" for e in writes]
    assert set(revisions(env, plan).values()) == {1}


def test_the_client_dry_run_refuses_network_spec_drift_from_reads_only(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = cdn_plan()
    env.deployer(with_helm=False).create_networks(plan)
    net = plan.networks[0]
    live = emulated.l2network("default", net.name)
    assert live is not None
    emulated.patch(L2NETWORKS, "default", net.name, {"spec": {"networkCIDR": "10.9.0.0/24"}})
    before = len(emulated.log.entries())
    with pytest.raises(ConflictError) as err:
        library.apply(plan, kubeconfig=env.kubeconfig, kdus=False, dry_run="client")
    assert err.value.exit_code == 3
    assert f"{net.name} is this NS instance's but its spec differs from the plan" in str(err.value)
    assert f"networkCIDR: 10.9.0.0/24 → {live['spec']['networkCIDR']}" in str(err.value)
    assert [e for e in emulated.log.entries()[before:] if e.is_write] == []
    assert [e for e in emulated.log.entries()[before:] if e.query.get("dryRun")] == [], "reads only"


def run(env: Env, *args: str, check_code: int = 0) -> subprocess.CompletedProcess[str]:
    """The real executable, as test_cli_cluster runs it; a PYTHONPATH given to the tests reaches it too (a worktree
    whose venv has another checkout installed)."""
    exe = Path(sys.executable).with_name("osm-l2net")
    clean = {"PATH": f"{REPO / '.tools' / 'bin'}:/usr/bin:/bin", "HOME": str(env.scratch.parent / "home")}
    if os.environ.get("PYTHONPATH"):
        clean["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run([str(exe), *args, "--kubeconfig", str(env.kubeconfig)], capture_output=True, text=True,
                          timeout=120, check=False, env=clean)
    assert "Traceback" not in done.stderr
    assert done.returncode == check_code, done.stderr
    return done


def test_the_cli_reports_upgraded_and_its_client_dry_run_exits_3_with_the_drift(env: Env, tmp_path: Path) -> None:
    emulated = env.emulator
    env.operator()
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", *EMULATOR_HELM)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cdn_config()))
    cdn = kdu_of(planned(), "cdn-server")

    dry = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--config", str(config), "--dry-run", *EMULATOR_HELM)
    assert any(line.split()[:2] == ["upgrade", "HelmRelease"] and line.rstrip().endswith("values added: cdn")
               for line in dry.stdout.splitlines()), dry.stdout
    applied = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--config", str(config), *EMULATOR_HELM, "-o", "json")
    assert json.loads(applied.stdout)["upgraded"] == [cdn.release_name]
    assert f"upgrading cdn-server/cdn-server (default/{cdn.release_name}, revision 1): values added: cdn" in applied.stderr
    assert "s3cr3t" not in applied.stdout + applied.stderr
    table = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--config", str(config), *EMULATOR_HELM)
    assert "upgraded" not in table.stdout and "existing_releases" in table.stdout, "unchanged now"

    net = planned().networks[0]
    emulated.patch(L2NETWORKS, "default", net.name, {"spec": {"networkCIDR": "10.9.0.0/24"}})
    before = len(emulated.log.entries())
    refused = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--config", str(config), "--dry-run", *EMULATOR_HELM, check_code=3)
    assert f"{net.name} is this NS instance's but its spec differs" in refused.stderr
    assert "networkCIDR: 10.9.0.0/24 → " in refused.stderr
    assert [e for e in emulated.log.entries()[before:] if e.is_write] == []
