"""``osm-l2net plan`` as a user runs it (a fresh process: load the YAML files, plan, write the output) against the
planner alone (``build_plan`` on descriptors already in memory), for 10 → 10,000 VLs and every ``-o`` format.

    .venv/bin/python bench/command_bench.py [--sizes 10,100,1000,10000] [--repeat 3] [--formats table,json,yaml]

The NSDs are plan_bench's (groups of 4 links chained by 2 forwarding KNFs), written once as YAML files. Each command
runs in its own process with stdout to /dev/null; its wall time is taken around the process and its peak RSS from
``os.wait4`` (that child's own rusage, not the largest child so far). Growth: the command's cost per VL above its
fixed start-up (the fastest run at the smallest size, any format), from each size's fastest run, at the largest
size against the second largest;
1.0 is linear, a quadratic step shows as the size ratio (10). Prints a table and one JSON line. Not a test: numbers
are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from osm_l2net.core.render import table
from tests.support.descriptors import service_docs

FORMATS = ("table", "json", "yaml")
COMMAND = Path(sys.executable).with_name("osm-l2net")


def write_descriptors(vls: int, folder: Path) -> list[str]:
    """plan_bench's NSD of ``vls`` links (rounded up to groups of 4) and its VNFDs as YAML files in ``folder``."""
    nsd, vnfds = service_docs(max(1, -(-vls // 4)), 4, 2)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "nsd.yaml"] + [folder / f"vnfd{i}.yaml" for i in range(len(vnfds))]
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for path, doc in zip(paths, [nsd, *vnfds], strict=True):
        path.write_text(yaml.dump(doc, Dumper=dumper, sort_keys=False))
    return [str(p) for p in paths]


TIME = Path("/usr/bin/time")  # GNU time (Debian package "time"): the command's own rusage, see run_once


def run_once(paths: list[str], fmt: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one ``osm-l2net plan PATHS -o FMT`` in a process of its own.

    The command is started through GNU time when it is installed: a child's peak RSS counts the memory of the process
    it was forked from until it execs, so a command forked straight from this (large) benchmark process would report
    the benchmark's size. Without GNU time, ``os.wait4``'s rusage is used and the RSS may be that of the launcher.
    """
    argv = [str(COMMAND), "plan", *paths, "-o", fmt]
    with open(os.devnull, "wb") as sink, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rusage"
        errors_path = Path(tmp) / "stderr"  # a file: a pipe could fill and block the command
        if TIME.is_file():
            argv = [str(TIME), "-f", "%e %U %S %M", "-o", str(report), *argv]
        with errors_path.open("wb") as errors:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=sink, stderr=errors)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen, so it does not wait again
        if proc.returncode != 0:
            err = errors_path.read_text(errors="replace")
            raise RuntimeError(f"osm-l2net plan -o {fmt} exited {proc.returncode}: {err.strip()[-500:]}")
        if TIME.is_file():
            _, user, system, max_kib = report.read_text().split()[-4:]
            return wall, float(user) + float(system), int(max_kib) / 1024
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: KiB


def measure(sizes: list[int], repeat: int, formats: tuple[str, ...] = FORMATS) -> list[dict[str, Any]]:
    """Per size and format: the command's median wall time and peak RSS, beside plan_bench's planner-alone time."""
    import plan_bench
    from cli_bench import compile_package

    compile_package()  # the .pyc files, which PYTHONDONTWRITEBYTECODE would keep the warm-up from writing
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="osm-l2net-bench-") as tmp:
        run_once(write_descriptors(sizes[0], Path(tmp) / "warm-up"), "json")  # bytecode cache, page cache
        for size in sizes:
            paths = write_descriptors(size, Path(tmp) / str(size))
            planner = plan_bench.measure(size, max(repeat, -(-200 // size)))
            for fmt in formats:
                runs = [run_once(paths, fmt) for _ in range(repeat)]
                rows.append({"vls": planner["vls"], "knfs": planner["knfs"], "format": fmt, "runs": repeat,
                             "command_s": statistics.median(r[0] for r in runs), "command_min_s": min(r[0] for r in runs),
                             "command_cpu_s": statistics.median(r[1] for r in runs),
                             "peak_rss_mib": max(r[2] for r in runs), "planner_s": planner["plan_s"],
                             "planner_cpu_s": planner["plan_cpu_s"],
                             "input_mib": sum(Path(p).stat().st_size for p in paths) / 2**20})
    return rows


def growth(rows: list[dict[str, Any]], fmt: str) -> dict[str, float] | None:
    """Cost per VL above the fixed start-up, at the largest size and at the one before (None with < 3 sizes)."""
    mine = sorted((r for r in rows if r["format"] == fmt), key=lambda r: r["vls"])
    if len(mine) < 3:
        return None
    before, last = mine[-2], mine[-1]
    smallest = min(r["vls"] for r in rows)
    start_up = min(r["command_min_s"] for r in rows if r["vls"] == smallest)  # the same for every format

    def per_vl(r: dict[str, Any]) -> float:  # fastest runs: on a shared machine the least disturbed
        return float(max(r["command_min_s"] - start_up, 1e-9) / (r["vls"] - smallest))

    return {"vls": last["vls"], "before_vls": before["vls"], "per_vl_s": per_vl(last), "before_per_vl_s": per_vl(before)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    formats = tuple(f for f in args.formats.split(",") if f)
    rows = measure([int(s) for s in args.sizes.split(",")], args.repeat, formats)
    print(table(["VLs", "-o", "command s", "command CPU s", "planner alone s", "planner CPU s", "peak RSS MiB",
                 "input MiB"],
                [(r["vls"], r["format"], f"{r['command_s']:.3f}", f"{r['command_cpu_s']:.3f}", f"{r['planner_s']:.3f}",
                  f"{r['planner_cpu_s']:.3f}", f"{r['peak_rss_mib']:.0f}", f"{r['input_mib']:.1f}") for r in rows]))
    for fmt in formats:
        g = growth(rows, fmt)
        if g:
            print(f"-o {fmt}: growth {g['per_vl_s'] / g['before_per_vl_s']:.2f} "
                  f"({g['per_vl_s'] * 1e6:.0f} µs/VL at {g['vls']:.0f} VLs, {g['before_per_vl_s'] * 1e6:.0f} at "
                  f"{g['before_vls']:.0f})")
    print(json.dumps({"bench": "command", "rows": rows}))


if __name__ == "__main__":
    main()
