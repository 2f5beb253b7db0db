"""Campaign 7: `osm-l2net apply` killed at a random moment (SIGTERM, SIGINT, SIGKILL) against the Kubernetes API
emulator, helm installing for real, one package given as a .tar.gz (so the package cache is written too). Each run has
its own TMPDIR and cache. After SIGTERM/SIGINT the command unwinds (exit 143/130, helm stopped, values files and
partial unpacks removed) and TMPDIR holds 0 files at once; after SIGKILL nothing can clean up, so the next run
(the same apply, which converges) removes what the killed one left: then too 0 files. The cache holds only complete
package folders, never a partial unpack."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

from tests.conftest import CDN_PACKAGES, REPO
from tests.deploy.conftest import Env
from tests.reliability.conftest import Scale, report
from tests.support.k8s_emulator import L2NETWORKS

SEED = 20261203
EXE = Path(sys.executable).with_name("osm-l2net")
EMULATOR_HELM = ["--helm-flag=--disable-openapi-validation", "--no-wait", "--no-atomic", "--no-create-namespace"]
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)


def packages(tmp_path: Path) -> list[str]:
    """The CDN packages, the first one as an OSM package archive."""
    first = Path(CDN_PACKAGES[0])
    archive = tmp_path / f"{first.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(first, arcname=first.name)
    return [str(archive), *CDN_PACKAGES[1:]]


class Runner:
    def __init__(self, env: Env, home: Path, paths: list[str]) -> None:
        self.home, self.paths = home, paths
        self.tmp, self.cache = home / "tmp", home / "cache"
        for folder in (self.tmp, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        self.env = {"PATH": f"{REPO / '.tools' / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin",
                    "HOME": str(home), "TMPDIR": str(self.tmp), "XDG_CACHE_HOME": str(self.cache), "LANG": "C.UTF-8",
                    "PYTHONPATH": str(REPO)}
        self.argv = [str(EXE), "apply", *paths, "--ns-name", "vod-service-deployment", "--kubeconfig",
                     str(env.kubeconfig), *EMULATOR_HELM]

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, command: str = "apply") -> subprocess.CompletedProcess[str]:
        argv = [self.argv[0], command, *self.argv[2:]] if command != "apply" else self.argv
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=300, check=False)

    def left_in_tmp(self) -> list[str]:
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*"))

    def partial_in_cache(self) -> list[str]:
        folder = self.cache / "osm-l2net" / "packages"
        return sorted(p.name for p in folder.iterdir() if not re.fullmatch(r"[0-9a-f]{16}", p.name)) \
            if folder.is_dir() else []


def descendants(pid: int) -> list[int]:
    """Pids of the process tree under ``pid`` (helm and its post-renderer run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_gone(pids: list[int], timeout: float = 60.0) -> None:
    """Wait for the orphans of a SIGKILLed run (helm finishing its request) to exit; stop them past ``timeout``."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return "zombie" if (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" else "alive"
    except OSError:
        return "zombie"


def test_a_command_killed_at_random_points_leaves_no_file(env: Env, scale: Scale, tmp_path: Path) -> None:
    env.operator()
    paths = packages(tmp_path)
    rnd = random.Random(SEED)
    base = Runner(env, tmp_path / "clean", paths)
    started = time.monotonic()
    clean = base.run()
    duration = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr
    assert base.run("delete").returncode == 0
    assert base.left_in_tmp() == [] and base.partial_in_cache() == []
    counts: Counter[str] = Counter()
    rounds = scale(6, 45)
    for i in range(rounds):
        sig = SIGNALS[i % len(SIGNALS)]
        runner = Runner(env, tmp_path / f"round-{i}", paths)
        proc = runner.start()
        t0 = time.monotonic()
        if (i // len(SIGNALS)) % 2:  # every other round of each signal: while a helm install runs
            while not any("helm" in _cmdline(p) for p in descendants(proc.pid)) and proc.poll() is None \
                    and time.monotonic() - t0 < 60:
                time.sleep(0.02)
            time.sleep(rnd.uniform(0, 0.3))
        else:  # any moment, from the first imports to the last helm install
            time.sleep(rnd.uniform(0.3, duration))
        delay = time.monotonic() - t0
        tree = descendants(proc.pid)
        during_helm = any("helm" in _cmdline(pid) for pid in tree)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        where = f"round {i}: {sig.name} after {delay:.2f} s (helm running: {during_helm}): exit {proc.returncode}\n{err}"
        if sig == signal.SIGKILL:
            wait_gone(tree)
            time.sleep(1.1)  # scratch.MIN_AGE: the sweep leaves folders younger than that alone
            again = runner.run()
            assert again.returncode == 0, f"the next run converges: {again.stderr}\n{where}"
        else:
            started_work = "· " in err
            # -sig: Python's default action, before main() installs the handlers (the modules still imported, nothing
            # done); once main() returns the console script ignores signals, so the command's own code stands
            assert proc.returncode in (0, 128 + sig) or (proc.returncode == -sig and not started_work), where
            if proc.returncode == 128 + sig:
                assert f"interrupted by {sig.name}" in err and "Traceback" not in err, where
        assert runner.left_in_tmp() == [], where
        assert runner.partial_in_cache() == [], where
        outside = "" if sig == signal.SIGKILL or proc.returncode == 128 + sig else \
            "-before-main" if proc.returncode == -sig else "-after-the-work"
        counts[f"{sig.name}{'-during-helm' if during_helm else ''}{outside}"] += 1
        runner.run("delete")
        assert env.emulator.list(L2NETWORKS, "default") == [], f"delete after {where}"
    report("interrupts", scale, rounds=rounds, clean_apply_s=round(duration, 1), files_left=0, **dict(sorted(counts.items())))


def _cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
