"""The library's cluster half (``osm_l2net.apply``/``status``/``delete``) against the emulated cluster with the real
helm: the same round trip as ``osm-l2net apply|status|delete`` (tests/deploy/test_cli_cluster.py), as function calls
that return data and print nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import osm_l2net
from osm_l2net.core.errors import L2NetError
from osm_l2net.deploy.deployer import DeploySettings
from osm_l2net.helm.runner import HelmSettings
from tests.conftest import DESCRIPTORS
from tests.deploy.conftest import FAST, Env
from tests.support.k8s_emulator import L2NETWORKS


def _helm(env: Env) -> HelmSettings:
    """The emulator serves no /openapi and runs no controllers (tests/deploy/conftest.py): no validation, no waits."""
    if env.emulated is None:
        return HelmSettings(binary=env.helm_binary, tmp_dir=str(env.scratch))
    return HelmSettings(binary=env.helm_binary, wait=False, atomic=False, timeout=60,
                        extra_flags=("--disable-openapi-validation",), create_namespace=False, tmp_dir=str(env.scratch))


def test_apply_status_delete_round_trip_through_the_library(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.operator()
    lines: list[str] = []
    wait = 5.0 if env.emulated is not None else 300.0
    common = {"kubeconfig": env.kubeconfig, "helm": _helm(env), "policy": FAST, "progress": lines.append,
              "settings": DeploySettings(ready_timeout=wait, delete_timeout=wait, pods_gone_timeout=wait)}

    applied = osm_l2net.apply(DESCRIPTORS, ns_name="vod-service-deployment", **common)  # a folder of packages
    assert applied.plan.namespace == "default"  # no namespace given: the kubeconfig context's, as kubectl does
    assert len(applied.report.created) == 2 and len(applied.report.installed) == 3, applied.report
    assert lines[0].startswith("cluster: ") and any("installing" in line for line in lines)
    if env.emulated is not None:
        names = {o["metadata"]["name"] for o in env.emulated.list(L2NETWORKS, "default")}
        assert names == {n.name for n in applied.plan.networks}

    found = osm_l2net.status(applied.plan, kubeconfig=env.kubeconfig, policy=FAST)
    assert found.ready and [n.ready for n in found.networks] == [True, True]
    assert {row["vld"] for row in found.as_dict()["networks"]} == {"my-first-osm-net", "my-second-osm-net"}

    again = osm_l2net.apply(applied.plan, dry_run="client", **common)
    assert {c.action for c in again.changes} == {"unchanged"} and len(again.changes) == 5
    assert again.report.created == [] and again.report.installed == []

    deleted = osm_l2net.delete(applied.plan, **common)
    assert sorted(deleted.report.deleted) == sorted(applied.report.created)
    assert sorted(deleted.report.uninstalled) == sorted(applied.report.installed)

    gone = osm_l2net.status(applied.plan, kubeconfig=env.kubeconfig, policy=FAST)
    assert not gone.ready and all(not n.exists for n in gone.networks) and len(gone.problems) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", "the library prints nothing: progress goes to the callback"


def test_dry_run_from_paths_changes_nothing(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    dry = osm_l2net.apply([DESCRIPTORS], ns_name="dry", kubeconfig=env.kubeconfig, helm=_helm(env), policy=FAST,
                          dry_run="client", progress=lambda m: None)
    assert {c.action for c in dry.changes} == {"create", "install"} and len(dry.changes) == 5
    assert emulated.log.writes() == [], "a dry run writes nothing"


def test_arguments_that_cannot_go_together_are_refused_before_connecting() -> None:
    plan = osm_l2net.plan(DESCRIPTORS, ns_name="x")
    nowhere = "/nonexistent/kubeconfig"  # a connection attempt would fail differently
    with pytest.raises(ValueError, match="ns_name is required"):
        osm_l2net.status(DESCRIPTORS, kubeconfig=nowhere)
    with pytest.raises(ValueError, match="namespace 'other' differs from the plan's 'default'"):
        osm_l2net.apply(plan, namespace="other", kubeconfig=nowhere)
    with pytest.raises(ValueError, match="ns_name: for planning from paths; this call was given a Plan"):
        osm_l2net.delete(plan, ns_name="y", kubeconfig=nowhere)


def _second_nsd(tmp_path: Path) -> list[str]:
    """Another NSD with the CDN's VLD ids but other addressing (10.20.0.0/24 for my-first-osm-net), its KNFs shared."""
    packages = tmp_path / "packages"
    shutil.copytree(DESCRIPTORS, packages)
    nsd = packages / "vod_service_ns" / "vod_service_nsd.yaml"
    text = nsd.read_text().replace("10.0.1.", "10.20.0.").replace("vod_service_ns", "other_service_ns")
    nsd.write_text(text)
    return sorted(str(p) for p in packages.iterdir() if p.is_dir())


def test_two_nsds_under_one_ns_name_the_second_apply_is_refused_and_touches_nothing(env: Env, tmp_path: Path) -> None:
    # issue 10: the second NSD's apply "adopted" the first NS's network and patched its CIDR, exit 0, no warning
    emulated = env.emulator
    env.operator()
    common = {"kubeconfig": env.kubeconfig, "policy": FAST, "kdus": False,
              "settings": DeploySettings(ready_timeout=5.0, delete_timeout=5.0, pods_gone_timeout=5.0)}
    first = osm_l2net.apply(DESCRIPTORS, ns_name="shared-name", **common)
    assert sorted(n.cidr or "" for n in first.plan.networks) == ["10.0.1.0/24", "10.0.2.0/24"]
    before = {o["metadata"]["name"]: o for o in emulated.list(L2NETWORKS, "default")}
    stored = len([w for w in emulated.log.writes() if w.status < 300])

    with pytest.raises(L2NetError) as err:
        osm_l2net.apply(_second_nsd(tmp_path), ns_name="shared-name", **common)
    assert err.value.exit_code == 3, "a ConflictError: the CLI exits 3"
    message = str(err.value)
    # the NSD label tells the two NSs apart before any network is compared: both NSDs are named
    assert "vod_service_ns" in message and "other_service_ns" in message and "--ns-name" in message, message
    after = {o["metadata"]["name"]: o for o in emulated.list(L2NETWORKS, "default")}
    assert after == before, "the first NS's networks are untouched"
    assert len([w for w in emulated.log.writes() if w.status < 300]) == stored, "0 writes stored"
    with pytest.raises(L2NetError, match="not from this plan's NSD other_service_ns"):
        osm_l2net.apply(_second_nsd(tmp_path / "server"), ns_name="shared-name", dry_run="server", **common)
    assert emulated.list(L2NETWORKS, "default") == list(before.values()), "the server dry run refuses the same"
