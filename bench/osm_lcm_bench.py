"""What the LCM connector adds: time per KDU install over the bare helm 3 connector double, and the import time of
``osm_l2net.osm.lcm`` (LCM imports it at start-up; goal < 300 ms).

    .venv/bin/python bench/osm_lcm_bench.py [--repeat 3] [--imports 7]
    .venv310/bin/python bench/osm_lcm_bench.py --real [--repeat 2] [--ready-after 0.5]

Each round replays LCM's deploy_kdus for the CDN NS (three KDU installs at once, real helm, the Kubernetes API test
double with the L2S-M operator double marking networks Available at once) once with the bare double and once with
the connector over it, then terminates. Prints a table and one JSON line. Not a test: numbers are reported, never
asserted.

``--real`` (Python 3.10 with LCM's pins: ``scripts/setup-lcm``): the same NS on OSM v19's REAL ``K8sHelm3Connector``
(``helm install --atomic``, serialised by its command lock) as ``NsLcm.deploy_kdus`` / ``terminate`` call it
(tests/lcm_real/lcm_replay.py), against the emulator as a server process; the L2S-M operator double takes
``--ready-after`` seconds to report a network Available. Goal: the connector adds to an NS's instantiation at most one
network-ready wait plus 10 % of the bare real connector's time.
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


def real_measure(repeat: int, ready_after: float) -> dict[str, Any]:
    """Instantiate + terminate of the CDN NS on the REAL K8sHelm3Connector, bare and with the connector over it."""
    import logging

    from tests.lcm_real import real_n2vc
    from tests.lcm_real.lcm_replay import NsLcmReplay
    from tests.lcm_real.lcm_world import place_charts_where_lcm_looks
    from tests.support.cluster_client import ServedCluster

    logging.getLogger("lcm.k8s").setLevel(logging.WARNING)
    source = real_n2vc.osm_source()
    module = real_n2vc.load_k8s_helm3_conn(source)
    helm, kubectl = find_tool("helm"), find_tool("kubectl")
    assert helm and kubectl, "run ./scripts/setup first (helm, kubectl in .tools/bin)"
    walls: dict[str, dict[str, list[float]]] = {k: {"instantiate": [], "terminate": []} for k in ("bare", "connector")}
    with tempfile.TemporaryDirectory() as tmp, ServedCluster(Path(tmp)) as served:
        wrapper = real_n2vc.write_helm_wrapper(Path(tmp), helm)
        served.operator(ready_after=ready_after)
        served.workloads(pods_ready=True)
        old_cwd = Path.cwd()
        os.chdir(tmp)  # N2VC writes each KDU's values file into the working directory
        try:
            for i in range(repeat + 1):  # round 0 warms up (imports, helm's caches) and is not counted
                for kind in ("bare", "connector"):
                    db, fs = OsmDbDouble(), FsDouble(Path(tmp) / f"storage-{kind}-{i}")
                    fs.add_cluster(CLUSTER, served.kubeconfig)
                    db.create("k8sclusters", {"_id": CLUSTER, "_admin": {"helm-chart-v3": {"id": CLUSTER}}})
                    onboarded = onboard(db, fs, CDN_PACKAGES)
                    place_charts_where_lcm_looks(fs, onboarded)
                    cls = module.K8sHelm3Connector if kind == "bare" else make_connector_class(module.K8sHelm3Connector)
                    conn = cls(fs=fs, db=db, kubectl_command=kubectl, helm_command=str(wrapper),
                               log=logging.getLogger("lcm.k8s"))
                    replay = NsLcmReplay(db, fs, conn)
                    nsr = create_ns(db, onboarded, "bench", "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01",
                                    cluster_uuid=CLUSTER, project=f"bench-{kind}-{i}")

                    async def lifecycle(replay: NsLcmReplay = replay, nsr: str = nsr) -> tuple[float, float]:
                        started = time.perf_counter()
                        results = await replay.instantiate(nsr)
                        middle = time.perf_counter()
                        assert results == [True, True, True], results
                        ended = await replay.terminate(nsr)
                        assert not any(isinstance(r, BaseException) for r in ended), ended
                        return middle - started, time.perf_counter() - middle

                    inst, term = asyncio.run(lifecycle())
                    if i:
                        walls[kind]["instantiate"].append(inst)
                        walls[kind]["terminate"].append(term)
        finally:
            os.chdir(old_cwd)
    median = {k: {op: statistics.median(v) for op, v in ops.items()} for k, ops in walls.items()}
    added = median["connector"]["instantiate"] - median["bare"]["instantiate"]
    allowed = ready_after + 0.10 * median["bare"]["instantiate"]
    return {"real_connector": True, "python": platform.python_version(), "rounds": repeat,
            "ready_after_s": ready_after, "median_s": median, "walls_s": walls,
            "instantiate_added_s": added, "goal_s": allowed, "goal_met": added <= allowed,
            "terminate_added_s": median["connector"]["terminate"] - median["bare"]["terminate"]}


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
    parser.add_argument("--real", action="store_true", help="OSM v19's real helm 3 connector (Python 3.10 tier)")
    parser.add_argument("--ready-after", type=float, default=0.5, help="--real: seconds until L2S-M reports Available")
    args = parser.parse_args()
    if args.real:
        real = real_measure(args.repeat, args.ready_after)
        m = real["median_s"]
        print(f"NS instantiate on the REAL K8sHelm3Connector (median of {args.repeat}): bare "
              f"{m['bare']['instantiate']:.2f} s, with connector {m['connector']['instantiate']:.2f} s: added "
              f"{real['instantiate_added_s']:+.2f} s (goal: <= one network-ready wait {args.ready_after} s + 10 % = "
              f"{real['goal_s']:.2f} s: {'met' if real['goal_met'] else 'NOT met'})")
        print(f"NS terminate: bare {m['bare']['terminate']:.2f} s, with connector {m['connector']['terminate']:.2f} s "
              f"(added {real['terminate_added_s']:+.2f} s: pods gone, networks deleted and gone)")
        print(json.dumps(real))
        return
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
