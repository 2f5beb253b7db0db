"""The LCM image of docs/lcm-integration.md, step by step in the environment that is LCM's (Python 3.10 with LCM's
pins installed, like /app/.venv of LCM's image): its constraints step, the resolution of its install (dry run: the
tier's osm-l2net is already installed, editable) and its import check. No container runtime runs here, so the
``docker build`` itself is not run; what it runs is."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "lcm-integration.md"


def dockerfile_steps() -> list[str]:
    block = re.search(r"```dockerfile\n(.*?)```", DOC.read_text(), re.S)
    assert block, "docs/lcm-integration.md has a dockerfile block"
    run = re.search(r"^RUN (.*?)(?<!\\)\n", block.group(1), re.S | re.M)
    assert run, "the Dockerfile has a RUN step"
    return [step.strip() for step in run.group(1).replace("\\\n", " ").split(" && ")]


def sh(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.usefixtures("n2vc")
def test_the_image_steps_keep_lcms_pins_and_end_with_a_working_connector(tmp_path: Path, osm_source: Path) -> None:
    python = sys.executable  # the tier's .venv310: LCM's pins are what is installed in it
    pins, report = tmp_path / "lcm-pins.txt", tmp_path / "report.json"
    standin = Path(__file__).resolve().parent / "osm_common_standin"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(osm_source / "lcm"), str(standin), str(REPO)]),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    steps = dockerfile_steps()
    assert steps[0].startswith("python3 -m pip freeze") and steps[-1].startswith("rm -rf")
    for step in steps[:-1]:
        command = step.replace("python3", python).replace("/tmp/lcm-pins.txt", str(pins))
        command = command.replace("/tmp/osm-l2net", str(REPO))
        if " pip install " in command:  # resolve only: this environment's osm-l2net is the editable one under test
            command = command.replace(" pip install ", f" pip install --dry-run --quiet --report {report} ")
        done = sh(command, env)
        assert done.returncode == 0, f"{step}\n{done.stdout}\n{done.stderr}"
    constraints = pins.read_text().splitlines()
    assert "kubernetes==33.1.0" in constraints and "urllib3==2.6.1" in constraints
    assert not [c for c in constraints if "@" in c or c.startswith("-e")], "only name==version lines"
    would_install = {item["metadata"]["name"]: item["metadata"]["version"] for item in json.loads(report.read_text())["install"]}
    assert set(would_install) == {"osm-l2net"}, f"the image would change LCM's packages: {would_install}"
