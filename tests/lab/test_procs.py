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
