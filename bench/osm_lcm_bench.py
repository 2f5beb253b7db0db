"""What the LCM connector adds: time per KDU install over the bare helm 3 connector double, and the import time of
``osm_l2net.osm.lcm`` (LCM imports it at start-up; goal < 300 ms).

    .venv/bin/python bench/osm_lcm_bench.py [--repeat 3] [--imports 7]

Each round replays LCM's deploy_kdus for the CDN NS (three KDU installs at once, real helm, the Kubernetes API test
double with the L2S-M operator double marking networks Available at once) once with the bare double and once with
the connector over it, then terminates. Prints a table and one JSON line. Not a test: numbers are reported, never
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.support.osm_lcm_double import FsDouble, K8sHelm3ConnectorDouble, OsmDbDouble
from tests.support.osm_records import LcmReplay, create_ns, onboard
from tests.support.tools import find_tool

CLUSTER = "bench-cluster"


class StampedDouble(K8sHelm3ConnectorDouble):
    """The double, noting when each install reaches it (after whatever the connector did first)."""

    reached: dict[str, float]

    async def install(self, cluster_uuid: str, kdu_model: str, kdu_instance: str, *args: Any, **kwargs: Any) -> bool:
        self.reached[kdu_instance] = time.perf_counter()
        return await super().install(cluster_uuid, kdu_model, kdu_instance, *args, **kwargs)


def stamped(cls: type) -> type:
    class Outer(cls):  # type: ignore[misc]
        async def install(self, cluster_uuid: str, kdu_model: str, kdu_instance: str, *args: Any, **kwargs: Any) -> Any:
            self.called[kdu_instance] = time.perf_counter()
            try:
                return await super().install(cluster_uuid, kdu_model, kdu_instance, *args, **kwargs)
            finally:
                self.done[kdu_instance] = time.perf_counter()

    return Outer


def one_round(workdir: Path, with_connector: bool) -> tuple[list[float], list[float], float]:
    """(install durations, time added before the double was reached, NS wall time)."""
    # imported here: the import-time rows (bench/run.py) also run on Python 3.10, where kmock cannot be installed
    from tests.support.k8s_harness import EmulatedCluster

    workdir.mkdir(parents=True)
    with EmulatedCluster(workdir=workdir) as cluster:
        cluster.operator.start(ready_after=0.0)
        db, fs = OsmDbDouble(), FsDouble(workdir / "storage")
        fs.add_cluster(CLUSTER, cluster.kubeconfig)
        onboarded = onboard(db, fs, CDN_PACKAGES)
        base = make_connector_class(StampedDouble) if with_connector else StampedDouble
        conn = stamped(base)(fs=fs, db=db, kubectl_command=find_tool("kubectl"), helm_command=find_tool("helm"))
        conn.called, conn.reached, conn.done = {}, {}, {}
        replay = LcmReplay(db, conn, onboarded, cluster_uuid=CLUSTER)
        nsr = create_ns(db, onboarded, "bench", "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01")
        started = time.perf_counter()
        results = asyncio.run(replay.instantiate(nsr))
        wall = time.perf_counter() - started
        assert results == [True, True, True], results
        asyncio.run(replay.terminate(nsr))
        durations = [conn.done[k] - conn.called[k] for k in conn.called]
        added = [conn.reached[k] - conn.called[k] for k in conn.called]
        return durations, added, wall


def fresh_interpreter(code: str, n: int) -> list[float]:
    """Seconds of ``n`` runs of ``python -c code`` in fresh interpreters (one warm-up run first fills the bytecode
    cache): the code's stdout if it prints a number, else the process's wall time."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    argv = [sys.executable, "-c", code]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout.strip()
        seconds.append(float(out) if out else time.perf_counter() - started)
    return seconds


def import_time(n: int) -> list[float]:
    """In-process time of ``import osm_l2net.osm.lcm`` in a fresh interpreter: what LCM pays at start-up."""
    return fresh_interpreter(
        "import time; t = time.perf_counter(); import osm_l2net.osm.lcm; print(time.perf_counter() - t)", n)


def startup_time(n: int) -> list[float]:
    """Wall time of ``python -c pass``: the interpreter's own start-up, the scale the import is read against."""
    return fresh_interpreter("pass", n)


def measure(repeat: int) -> dict[str, Any]:
    """``repeat`` rounds with the bare double and with the connector over it, after a cold and a warm-up round."""
    bare: list[float] = []
    ours: list[float] = []
    added: list[float] = []
    walls: dict[str, list[float]] = {"bare": [], "connector": []}
    with tempfile.TemporaryDirectory() as tmp:
        # the first NS of a fresh LCM also imports the planner and the Kubernetes client: measured apart
        _, cold, _ = one_round(Path(tmp) / "cold", with_connector=True)
        one_round(Path(tmp) / "warm-bare", with_connector=False)
        for i in range(repeat):
            d, _, w = one_round(Path(tmp) / f"b{i}", with_connector=False)
            bare += d
            walls["bare"].append(w)
            d, a, w = one_round(Path(tmp) / f"c{i}", with_connector=True)
            ours += d
            added += a
            walls["connector"].append(w)
    return {
        "installs": len(bare),
        "kdu_install_median_s": {"bare": statistics.median(bare), "connector": statistics.median(ours)},
        "connector_time_before_helm_s": {"median": statistics.median(added), "max": max(added),
                                         "first_ns_of_a_fresh_process_max": max(cold)},
        "ns_instantiate_wall_median_s": {k: statistics.median(v) for k, v in walls.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--imports", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.repeat)
    imports = import_time(args.imports)
    result |= {"import_osm_l2net_osm_lcm_median_ms": 1000 * statistics.median(imports),
               "import_min_max_ms": [1000 * min(imports), 1000 * max(imports)],
               "python": platform.python_version(), "cpus": os.cpu_count(), "repeat": args.repeat}
    added = result["connector_time_before_helm_s"]
    print(f"KDU install (median of {result['installs']}): bare double {result['kdu_install_median_s']['bare']:.3f} s, "
          f"with connector {result['kdu_install_median_s']['connector']:.3f} s")
    print(f"connector's own time before helm runs, per KDU: median {added['median']:.3f} s, "
          f"max {added['max']:.3f} s (networks created and Available once per NS, the other KDUs wait for it); "
          f"first NS of a fresh process: max {added['first_ns_of_a_fresh_process_max']:.3f} s "
          "(imports the planner and the Kubernetes client)")
    print(f"NS instantiate (3 KDUs at once, median): bare {result['ns_instantiate_wall_median_s']['bare']:.3f} s, "
          f"with connector {result['ns_instantiate_wall_median_s']['connector']:.3f} s")
    print(f"import osm_l2net.osm.lcm: median {result['import_osm_l2net_osm_lcm_median_ms']:.0f} ms "
          f"(min {result['import_min_max_ms'][0]:.0f}, max {result['import_min_max_ms'][1]:.0f}; goal < 300 ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
