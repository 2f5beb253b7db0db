"""How long a cluster command stays silent, and how long until it fails, when the cluster is not there or not ready.

    .venv/bin/python bench/waits_bench.py [--quick]

Prints JSON, each case measured against its same-run baseline (the adapter without the first-contact check, i.e. the
request retries alone, as before issue 13):

- closed port: seconds until the error, and seconds of silence (longest gap between two lines the user sees);
- a server that accepts connections and never answers: the same (``--quick`` skips its slow baseline);
- the L2S-M operator down during ``wait_ready``: the longest silence over a wait, with the default progress interval
  against a wait that only reports changes.

Not a test: nothing is asserted; the goals (error within seconds, no silence longer than the progress interval) are
reported beside the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from osm_l2net.core.errors import L2NetError
from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan
from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy
from tests.support.k8s_harness import EmulatedCluster


class Clock:
    """Timestamps of the lines a user would see, to find the longest silence."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.stamps: list[float] = []

    def line(self, _: str) -> None:
        self.stamps.append(time.monotonic() - self.started)

    def longest_silence(self, end: float) -> float:
        points = [0.0, *self.stamps, end]
        return max(b - a for a, b in itertools.pairwise(points))


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server}}], "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return path


def until_error(config: Path, policy: RetryPolicy) -> dict[str, float]:
    """Connect and list, as every command starts; seconds until the error and the longest silence meanwhile."""
    clock = Clock()
    try:
        with Cluster(ClusterAccess(kubeconfig=str(config)), policy=policy, progress=clock.line) as c:
            c.list_owned()
    except L2NetError:
        pass
    end = time.monotonic() - clock.started
    return {"seconds_to_error": round(end, 2), "longest_silence_s": round(clock.longest_silence(end), 2)}


def median_of(runs: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Each figure's median over ``runs`` measurements (the machine is shared: single runs are noisy)."""
    samples = [measure() for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def silent_server() -> tuple[str, Callable[[], None]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()

    def close() -> None:
        stop.set()
        for conn in held:
            conn.close()
        server.close()

    return f"http://127.0.0.1:{server.getsockname()[1]}", close


def operator_down(emu: EmulatedCluster, policy: RetryPolicy, deadline_s: float) -> dict[str, float]:
    name = f"bench-{int(policy.progress_interval_s * 10)}"
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: "bench", LABEL_VLD_ID: name}
    net = NetworkPlan(name, name, "10.0.0.0/24", "ipv4", None, {
        "apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network", "metadata": {"name": name, "labels": labels},
        "spec": {"type": "vnet", "networkCIDR": "10.0.0.0/24"}})
    clock = Clock()
    with Cluster(ClusterAccess(kubeconfig=str(emu.kubeconfig)), policy=policy, progress=clock.line) as c:
        c.ensure_network(net)
        with contextlib.suppress(L2NetError):  # the deadline passes: the operator is down
            c.wait_ready([net], deadline_s=deadline_s, progress=lambda r: clock.line(r.detail))
    end = time.monotonic() - clock.started
    return {"lines": len(clock.stamps), "longest_silence_s": round(clock.longest_silence(end), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the slow baseline of the silent server")
    args = parser.parse_args()
    default = RetryPolicy()
    before = dataclasses.replace(default, first_contact_attempts=0)
    report: dict[str, Any] = {"policy": dataclasses.asdict(default)}
    scratch = Path(__file__).resolve().parent / ".waits-bench-kubeconfig"
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = kubeconfig(scratch, f"http://127.0.0.1:{sock.getsockname()[1]}")
        until_error(closed, default)  # warm-up: the client's first kubeconfig load and lazy imports (~1 s)
        report["closed_port"] = {"measured": median_of(3, lambda: until_error(closed, default)),
                                 "baseline": median_of(3, lambda: until_error(closed, before)),
                                 "goal": "error within 5 s"}
        url, close = silent_server()
        try:
            silent = kubeconfig(scratch, url)
            report["silent_server"] = {
                "measured": until_error(silent, default),
                "baseline": None if args.quick else until_error(silent, before),
                "goal": f"error within {default.first_contact_attempts} x {default.first_contact_timeout_s:g} s "
                        f"plus backoff"}
        finally:
            close()
    finally:
        scratch.unlink(missing_ok=True)
    with EmulatedCluster() as emu:
        emu.operator.start(ready_after=None)
        wait = 12.0 if args.quick else 30.0
        report["operator_down"] = {
            "wait_s": wait,
            "measured": operator_down(emu, default, wait),
            "baseline": operator_down(emu, dataclasses.replace(default, progress_interval_s=0.0), wait),
            "goal": f"no silence longer than the progress interval ({default.progress_interval_s:g} s)"}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
