"""The benchmark's real-connector row (bench/osm_lcm_bench.py --real, run by bench/run.py's lcm section in this
tier's venv) runs: it reuses this folder's helpers, so a helper moved here must not leave the benchmark broken while
every test passes (it did: the row printed an ImportError). One round, the timings themselves are never judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("n2vc")
def test_the_real_connector_bench_row_runs_and_reports_both_connectors() -> None:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "osm_lcm_bench.py"), "--real", "--repeat", "1",
                           "--ready-after", "0.1"], capture_output=True, text=True, timeout=600, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["real_connector"] is True and report["python"].startswith("3.10")
    for way in ("bare", "connector"):
        for step in ("instantiate", "terminate"):
            assert report["median_s"][way][step] > 0, (way, step)
