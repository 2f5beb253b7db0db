"""Plan time and peak memory against NS size (10 → 10,000 VLs), with parsing measured apart.

    .venv/bin/python bench/plan_bench.py [--sizes 10,100,1000,10000] [--repeat 3]

Each generated NSD has groups of 4 virtual links chained by 2 forwarding KNFs (so 10,000 VLs → 5,000 KNFs and 20,000
routes). Prints a table and one JSON line. Not a test: timing goals are reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from osm_l2net.core.model import NsInstance
from osm_l2net.core.planner import build_plan
from osm_l2net.core.render import table
from tests.support.descriptors import descriptors, service_docs


def measure(vls: int, repeat: int) -> dict[str, float]:
    groups = max(1, -(-vls // 4))
    nsd, vnfds = service_docs(groups, 4, 2)
    parse, plan, cpu = [], [], []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        d = descriptors(nsd, vnfds)
        t1, c1 = time.perf_counter(), time.process_time()
        result = build_plan(d, NsInstance("bench", "bench"))
        t2, c2 = time.perf_counter(), time.process_time()
        parse.append(t1 - t0)
        plan.append(t2 - t1)
        cpu.append(c2 - c1)  # beside the wall time: on a shared machine, what the planner itself costs
    tracemalloc.start()
    build_plan(d, NsInstance("bench", "bench"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"runs": repeat, "vls": len(result.networks), "knfs": len(result.kdus),
            "routes": sum(len(k.routes) for k in result.kdus), "parse_s": statistics.median(parse),
            "plan_s": statistics.median(plan), "plan_cpu_s": statistics.median(cpu), "plan_peak_mib": peak / 2**20}


def sweep(sizes: list[int], repeat: int, floor_vls: int = 2000) -> list[dict[str, float]]:
    """``measure`` at each size, after one untimed warm-up plan (first-call costs: lazy imports, compiled patterns).
    Small sizes run at least ``floor_vls`` VLs' worth of repeats: their median is the base of the linear
    extrapolation, and one millisecond-long run on a busy machine is mostly noise."""
    measure(sizes[0], 1)
    return [measure(size, max(repeat, -(-floor_vls // size))) for size in sizes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size at least (small sizes run more)")
    args = parser.parse_args()
    rows = sweep([int(s) for s in args.sizes.split(",")], args.repeat)
    base = rows[0]
    print(table(["VLs", "KNFs", "routes", "parse s", "plan s", "plan µs/VL", "growth vs linear", "peak MiB"],
                [(r["vls"], r["knfs"], r["routes"], f"{r['parse_s']:.3f}", f"{r['plan_s']:.3f}",
                  f"{r['plan_s'] / r['vls'] * 1e6:.0f}",
                  f"{(r['plan_s'] / base['plan_s']) / (r['vls'] / base['vls']):.2f}", f"{r['plan_peak_mib']:.1f}")
                 for r in rows]))
    print(json.dumps({"bench": "plan", "python": platform.python_version(), "machine": platform.machine(), "rows": rows}))


if __name__ == "__main__":
    main()
