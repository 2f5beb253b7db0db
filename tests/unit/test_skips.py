"""No silent skips: under CI (``CI=true``) a skipped test fails the run, unless the skip is an opt-in mode that was not
asked for; elsewhere it stays a skip whose reason says how to get what is missing. Checked on a small test file run
by a pytest of its own with the suite's hooks (tests/conftest.py) and tools (tests/support/tools.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import tools

REPO = Path(__file__).resolve().parents[2]

SAMPLE = '''
import pytest
from tests.support.tools import require_tool

def test_missing_model():
    pytest.skip("the shared conformance models are not there: set OSM_L2NET_MODELS")

def test_missing_tool():
    require_tool("no-such-tool-osm-l2net")

def test_opt_in_mode():
    pytest.skip("opt-in end-to-end mode: set OSM_L2NET_E2E_KUBECONFIG to a real cluster")

@pytest.mark.xfail(reason="an expected failure is not a skip", strict=True)
def test_expected_failure():
    raise AssertionError

def test_runs():
    assert require_tool("sh").startswith("/")
'''


def _run(tmp_path: Path, ci: str | None) -> tuple[dict[str, int], str]:
    (tmp_path / "conftest.py").write_text("from tests.conftest import pytest_make_collect_report, "
                                          "pytest_runtest_makereport  # noqa: F401 (the hooks under test)\n")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OSM_L2NET_NO_SUCH_TOOL_OSM_L2NET")}
    env["PYTHONPATH"] = str(REPO)
    if ci is not None:
        env["CI"] = ci
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False)
    summary = done.stdout.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    return counts, done.stdout


def test_under_ci_a_skip_for_something_missing_fails(tmp_path: Path) -> None:
    counts, out = _run(tmp_path, "true")
    assert counts == {"failed": 2, "passed": 1, "skipped": 1, "xfailed": 1}, out
    assert "skipped under CI, where every test must run" in out and "./scripts/setup" in out
    assert "no-such-tool-osm-l2net not found" in out and "run ./scripts/setup" in out


def test_elsewhere_it_is_a_skip_that_says_how_to_get_it(tmp_path: Path) -> None:
    counts, out = _run(tmp_path, None)
    assert counts == {"passed": 1, "skipped": 3, "xfailed": 1}, out
    assert re.search(r"SKIPPED .*no-such-tool-osm-l2net not found .*: run \./scripts/setup", out), out


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("", False), ("false", False),
                                                 ("0", False), (None, False)])
def test_what_counts_as_ci(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert tools.in_ci() is expected


def test_a_tool_named_without_a_path_is_found_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$OSM_L2NET_HELM=helm (a bare name) once made the helm tests skip quietly: only absolute paths counted."""
    fake = tmp_path / "bin" / "helm"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("OSM_L2NET_HELM", "helm")
    assert tools.find_tool("helm") == str(fake)
    monkeypatch.setenv("OSM_L2NET_HELM", str(tmp_path / "nowhere" / "helm"))
    assert tools.find_tool("helm") is None
