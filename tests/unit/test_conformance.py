"""Conformance against models others wrote: the generated objects against the real L2S-M / Multus CRDs, and our
descriptors against the SOL006 + OSM IM YANG as OSM NBI loads them (validators in ../shared/models)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from osm_l2net import api
from tests.conftest import CDN_PACKAGES, DESCRIPTORS, REPO
from tests.support.descriptors import descriptors, service_docs


def run(models: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(models / script), *args], capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.mark.parametrize("provider", ["l2sm", "l2sm-nad", "multus"])
def test_generated_network_objects_match_the_crds(provider: str, models: Path, tmp_path: Path) -> None:
    plan = api.plan(CDN_PACKAGES, ns_name="vod-service-deployment", options=api.PlanOptions(provider=provider))
    nsd, vnfds = service_docs(2, 4, 3, prefix=26)
    from osm_l2net.core.model import NsInstance
    from osm_l2net.core.planner import build_plan

    generated = build_plan(descriptors(nsd, vnfds), NsInstance("g", "gen"), api.PlanOptions(provider=provider))
    objects = tmp_path / "objects.yaml"
    objects.write_text(yaml.safe_dump_all([dict(n.as_dict()["manifest"]) for n in plan.networks + generated.networks]))
    done = run(models, "validate_k8s_object.py", str(objects))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout


def test_the_crd_validator_does_reject_a_broken_object(models: Path) -> None:
    """The check above can fail: the kit's broken L2Network is refused."""
    done = run(models, "validate_k8s_object.py", str(models / "examples" / "k8s" / "bad_l2network.yaml"))
    assert done.returncode == 1


@pytest.mark.parametrize("package", ["cdn_server_knf", "content_server_knf", "router_firewall_knf"])
def test_vnfds_pass_the_osm_model(package: str, models: Path) -> None:
    vnfd = next((DESCRIPTORS / package).glob("*_vnfd.yaml"))
    done = run(models, "validate_descriptor.py", str(vnfd))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[osm]    PASS" in done.stdout and "[refs]   PASS" in done.stdout


def test_nsds_pass_the_osm_model_with_their_vnfds(models: Path) -> None:
    for folder in (DESCRIPTORS, REPO / "examples" / "two_routers"):
        nsd = next(p for p in folder.rglob("*_nsd.yaml"))
        vnfds = [a for p in folder.rglob("*_vnfd.yaml") for a in ("--vnfd", str(p))]
        done = run(models, "validate_descriptor.py", str(nsd), *vnfds)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "[osm]    PASS" in done.stdout and "[refs]   PASS" in done.stdout
