"""A ``lab up`` killed with SIGKILL at several points is fully removed by ``lab down`` (also without its state file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from osm_l2net.lab import Lab
from osm_l2net.lab.inputs import DEFAULT_PROFILE, default_path
from tests.lab.leftovers import alive, kill_up_after, leftovers, netns_of, pids_in
from tests.lab.plans import cdn_plan

pytestmark = pytest.mark.lab


def _kill_up_after(lab: str, plan_file: Path, steps: int) -> None:
    kill_up_after(lab, [sys.executable, "-m", "osm_l2net.cli", "lab", "up", str(plan_file), "--lab", lab,
                        "--profile", str(default_path(DEFAULT_PROFILE)), "--size", "64KiB"], steps)


@pytest.mark.parametrize(("steps", "lose_state"), [(2, False), (4, False), (7, False), (9, False), (5, True)])
def test_killed_up_is_cleaned_by_down(lab_name: str, tmp_path: Path, steps: int, lose_state: bool) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(cdn_plan().as_dict()))
    _kill_up_after(lab_name, plan_file, steps)
    assert leftovers(lab_name), "the kill left a half-built lab behind (otherwise this test proves nothing)"
    if steps >= 3:
        assert netns_of(lab_name)
    running = pids_in(lab_name)
    if lose_state:
        Path(f"/run/osm-l2net/lab/{lab_name}.json").unlink()
    Lab(lab_name).down()
    assert leftovers(lab_name) == {}
    assert alive(running) == set()


def test_down_of_a_lab_that_never_existed_is_a_no_op(lab_name: str) -> None:
    assert Lab(lab_name).down()["netns"] == []


def test_down_removes_host_links_carrying_the_labs_alias_and_no_other(lab_name: str) -> None:
    """Ownership by alias: a link that says it belongs to this lab goes; another lab's link stays."""
    ours, theirs = f"l2vt{os.getpid() % 10**8}", f"l2vu{os.getpid() % 10**8}"
    for name, owner in ((ours, lab_name), (theirs, f"{lab_name}x")):
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p"], check=True)
        subprocess.run(["ip", "link", "set", name, "alias", f"osm-l2net lab={owner} ns=x stray"], check=True)
    try:
        assert Lab(lab_name).down()["host_links"] == [ours]
        def exists(name: str) -> bool:
            return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True, check=False).returncode == 0

        assert not exists(ours) and exists(theirs)
    finally:
        subprocess.run(["ip", "link", "del", theirs], check=False)
        subprocess.run(["ip", "link", "del", ours], check=False, capture_output=True)
