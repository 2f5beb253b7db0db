"""Smoke test of the benchmark command (bench/run.py): it runs, prints one table with the rows it promises, and every
row carries a number measured in the run against a baseline measured in the same run. Only the parts that need no
root and no long time (import time, plan at the two smallest sizes); nothing is asserted about the timings."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def load_run(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/run.py as a module (bench/ is a folder of scripts, not a package); registered while the test runs."""
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # run.py puts the checkout first on the path
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "import,plan", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text())


def test_rows_are_the_promised_ones_with_numbers(quick: tuple[str, dict[str, object]]) -> None:
    stdout, data = quick
    rows = data["rows"]
    assert isinstance(rows, list)
    assert [r["bench"] for r in rows] == ["import"] + ["plan"] * 4
    cases = [r["case"] for r in rows]
    assert cases[0].startswith("import osm_l2net.osm.lcm in a fresh interpreter (median of 5)")
    assert [c.split(",")[0] for c in cases[1:]] == ["plan time", "plan peak memory"] * 2
    assert " 12 VLs " in cases[1] and " 100 VLs " in cases[3]  # 10 rounds up to whole groups of 4 VLs
    for r in rows:
        assert isinstance(r["measured"], float) and math.isfinite(r["measured"]) and r["measured"] > 0, r
        assert isinstance(r["baseline"], float) and math.isfinite(r["baseline"]) and r["baseline"] > 0, r
        assert r["ratio"] == pytest.approx(r["measured"] / r["baseline"]), r
        assert r["case"] in stdout
    assert rows[1]["ratio"] == pytest.approx(1.0)  # the smallest size is its own linear baseline
    assert rows[0]["met"] in (True, False) and rows[0]["goal"] == "< 300 ms"


def test_machine_facts_and_command_line(quick: tuple[str, dict[str, object]]) -> None:
    stdout, data = quick
    facts = data["machine"]
    assert isinstance(facts, dict)
    assert {"cpu", "cores", "memory_gib", "python", "date", "command", "commit", "load_average_at_start"} <= set(facts)
    assert "--quick --only import,plan" in facts["command"]
    assert f"command: {facts['command']}" in stdout
    assert stdout.splitlines()[len(facts) + 1].split()[:3] == ["BENCH", "CASE", "(measured"]


def test_lab_rows_say_root_is_needed_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    run = load_run(monkeypatch)
    monkeypatch.setattr(run.os, "geteuid", lambda: 1000)
    rows = run.lab_rows(run.Settings(quick=True))
    assert [r.case for r in rows] == list(run.LAB_CASES)
    assert {r.note for r in rows} == {"skipped: needs root"}
    assert "skipped: needs root" in run.render(rows)


def test_an_unknown_section_is_refused() -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--only", "plan,nope"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    assert "unknown section(s) nope" in proc.stderr


def test_the_command_rows_time_the_real_command_beside_the_planner(tmp_path: Path) -> None:
    """The command section (quick: 12 and 100 VLs): one row per size and -o format, measured in a process of its own
    against build_plan alone in the same run, and a peak-RSS row per format."""
    out = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "command", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    timed = [r for r in rows if "whole command vs build_plan alone" in r["case"]]
    assert [(r["case"].split(",")[0], r["case"].split(", ")[1].split(" ")[0]) for r in timed] == [
        (f"osm-l2net plan -o {fmt}", size) for size in ("12", "100") for fmt in ("table", "json", "yaml")]
    assert [r["case"] for r in rows if "peak RSS" in r["case"]] == [
        f"osm-l2net plan -o {fmt}, 100 VLs: peak RSS vs the 12-VL command's" for fmt in ("table", "json", "yaml")]
    for r in rows:
        assert isinstance(r["measured"], float) and math.isfinite(r["measured"]) and r["measured"] > 0, r
        assert isinstance(r["baseline"], float) and math.isfinite(r["baseline"]) and r["baseline"] > 0, r
        assert r["ratio"] == pytest.approx(r["measured"] / r["baseline"]), r
        assert r["case"] in proc.stdout
    assert all(r["measured"] > r["baseline"] for r in timed)  # a process start-up can never beat the bare planner


def test_cli_rows_time_the_console_script_against_the_same_runs_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    run = load_run(monkeypatch)
    monkeypatch.syspath_prepend(str(BENCH.parent))  # as when run.py runs as a script: its sibling modules
    settings = run.Settings(quick=True)
    rows = run.cli_rows(settings)
    assert [r.case.split(" (median")[0] for r in rows] == [
        "osm-l2net --help", "osm-l2net --help", "osm-l2net validate descriptors/*", "osm-l2net plan descriptors/*"]
    raw = settings.raw["cli"]
    to_pass, to_floor, *work = rows
    assert to_pass.baseline == pytest.approx(1000 * raw["wall_s"]["pass"])  # --help: python -c pass alone
    assert to_floor.baseline == pytest.approx(1000 * raw["wall_s"]["floor"]) and "minimal click group" in to_floor.case
    assert to_floor.measured == to_pass.measured  # the same runs, against the floor
    assert to_floor.goal == "≤ 1.2×" and to_floor.met == (to_floor.measured <= 1.2 * to_floor.baseline)
    for r, name in zip(work, ("validate", "plan"), strict=True):  # the others: plus the same work in-process
        assert r.baseline == pytest.approx(1000 * (raw["wall_s"]["pass"] + raw["work_s"][name]))
    for r in (to_pass, *work):
        assert r.measured is not None and math.isfinite(r.measured) and r.measured > 0, r
        assert r.goal == "≤ 2×" and r.met == (r.measured <= 2 * r.baseline)
    assert "the floor, a minimal click group's --help" in to_pass.note  # what --help cannot go under, said where it is
    assert raw["wall_s"]["floor"] > 0 and "floor" not in work[0].note
