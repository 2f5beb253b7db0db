"""Descriptor loading: OSM's real variants are accepted, malformed input is rejected with file + path + expectation."""

from __future__ import annotations

import copy
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net.core.errors import DescriptorError
from osm_l2net.core.sol006 import parse_nsd, parse_vnfd
from osm_l2net.local.packages import load_descriptors
from tests.conftest import CDN_PACKAGES, DESCRIPTORS, MODELS

EXAMPLES = MODELS / "examples"


def nsd_doc() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "l2net_nsd.yaml").read_text())


def vnfd_doc() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "l2net_knf_vnfd.yaml").read_text())


def test_cdn_packages_load_with_local_charts_resolved() -> None:
    d = load_descriptors(CDN_PACKAGES)
    assert d.nsd.id == "vod_service_ns"
    assert sorted(d.vnfds) == ["cdn_server_knf", "content_server_knf", "router_firewall_knf"]
    router = d.vnfds["router_firewall_knf"]
    assert [c.id for c in router.ext_cpds] == ["mgmt-ext", "cache-side-ext", "content-side-ext"]
    assert router.package_dir == str(DESCRIPTORS / "router_firewall_knf")


def test_scalar_and_list_ip_address_are_both_accepted() -> None:
    doc = nsd_doc()
    cps = doc["nsd"]["nsd"][0]["df"][0]["vnf-profile"][0]["virtual-link-connectivity"][1]["constituent-cpd-id"]
    scalar = parse_nsd(doc, "n.yaml").dfs[0].vnf_profiles[0].attachments[1]
    cps[0]["ip-address"] = ["10.0.1.10"]
    listed = parse_nsd(doc, "n.yaml").dfs[0].vnf_profiles[0].attachments[1]
    assert scalar.ip_addresses == listed.ip_addresses == ("10.0.1.10",)


def test_unwrapped_nsd_and_prefixed_keys_are_accepted() -> None:
    body = nsd_doc()["nsd"]["nsd"][0]
    vlc = body["df"][0]["vnf-profile"][0]["virtual-link-connectivity"][1]
    vlc["ns-vld:constituent-cpd-id"] = vlc.pop("constituent-cpd-id")
    nsd = parse_nsd({"nsd": body}, "n.yaml")
    assert nsd.dfs[0].vnf_profiles[0].attachments[1].cpd_id == "data-ext"
    vnfd = vnfd_doc()
    vnfd["vnfd"]["ext-cpd"][1]["kdu:k8s-cluster-net"] = vnfd["vnfd"]["ext-cpd"][1].pop("k8s-cluster-net")
    parsed = parse_vnfd({"etsi-nfv-vnfd:vnfd": vnfd["vnfd"]}, "v.yaml")
    assert parsed.ext_cpd("data-ext") is not None and parsed.ext_cpd("data-ext").k8s_cluster_net == "datanet"  # type: ignore[union-attr]


# Each of the kit's broken examples that cannot be planned: the path we must name and a fragment of what we must say.
# (vnfd_mgmt_cp.yaml and vnfd_k8s_net.yaml pass OSM: warnings, tests/unit/test_osm_parity.py.)
BAD = [
    ("vnfd_unknown_field.yaml", "vnfd.ext-cpd[0].foo", "unknown field"),
    ("vnfd_enum.yaml", "vnfd.kdu[0].helm-version", "v2 or v3"),
    ("vnfd_helm_chart.yaml", "vnfd.kdu[0].helm-chart", "not a chart reference"),
    ("nsd_ip_address.yaml", "constituent-cpd-id[0].ip-address", "not an IP address"),
    ("nsd_ip_version.yaml", "l3-protocol-data.ip-version", "ipv4 or ipv6"),
    ("nsd_unknown_field.yaml", "l3-protocol-data.mtu", "unknown field"),
    ("nsd_cidr.yaml", "l3-protocol-data.cidr", "not a valid network prefix"),
]


