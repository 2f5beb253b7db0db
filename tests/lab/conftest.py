"""Lab tests need root and network namespaces; they are skipped (with that reason) only when those are missing, and
never under CI (``CI=true``), where such a skip fails the run (tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def _why_no_lab() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, bridges, tc): run them as root, e.g. sudo ./scripts/test"
    if not Path("/proc/self/ns/net").exists():
        return "this kernel has no network namespaces"
    from osm_l2net.core.errors import LabError
    from osm_l2net.lab import netlink

    probe = f"l2n-probe{os.getpid()}"  # a pid of its own in each pytest-xdist worker
    try:
        netlink.ensure_netns(probe)
        netlink.delete_netns(probe)
    except LabError as e:
        return f"cannot create a network namespace here: {e}"
    return None


_REASON = _why_no_lab()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _REASON is None:
        return
    for item in items:
        if item.get_closest_marker("lab"):
            item.add_marker(pytest.mark.skip(reason=_REASON))


@pytest.fixture
def lab_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A lab name unique to this test and process (each pytest-xdist worker is a process of its own, so its pid keeps
    its labs, namespaces and state files apart from the other workers'); whatever the test leaves is removed."""
    from osm_l2net.lab import Lab
    from osm_l2net.lab.scenario import sibling_name

    base = "".join(c for c in request.node.name.lower() if c.isalnum())[:12]
    name = f"{base}{os.getpid() % 100000}"
    yield name
    Lab(name).down()
    Lab(sibling_name(name)).down()
