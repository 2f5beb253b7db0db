"""Shared fixtures: where the repository, its descriptors and the shared conformance models are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.pytest_plugin"]

REPO = Path(__file__).resolve().parent.parent
DESCRIPTORS = REPO / "descriptors"
CDN_PACKAGES = sorted(str(p) for p in DESCRIPTORS.iterdir() if p.is_dir())
MODELS = Path(os.environ.get("OSM_L2NET_MODELS", REPO.parent / "shared" / "models"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", default=False,
                     help="reliability campaign: the long mode (10,000 descriptors, 200 fault cycles, ...)")


@pytest.fixture(scope="session")
def models() -> Path:
    if not (MODELS / "validate_descriptor.py").is_file():
        pytest.fail(f"the shared conformance models are not at {MODELS} (set OSM_L2NET_MODELS)")
    return MODELS
