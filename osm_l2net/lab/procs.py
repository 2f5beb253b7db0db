"""Processes inside lab namespaces: run a tool (argv, never a shell), start daemons, find and stop what runs there."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from osm_l2net.errors import LabError, ToolError

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


def run(ns: str, argv: Sequence[str], timeout: float = 30, check: bool = True,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full = netns_argv(ns, argv)
    try:
        done = subprocess.run(full, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise ToolError(full, -1, f"timed out after {timeout}s") from e
    except OSError as e:
        raise ToolError(full, -1, str(e)) from e
    if check and done.returncode != 0:
        raise ToolError(full, done.returncode, done.stderr or done.stdout)
    return done


def start_daemon(ns: str, argv: Sequence[str], pidfile: Path, log: Path, timeout: float = 10) -> int:
    """Start a program that daemonizes itself and writes ``pidfile`` (nginx, the cache agent); return its pid.
    The process we spawn exits once the daemon is detached, so no zombie stays behind in a long-lived caller."""
    pidfile.unlink(missing_ok=True)
    with log.open("ab") as out:
        done = subprocess.run(netns_argv(ns, argv), stdout=out, stderr=out, timeout=timeout, check=False)
    if done.returncode != 0:
        raise ToolError(argv, done.returncode, _tail(log))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pidfile.read_text().strip() if pidfile.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    raise LabError(f"{argv[0]} did not write {pidfile} within {timeout}s: {_tail(log)}")


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
