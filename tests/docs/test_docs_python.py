"""Every ```python block in README.md and docs/*.md is run, as a reader would paste it into a program.

Where: in a scratch directory holding copies of descriptors/, examples/, deploy/ and docs/ (as the shell commands of
tests/docs/test_docs_commands.py), against the KubernetesAPIEmulator (test double of kube-apiserver, with the L2S-M
operator and workload controller doubles running) found through ``$KUBECONFIG``, as kubectl finds a cluster, and with
the real helm. The one thing changed from the defaults is the emulator's helm settings, as the shell commands get
them: it serves no /openapi and runs no controllers (no validation, no --wait / --atomic; see
tests/deploy/test_cli_cluster.py). A line ``print(...)  # VALUE`` must print VALUE; the block must not raise. A
``<!-- not-run: WHY -->`` marker on the line before the fence skips a block, with its reason.
"""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from osm_l2net.deploy import api as deploy_api
from osm_l2net.helm.runner import HelmSettings
from tests.conftest import REPO
from tests.docs.test_docs_commands import COPIED, DOCS, FENCE, MARKER
from tests.support.k8s_emulator import L2NETWORKS
from tests.support.k8s_harness import EmulatedCluster
from tests.support.tools import find_tool

PRINTED = re.compile(r"^print\(.*\)\s+#\s*(.+?)\s*$")


@dataclass
class Example:
    doc: Path
    line: int
    code: str
    marker: tuple[str, str] | None

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"

    @property
    def expected(self) -> list[str]:
        return [m.group(1) for line in self.code.splitlines() if (m := PRINTED.match(line.strip()))]


def examples(doc: Path) -> list[Example]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        if FENCE.match(line) and line.strip() == "```python":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            marker = MARKER.match(lines[i - 1].strip()) if i else None
            found.append(Example(doc, i + 1, "\n".join(lines[i + 1:end]) + "\n",
                                 (marker.group(1), marker.group(2)) if marker else None))
    return found


EXAMPLES = [e for doc in DOCS for e in examples(doc)]


def test_the_docs_hold_python_examples() -> None:
    assert {e.doc.name for e in EXAMPLES} >= {"README.md", "user-guide.md"}  # a parser gone blind would find none


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_every_python_example_runs_as_shown(example: Example, kube_emulator: EmulatedCluster, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if example.marker is not None:
        pytest.skip(f"{example.marker[0]}: {example.marker[1]}")
    helm = find_tool("helm")
    if helm is None:
        pytest.fail("no helm binary: run ./scripts/fetch-helm (CI does) or set OSM_L2NET_HELM")
    work = tmp_path / "work"
    for name in COPIED:
        shutil.copytree(REPO / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(work)
    for key, value in {"KUBECONFIG": str(kube_emulator.kubeconfig), "HOME": str(tmp_path / "home"),
                       "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(deploy_api, "HelmSettings", functools.partial(
        HelmSettings, binary=helm, wait=False, atomic=False, timeout=60, extra_flags=("--disable-openapi-validation",),
        create_namespace=False, tmp_dir=str(tmp_path)))
    kube_emulator.operator.start(ready_after=0.0)
    kube_emulator.workloads.start()

    exec(compile(example.code, example.where, "exec"), {"__name__": "__docs__"})  # the docs' own code, from this checkout

    out = capsys.readouterr()
    assert out.out.splitlines() == example.expected, f"{example.where}: printed {out.out!r}"
    assert out.err == "", f"{example.where}: the library printed on stderr: {out.err!r}"
    if "apply(" in example.code:  # it reached the cluster: the networks were written (and deleted when it says so)
        created = [w for w in kube_emulator.log.writes() if w.method == "POST" and w.path.endswith("/l2networks")]
        assert created, f"{example.where}: apply wrote no L2Network"
        if "delete(" in example.code:
            assert kube_emulator.list(L2NETWORKS, "default") == []
