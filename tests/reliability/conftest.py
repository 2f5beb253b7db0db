"""The reliability campaign's two sizes: a fast default that CI runs, and the long mode (``--long`` or
``OSM_L2NET_LONG=1``) whose figures docs/reliability.md records. Every campaign prints its seed and counts (``-s``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.conftest import Env
from tests.osm.conftest import lcm  # noqa: F401 - the LCM fixture, for the connector crash test
from tests.support.k8s_harness import EmulatedCluster
from tests.support.tools import find_tool


@dataclass(frozen=True)
class Scale:
    long: bool

    def __call__(self, fast: int, long: int) -> int:
        return long if self.long else fast

    @property
    def mode(self) -> str:
        return "long" if self.long else "fast"


@pytest.fixture(scope="session")
def scale(request: pytest.FixtureRequest) -> Scale:
    """``scale(fast, long)``: the size of a campaign in the current mode."""
    return Scale(bool(request.config.getoption("--long")) or os.environ.get("OSM_L2NET_LONG", "") not in ("", "0"))


@pytest.fixture(scope="session")
def helm_binary() -> str:
    found = find_tool("helm")
    if found is None:
        pytest.fail("no helm binary: run ./scripts/fetch-helm (CI does) or set OSM_L2NET_HELM")
    return found


@pytest.fixture
def env(kube_emulator: EmulatedCluster, helm_binary: str, tmp_path: Path) -> Iterator[Env]:
    """tests/deploy's Env over the emulated cluster (the campaign needs its fault and request-log hooks)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    yield Env(kube_emulator.kubeconfig, helm_binary, scratch, kube_emulator)
    leftovers = list(scratch.iterdir())
    assert not leftovers, f"values/metadata files left behind: {leftovers}"


def report(campaign: str, scale: Scale, **figures: object) -> str:
    """One line of figures, printed (visible with -s) and returned for the test's own messages."""
    line = f"[reliability:{campaign}] mode={scale.mode} " + " ".join(f"{k}={v}" for k, v in figures.items())
    print("\n" + line)
    return line
