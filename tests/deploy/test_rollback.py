"""The Deployer's rollback is the only one: the LCM connector asks it to roll back after ANY exception
(``roll_back_foreign``) instead of keeping its own record of what it created; the CLI keeps the default, in which a
foreign exception (a bug) propagates unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from osm_l2net.core.plan import NetworkPlan
from osm_l2net.deploy.deployer import Deployer, DeployError, DeploySettings
from osm_l2net.kube.cluster import Cluster, ClusterAccess, EnsureOutcome
from tests.deploy.conftest import FAST, cdn_plan
from tests.support.k8s_harness import EmulatedCluster


class BrokenSecond(Cluster):
    """A client whose second network creation fails with a foreign exception (e.g. a newer client's TypeError)."""

    def ensure_network(self, net: NetworkPlan, namespace: str | None = None, *,
                       replace: bool = False) -> EnsureOutcome:
        if net.name.endswith(self.broken):
            raise TypeError("injected: the client is broken")
        return super().ensure_network(net, namespace, replace=replace)

    broken = "never"


@pytest.fixture
def cluster(kube_emulator: EmulatedCluster) -> Iterator[BrokenSecond]:
    kube_emulator.operator.start(ready_after=0.0)
    c = BrokenSecond(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=FAST, seed=5)
    try:
        yield c
    finally:
        c.close()


def test_with_roll_back_foreign_a_foreign_exception_rolls_back_what_the_run_created(
        kube_emulator: EmulatedCluster, cluster: BrokenSecond) -> None:
    plan = cdn_plan()
    first, second = plan.networks
    cluster.broken = second.name
    settings = DeploySettings(ready_timeout=5, delete_timeout=5, concurrency=1, roll_back_foreign=True)
    with pytest.raises(DeployError) as err:
        Deployer(cluster, None, settings, progress=lambda m: None).create_networks(plan)
    assert str(err.value) == (f"could not create 1 network(s): TypeError: injected: the client is broken; rolled "
                              f"back: deleted {first.name}")
    assert err.value.report.created == [first.name] and err.value.report.rolled_back == [first.name]
    assert kube_emulator.l2network(plan.namespace, first.name) is None, "what the run created is gone again"
    assert kube_emulator.l2network(plan.namespace, second.name) is None


def test_by_default_a_foreign_exception_propagates_unchanged(cluster: BrokenSecond) -> None:
    plan = cdn_plan()
    cluster.broken = plan.networks[1].name
    settings = DeploySettings(ready_timeout=5, delete_timeout=5, concurrency=1)
    with pytest.raises(TypeError, match="injected"):
        Deployer(cluster, None, settings, progress=lambda m: None).create_networks(plan)
