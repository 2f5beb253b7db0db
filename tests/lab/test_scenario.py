"""The PoC scenario end to end (small file, short waits), and the lab CLI's contract."""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from osm_l2net.cli.lab import lab
from osm_l2net.lab.inputs import DEFAULT_PROFILE, default_path, load_profile_file
from osm_l2net.lab.scenario import run_scenario
from tests.lab.leftovers import alive, leftovers, pids_in
from tests.lab.plans import cdn_plan

pytestmark = pytest.mark.lab


def _fast_profile(tmp_path: Path, **scenario: object) -> Path:
    data = yaml.safe_load(default_path(DEFAULT_PROFILE).read_text())
    data["scenario"].update({"down-seconds": 2, "cutoff-at": 0.25, "download-timeout": 60, **scenario})
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_lab_run_passes_the_poc_scenario_from_the_packages_and_leaves_nothing(lab_name: str, tmp_path: Path) -> None:
    """`lab run` as a user runs it: the CDN packages in descriptors/, planned by the core, firewall from the chart."""
    report_file, page_file = tmp_path / "report.json", tmp_path / "report.html"
    argv = [sys.executable, "-m", "osm_l2net.cli", "lab", "run", "--lab", lab_name, "--size", "1536KiB",
            "--profile", str(_fast_profile(tmp_path)), "--report", str(report_file), "--report", str(page_file)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "Traceback" not in done.stderr
    report = json.loads(report_file.read_text())
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    for expected in ("ping 10.0.2.10", "traceroute", "Range", "firewall", "transfer while", "resumes", "sha256",
                     "external-user", "second NS instance"):
        assert any(expected in n for n in names), f"missing check {expected!r} in {names}"
    ping = next(c for c in report["checks"] if c["name"].startswith("ping"))
    assert ping["observed"] == "3/3 received, 0% loss, ttl=63"
    _assert_page(page_file, report)
    assert leftovers(lab_name) == {}
    assert leftovers(f"{lab_name}_b") == {}


def _assert_page(page_file: Path, report: dict[str, object]) -> None:
    """The HTML report of the same run: the verdict, every check with its row marked, the picture inline."""
    page = page_file.read_text()
    checks = report["checks"]
    assert isinstance(checks, list)
    passed = sum(c["ok"] for c in checks)
    word = "PASS" if report["ok"] else "FAIL"
    assert f"{word} ({passed}/{len(checks)} checks, {report['seconds']:.1f}s)" in page
    for c in checks:
        row = f'<tr class="{"ok" if c["ok"] else "mismatch"}"><td>{html.escape(c["name"])}</td>'
        assert row in page, f"no {'ok' if c['ok'] else 'mismatch'} row for {c['name']!r}"
        assert html.escape(c["observed"]) in page
    assert "<svg" in page and "src=" not in page and "<link" not in page  # inline picture, nothing fetched


@pytest.mark.parametrize("sigs", [[signal.SIGINT], [signal.SIGTERM], [signal.SIGINT, signal.SIGINT]],
                         ids=["SIGINT", "SIGTERM", "SIGINT-twice"])
def test_an_interrupted_lab_run_leaves_nothing(lab_name: str, tmp_path: Path, sigs: list[signal.Signals]) -> None:
    child = _run_until_downloading([sys.executable, "-m", "osm_l2net.cli", "lab"], lab_name, tmp_path)
    running = pids_in(lab_name)
    for sig in sigs:  # a second Ctrl-C lands in the clean-up, which must finish anyway
        child.send_signal(sig)
        time.sleep(0.15)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "Traceback" not in err
    assert leftovers(lab_name) == {}
    assert alive(running) == set()


def test_sigterm_to_the_console_script_exits_143_after_the_clean_up(lab_name: str, tmp_path: Path) -> None:
    """Through ``osm-l2net lab run`` the console script's handler unwinds: the exit code says SIGTERM (128 + 15), as
    for every other command, and the lab is gone."""
    child = _run_until_downloading([str(Path(sys.executable).with_name("osm-l2net")), "lab"], lab_name, tmp_path)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "Traceback" not in err and "interrupted by SIGTERM" in err
    assert leftovers(lab_name) == {}

def _run_until_downloading(command: list[str], lab_name: str, tmp_path: Path) -> subprocess.Popen[str]:
    """``<command> run`` of the CDN plan, returned once the cache is downloading (the moment to interrupt it)."""
    argv = [*command, "run", str(_plan_file(tmp_path)), "--lab", lab_name, "--size", "4MiB",
            "--profile", str(_fast_profile(tmp_path))]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    agent = Path(f"/run/osm-l2net/lab/{lab_name}/pods/l2n-{lab_name}-cdn-server/agent.json")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and '"downloading"' not in (agent.read_text() if agent.exists() else ""):
        time.sleep(0.05)
    assert child.poll() is None, child.communicate()
    return child


def _plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(cdn_plan().as_dict()))
    return path


