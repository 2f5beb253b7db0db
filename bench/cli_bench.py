"""``osm-l2net`` start-up: ``--help``, ``validate`` and ``plan`` of the CDN service (descriptors/) in a process of their
own, against the same run's ``python -c pass`` (plus, for validate and plan, the same work done in-process by the
library: the planning itself, which start-up cannot save).

    .venv/bin/python bench/cli_bench.py [--repeat 15]

The runs of all commands are interleaved, so a busy moment of the shared machine touches each alike; medians are
reported. Not a test: numbers are printed, never asserted (the import rule is tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COMMAND = Path(sys.executable).with_name("osm-l2net")
CDN = sorted(str(p) for p in (REPO / "descriptors").iterdir())
# The planning itself, in-process in a fresh interpreter: importing the core (and, for plan, the renderer) and doing
# the work, what the command has to do beyond starting up.
WORK = {
    "validate": "import sys, time; t = time.perf_counter(); import osm_l2net.api as a; a.validate(sys.argv[1:]); "
                "print(time.perf_counter() - t)",
    "plan": "import sys, time; t = time.perf_counter(); import osm_l2net.api as a; from osm_l2net.core.render import "
            "plan_text; plan_text(a.plan(sys.argv[1:], ns_name='vod-service-deployment')); print(time.perf_counter() - t)",
}


#: the floor of ``--help`` while it is written by click: a minimal click group printing its help (python's start-up,
#: importing click, and click writing a help: textwrap, shutil for the terminal width, gettext)
CLICK_FLOOR = ("import click\n@click.group()\ndef group():\n    'A group.'\n@group.command()\ndef command():\n"
               "    'A command.'\ngroup(['--help'])")


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _work(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code, *CDN], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def compile_package() -> None:
    """Write the package's .pyc files, as installing it does. With PYTHONDONTWRITEBYTECODE set (some shells and CI set
    it) the warm-up runs write none, and every start-up would compile the CLI's modules again (15 ms of CPU of
    ``--help`` here, a quarter of ``python -c pass``)."""
    import compileall

    compileall.compile_dir(REPO / "osm_l2net", quiet=1)


def measure(repeat: int) -> dict[str, Any]:
    argvs = {"pass": [sys.executable, "-c", "pass"], "click": [sys.executable, "-c", "import click"],
             "floor": [sys.executable, "-c", CLICK_FLOOR],
             "help": [str(COMMAND), "--help"], "validate": [str(COMMAND), "validate", *CDN], "plan": [str(COMMAND), "plan", *CDN]}
    walls: dict[str, list[float]] = {k: [] for k in argvs}
    work: dict[str, list[float]] = {k: [] for k in WORK}
    compile_package()
    for argv in argvs.values():  # warm-up: the page cache
        _wall(argv)
    for _ in range(repeat):
        for name, argv in argvs.items():
            walls[name].append(_wall(argv))
        for name, code in WORK.items():
            work[name].append(_work(code))
    med = {k: statistics.median(v) for k, v in walls.items()}
    return {"runs": repeat, "wall_s": med, "work_s": {k: statistics.median(v) for k, v in work.items()},
            "min_s": {k: min(v) for k, v in walls.items()}, "max_s": {k: max(v) for k, v in walls.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    r = measure(parser.parse_args(argv).repeat)
    base = r["wall_s"]["pass"]
    for name in ("help", "validate", "plan"):
        ref = base + r["work_s"].get(name, 0.0)
        print(f"osm-l2net {name:9} {1000 * r['wall_s'][name]:6.1f} ms   baseline {1000 * ref:6.1f} ms   "
              f"ratio {r['wall_s'][name] / ref:.2f}")
    floor = r["wall_s"]["floor"]
    print(f"click's own --help (the floor) {1000 * floor:6.1f} ms = {floor / base:.2f}x python -c pass; osm-l2net --help "
          f"is {r['wall_s']['help'] / floor:.2f}x of it")
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
