"""Each KNF package's checksums.txt (md5sum format, as OSM packages carry it) lists exactly its files, current.

Regenerate after editing a package: OSM_L2NET_UPDATE_CHECKSUMS=1 pytest tests/charts/test_package_checksums.py
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

PACKAGES = sorted((Path(__file__).resolve().parents[2] / "descriptors").glob("*_knf"))


def _expected(package: Path) -> str:
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.name != "checksums.txt")
    lines = [f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(package).as_posix()}" for p in files]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("package", PACKAGES, ids=[p.name for p in PACKAGES])
def test_checksums_are_current(package):
    expected = _expected(package)
    path = package / "checksums.txt"
    if os.environ.get("OSM_L2NET_UPDATE_CHECKSUMS"):
        path.write_text(expected)
    assert path.is_file(), f"{path} missing; regenerate with OSM_L2NET_UPDATE_CHECKSUMS=1"
    assert path.read_text() == expected, f"{path} is stale; regenerate with OSM_L2NET_UPDATE_CHECKSUMS=1"
    assert any(line.endswith("values.yaml") for line in expected.splitlines())  # the chart is in the package
    # ... where OSM's LCM v19 installs it from (ns.py, deploy_kdus: <package>/helm-chart-v3s/<helm-chart>), nowhere else
    charts = {line.split("  ", 1)[1].split("/", 1)[0] for line in expected.splitlines() if line.endswith("Chart.yaml")}
    assert charts == {"helm-chart-v3s"}
