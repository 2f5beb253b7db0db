"""The CDN/VoD descriptors pass the real-model validator (SOL006 + OSM IM, loaded as OSM NBI does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DESCRIPTORS = REPO_ROOT / "descriptors"
VNFDS = sorted(DESCRIPTORS.glob("*_knf/*_vnfd.yaml"))
NSD = DESCRIPTORS / "vod_service_ns" / "vod_service_nsd.yaml"


def _validator() -> Path:
    models = os.environ.get("OSM_L2NET_MODELS")
    base = Path(models) if models else REPO_ROOT.parent / "shared" / "models"
    script = base / "validate_descriptor.py"
    if not script.is_file():
        pytest.skip(f"real-model validator not found at {script} (set OSM_L2NET_MODELS to the models folder)")
    return script


def _validate(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(_validator()), *args], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert ["[osm]", "PASS"] in [line[:2] for line in lines], proc.stdout
    assert ["[refs]", "PASS"] in [line[:2] for line in lines], proc.stdout
    assert "FAIL" not in proc.stdout
    return proc.stdout


def test_the_three_knf_packages_exist():
    assert [p.parent.name for p in VNFDS] == ["cdn_server_knf", "content_server_knf", "router_firewall_knf"]


@pytest.mark.parametrize("vnfd", VNFDS, ids=[p.parent.name for p in VNFDS])
def test_vnfd_conforms(vnfd):
    out = _validate(str(vnfd))
    assert f"VNFD '{vnfd.parent.name}'" in out


def test_nsd_conforms_with_its_vnfds():
    args = [str(NSD)]
    for vnfd in VNFDS:
        args += ["--vnfd", str(vnfd)]
    out = _validate(*args)
    assert "NSD 'vod_service_ns'" in out