def test_scenario_reports_a_mismatch_when_the_firewall_is_not_what_the_values_say(lab_name: str,
                                                                                   tmp_path: Path) -> None:
    """Tamper with the router after up: the scenario must notice (expectations are computed, not assumed)."""
    from osm_l2net.lab import roles
    from osm_l2net.lab.firewall import NO_FIREWALL

    original = roles.apply_firewall
    roles.apply_firewall = lambda pod, fw: original(pod, NO_FIREWALL)  # type: ignore[assignment]
    try:
        profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_timings(isolation_instance=False)
        profile = profile.with_content(size=64 * 1024, rate_bps=0)
        report = run_scenario(cdn_plan(), profile, lab_name, progress=lambda _: None,
                              report_path=tmp_path / "report.html")
    finally:
        roles.apply_firewall = original  # type: ignore[assignment]
    fw = next(c for c in report.checks if "(firewall)" in c.name)
    assert (fw.expected, fw.observed, fw.ok) == ("blocked", "open", False)
    assert not report.ok
    _assert_page(tmp_path / "report.html", report.as_dict())
    assert leftovers(lab_name) == {}


def test_cli_up_status_exec_scale_down(lab_name: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(cdn_plan().as_dict()))
    runner = CliRunner()
    up = runner.invoke(lab, ["up", str(plan_file), "--lab", lab_name, "--size", "64KiB"])
    assert up.exit_code == 0, up.output
    status = runner.invoke(lab, ["status", "--lab", lab_name, "-o", "json"])
    assert [p["role"] for p in json.loads(status.stdout)["pods"]][:3] == ["cache", "router", "content-server"]
    assert runner.invoke(lab, ["status", "--lab", lab_name]).exit_code == 0
    assert runner.invoke(lab, ["scale", "router-firewall", "--replicas", "0", "--lab", lab_name]).exit_code == 0
    # exec runs in the pod's namespace and passes the exit code through
    argv = [sys.executable, "-m", "osm_l2net.cli", "lab", "exec", "--lab", lab_name, "cdn-server", "--",
            "ping", "-c", "1", "-W", "1", "10.0.2.10"]
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 1
    assert runner.invoke(lab, ["scale", "router-firewall", "--replicas", "1", "--lab", lab_name]).exit_code == 0
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 0
    gone = runner.invoke(lab, ["exec", "--lab", lab_name, "nope", "--", "true"])
    assert gone.exit_code == 2 and "no such pod" in gone.output
    assert runner.invoke(lab, ["down", "--lab", lab_name]).exit_code == 0
    assert leftovers(lab_name) == {}


def test_missing_tool_is_a_clear_error_naming_the_package(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ip", "tc", "nft", "curl", "ping", "traceroute"):  # everything but nginx
        path = shutil.which(tool)
        assert path, f"{tool} must be installed for the lab tests"
        (bin_dir / tool).symlink_to(path)
    env = {**os.environ, "PATH": str(bin_dir)}
    done = subprocess.run([sys.executable, "-m", "osm_l2net.cli", "lab", "up", "--lab", "never"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "nginx" in done.stderr and "apt-get install nginx" in done.stderr
    assert "Traceback" not in done.stderr


def test_not_root_is_a_clear_error() -> None:
    setpriv = shutil.which("setpriv")  # util-linux, an essential Debian package
    assert setpriv, "setpriv (util-linux) drops root for this test"
    argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "osm_l2net.cli", "lab",
            "status", "--lab", "never"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
    assert done.returncode == 2, done.stderr
    assert "needs root" in done.stderr and "Traceback" not in done.stderr
