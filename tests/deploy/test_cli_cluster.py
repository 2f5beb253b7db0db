"""The cluster commands as a user runs them: the real ``osm-l2net`` executable against the emulated cluster."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.conftest import CDN_PACKAGES, REPO
from tests.deploy.conftest import Env
from tests.support.k8s_emulator import L2NETWORKS, Resource

# the emulator serves no /openapi and runs no controllers (see tests/deploy/conftest.py)
EMULATOR_HELM = ["--helm-flag=--disable-openapi-validation", "--no-wait", "--no-atomic", "--no-create-namespace"]


def run(env: Env, *args: str, check_code: int | None = 0) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("osm-l2net")
    # a HOME of its own: helm and the client keep caches under $HOME/.kube and $HOME/.cache
    # PYTHONPATH: the checkout under test, not whatever checkout the venv's console script was installed from
    clean = {"PATH": f"{REPO / '.tools' / 'bin'}:/usr/bin:/bin", "HOME": str(env.scratch.parent / "home"),
             "PYTHONPATH": str(REPO)}
    done = subprocess.run([str(exe), *args, "--kubeconfig", str(env.kubeconfig)], capture_output=True, text=True,
                          timeout=120, check=False, env=clean)
    assert "Traceback" not in done.stderr
    if check_code is not None:
        assert done.returncode == check_code, done.stderr
    return done


def test_apply_status_delete_gc(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    dry = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--dry-run", *EMULATOR_HELM, "-o", "json")
    changes = json.loads(dry.stdout)["changes"]
    assert {c["action"] for c in changes} == {"create", "install"} and len(changes) == 5
    assert emulated.log.writes() == [], "--dry-run wrote nothing"

    applied = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--config", str(REPO / "examples" / "cdn_vod" / "config.yaml"),
                  *EMULATOR_HELM, "-o", "yaml")
    report = yaml.safe_load(applied.stdout)
    assert len(report["created"]) == 2 and len(report["installed"]) == 3
    assert "networks:" in applied.stderr and "installing" in applied.stderr  # progress on stderr
    deployments = [o["metadata"]["name"] for o in emulated.list(Resource("apps", "v1", "deployments"), "default")]
    assert "router-server-knf" in deployments, deployments  # examples/cdn_vod/config.yaml names it as the PoC did

    status = run(env, "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-o", "json")
    nets = json.loads(status.stdout)["networks"]
    assert [n["ready"] for n in nets] == [True, True]
    assert {n["vld"] for n in nets} == {"my-first-osm-net", "my-second-osm-net"}

    # the same inputs (the same --config): nothing would change; without it the releases' values differ (upgrade)
    again = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment",
                "--config", str(REPO / "examples" / "cdn_vod" / "config.yaml"),
                "--dry-run", *EMULATOR_HELM, "-o", "json")
    assert {c["action"] for c in json.loads(again.stdout)["changes"]} == {"unchanged"}

    deleted = run(env, "delete", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", *EMULATOR_HELM, "-o", "json")
    assert len(json.loads(deleted.stdout)["deleted"]) == 2

    gone = run(env, "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-o", "json", check_code=1)  # missing networks are a problem: exit 1
    assert all(not n["exists"] for n in json.loads(gone.stdout)["networks"])


def test_gc_removes_only_orphans_of_gone_ns_instances(env: Env) -> None:
    env.operator()
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "keep-me", "--no-kdus")
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "orphan", "--no-kdus")
    from osm_l2net.core.names import default_ns_id

    out = run(env, "gc", "--keep", default_ns_id("keep-me"), "-o", "json")
    rows = json.loads(out.stdout)["gc"]
    assert {r["action"] for r in rows} == {"deleted"} and len(rows) == 2
    assert all(r["nsId"] == default_ns_id("orphan") for r in rows)
    left = run(env, "status", *CDN_PACKAGES, "--ns-name", "keep-me", "-o", "json")
    assert all(n["ready"] for n in json.loads(left.stdout)["networks"])


def test_cluster_errors_are_clear(env: Env, tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("this: is: not: a kubeconfig")
    exe = Path(sys.executable).with_name("osm-l2net")
    home = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run([str(exe), "status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--kubeconfig", str(bad)], capture_output=True,
                          text=True, timeout=60, check=False, env=home)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot use the cluster credentials" in done.stderr
    missing = subprocess.run([str(exe), "gc", "--keep", "x", "--kubeconfig", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60, check=False, env=home)
    assert missing.returncode == 1
    assert f"no kubeconfig: {tmp_path / 'nope'} (given by --kubeconfig) does not exist" in missing.stderr


def _osm_l2net(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    exe = Path(sys.executable).with_name("osm-l2net")
    started = time.monotonic()
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False, env=env)
    assert "Traceback" not in done.stderr
    return done, time.monotonic() - started


def test_kubeconfig_messages_say_where_the_path_came_from(tmp_path: Path) -> None:
    home = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    by_env, _ = _osm_l2net("status", *CDN_PACKAGES, "--ns-name", "vod-service-deployment",
                           env={**home, "KUBECONFIG": "/nonexistent"})
    assert by_env.returncode == 1, by_env.stderr
    assert "no kubeconfig: $KUBECONFIG=/nonexistent names no existing file" in by_env.stderr
    nowhere, _ = _osm_l2net("gc", "--keep", "x", env=home)
    assert nowhere.returncode == 1
    assert f"{tmp_path}/.kube/config does not exist and neither --kubeconfig nor $KUBECONFIG is set" in nowhere.stderr


def test_a_closed_port_ends_the_command_at_once(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        server = f"http://127.0.0.1:{sock.getsockname()[1]}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "c", "cluster": {"server": server}}], "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "c", "user": "u"}}]}))
    done, elapsed = _osm_l2net("apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus", "--kubeconfig", str(kubeconfig),
                               "--connect-timeout", "0.5", env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)})
    assert done.returncode == 1, done.stderr
    assert f"error: cannot reach the Kubernetes API server {server} (context 'lab' of kubeconfig {kubeconfig}" \
           in done.stderr and "connection refused" in done.stderr
    assert done.stderr.count("trying again") == 2, "each retry of the first contact is said on stderr"
    assert elapsed < 30, f"seconds, not minutes ({elapsed:.1f}s)"


def test_apply_with_the_operator_down_says_what_it_waits_for(env: Env) -> None:
    emulated = env.emulator
    emulated.operator.start(ready_after=None)  # finalizer, never a status: the operator is "down"
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "--no-kdus", "--ready-timeout", "1.5", "--progress-interval", "0.2",
               check_code=4)
    assert done.stderr.startswith(f"· cluster: {emulated.url} (context 'emulator' of kubeconfig {env.kubeconfig}, "
                                  f"chosen by --kubeconfig)\n"), "which cluster is changed, before anything else"
    ticks = [line for line in done.stderr.splitlines() if "no status.internalConnectivity yet after" in line]
    assert len(ticks) >= 3, done.stderr
    assert all(line.startswith("· L2Network default/") and line.endswith(
        "(is the L2S-M operator running? kubectl -n l2sm-system get pods)") for line in ticks), ticks
    assert "error: networks did not become ready" in done.stderr and "rolling back" in done.stderr
    assert emulated.list(L2NETWORKS, "default") == [], "what this run created is rolled back"


def test_the_cluster_commands_report_every_problem_of_bad_descriptors_as_plan_does(env: Env) -> None:
    """One error handler for every command: the five problems of the docs' broken NSD, each on its own line, exit 2,
    and nothing written to the cluster."""
    broken = [str(REPO / "docs" / "examples" / "broken_vod_nsd.yaml"), *(p for p in CDN_PACKAGES if p.endswith("_knf"))]
    exe = Path(sys.executable).with_name("osm-l2net")
    planned = subprocess.run([str(exe), "plan", *broken], capture_output=True, text=True, timeout=60, check=False)
    reference = planned.stderr.splitlines()
    assert planned.returncode == 2
    assert len(reference) == 5 and all(line.startswith("error: ") for line in reference)
    for command in ("apply", "delete", "status"):
        done = run(env, command, *broken, "--ns-name", "x", check_code=2)
        assert [line for line in done.stderr.splitlines() if not line.startswith("· ")] == reference, command
    assert env.emulator.log.writes() == []
