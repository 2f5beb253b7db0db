"""pytest plugin exposing the test doubles' fixtures.

Register in the top-level conftest: ``pytest_plugins = ["tests.support.pytest_plugin"]``.
"""

from tests.support.fixtures import kube_emulator

__all__ = ["kube_emulator"]
