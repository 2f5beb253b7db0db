"""Processes inside lab namespaces: run a tool (argv, never a shell), start daemons, find and stop what runs there."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from osm_l2net.core.errors import LabError, ToolError
from osm_l2net.lab import netlink

# tool → Debian package that provides it
TOOLS = {"ip": "iproute2", "tc": "iproute2", "nginx": "nginx", "nft": "nftables", "curl": "curl",
         "ping": "iputils-ping", "traceroute": "traceroute"}
OPTIONAL_TOOLS = {"arping": "iputils-arping"}


class LabSetupError(LabError):
    """The host cannot run the lab (not root, a tool missing). Permanent; exit code 2."""

    exit_code = 2


def check_host(tools: Iterable[str] = TOOLS) -> None:
    if os.geteuid() != 0:
        raise LabSetupError("the lab needs root (network namespaces, bridges, tc): run it with sudo")
    missing = {t: TOOLS.get(t, t) for t in tools if shutil.which(t) is None}
    if missing:
        pkgs = " ".join(sorted(set(missing.values())))
        raise LabSetupError(f"missing tools: {', '.join(sorted(missing))} "
                            f"(install the Debian packages: apt-get install {pkgs})")
    if not Path("/proc/self/ns/net").exists():
        raise LabSetupError("this kernel has no network namespaces")


def netns_argv(ns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def spawn(ns: str, argv: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """Start ``argv`` inside ``ns``: from a thread that has joined it (a child inherits its thread's network
    namespace), one exec fewer than ``ip netns exec`` and the host's mounts. For the lab's own daemons and tools;
    ``lab exec`` keeps ``ip netns exec`` (its /sys is the namespace's) for what a person runs."""
    try:
        child: subprocess.Popen[Any] = netlink.in_netns(ns, lambda: subprocess.Popen(list(argv), **popen))
    except LabError as e:
        raise ToolError(argv, -1, str(e.__cause__ or e)) from e
    return child


def run(ns: str, argv: Sequence[str], timeout: float = 30, check: bool = True,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    child = spawn(ns, argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with child:
        try:
            out, err = child.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            child.kill()
            child.communicate()
            raise ToolError(argv, -1, f"timed out after {timeout}s in {ns}") from e
    done = subprocess.CompletedProcess(list(argv), child.returncode, out, err)
    if check and done.returncode != 0:
        raise ToolError(argv, done.returncode, done.stderr or done.stdout)
    return done


def start_daemon(ns: str, argv: Sequence[str], pidfile: Path, log: Path, timeout: float = 10) -> int:
    """Start a program that daemonizes itself and writes ``pidfile`` (nginx, the cache agent); return its pid.
    The process we spawn exits once the daemon is detached, so no zombie stays behind in a long-lived caller."""
    return launch_daemon(ns, argv, pidfile, log, timeout).pid()


class Pending(Protocol):
    """Something started in a pod that ``pid()`` waits for: a daemon's pid, or None for a tool that has finished."""

    def pid(self) -> int | None: ...


@dataclass
class Launch:
    """A daemon on its way up: ``pid()`` waits for it. Several launched together start in parallel."""

    child: subprocess.Popen[Any]
    argv: Sequence[str]
    pidfile: Path
    log: Path
    timeout: float
    deadline: float

    def pid(self) -> int:
        code = wait_exit(self.child, max(0.0, self.deadline - time.monotonic()))
        if code is None:
            self.child.kill()
            self.child.wait()
            raise LabError(f"{self.argv[0]} did not detach within {self.timeout}s: {_tail(self.log)}")
        if code != 0:
            raise ToolError(self.argv, code, _tail(self.log))
        delay = 0.001
        while True:
            text = self.pidfile.read_text().strip() if self.pidfile.exists() else ""
            if text.isdigit():
                return int(text)
            if time.monotonic() >= self.deadline:
                break
            time.sleep(delay)  # the daemon writes it within milliseconds of detaching; back off for a slow one
            delay = min(2 * delay, 0.05)
        raise LabError(f"{self.argv[0]} did not write {self.pidfile} within {self.timeout}s: {_tail(self.log)}")


@dataclass
class Job:
    """A tool at work in the background (nft loading a ruleset): ``pid()`` waits for it, checks how it ended and
    returns None (nothing stays running)."""

    child: subprocess.Popen[str]
    argv: Sequence[str]
    timeout: float
    deadline: float

    def pid(self) -> None:
        with self.child:
            try:
                out, err = self.child.communicate(timeout=max(0.0, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired as e:
                self.child.kill()
                self.child.communicate()
                raise ToolError(self.argv, -1, f"timed out after {self.timeout}s") from e
        if self.child.returncode != 0:
            raise ToolError(self.argv, self.child.returncode, err or out)


def run_in_background(ns: str, argv: Sequence[str], stdin: str, timeout: float = 30) -> Job:
    """Start ``argv`` in ``ns`` with ``stdin`` (small: it fits the pipe, so it is written at once) and return while
    it works."""
    child = spawn(ns, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdin is not None
    try:
        child.stdin.write(stdin)
        child.stdin.close()
    except BrokenPipeError:
        pass  # it exited early: its status and stderr say why
    child.stdin = None  # written and closed: communicate() only reads
    return Job(child, argv, timeout, time.monotonic() + timeout)


def launch_daemon(ns: str, argv: Sequence[str], pidfile: Path, log: Path, timeout: float = 10) -> Launch:
    pidfile.unlink(missing_ok=True)
    with log.open("ab") as out:
        child = spawn(ns, argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    return Launch(child, argv, pidfile, log, timeout, time.monotonic() + timeout)


def wait_exit(child: subprocess.Popen[Any], timeout: float) -> int | None:
    """The child's exit status, or None after ``timeout``: woken by the kernel the moment it exits (a pidfd), where
    ``Popen.wait(timeout)`` polls with sleeps that grow to 50 ms."""
    try:
        fd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):  # no pidfd (kernel < 5.3): poll
        try:
            return child.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(max(0, int(timeout * 1000))):
            return None
    finally:
        os.close(fd)
    return child.wait()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def mentioning(marker: str) -> set[int]:
    """Live processes whose command line holds ``marker`` (the lab's run directory), wherever they are: one forked by
    a ``lab up`` killed mid-spawn may not have entered its namespace yet, nor had its pid recorded."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and entry != str(os.getpid()) and marker in cmdline(int(entry)) and alive(int(entry)):
            found.add(int(entry))
    return found


def stop(pids: Iterable[int], grace: float = 2.0) -> list[int]:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns the pids that were signalled."""
    targets = [p for p in set(pids) if alive(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p) for p in targets):
            time.sleep(0.02)
        if not any(alive(p) for p in targets):
            break
    return targets


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-1500:]
    except OSError:
        return ""
