"""`helm lint --strict` on the three KNF charts, bare and with the values the CDN plan injects."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.helm


def test_lint_bare(chart, helm_run, chart_dirs):
    proc = helm_run("lint", "--strict", str(chart_dirs[chart]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout


def test_lint_with_injected_values(chart, helm_run, chart_dirs, values_file, cdn_values):
    proc = helm_run("lint", "--strict", str(chart_dirs[chart]), "-f", str(values_file(chart, cdn_values[chart])))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chart_metadata(chart, chart_dirs):
    meta = yaml.safe_load((chart_dirs[chart] / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == chart == chart_dirs[chart].name  # the VNFD's helm-chart names the folder
    assert meta["type"] == "application"


def _same_everywhere(chart_dirs: dict[str, Path], read: Callable[[Path], Any]) -> None:
    first, *rest = sorted(chart_dirs)
    for other in rest:
        assert read(chart_dirs[other]) == read(chart_dirs[first]), f"{other} differs from {first}"


def test_l2net_template_is_shared_verbatim(chart_dirs):
    _same_everywhere(chart_dirs, lambda d: (d / "templates" / "_l2net.tpl").read_bytes())


def test_l2net_schema_is_shared(chart_dirs):
    def contract(d: Path) -> dict[str, object]:
        props = json.loads((d / "values.schema.json").read_text())["properties"]
        return {k: props[k] for k in ("podLabels", "podAnnotations", "l2net", "replicaCount")}

    _same_everywhere(chart_dirs, contract)


def test_default_values_carry_no_attachment(chart, chart_dirs):
    values = yaml.safe_load((chart_dirs[chart] / "values.yaml").read_text())
    assert values["podLabels"] == {} and values["podAnnotations"] == {}
    assert values["l2net"] == {"interfaces": [], "routes": [], "forwarding": False}
    assert values["replicaCount"] == 1


def test_vnfd_kdu_names_its_chart(chart, chart_dirs):
    package = chart_dirs[chart].parent.parent
    (vnfd_file,) = package.glob("*_vnfd.yaml")
    kdus = yaml.safe_load(vnfd_file.read_text())["vnfd"]["kdu"]
    assert [k["helm-chart"] for k in kdus] == [chart]
    assert (package / "README.md").is_file()


def test_chart_packages(chart, helm_run, chart_dirs, tmp_path):
    """`helm package` works (a chart repository or OSM's helm-chart by name could serve it)."""
    proc = helm_run("package", str(chart_dirs[chart]), "--destination", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (archive,) = tmp_path.glob(f"{chart}-*.tgz")
    with tarfile.open(archive) as tgz:
        names = set(tgz.getnames())
    assert {f"{chart}/Chart.yaml", f"{chart}/values.yaml", f"{chart}/values.schema.json",
            f"{chart}/templates/_l2net.tpl", f"{chart}/templates/deployment.yaml"} <= names
