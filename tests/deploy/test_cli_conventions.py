"""kubectl/helm habits through the real ``osm-l2net`` executable against the emulated cluster: cluster options before
the command, ``--dry-run=client|server`` (bare: client), Go-style durations (exit 2 naming the option otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from osm_l2net.core.plan import LABEL_VLD_ID
from tests.conftest import CDN_PACKAGES, REPO
from tests.deploy.conftest import Env
from tests.support.k8s_emulator import L2NETWORKS
from tests.support.k8s_harness import EmulatedCluster

EMULATOR_HELM = ["--helm-flag=--disable-openapi-validation", "--no-wait", "--no-atomic", "--no-create-namespace"]


@pytest.fixture
def env(kube_emulator: EmulatedCluster, helm_binary: str, tmp_path: Path) -> Env:
    (tmp_path / "scratch").mkdir()
    return Env(kube_emulator.kubeconfig, helm_binary, tmp_path / "scratch", kube_emulator)


def run(env: Env, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("osm-l2net")
    # PYTHONPATH: the checkout under test, not whatever checkout the venv's console script was installed from
    clean = {"PATH": f"{REPO / '.tools' / 'bin'}:/usr/bin:/bin", "HOME": str(env.scratch.parent / "home"),
             "PYTHONPATH": str(REPO)}
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False, env=clean)
    assert "Traceback" not in done.stderr
    assert done.returncode == code, done.stderr
    return done


def changes(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {f"{c['kind']}/{c['name']}": c["action"] for c in json.loads(done.stdout)["changes"]}


def test_cluster_options_before_the_command_as_after_it(env: Env) -> None:
    env.operator()
    kc = str(env.kubeconfig)
    run(env, "--kubeconfig", kc, "-n", "default", "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus")
    before = run(env, "--kubeconfig", kc, "-o", "json", "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment")
    after = run(env, "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--kubeconfig", kc, "-o", "json")
    assert before.stdout == after.stdout and all(n["ready"] for n in json.loads(before.stdout)["networks"])
    # an option after the command wins over the one before, as the last flag does in kubectl
    table = run(env, "--kubeconfig", kc, "-o", "json", "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-o", "table")
    assert table.stdout.startswith("VIRTUAL LINK")
    # -n before the command is the namespace of the networks: none there
    other = run(env, "--kubeconfig", kc, "-n", "elsewhere", "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-o", "json", code=1)
    assert not any(n["exists"] for n in json.loads(other.stdout)["networks"])
    # a bad value before the command is judged by the command's own option
    bad = run(env, "-o", "xml", "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--kubeconfig", kc, code=2)
    assert "Invalid value for '-o' / '--output': 'xml'" in bad.stderr


def test_dry_run_client_bare_and_server(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    kc = ["--kubeconfig", str(env.kubeconfig)]
    bare = run(env, "apply", "--dry-run", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", *kc, *EMULATOR_HELM, "-o", "json")  # bare, before a path
    client = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run=client", *kc, *EMULATOR_HELM, "-o", "json")
    assert changes(bare) == changes(client) and set(changes(client).values()) == {"create", "install"}
    assert emulated.log.writes() == []

    server = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run=server", *kc, *EMULATOR_HELM, "-o", "json")
    assert changes(server) == changes(client)
    writes = emulated.log.writes()
    assert len(writes) == 2 and all(w.method == "POST" and w.query.get("dryRun") == "All" for w in writes), writes
    assert emulated.list(L2NETWORKS, "default") == [], "a server dry run stores nothing"

    run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", *kc, "--no-kdus")
    net = next(iter(emulated.list(L2NETWORKS, "default")))
    emulated.patch(L2NETWORKS, "default", net["metadata"]["name"], {"spec": {"type": "ext-vnet"}})
    seen = len(emulated.log.writes())
    # our network with another spec: refused as apply refuses it (never patched in place), nothing sent
    refused = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run=server", *kc, "--no-kdus", "-o", "json", code=3)
    assert "spec differs from the plan" in refused.stderr and "type: ext-vnet → vnet" in refused.stderr
    assert emulated.log.writes()[seen:] == []
    emulated.patch(L2NETWORKS, "default", net["metadata"]["name"],
                   {"spec": {"type": "vnet"}, "metadata": {"labels": {LABEL_VLD_ID: None}}})
    seen = len(emulated.log.writes())
    again = changes(run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run=server", *kc, "--no-kdus", "-o", "json"))
    assert again == {f"L2Network/{n['metadata']['name']}": "update" if n["metadata"]["name"] == net["metadata"]["name"]
                     else "unchanged" for n in emulated.list(L2NETWORKS, "default")}
    patches = emulated.log.writes()[seen:]
    assert [(w.method, w.query.get("dryRun")) for w in patches] == [("PATCH", "All")]
    assert LABEL_VLD_ID not in emulated.get(L2NETWORKS, "default", net["metadata"]["name"])["metadata"]["labels"]

    wrong = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run=yes", *kc, code=2)
    assert "'yes' is not one of 'none', 'client', 'server'" in wrong.stderr


def test_server_dry_run_into_a_missing_namespace_says_what_to_do(env: Env) -> None:
    env.operator()
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-n", "fresh", "--dry-run=server", "--kubeconfig", str(env.kubeconfig),
               "--no-kdus", code=1)
    assert "namespace fresh does not exist" in done.stderr and "--dry-run=client" in done.stderr


@pytest.mark.parametrize(("option", "value"), [("--ready-timeout", "5x"), ("--connect-timeout", "1h30"),
                                               ("--helm-timeout", "-5s"), ("--progress-interval", "m")])
def test_a_bad_duration_is_exit_2_naming_the_option_and_the_forms(env: Env, option: str, value: str) -> None:
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", option, value, "--kubeconfig", str(env.kubeconfig), code=2)
    assert f"Invalid value for '{option}': '{value}' is not a duration" in done.stderr
    assert "Go-style duration (1h30m, 5m, 90s, 500ms) or plain seconds" in done.stderr
    assert env.emulator.log.entries() == []  # rejected before any contact


def test_durations_go_style_and_plain_seconds_are_accepted(env: Env) -> None:
    env.operator()
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus", "--ready-timeout", "1m30s", "--connect-timeout", "10",
               "--progress-interval", "500ms", "--kubeconfig", str(env.kubeconfig), "-o", "json")
    assert len(json.loads(done.stdout)["created"]) == 2


def test_server_dry_run_refuses_a_network_name_taken_by_someone_else(env: Env) -> None:
    from tests.deploy.conftest import cdn_plan

    name = cdn_plan().networks[0].name
    env.emulator.put(L2NETWORKS, "default", {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
                                             "metadata": {"name": name, "namespace": "default"},
                                             "spec": {"type": "vnet"}})
    seen = len(env.emulator.log.writes())
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run=server", "--kubeconfig", str(env.kubeconfig), "--no-kdus",
               code=3)
    assert f"L2Network default/{name} already exists and is not this NS instance's" in done.stderr
    assert len(env.emulator.log.writes()) == seen
