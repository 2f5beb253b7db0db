"""Where a package's chart must be for OSM, proven with the real helm: what LCM v19 hands helm when the chart is not in
<package>/helm-chart-v3s/<helm-chart> fails as the loader's warning says; in that folder, the chart is the plan's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from osm_l2net import api

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "openldap_charts_folder"


def helm(chart_helm: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd), "XDG_CACHE_HOME": str(cwd / ".cache"), "XDG_CONFIG_HOME": str(cwd / ".config"),
           "XDG_DATA_HOME": str(cwd / ".data")}  # no repositories of the user's: a bare name resolves to nothing
    return subprocess.run([chart_helm, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_chart_in_charts_fails_in_helm_as_the_warning_says(chart_helm: str, tmp_path: Path) -> None:
    (warning,) = api.validate([EXAMPLE / "openldap_ns", EXAMPLE / "openldap_knf"])
    assert warning.severity == "warning" and warning.path == "vnfd.kdu[0].helm-chart"
    # LCM found no helm-chart-v3s/openldap, so kdu-model stays 'openldap' and helm gets it as is
    proc = helm(chart_helm, tmp_path, "template", "r", "openldap")
    assert proc.returncode != 0
    said = proc.stderr.strip().removeprefix("Error: ").split(", got:")[0]
    assert said and said in warning.message, (proc.stderr, warning.message)


def test_the_chart_in_helm_chart_v3s_is_the_plans_and_renders(chart_helm: str, tmp_path: Path) -> None:
    knf = tmp_path / "openldap_knf"
    shutil.copytree(EXAMPLE / "openldap_knf", knf)
    (knf / "charts").rename(knf / "helm-chart-v3s")
    plan = api.plan([EXAMPLE / "openldap_ns", knf], ns_name="ldap")
    assert plan.warnings == ()
    chart_path = plan.kdus[0].chart_path
    assert chart_path == str((knf / "helm-chart-v3s" / "openldap").resolve())
    proc = helm(chart_helm, tmp_path, "template", "r", chart_path)
    assert proc.returncode == 0, proc.stderr
    assert "name: r-openldap" in proc.stdout
