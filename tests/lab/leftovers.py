"""What a lab may leave behind, looked up independently of the lab's own code: namespaces, links, processes, files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path


def netns_of(lab: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n == f"l2n-{lab}" or n.startswith(f"l2n-{lab}-")]


def host_links_of(lab: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"osm-l2net lab={lab} " in line]


def processes_of(lab: str) -> list[str]:
    """Live (non-zombie) processes whose command line mentions the lab's run directory."""
    marker = f"/osm-l2net/lab/{lab}/".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state != "Z":
            found.append(pid + ": " + cmd.replace(b"\0", b" ").decode(errors="replace"))
    return found


def leftovers(lab: str) -> dict[str, list[str]]:
    files = [str(p) for p in (Path(f"/run/osm-l2net/lab/{lab}"), Path(f"/run/osm-l2net/lab/{lab}.json")) if p.exists()]
    left = {"netns": netns_of(lab), "links": host_links_of(lab), "processes": processes_of(lab), "files": files}
    return {k: v for k, v in left.items() if v}


def pids_in(lab: str) -> set[int]:
    """Processes inside the lab's namespaces right now (``ip netns pids``), workers included."""
    pids: set[int] = set()
    for ns in netns_of(lab):
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=True).stdout
        pids |= {int(p) for p in out.split()}
    return pids


def alive(pids: set[int]) -> set[int]:
    live = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            live.add(pid)
    return live


def steps_recorded(lab: str) -> int:
    """How many creation steps the lab's state file records (0 when it is missing or half-written)."""
    try:
        return len(json.loads(Path(f"/run/osm-l2net/lab/{lab}.json").read_text())["steps"])
    except (OSError, ValueError, KeyError):
        return 0


def kill_up_after(lab: str, argv: list[str], steps: int) -> None:
    """Run ``lab up`` (``argv``) and SIGKILL it once its state records ``steps`` creation steps: a half-built lab."""
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while steps_recorded(lab) < steps and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert child.poll() is None, f"lab up ended before step {steps}: {child.communicate()[1]}"
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
