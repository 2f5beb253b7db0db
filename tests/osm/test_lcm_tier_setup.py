"""scripts/setup-lcm (the 'as OSM runs' tier's environment): without Python 3.10 it is a skip that says why, except
under CI, where it is a failure (CI must run the tier)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup-lcm"


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "lcm").mkdir(exist_ok=True)
    (tmp_path / "lcm" / "requirements.txt").write_text("kubernetes==33.1.0\n")
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run([str(SETUP)], env={**base, "OSM_L2NET_OSM_SOURCE": str(tmp_path), **env}, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("ci", "code", "says"), [("", 3, "cannot run here"), ("true", 1, "FAILED (CI must run")])
def test_no_python310_is_a_skip_with_the_reason_or_under_ci_a_failure(tmp_path: Path, ci: str, code: int,
                                                                         says: str) -> None:
    not_310 = tmp_path / "python3.10"
    not_310.write_text("#!/bin/sh\nexit 1\n")  # like a pyenv shim without a 3.10 selected
    not_310.chmod(0o755)
    done = run(tmp_path, OSM_L2NET_PYTHON310=str(not_310), **({"CI": ci} if ci else {}))
    assert done.returncode == code, done.stderr
    assert says in done.stderr and "not a working Python 3.10" in done.stderr


def test_no_osm_source_is_named(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    done = subprocess.run([str(SETUP)], env={**base, "OSM_L2NET_OSM_SOURCE": str(tmp_path / "none")}, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 3 and str(tmp_path / "none") in done.stderr
