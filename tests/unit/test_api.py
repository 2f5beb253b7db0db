"""The public library API: a folder of OSM packages is planned as its packages; the names are declared once, resolve,
are documented, and none of them hides one of the package's modules."""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
import sys
import tarfile
import types
from pathlib import Path

import pytest

import osm_l2net
from osm_l2net.core.errors import DescriptorError
from tests.conftest import CDN_PACKAGES, DESCRIPTORS, REPO

NS = "vod-service-deployment"


def _shape(plan: osm_l2net.Plan) -> tuple[list[str], list[str]]:
    return [n.name for n in plan.networks], [k.key for k in plan.kdus]


def test_a_folder_of_packages_is_planned_as_the_packages_it_holds() -> None:
    listed = osm_l2net.plan(CDN_PACKAGES, ns_name=NS)
    assert osm_l2net.plan([DESCRIPTORS], ns_name=NS).as_dict() == listed.as_dict()
    assert osm_l2net.plan(str(DESCRIPTORS) + "/", ns_name=NS).as_dict() == listed.as_dict()  # one path, alone
    assert osm_l2net.validate(DESCRIPTORS) == osm_l2net.validate(CDN_PACKAGES)


def test_archives_in_the_folder_are_packages_and_other_entries_are_left_alone(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "packages"
    for name in ("vod_service_ns", "cdn_server_knf", "content_server_knf"):
        shutil.copytree(DESCRIPTORS / name, folder / name)
    with tarfile.open(folder / "router_firewall_knf.tar.gz", "w:gz") as tar:
        tar.add(DESCRIPTORS / "router_firewall_knf", arcname="router_firewall_knf")
    (folder / "README.md").write_text("# not a package\n")
    (folder / "notes").mkdir()  # a folder without a descriptor: not a package
    (folder / ".git").mkdir()
    (folder / ".git" / "x.yaml").write_text("nsd: {}\n")  # hidden: never read
    loaded = osm_l2net.load(folder)
    assert sorted(loaded.vnfds) == ["cdn_server_knf", "content_server_knf", "router_firewall_knf"]
    assert Path(loaded.vnfds["router_firewall_knf"].package_dir or "").is_relative_to(tmp_path / "cache")
    assert _shape(osm_l2net.plan(folder, ns_name=NS)) == _shape(osm_l2net.plan(CDN_PACKAGES, ns_name=NS))


def test_a_broken_package_in_the_folder_is_named_by_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "packages"
    shutil.copytree(DESCRIPTORS, folder)
    broken = folder / "cdn_server_knf" / "cdn_server_vnfd.yaml"
    broken.write_text("vnfd: [unclosed\n")
    with pytest.raises(DescriptorError) as caught:
        osm_l2net.plan(folder, ns_name=NS)
    assert [p.source for p in caught.value.problems] == [str(broken)]


def test_a_folder_without_packages_and_a_folder_of_folders_of_packages_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "README.md").write_text("no package here\n")
    nested = tmp_path / "nested"
    shutil.copytree(DESCRIPTORS, nested / "descriptors")  # expansion is one level: a tree is not walked
    for folder in (empty, nested):
        with pytest.raises(DescriptorError) as caught:
            osm_l2net.load(folder)
        (problem,) = caught.value.problems
        assert problem.source == str(folder) and "holds no .yaml descriptor" in problem.message
        assert "a folder of OSM packages" in problem.expected


def _packages(root: str = "osm_l2net") -> list[str]:
    top = importlib.import_module(root)
    return [root, *(m.name for m in pkgutil.walk_packages(top.__path__, f"{root}.", onerror=lambda name: None)
                    if m.ispkg)]


def _clashes(root: str) -> list[str]:
    """``pkg.name`` of every package under ``root`` whose public name is also a submodule and means something else."""
    found = []
    for name in _packages(root):
        package = importlib.import_module(name)
        submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        public = set(getattr(package, "__all__", [n for n in vars(package) if not n.startswith("_")]))
        for clash in sorted(public & submodules):
            if getattr(package, clash) is not importlib.import_module(f"{name}.{clash}"):
                found.append(f"{name}.{clash}")
    return found


def test_no_public_name_shadows_a_module() -> None:
    """``pkg.name`` must mean one thing: a public name of a package that is also one of its submodules is replaced by
    the module as soon as anything imports that submodule (``import osm_l2net.plan`` would rebind ``osm_l2net.plan``),
    so a call works or fails by import order."""
    assert _clashes("osm_l2net") == []
    assert len(_packages()) >= 10  # the walk found the subpackages (core, core.providers, kube, deploy, ...)


def test_the_shadow_check_finds_a_planted_clash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "shadowed_pkg"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("def plan():\n    return 1\n\n__all__ = ['plan', 'inner']\n")
    (package / "plan.py").write_text("X = 1\n")  # the module the function hides
    (package / "inner" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert _clashes("shadowed_pkg") == ["shadowed_pkg.plan"]  # 'inner' is the subpackage itself: no clash
    finally:
        for name in [n for n in sys.modules if n.startswith("shadowed_pkg")]:
            del sys.modules[name]


def test_the_functions_named_like_modules_elsewhere_are_functions() -> None:
    assert isinstance(osm_l2net.plan, types.FunctionType) and osm_l2net.plan.__module__ == "osm_l2net.api"
    assert isinstance(importlib.import_module("osm_l2net.core.plan"), types.ModuleType)
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'osm_l2net\.plan'"):
        importlib.import_module("osm_l2net.plan")  # not a module: the function is the only osm_l2net.plan


def test_all_is_declared_once_and_every_name_in_it_resolves() -> None:
    lazy = set(osm_l2net._LAZY)  # the table the lazy names come from
    eager = {n for n, v in vars(osm_l2net).items() if getattr(v, "__module__", "") == "osm_l2net.core.errors"}
    assert set(osm_l2net.__all__) == lazy | eager and len(osm_l2net.__all__) == len(set(osm_l2net.__all__))
    assert {"load", "validate", "plan", "write_plan_files", "apply", "delete", "status"} <= set(osm_l2net.__all__)
    for name in osm_l2net.__all__:
        assert getattr(osm_l2net, name) is not None and name in dir(osm_l2net)
    with pytest.raises(AttributeError, match="has no attribute 'deploy_ns'"):
        osm_l2net.deploy_ns  # noqa: B018
    assert (REPO / "osm_l2net" / "py.typed").is_file()


def test_the_public_api_is_listed_in_the_docs() -> None:
    guide = (REPO / "docs" / "user-guide.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Library"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    missing = [n for n in osm_l2net.__all__ if not re.search(rf"`(osm_l2net\.)?{n}\b", section)]
    assert not missing, f"public names not in docs/user-guide.md's Library section: {missing}"


def test_the_lab_plans_its_default_folder_through_the_package_reader() -> None:
    from osm_l2net.lab.inputs import DEFAULT_PACKAGES, default_path, load_plan

    planned = load_plan([default_path(DEFAULT_PACKAGES)], ns_name=NS)
    assert planned.as_dict() == osm_l2net.plan(CDN_PACKAGES, ns_name=NS).as_dict()
