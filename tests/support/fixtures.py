"""pytest fixtures around the Kubernetes API test double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.k8s_harness import EmulatedCluster


@pytest.fixture
def kube_emulator(tmp_path: Path) -> Iterator[EmulatedCluster]:
    """A ``KubernetesAPIEmulator`` (test double of kube-apiserver) on 127.0.0.1:<ephemeral port>.

    Yields an ``EmulatedCluster``: ``.url``, ``.kubeconfig`` (0600, removed afterwards), ``.log``, ``.faults``
    (assign a ``FaultPlan``), ``.operator`` (L2S-M operator double, stopped until ``.operator.start()``),
    ``.workloads`` (pods for Deployments/StatefulSets, stopped until ``.workloads.start()``),
    ``.create_pod()``, ``.create_namespace()`` and direct store access. Fails the test if the emulator itself raised.
    """
    with EmulatedCluster(workdir=tmp_path) as cluster:
        yield cluster
        errors = cluster.server_errors
    assert not cluster.kubeconfig.exists()
    if errors:
        pytest.fail(f"the Kubernetes API emulator raised internally: {errors!r}")
