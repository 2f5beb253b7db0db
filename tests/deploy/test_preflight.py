"""The L2S-M pre-flight of ``apply`` (CLI and library) against the emulated cluster: each L2S-M fault is refused
before anything is written, with its exit code and a message naming the fix; ``--skip-preflight`` goes on anyway.

The emulator installs a healthy L2S-M 2.8.7 by default (tests/support/k8s_l2sm.py); each test breaks one part of it
the way the real cluster would be broken."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from osm_l2net.core.errors import EXIT_FAILURE, EXIT_INPUT
from osm_l2net.core.preflight import PreflightError
from osm_l2net.deploy import api as library
from tests.conftest import CDN_PACKAGES, REPO
from tests.deploy.conftest import FAST, cdn_plan
from tests.support import k8s_l2sm
from tests.support.k8s_emulator import ENDPOINTSLICES, L2NETWORKS, NADS, OVERLAYS
from tests.support.k8s_harness import EmulatedCluster

EMULATOR_HELM = ["--helm-flag=--disable-openapi-validation", "--no-wait", "--no-atomic", "--no-create-namespace"]
WEBHOOK_SLICE = f"{k8s_l2sm.WEBHOOK}-x7k2p"


def run(cluster: EmulatedCluster, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("osm-l2net")
    env = {"PATH": f"{REPO / '.tools' / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    if os.environ.get("PYTHONPATH"):  # a worktree's code under test, not the installed checkout's
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run([str(exe), "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", *EMULATOR_HELM,
                           *args, "--kubeconfig",
                           str(cluster.kubeconfig)], capture_output=True, text=True, timeout=120, check=False, env=env)
    assert "Traceback" not in done.stderr
    return done


def refused(cluster: EmulatedCluster, tmp_path: Path, code: int, *args: str) -> str:
    done = run(cluster, tmp_path, *args)
    assert done.returncode == code, done.stderr
    assert "L2S-M pre-flight failed, nothing was created" in done.stderr and "--skip-preflight" in done.stderr
    assert cluster.log.writes() == [], "a failed pre-flight writes nothing"
    assert cluster.list(L2NETWORKS, "default") == []
    return done.stderr


def test_a_webhook_without_ready_endpoints_refuses_apply_and_its_dry_run(kube_emulator: EmulatedCluster,
                                                                         tmp_path: Path) -> None:
    kube_emulator.patch(ENDPOINTSLICES, k8s_l2sm.NAMESPACE, WEBHOOK_SLICE,
                        {"endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": False}}]})
    err = refused(kube_emulator, tmp_path, EXIT_FAILURE)
    assert "service l2sm-system/l2sm-webhook-service: has no ready endpoint" in err
    assert "failurePolicy is Fail" in err
    assert "has no ready endpoint" in refused(kube_emulator, tmp_path, EXIT_FAILURE, "--dry-run")


def test_skip_preflight_goes_on(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    kube_emulator.delete(ENDPOINTSLICES, k8s_l2sm.NAMESPACE, WEBHOOK_SLICE)
    kube_emulator.operator.start()
    done = run(kube_emulator, tmp_path, "--skip-preflight", "--no-kdus")
    assert done.returncode == 0, done.stderr
    assert len(kube_emulator.list(L2NETWORKS, "default")) == 2


def test_no_overlay_and_no_ports_refuse_apply(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    for port in kube_emulator.list(NADS, k8s_l2sm.NAMESPACE):
        kube_emulator.delete(NADS, k8s_l2sm.NAMESPACE, port["metadata"]["name"])
    kube_emulator.patch(OVERLAYS, k8s_l2sm.NAMESPACE, k8s_l2sm.OVERLAY, {"metadata": {"finalizers": []}})
    kube_emulator.delete(OVERLAYS, k8s_l2sm.NAMESPACE, k8s_l2sm.OVERLAY)
    err = refused(kube_emulator, tmp_path, EXIT_FAILURE)
    assert "namespace l2sm-system: has no Overlay" in err
    assert "has no L2S-M port NetworkAttachmentDefinitions (app=l2sm" in err


def test_ports_all_taken_on_the_node_refuse_apply(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    k8s_l2sm.use_ports(kube_emulator, "node-1", 9)  # the CDN's router pod alone needs 2
    err = refused(kube_emulator, tmp_path, EXIT_FAILURE)
    assert "port capacity: the NS needs 4 port(s) (2 per pod at most)" in err and "node-1: 1 free" in err
    assert "l2sm/error" in err


def test_the_2023_provider_on_a_current_l2sm_is_bad_input(kube_emulator: EmulatedCluster, tmp_path: Path) -> None:
    err = refused(kube_emulator, tmp_path, EXIT_INPUT, "--provider", "l2sm-nad")
    assert "runs L2S-M 2.8 or later (image alexdecb/l2sm-controller-manager:2.8.7)" in err
    assert "--provider l2sm" in err


def test_no_l2sm_installed_refuses_apply(tmp_path: Path) -> None:
    with EmulatedCluster(workdir=tmp_path, l2sm=None) as cluster:
        cluster.call(cluster.emulator.resources.pop, L2NETWORKS)  # its CRDs are not installed either
        err = refused(cluster, tmp_path, EXIT_FAILURE)
    assert "serves no l2networks.l2sm.l2sm.k8s.local/v1" in err


def test_the_library_refuses_an_mtu_above_the_overlay(kube_emulator: EmulatedCluster) -> None:
    plan = cdn_plan()
    big = replace(plan, networks=(replace(plan.networks[0], mtu=9000), *plan.networks[1:]))
    with pytest.raises(PreflightError) as caught:
        library.apply(big, kubeconfig=kube_emulator.kubeconfig, kdus=False, policy=FAST)
    assert caught.value.exit_code == EXIT_INPUT
    assert "MTU 9000 is above the L2S-M overlay's 1400" in str(caught.value)
    assert kube_emulator.log.writes() == []


def test_a_healthy_l2sm_passes_and_the_checks_only_read(kube_emulator: EmulatedCluster) -> None:
    kube_emulator.operator.start()
    said: list[str] = []
    library.apply(cdn_plan(), kubeconfig=kube_emulator.kubeconfig, kdus=False, policy=FAST, progress=said.append)
    assert not [m for m in said if m.startswith("warning:")]
    reads = {e.path for e in kube_emulator.log.entries() if "l2sm-system" in e.path}
    assert any("deployments/l2sm-controller-manager" in p for p in reads)
    assert any("endpointslices" in p for p in reads) and any("network-attachment-definitions" in p for p in reads)
    assert not [e for e in kube_emulator.log.writes() if "l2sm-system" in e.path]


def test_an_inter_cluster_network_needs_a_network_edge_device(kube_emulator: EmulatedCluster) -> None:
    from tests.support.k8s_emulator import NEDS

    plan = cdn_plan()
    first = plan.networks[0]
    spec = {**first.manifest["spec"], "provider": {"name": "idco", "domain": ["10.0.0.1"]}}
    inter = replace(plan, networks=(replace(first, manifest={**first.manifest, "spec": spec}), *plan.networks[1:]))
    with pytest.raises(PreflightError) as caught:
        library.apply(inter, kubeconfig=kube_emulator.kubeconfig, kdus=False, policy=FAST, dry_run="client")
    assert "inter-cluster provider 'idco', and no NetworkEdgeDevice has it" in str(caught.value)
    # a NED of that provider, in any namespace (the operator lists them all), with what its CRD requires
    kube_emulator.put(NEDS, "default", {
        "apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "NetworkEdgeDevice", "metadata": {"name": "ned-1"},
        "spec": {"provider": {"name": "idco", "domain": ["10.0.0.1"]},
                 "nodeConfig": {"nodeName": "node-1", "ipAddress": "192.0.2.10"}}})
    done = library.apply(inter, kubeconfig=kube_emulator.kubeconfig, kdus=False, policy=FAST, dry_run="client")
    assert {c.action for c in done.changes} == {"create"}
    assert kube_emulator.log.writes() == []
