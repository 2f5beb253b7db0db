"""The "as OSM runs" tier: OSM LCM v19's REAL N2VC helm 3 connector, on Python 3.10 with LCM's pins.

Run by ``scripts/test`` with ``.venv310`` (``scripts/setup-lcm``). What is real here: ``osm_lcm.n2vc`` loaded from
``$OSM_L2NET_OSM_SOURCE`` (default ../shared/osm-v19) with its own import chain (juju, motor, retrying-async,
kubernetes 33.1.0 ...), the project's connector class made over it by ``osm_l2net.osm.lcm.make_connector_class``,
the real helm and kubectl binaries. Test doubles: the Kubernetes API (the emulator, a separate server process from
the main .venv: kmock needs Python >= 3.11), LCM's db/fs (tests/support/osm_lcm_double.py), ``osm_common``'s
import-time names (``osm_common_standin/``), and LCM's ``NsLcm`` itself, replayed (``lcm_replay.py``) because ns.py's
other modules (ROclient, data_utils, lcm_utils, ...) are not in ../shared/osm-v19.

On any other Python the whole folder is skipped (the real N2VC does not import on 3.11: ``@asyncio.coroutine``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lcm_real import real_n2vc
from tests.support.tools import find_tool

HERE = Path(__file__).resolve().parent
CI = os.environ.get("CI") == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.version_info[:2] == (3, 10):
        return
    skip = pytest.mark.skip(reason=f"the 'as OSM runs' tier needs Python 3.10 (OSM LCM v19's runtime; its N2VC does not "
                                   f"import on {sys.version_info[0]}.{sys.version_info[1]}): scripts/test runs it "
                                   "with .venv310")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"CI must run the 'as OSM runs' tier: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def osm_source() -> Path:
    source = real_n2vc.osm_source()
    if not real_n2vc.has_n2vc(source):
        unavailable(f"OSM v19's LCM source is not at {source} (set OSM_L2NET_OSM_SOURCE)")
    return source


@pytest.fixture(scope="session")
def n2vc(osm_source: Path) -> Any:
    """The real ``osm_lcm.n2vc.k8s_helm3_conn`` module, imported from OSM's source with the osm_common stand-in."""
    return real_n2vc.load_k8s_helm3_conn(osm_source)


@pytest.fixture(scope="session")
def helm_wrapper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real helm behind a wrapper adding ``--disable-openapi-validation`` (see real_n2vc.write_helm_wrapper)."""
    helm = find_tool("helm")
    if helm is None:
        pytest.fail("no helm binary: run ./scripts/fetch-helm (scripts/setup does)")
    return real_n2vc.write_helm_wrapper(tmp_path_factory.mktemp("helm-wrapper"), helm)


@pytest.fixture(scope="session")
def kubectl() -> Path:
    found = find_tool("kubectl")
    if found is None:
        pytest.fail("no kubectl binary: run ./scripts/fetch-helm (scripts/setup does)")
    return Path(found)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Kubernetes API test double as a server process (main .venv); one per module, fresh hooks per test."""
    from tests.support.cluster_client import ServedCluster, emulator_python

    if not emulator_python().is_file():
        unavailable(f"no Python for the emulator server at {emulator_python()}: run ./scripts/setup")
    with ServedCluster(tmp_path_factory.mktemp("served")) as cluster:
        yield cluster
        errors = cluster.errors()
    assert errors == [], f"the Kubernetes API emulator raised internally: {errors}"
