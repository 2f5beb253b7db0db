"""The bounded YAML reader (osm_l2net.core.yamlsafe) against plain libyaml, and hostile files through the console script.

    .venv/bin/python bench/yaml_bench.py [--vls 10000] [--repeat 3]

1. Cost of the bounds: the 10,000-VL NSD of bench/plan_bench.py written as YAML, read with ``yaml.load(CSafeLoader)``
   and with ``yamlsafe.load`` (the line reader for block YAML, no node graph; the walk column is the composed-graph
   fallback's own bounds check): median seconds of each.
1b. The readers of yamlsafe on that NSD and on a small descriptor (descriptors/vod_service_ns): the line reader
   (``yamlsafe.load``, the path it takes asserted), libyaml's events (``_from_events``, the reader before it) and the
   composed graph (``_composed``): median CPU seconds (``time.process_time``) with the cycle collector paused, as the
   CLI reads (issue 13's goal for the line reader: the NSD in at most 0.35 s).
2. Hostile files (issue 14's goals: under 1 s, exit 2, under 100 MB): a 1 KB alias bomb and a 995-level file through
   ``.venv/bin/osm-l2net validate`` in a subprocess; wall time and the child's peak RSS (``ru_maxrss``), beside
   ``osm-l2net --version`` (Python's start-up and the imports, the floor of any command) and the reader's own time.
Prints a table and one JSON line. Not a test: goals are reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
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

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from osm_l2net.core import yamlsafe
from osm_l2net.core.render import table
from tests.support.descriptors import service_docs

EXE = Path(sys.executable).with_name("osm-l2net")
ROOT = Path(__file__).resolve().parent.parent


def alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{','.join(['*' + chr(96 + i)] * 9)}]")
    return "\n".join(lines) + "\n"


def nested(levels: int) -> str:
    return "nsd: " + "[" * levels + "]" * levels + "\n"


def reader_cost(vls: int, repeat: int) -> dict[str, float]:
    nsd, _ = service_docs(max(1, -(-vls // 4)), 4, 2)
    text = yaml.dump(nsd, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    plain, bounded = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a = yaml.load(text, Loader=loader)  # the safe C loader: the baseline
        t1 = time.perf_counter()
        b = yamlsafe.load(text)
        t2 = time.perf_counter()
        assert a == b
        plain.append(t1 - t0)
        bounded.append(t2 - t1)
    node = loader(text).get_single_node()
    walks = []
    for _ in range(repeat):  # the bounds' own work, apart from the machine's noise on the whole read
        t0 = time.perf_counter()
        yamlsafe.measure(node)
        walks.append(time.perf_counter() - t0)
    return {"vls": vls, "yaml_mib": len(text) / 2**20, "plain_s": statistics.median(plain),
            "bounded_s": statistics.median(bounded), "walk_s": statistics.median(walks)}


def cpu_median(read: Any, text: str, repeat: int) -> float:
    """Median CPU seconds of ``read(text)``, the cycle collector paused as the CLI's gc_paused does."""
    times = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.process_time()
            read(text)
            times.append(time.process_time() - t0)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(times)


def readers(vls: int, repeat: int) -> list[dict[str, Any]]:
    """CPU seconds of each of yamlsafe's readers on the big NSD and a small descriptor (its time x 1,000 loads)."""
    nsd, _ = service_docs(max(1, -(-vls // 4)), 4, 2)
    small = (ROOT / "descriptors/vod_service_ns/vod_service_nsd.yaml").read_text()
    limits = yamlsafe.DEFAULT_LIMITS
    rows = []
    for name, text, loops in ((f"{vls}-VL NSD", yaml.dump(nsd, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)), 1),
                              ("vod_service_nsd.yaml x 1000", small, 1000)):
        assert yamlsafe.reader_path(text) == "lines"
        row: dict[str, Any] = {"case": name, "bytes": len(text.encode()) * loops}
        for reader, read in (("lines", yamlsafe.load), ("events", lambda t: yamlsafe._from_events(t, limits, True)),
                             ("composed", lambda t: list(yamlsafe._composed(t, limits, True)))):
            times = 1 if reader == "composed" else repeat  # the graph takes seconds, and this machine is shared
            row[f"{reader}_cpu_s"] = cpu_median(lambda t, read=read, loops=loops: [read(t) for _ in range(loops)], text,
                                                times)
        rows.append(row)
    return rows


def in_process(text: str) -> float:
    """Seconds yamlsafe takes to refuse ``text`` (the command's own share, without Python's start-up)."""
    t0 = time.perf_counter()
    with contextlib.suppress(yamlsafe.YamlInputError):
        yamlsafe.load(text)
    return time.perf_counter() - t0


def hostile(name: str, text: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.yaml"
        path.write_text(text)
        argv = [str(EXE), "--version"] if name == "start-up" else [str(EXE), "validate", str(path)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out = proc.stderr.read() if proc.stderr else b""
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (KiB on Linux)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"case": name, "bytes": len(text.encode()), "exit": proc.returncode, "seconds": seconds,
            "reader_ms": in_process(text) * 1000,
            "peak_mib": usage.ru_maxrss / 1024, "message": out.decode(errors="replace").strip()[:160]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vls", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # the hostile runs first: a forked child's peak RSS counts its parent's pages until exec, so the bench stays small
    rows = [hostile("start-up", ""), hostile("alias-bomb-1k", alias_bomb()), hostile("nested-995", nested(995))]
    cost = reader_cost(args.vls, args.repeat)
    paths = readers(args.vls, max(args.repeat, 5))
    print(table(["VLs", "YAML MiB", "libyaml s", "bounded s", "overhead", "of which the walk s", "walk ÷ libyaml"],
                [(cost["vls"], f"{cost['yaml_mib']:.1f}", f"{cost['plain_s']:.2f}", f"{cost['bounded_s']:.2f}",
                  f"{(cost['bounded_s'] / cost['plain_s'] - 1) * 100:+.0f}%", f"{cost['walk_s']:.2f}",
                  f"{cost['walk_s'] / cost['plain_s'] * 100:.0f}%")]))
    print(table(["readers (CPU s, gc paused)", "bytes", "line reader", "libyaml events", "composed graph",
                 "lines ÷ events", "goal (NSD ≤ 0.35 s)"],
                [(r["case"], r["bytes"], f"{r['lines_cpu_s']:.3f}", f"{r['events_cpu_s']:.3f}",
                  f"{r['composed_cpu_s']:.3f}", f"{r['lines_cpu_s'] / r['events_cpu_s']:.2f}",
                  ("met" if r["lines_cpu_s"] <= 0.35 else "NOT met") if "NSD" in r["case"] else "")
                 for r in paths]))
    print(table(["case", "bytes", "exit", "command s", "reader ms", "peak MiB", "goal (<1 s, exit 2, <100 MB)"],
                [(r["case"], r["bytes"], r["exit"], f"{r['seconds']:.2f}", f"{r['reader_ms']:.2f}", f"{r['peak_mib']:.0f}",
                  "(baseline: osm-l2net --version)" if r["case"] == "start-up" else
                  "met" if r["exit"] == 2 and float(str(r["seconds"])) < 1 and float(str(r["peak_mib"])) < 100
                  else "NOT met") for r in rows]))
    print(json.dumps({"bench": "yaml", "python": platform.python_version(), "reader": cost, "readers": paths,
                      "hostile": rows}))


if __name__ == "__main__":
    main()
