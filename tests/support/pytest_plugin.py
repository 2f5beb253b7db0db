"""pytest plugin exposing the test doubles' fixtures.

Register in the top-level conftest: ``pytest_plugins = ["tests.support.pytest_plugin"]``.

The in-process emulator is built on kmock, which needs Python >= 3.11. On Python 3.10 (the "as OSM runs" tier,
``scripts/setup-lcm``: OSM LCM v19's runtime) kmock is not installable, so ``kube_emulator`` is then a fixture that
skips with that reason; tests of that tier reach the emulator as a separate server process instead
(``tests/support/cluster_client.py``), and CI runs every ``kube_emulator`` test on 3.11.
"""

import importlib.util
import sys

import pytest

if importlib.util.find_spec("kmock") is not None:
    from tests.support.fixtures import kube_emulator
else:

    @pytest.fixture
    def kube_emulator() -> None:
        pytest.skip(f"the in-process Kubernetes API emulator needs kmock==0.8 (Python >= 3.11); this is Python "
                    f"{sys.version_info[0]}.{sys.version_info[1]}: CI runs this test on 3.11, and the 3.10 tier reaches "
                    "the emulator as a server process (tests/support/cluster_client.py)")

__all__ = ["kube_emulator"]
