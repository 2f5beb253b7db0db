"""Parity with OSM v19 on real-looking packages: what OSM onboards and instantiates is planned (a reference the plan
does not use is a warning saying what OSM does with it), packages are laid out and read as OSM reads them, and the
rules copied from OSM are held against OSM's own source (../shared/osm-v19, OSM_L2NET_OSM_SOURCE).

Each package is built from descriptors/ or from OSM's own openldap example (reference/osm.md), and the shared
validator (../shared/models/validate_descriptor.py, ``--osm-only``: what OSM NBI rejects at onboarding) confirms that
OSM accepts it.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from click.testing import CliRunner

from osm_l2net import api
from osm_l2net.cli.main import cli
from osm_l2net.core.errors import DescriptorError, InputError, Problem
from osm_l2net.core.sol006 import HELM_CHART, is_valid_helm_chart
from osm_l2net.local.packages import load_descriptors
from tests.conftest import DESCRIPTORS, REPO

OSM_SOURCE = Path(os.environ.get("OSM_L2NET_OSM_SOURCE", REPO.parent / "shared" / "osm-v19"))

# OSM's openldap KNF and NS (reference/osm.md §3), as OSM's examples write them: a mgmt-only KNF, chart from a repo.
OPENLDAP_VNFD = {"vnfd": {
    "id": "openldap_knf", "product-name": "openldap_knf", "provider": "Telefonica", "version": "1.0",
    "mgmt-cp": "mgmt-ext", "df": [{"id": "default-df"}],
    "ext-cpd": [{"id": "mgmt-ext", "k8s-cluster-net": "mgmtnet"}],
    "k8s-cluster": {"nets": [{"id": "mgmtnet"}]},
    "kdu": [{"name": "ldap", "helm-chart": "stable/openldap"}]}}
OPENLDAP_NSD = {"nsd": {"nsd": [{
    "id": "openldap_ns", "name": "openldap_ns", "version": "1.0", "designer": "OSM", "vnfd-id": ["openldap_knf"],
    "virtual-link-desc": [{"id": "mgmtnet", "mgmt-network": True}],
    "df": [{"id": "default-df", "vnf-profile": [{
        "id": "openldap", "vnfd-id": "openldap_knf",
        "virtual-link-connectivity": [{"virtual-link-profile-id": "mgmtnet", "constituent-cpd-id": [
            {"constituent-base-element-id": "openldap", "constituent-cpd-id": "mgmt-ext"}]}]}]}]}]}}


@pytest.fixture(scope="session")
def osm_source() -> Path:
    if not (OSM_SOURCE / "nbi" / "osm_nbi" / "descriptor_topics.py").is_file():
        pytest.fail(f"OSM v19's source is not at {OSM_SOURCE} (set OSM_L2NET_OSM_SOURCE)")
    return OSM_SOURCE


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # unpacked archives stay in this test's folder


def write_package(root: Path, name: str, document: dict[str, Any], descriptor: str | None = None) -> Path:
    package = root / name
    package.mkdir(parents=True)
    (package / (descriptor or f"{name}.yaml")).write_text(yaml.safe_dump(document, sort_keys=False))
    return package


def copy_package(root: Path, name: str, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """One of descriptors/ copied under root, its descriptor edited in place."""
    package = root / name
    shutil.copytree(DESCRIPTORS / name, package)
    descriptor = next(package.glob("*.yaml"))
    if edit is not None:
        doc = yaml.safe_load(descriptor.read_text())
        edit(doc)
        descriptor.write_text(yaml.safe_dump(doc, sort_keys=False))
    return package


def openldap(root: Path, vnfd_edit: Callable[[dict[str, Any]], None] | None = None,
             nsd_edit: Callable[[dict[str, Any]], None] | None = None) -> list[Path]:
    vnfd, nsd = json.loads(json.dumps(OPENLDAP_VNFD)), json.loads(json.dumps(OPENLDAP_NSD))
    if vnfd_edit:
        vnfd_edit(vnfd)
    if nsd_edit:
        nsd_edit(nsd)
    return [write_package(root, "openldap_ns", nsd), write_package(root, "openldap_knf", vnfd)]


def osm_accepts(models: Path, descriptor: Path, *vnfds: Path) -> str:
    """The shared validator's verdict on what OSM NBI rejects at onboarding (--osm-only): it must accept."""
    args = [a for v in vnfds for a in ("--vnfd", str(v))]
    done = subprocess.run([sys.executable, str(models / "validate_descriptor.py"), str(descriptor), *args, "--osm-only"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[osm]    PASS" in done.stdout, done.stdout
    return done.stdout


def yaml_of(package: Path) -> Path:
    return next(package.glob("*.yaml"))


def warnings_at(problems: list[Problem] | tuple[Problem, ...], path: str) -> list[Problem]:
    return [p for p in problems if p.path == path and p.severity == "warning"]


# ---- validation parity: what OSM accepts is planned --------------------------------------------------------------


def test_openldap_as_osm_ships_it_plans_with_no_problem(tmp_path: Path, models: Path) -> None:
    packages = openldap(tmp_path)
    osm_accepts(models, yaml_of(packages[1]))
    plan = api.plan(packages, ns_name="ldap")
    assert plan.networks == () and [k.helm_chart for k in plan.kdus] == ["stable/openldap"]
    assert plan.warnings == () and plan.kdus[0].chart_path is None  # a repository chart, as intended


def test_a_dangling_mgmt_cp_on_a_mgmt_only_knf_is_a_warning(tmp_path: Path, models: Path) -> None:
    packages = openldap(tmp_path, vnfd_edit=lambda d: d["vnfd"].update({"mgmt-cp": "missing-ext"}))
    out = osm_accepts(models, yaml_of(packages[1]))
    assert "mgmt-cp" in out  # the validator's [refs] names it; OSM does not check it in a VNFD without vdu
    plan = api.plan(packages, ns_name="ldap")
    (w,) = warnings_at(plan.warnings, "vnfd.mgmt-cp")
    assert w.source == str(yaml_of(packages[1]))
    assert "'missing-ext' matches no ext-cpd id; OSM accepts it in a KNF" in w.message and "['mgmt-ext']" in w.expected


def test_a_dangling_mgmt_cp_in_a_vnfd_with_vdu_is_refused_as_nbi_does() -> None:
    doc = json.loads(json.dumps(OPENLDAP_VNFD))
    doc["vnfd"].update({"mgmt-cp": "missing-ext", "vdu": [{"id": "vm", "name": "vm"}]})
    from osm_l2net.core.sol006 import parse_vnfd

    with pytest.raises(DescriptorError) as err:
        parse_vnfd(doc, "v.yaml")
    (p,) = [p for p in err.value.problems if p.path == "vnfd.mgmt-cp"]
    assert p.severity == "error" and "must match an existing ext-cpd" in p.message


def test_a_dangling_k8s_cluster_net_is_a_warning(tmp_path: Path, models: Path) -> None:
    packages = openldap(tmp_path, vnfd_edit=lambda d: d["vnfd"]["ext-cpd"][0].update({"k8s-cluster-net": "nonet"}))
    osm_accepts(models, yaml_of(packages[1]))
    plan = api.plan(packages, ns_name="ldap")
    (w,) = warnings_at(plan.warnings, "vnfd.ext-cpd[0].k8s-cluster-net")
    assert "'nonet' matches no k8s-cluster.nets id; OSM does not check it" in w.message and "mgmtnet" in w.expected


def test_the_kits_broken_knfs_that_osm_accepts_are_warnings(models: Path) -> None:
    """The shared kit's own examples: OSM passes both ([osm] PASS, --osm-only exit 0); so does osm-l2net, warning."""
    from osm_l2net.core.sol006 import parse_vnfd

    for name, path in (("vnfd_mgmt_cp.yaml", "vnfd.mgmt-cp"), ("vnfd_k8s_net.yaml", "vnfd.ext-cpd[0].k8s-cluster-net")):
        source = models / "examples" / "bad" / name
        osm_accepts(models, source)
        vnfd = parse_vnfd(yaml.safe_load(source.read_text()), str(source))
        assert [p.severity for p in vnfd.warnings if p.path == path] == ["warning"]


def test_a_constituent_base_element_id_mismatch_on_the_mgmt_link_is_a_warning(tmp_path: Path, models: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["nsd"]["nsd"][0]["df"][0]["vnf-profile"][1]["virtual-link-connectivity"][0]["constituent-cpd-id"][0][
            "constituent-base-element-id"] = "router"  # the router's mgmt entry names a member that does not exist

    ns = copy_package(tmp_path, "vod_service_ns", edit)
    knfs = [copy_package(tmp_path, n) for n in ("cdn_server_knf", "router_firewall_knf", "content_server_knf")]
    osm_accepts(models, yaml_of(ns), *(yaml_of(k) for k in knfs))
    plan = api.plan([ns, *knfs], ns_name="vod-service-deployment")
    path = "nsd[0].df[0].vnf-profile[1].virtual-link-connectivity[0].constituent-cpd-id[0].constituent-base-element-id"
    (w,) = warnings_at(plan.warnings, path)
    assert w.source == str(yaml_of(ns)) and "OSM accepts it" in w.message and "'router-firewall'" in w.expected
    reference = api.plan(sorted(str(p) for p in DESCRIPTORS.iterdir()), ns_name="vod-service-deployment")
    assert [k.as_dict()["values"] for k in plan.kdus] == [k.as_dict()["values"] for k in reference.kdus]


def test_additional_params_for_an_unknown_member_is_a_warning(tmp_path: Path) -> None:
    packages = openldap(tmp_path)
    config = {"additionalParamsForVnf": [{"member-vnf-index": "ldap", "additionalParams": {"x": 1}}]}
    plan = api.plan(packages, ns_name="ldap", config=config)
    (w,) = warnings_at(plan.warnings, "additionalParamsForVnf[0].member-vnf-index")
    assert "OSM NBI ignores this additionalParamsForVnf entry" in w.message and "openldap" in w.expected


def _nbi_function(source: Path, name: str) -> Callable[..., Any]:
    """One static method of NBI's instance_topics.py, compiled from OSM's own source with the names it imports."""
    tree = ast.parse((source / "nbi" / "osm_nbi" / "instance_topics.py").read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)
    node.decorator_list = []
    module = ast.Module(body=[node], type_ignores=[])

    class EngineException(Exception):
        pass

    from copy import copy

    def get_iterable(value: Any) -> Any:  # stand-in: osm_nbi.base_topic is not in ../shared/osm-v19; same contract
        return () if value is None else value

    def deep_get(target: Any, keys: tuple[str, ...]) -> Any:  # stand-in, as above
        for key in keys:
            if not isinstance(target, dict) or key not in target:
                return None
            target = target[key]
        return target

    namespace: dict[str, Any] = {"copy": copy, "json": json, "match": re.match, "safe_dump": yaml.safe_dump,
                                 "EngineException": EngineException, "get_iterable": get_iterable,
                                 "deep_get": deep_get}
    exec(compile(module, "instance_topics.py", "exec"), namespace)  # OSM's own code, read from its source
    fn: Callable[..., Any] = namespace[name]
    return fn


def test_nbi_itself_ignores_additional_params_for_an_unknown_member(osm_source: Path) -> None:
    """The warning's claim, held against NBI's _format_additional_params: an unknown member's entry reaches no VNF."""
    fmt = _nbi_function(osm_source, "_format_additional_params")
    request = {"additionalParamsForVnf": [{"member-vnf-index": "ghost", "additionalParams": {"a": 1},
                                           "additionalParamsForKdu": [{"kdu_name": "ghost-kdu",
                                                                       "additionalParams": {"b": 2}}]}]}
    vnfd = {"id": "openldap_knf", "df": [{"id": "default-df"}]}
    assert fmt(request, "openldap", descriptor=vnfd) == (None, None)
    mine = {"additionalParamsForVnf": [{**request["additionalParamsForVnf"][0], "member-vnf-index": "openldap"}]}
    assert fmt(mine, "openldap", descriptor=vnfd)[0] == {"a": 1}  # the same entry, for a known member, is used
    assert fmt(request, "openldap", kdu_name="ldap", descriptor=vnfd) == (None, None)
    known = {"additionalParamsForVnf": [{"member-vnf-index": "openldap", "additionalParamsForKdu": [
        {"kdu_name": "ghost-kdu", "additionalParams": {"b": 2}}]}]}
    assert fmt(known, "openldap", kdu_name="ldap", descriptor=vnfd)[0] is None  # an unknown KDU's entry: ignored too


def test_what_cannot_be_planned_says_why(tmp_path: Path) -> None:
    """OSM accepts an address outside the link's cidr; the plan cannot give it, and says so in those words."""
    def edit(doc: dict[str, Any]) -> None:
        doc["nsd"]["nsd"][0]["df"][0]["vnf-profile"][0]["virtual-link-connectivity"][1]["constituent-cpd-id"][0][
            "ip-address"] = "10.0.9.10"

    ns = copy_package(tmp_path, "vod_service_ns", edit)
    with pytest.raises(InputError) as err:
        api.plan([ns, *(DESCRIPTORS / n for n in ("cdn_server_knf", "router_firewall_knf", "content_server_knf"))],
                 ns_name="vod")
    (p,) = [p for p in err.value.problems if p.severity == "error"]
    assert "cannot be planned because" in p.message and p.path.endswith("constituent-cpd-id[0].ip-address")


@pytest.mark.parametrize("key", ["vnfd-catalog", "vnfd:vnfd-catalog", "nsd-catalog", "nsd:nsd-catalog"])
def test_the_pre_sol006_format_names_osm_package_translate(tmp_path: Path, key: str) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump({key: {"vnfd" if "vnfd" in key else "nsd": [{"id": "x"}]}}))
    with pytest.raises(DescriptorError) as err:
        load_descriptors([old])
    (p,) = err.value.problems
    assert (p.source, p.path) == (str(old), key)
    assert "pre-SOL006" in p.message and "osm package-translate" in p.expected


def test_the_helm_chart_rule_is_nbis_own(osm_source: Path) -> None:
    """valid_helm_chart_re + is_url as NBI v19 applies them (validate_helm_chart), read from descriptor_topics.py."""
    tree = ast.parse((osm_source / "nbi" / "osm_nbi" / "descriptor_topics.py").read_text())
    assign = next(n for n in tree.body if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "valid_helm_chart_re" for t in n.targets))
    call = assign.value
    assert isinstance(call, ast.Call) and isinstance(call.args[0], ast.Constant)
    nbi = re.compile(call.args[0].value)
    assert HELM_CHART.pattern == nbi.pattern

    def nbi_accepts(value: str) -> bool:
        url = urlparse(value)
        return bool(nbi.match(value) or (url.scheme and url.netloc))

    values = ["cdn-server", "stable/openldap", "a/chart", "ab/chart", "ab/", "Charts/CDN_Server", "x", "-x", "x-",
              "a--b", "repo/sub/chart", "https://charts.example.org/x-1.0.tgz", "oci://registry/x", "http://",
              "file:///tmp/x", "cdn_server", "1chart", "stable/open.ldap", "stable//x", "ab/cd-"]
    assert {v: is_valid_helm_chart(v) for v in values} == {v: nbi_accepts(v) for v in values}


# ---- packages as OSM lays them out, read by content -----------------------------------------------------------------


def test_the_cdn_charts_are_where_lcm_looks(osm_source: Path) -> None:
    """LCM v19's rule, read from ns.py (deploy_kdus): '{}/{}/{}s/{}' of folder, pkg-dir, 'helm-chart-v3', helm-chart."""
    ns_py = (osm_source / "lcm" / "osm_lcm" / "ns.py").read_text()
    assert '"{}/{}/{}s/{}".format(' in ns_py and 'k8sclustertype = "helm-chart-v3"' in ns_py
    plan = api.plan(sorted(str(p) for p in DESCRIPTORS.iterdir()), ns_name="vod")
    for kdu in plan.kdus:
        assert kdu.chart_path is not None
        chart = Path(kdu.chart_path)
        assert chart.parent.name == "helm-chart-v3s" and chart.name == kdu.helm_chart and (chart / "Chart.yaml").is_file()
    assert plan.warnings == ()


def test_a_chart_in_charts_is_not_used_and_warns_where_osm_looks(tmp_path: Path) -> None:
    knf = copy_package(tmp_path, "cdn_server_knf")
    (knf / "helm-chart-v3s").rename(knf / "charts")  # the layout the docs used to teach
    others = [DESCRIPTORS / n for n in ("vod_service_ns", "router_firewall_knf", "content_server_knf")]
    plan = api.plan([knf, *others], ns_name="vod")
    assert plan.kdu("cdn-server") is not None and plan.kdu("cdn-server").chart_path is None  # type: ignore[union-attr]
    (w,) = warnings_at(plan.warnings, "vnfd.kdu[0].helm-chart")
    assert w.source == str(knf / "cdn_server_vnfd.yaml")
    assert "in charts/cdn-server, where OSM does not look" in w.message and "helm-chart-v3s/<helm-chart>" in w.message
    assert "non-absolute URLs should be in form of repo_name/path_to_chart" in w.message
    assert w.expected == "the chart at cdn_server_knf/helm-chart-v3s/cdn-server"
    code, out, _ = _cli("validate", str(knf), *map(str, others))
    assert code == 0 and "valid, with 1 warning(s)" in out
    assert f"warning: {knf / 'cdn_server_vnfd.yaml'}: vnfd.kdu[0].helm-chart: the package ships the chart" in out
    code, out, _ = _cli("plan", str(knf), *map(str, others))
    assert code == 0 and f"warning: {knf / 'cdn_server_vnfd.yaml'}: vnfd.kdu[0].helm-chart: " in out


def test_the_docs_example_of_a_misplaced_chart_is_valid_for_osm_and_warns_once(models: Path) -> None:
    example = REPO / "examples" / "openldap_charts_folder"
    knf, ns = example / "openldap_knf", example / "openldap_ns"
    osm_accepts(models, yaml_of(knf))
    osm_accepts(models, yaml_of(ns), yaml_of(knf))
    problems = api.validate([ns, knf])
    assert [(p.severity, p.path) for p in problems] == [("warning", "vnfd.kdu[0].helm-chart")]


def test_a_bare_chart_name_without_its_chart_warns(tmp_path: Path) -> None:
    packages = openldap(tmp_path, vnfd_edit=lambda d: d["vnfd"]["kdu"][0].update({"helm-chart": "openldap"}))
    plan = api.plan(packages, ns_name="ldap")
    (w,) = warnings_at(plan.warnings, "vnfd.kdu[0].helm-chart")
    assert "has no helm-chart-v3s/openldap" in w.message and "refuses a bare chart name" in w.message


def test_a_repo_prefixed_chart_is_local_when_lcm_would_find_it(tmp_path: Path) -> None:
    """LCM looks for the whole value: helm-chart 'stable/openldap' is helm-chart-v3s/stable/openldap when present."""
    packages = openldap(tmp_path)
    chart = packages[1] / "helm-chart-v3s" / "stable" / "openldap"
    shutil.copytree(DESCRIPTORS / "cdn_server_knf" / "helm-chart-v3s" / "cdn-server", chart)
    plan = api.plan(packages, ns_name="ldap")
    assert plan.kdus[0].chart_path == str(chart.resolve()) and plan.warnings == ()
    shutil.rmtree(packages[1] / "helm-chart-v3s")
    (packages[1] / "charts").mkdir()
    shutil.copytree(DESCRIPTORS / "cdn_server_knf" / "helm-chart-v3s" / "cdn-server", packages[1] / "charts" / "openldap")
    (w,) = warnings_at(api.plan(packages, ns_name="ldap").warnings, "vnfd.kdu[0].helm-chart")
    assert "charts/openldap" in w.message and "from the helm repository 'stable'" in w.message
    shutil.move(packages[1] / "charts", packages[1] / "helm-chart-v3s")  # the folder right, the repo prefix in the way
    (w,) = warnings_at(api.plan(packages, ns_name="ldap").warnings, "vnfd.kdu[0].helm-chart")
    assert "in helm-chart-v3s/openldap, where OSM does not look" in w.message
    assert w.expected == "the chart at openldap_knf/helm-chart-v3s/stable/openldap, or no local chart and " \
                         "'stable/openldap' from the repository"


def _tar_gz(package: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(package, arcname=package.name)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["router_firewall_knf.tar.gz.gz", "router_firewall_knf", "package.bin",
                                  "router_firewall_knf.yaml"])
def test_a_gzip_package_is_read_by_content_whatever_its_name(tmp_path: Path, name: str) -> None:
    archive = tmp_path / name
    archive.write_bytes(_tar_gz(DESCRIPTORS / "router_firewall_knf"))
    d = load_descriptors([DESCRIPTORS / "vod_service_ns", archive, DESCRIPTORS / "cdn_server_knf",
                          DESCRIPTORS / "content_server_knf"])
    router = d.vnfds["router_firewall_knf"]
    assert router.local_charts["router-firewall"].endswith("router_firewall_knf/helm-chart-v3s/router-firewall")


def test_a_plain_tar_package_is_read_and_a_yaml_named_tar_gz_is_yaml(tmp_path: Path) -> None:
    plain = tmp_path / "router.tar"
    with tarfile.open(plain, "w") as tar:
        tar.add(DESCRIPTORS / "router_firewall_knf", arcname="router_firewall_knf")
    text = tmp_path / "nsd.tar.gz"
    shutil.copy(DESCRIPTORS / "vod_service_ns" / "vod_service_nsd.yaml", text)
    d = load_descriptors([text, plain, DESCRIPTORS / "cdn_server_knf", DESCRIPTORS / "content_server_knf"])
    assert d.nsd.source == str(text) and "router-firewall" in d.vnfds["router_firewall_knf"].local_charts


@pytest.mark.parametrize(("content", "fragment"), [
    (gzip.compress(b"\x00\x01not a tar at all" * 50, mtime=0), "not a readable package archive"),
    (bytes(range(256)) * 4, "neither a YAML descriptor nor an OSM package"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "neither a YAML descriptor nor an OSM package"),
], ids=["gzip-not-tar", "binary", "png"])  # stable ids: pytest-xdist workers must collect the same names
def test_a_file_that_is_neither_yaml_nor_a_package_is_a_clear_error(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "thing.yaml"
    bad.write_bytes(content)
    with pytest.raises(DescriptorError) as err:
        load_descriptors([bad])
    (p,) = err.value.problems
    assert p.source == str(bad) and fragment in p.message and p.expected
    code, _, stderr = _cli("validate", str(bad))
    assert code == 2 and stderr.startswith(f"error: {bad}: ") and "Traceback" not in stderr


def test_a_zip_package_says_it_cannot_be_planned(tmp_path: Path) -> None:
    archive = tmp_path / "router_firewall_knf.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(DESCRIPTORS / "router_firewall_knf" / "router_firewall_vnfd.yaml", "router_firewall_vnfd.yaml")
    with pytest.raises(DescriptorError) as err:
        load_descriptors([archive])
    assert "is a zip archive: it cannot be planned because" in err.value.problems[0].message


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
