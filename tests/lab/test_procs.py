"""Processes started inside a namespace without ``ip netns exec``: they run there, and a daemon that does not come up
is a clear error (which program, what it logged), never a hang or a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from osm_l2net.core.errors import LabError, ToolError
from osm_l2net.lab import netlink, procs

pytestmark = pytest.mark.lab


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"l2n-procs{os.getpid() % 100000}"  # a pid of its own in each pytest-xdist worker
    netlink.ensure_netns(name)
    yield name
    netlink.delete_netns(name)


def test_a_tool_runs_in_the_namespace_and_reports_its_failure(netns: str) -> None:
    inode = os.stat(f"/run/netns/{netns}").st_ino
    done = procs.run(netns, ["stat", "-L", "-c", "%i", "/proc/self/ns/net"])
    assert int(done.stdout) == inode != os.stat("/proc/self/ns/net").st_ino
    with pytest.raises(ToolError, match="no such"):
        procs.run(netns, ["sh", "-c", "echo no such thing >&2; exit 3"])
    job = procs.run_in_background(netns, ["sh", "-c", "cat; exit 4"], "the script\n")
    with pytest.raises(ToolError, match="the script"):
        job.pid()


def test_a_daemon_that_never_detaches_is_an_error_naming_it(netns: str, tmp_path: Path) -> None:
    log = tmp_path / "start.log"
    # sh, not python: under load a python child may not reach its print within the timeout, and the error's log tail
    # (what the test checks) would then be empty
    argv = ["sh", "-c", "echo still starting; exec sleep 30"]
    with pytest.raises(LabError, match=r"did not detach within 1.5s: still starting"):
        procs.start_daemon(netns, argv, tmp_path / "x.pid", log, timeout=1.5)


def test_a_daemon_that_detaches_without_its_pid_file_is_an_error(netns: str, tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"did not write .*x.pid within 0.3s"):
        procs.start_daemon(netns, ["true"], tmp_path / "x.pid", tmp_path / "start.log", timeout=0.3)


def test_a_daemon_that_fails_is_a_tool_error_with_its_log(netns: str, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="bad config"):
        procs.start_daemon(netns, ["sh", "-c", "echo bad config; exit 1"], tmp_path / "x.pid", tmp_path / "s.log")


def test_a_missing_namespace_is_a_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="no network namespace l2n-never-there"):
        procs.run("l2n-never-there", ["true"])


# ---- waits on events, not polls (issue 13, Why 3: 20 ms pid-file polls; Popen.wait(timeout) sleeps in steps) ------

@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every time.sleep of this process (subprocess's own polling included), recorded and kept short."""
    import time

    seen: list[float] = []
    real = time.sleep

    def recording(seconds: float) -> None:
        seen.append(seconds)
        real(min(seconds, 0.001))

    monkeypatch.setattr(time, "sleep", recording)
    return seen


def test_a_daemons_detach_is_awaited_on_the_kernels_word_not_by_sleeping(sleeps: list[float]) -> None:
    import subprocess

    with subprocess.Popen(["sh", "-c", "exit 3"]) as done, subprocess.Popen(["sleep", "30"]) as stays:
        assert procs.wait_exit(done, 10) == 3
        assert procs.wait_exit(stays, 0.3) is None  # the timeout: a poll(2) on the pidfd, no sleep steps
        stays.kill()
    assert sleeps == []


def test_a_pid_file_written_before_the_detach_is_read_at_once(netns: str, tmp_path: Path, sleeps: list[float]) -> None:
    pidfile = tmp_path / "x.pid"
    assert procs.start_daemon(netns, ["sh", "-c", f"echo 4242 > {pidfile}"], pidfile, tmp_path / "s.log") == 4242
    assert sleeps == []


def test_a_late_pid_file_is_polled_from_1_ms_up(netns: str, tmp_path: Path, sleeps: list[float]) -> None:
    """The daemon writes its pid file just after it detached: the first look again comes within a millisecond (it
    was 20 ms each), backing off for a slow daemon."""
    pidfile = tmp_path / "x.pid"
    argv = ["sh", "-c", f"(sleep 0.2; echo 4242 > {pidfile}) >/dev/null 2>&1 & exit 0"]
    assert procs.start_daemon(netns, argv, pidfile, tmp_path / "s.log") == 4242
    assert sleeps and sleeps[0] <= 0.001 and sleeps == sorted(sleeps) and max(sleeps) <= 0.05, sleeps
