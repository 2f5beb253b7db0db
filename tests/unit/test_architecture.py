"""The core stays pure: besides import-linter's contracts (.importlinter), no core module imports the standard
library's I/O, process or clock modules, so planning can never touch the network, the disk or the time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

CORE = ["addressing", "checks", "errors", "kube_state", "model", "names", "options", "params", "plan", "planner", "render",
        "routing", "sol006", "topology", "yamlsafe", "providers/__init__", "providers/l2sm", "providers/l2sm_nad", "providers/multus",
        "lab/names", "lab/spec", "lab/profile", "lab/firewall", "lab/expect", "lab/observe", "lab/report_html",
        "osm/records"]
FORBIDDEN = {"os", "subprocess", "socket", "shutil", "time", "asyncio", "threading", "tempfile", "urllib", "http",
             "kubernetes", "requests", "pyroute2", "click"}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io(module: str) -> None:
    bad = imported(REPO / "osm_l2net" / f"{module}.py") & FORBIDDEN
    assert not bad, f"osm_l2net/{module}.py imports {sorted(bad)}"


def test_the_check_can_fail() -> None:
    assert "subprocess" in imported(REPO / "osm_l2net" / "graphviz.py")