@pytest.mark.parametrize(("name", "path", "fragment"), BAD)
def test_broken_examples_name_file_path_and_problem(name: str, path: str, fragment: str) -> None:
    source = EXAMPLES / "bad" / name
    with pytest.raises(DescriptorError) as err:
        load_descriptors([source])
    problem = next((p for p in err.value.problems if path in p.path), None)
    assert problem is not None, [str(p) for p in err.value.problems]
    assert problem.source == str(source)
    assert fragment in problem.message + problem.expected
    assert problem.expected, "every problem says what was expected"


def test_all_problems_are_reported_at_once() -> None:
    doc = vnfd_doc()
    doc["vnfd"]["ext-cpd"][0]["bogus"] = 1
    doc["vnfd"]["kdu"][0]["helm-version"] = "v9"
    doc["vnfd"]["mgmt-cp"] = "nope"
    with pytest.raises(DescriptorError) as err:
        parse_vnfd(doc, "v.yaml")
    paths = {p.path for p in err.value.problems}
    assert {"vnfd.ext-cpd[0].bogus", "vnfd.kdu[0].helm-version", "vnfd.mgmt-cp"} <= paths


def test_duplicate_ids_are_rejected() -> None:
    doc = vnfd_doc()
    doc["vnfd"]["ext-cpd"].append(copy.deepcopy(doc["vnfd"]["ext-cpd"][0]))
    with pytest.raises(DescriptorError, match="ext-cpd id 'mgmt-ext' is used twice"):
        parse_vnfd(doc, "v.yaml")


def test_wrong_types_are_rejected_with_path() -> None:
    doc = nsd_doc()
    doc["nsd"]["nsd"][0]["df"][0]["vnf-profile"] = {"id": "1"}
    with pytest.raises(DescriptorError) as err:
        parse_nsd(doc, "n.yaml")
    assert err.value.problems[0].path == "nsd[0].df[0].vnf-profile"
    assert "not a list" in err.value.problems[0].message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("nsd:\n  nsd: [\n  - id: x\n")
    with pytest.raises(DescriptorError) as err:
        load_descriptors([bad])
    assert err.value.problems[0].source == str(bad)
    assert err.value.problems[0].path.startswith("line ")


def test_not_a_descriptor_and_missing_nsd(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("foo: 1\n")
    with pytest.raises(DescriptorError, match="neither 'nsd' nor 'vnfd'"):
        load_descriptors([other])
    with pytest.raises(DescriptorError, match="no NSD found"):
        load_descriptors([EXAMPLES / "l2net_knf_vnfd.yaml"])


def test_two_nsds_and_duplicate_vnfds_are_rejected() -> None:
    with pytest.raises(DescriptorError, match="a second NSD"):
        load_descriptors([EXAMPLES / "l2net_nsd.yaml", EXAMPLES / "strict" / "l2net_nsd.yaml"])
    with pytest.raises(DescriptorError, match="given twice"):
        load_descriptors([EXAMPLES / "l2net_nsd.yaml", EXAMPLES / "l2net_knf_vnfd.yaml", EXAMPLES / "l2net_knf_vnfd.yaml"])


def test_tar_gz_package_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    archive = tmp_path / "router_firewall_knf.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(DESCRIPTORS / "router_firewall_knf", arcname="router_firewall_knf")
    d = load_descriptors([DESCRIPTORS / "vod_service_ns", archive, DESCRIPTORS / "cdn_server_knf",
                          DESCRIPTORS / "content_server_knf"])
    assert d.vnfds["router_firewall_knf"].package_dir is not None
    assert Path(d.vnfds["router_firewall_knf"].package_dir).is_relative_to(tmp_path / "cache")


def test_tar_with_path_escape_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "x.yaml"
    payload.write_text("vnfd: {}\n")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../../escaped.yaml")
    with pytest.raises(DescriptorError, match="outside the destination"):
        load_descriptors([evil])
    assert not (tmp_path / "escaped.yaml").exists()
    assert list((tmp_path / "cache" / "osm-l2net" / "packages").iterdir()) == [], "no partial unpack left"
