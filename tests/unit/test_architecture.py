"""The architecture holds for every file, including files added later.

- Pure modules (every file under ``osm_l2net/core/``, plus the adapters' named pure parts) import none of the standard
  library's I/O, process or clock modules, so planning can never touch the network, the disk or the time.
- One module per external system: each foreign client library is imported by its one adapter module only.
- import-linter's package-level contracts (.importlinter) fail when a new core file imports kubernetes.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "osm_l2net"
PURE_ADAPTER_PARTS = ["kube/state.py", "osm/records.py", "lab/names.py", "lab/spec.py", "lab/profile.py",
                      "lab/firewall.py", "lab/expect.py", "lab/observe.py", "lab/report_html.py", "lab/clusters.py"]
FORBIDDEN_IN_PURE = {"os", "subprocess", "socket", "shutil", "time", "asyncio", "threading", "tempfile", "urllib",
                     "http", "kubernetes", "urllib3", "requests", "pyroute2", "click"}
# the foreign system -> the only files that may import it
OWNERS = {
    "kubernetes": {"kube/client.py"},
    "urllib3": {"kube/client.py", "osm/nbi.py"},
    "requests": {"osm/nbi.py"},
    "pyroute2": {"lab/netlink.py"},
    "click": {"cli/*"},
    "subprocess": {"helm/runner.py", "local/graphviz.py", "lab/procs.py", "lab/engine.py", "lab/roles.py",
                   "lab/agent.py"},
}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def pure_files() -> list[str]:
    core = sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "core").rglob("*.py"))
    return core + PURE_ADAPTER_PARTS


def owned_by(rel: str, owners: set[str]) -> bool:
    return any(rel == o or (o.endswith("/*") and rel.startswith(o[:-1])) for o in owners)


def test_the_core_is_found_by_folder() -> None:
    found = pure_files()
    assert {"core/planner.py", "core/sol006.py", "core/providers/l2sm.py"} <= set(found)
    assert all((PACKAGE / f).is_file() for f in found)


@pytest.mark.parametrize("module", pure_files())
def test_pure_module_imports_no_io(module: str) -> None:
    bad = imported(PACKAGE / module) & FORBIDDEN_IN_PURE
    assert not bad, f"osm_l2net/{module} imports {sorted(bad)}"


@pytest.mark.parametrize("system", sorted(OWNERS))
def test_one_module_per_external_system(system: str) -> None:
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if system in imported(p))
    strangers = [u for u in users if not owned_by(u, OWNERS[system])]
    assert users, f"nothing imports {system}: the check would pass vacuously"
    assert not strangers, f"{system} is imported by {strangers}; only {sorted(OWNERS[system])} may"


def test_the_check_can_fail() -> None:
    assert "subprocess" in imported(PACKAGE / "local" / "graphviz.py")
    assert not owned_by("core/new.py", OWNERS["kubernetes"])


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter runs in the 3.11 tier; the 'as OSM runs' venv holds LCM's pins only")
    return subprocess.run([str(exe), "--no-cache", "--config", str(root / ".importlinter")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_contracts_cover_a_core_file_added_later(tmp_path: Path) -> None:
    """A throw-away core module importing kubernetes, in a copy of the package: the contracts must break."""
    shutil.copytree(PACKAGE, tmp_path / "osm_l2net", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    assert _lint_imports(tmp_path).returncode == 0, "the copy must pass before the throw-away file is added"
    (tmp_path / "osm_l2net" / "core" / "throwaway.py").write_text("import kubernetes\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "osm_l2net.core.throwaway -> kubernetes" in broken.stdout
