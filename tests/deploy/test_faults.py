"""Faults and crashes: seeded API faults over many apply/terminate cycles leak nothing and every failure is reported;
a crash injected between any two steps is cured by running apply (or delete) again."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from osm_l2net.core.errors import L2NetError
from osm_l2net.core.plan import Plan
from osm_l2net.deploy.deployer import Deployer, DeploySettings
from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy
from tests.deploy.conftest import Env, cdn_plan
from tests.support.k8s_emulator import FaultPlan

CYCLES = int(os.environ.get("OSM_L2NET_FAULT_CYCLES", "60"))
SEED = int(os.environ.get("OSM_L2NET_FAULT_SEED", "20261126"))
# few attempts and short waits, so that injected faults often exhaust the retries and failures really happen
TIGHT = RetryPolicy(attempts=3, base_delay_s=0.005, max_delay_s=0.02, total_s=3.0, connect_timeout_s=1.0,
                    request_timeout_s=0.3)


def owned(env: Env, plan: Plan) -> list[str]:
    env.emulator.faults = None
    with env.cluster() as cluster:
        return [o.name for o in cluster.list_owned(plan.owner_labels)]


@dataclass
class CycleStats:
    seed: int
    cycles: int
    faults: int = 0
    succeeded: int = 0
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"seed {self.seed}: {self.cycles} cycles, {self.faults} faults injected, {self.succeeded} steps "
                f"succeeded, {len(self.failures)} failed and were reported")


def fault_cycles(env: Env, plan: Plan, cycles: int, seed: int) -> CycleStats:
    """Apply then terminate ``plan`` ``cycles`` times under seeded API faults (networks only, as the LCM connector's
    first step does); after each cycle nothing of the NS may be left. Shared with tests/reliability (long mode)."""
    emulated = env.emulator
    faults = FaultPlan(seed=seed, rate=0.15, kinds=(500, 503, 429, 409, "timeout"), delay=0.4, retry_after=0,
                       match=r"/l2networks|/pods")
    stats = CycleStats(seed, cycles)
    for cycle in range(cycles):
        emulated.faults = faults
        cluster = Cluster(ClusterAccess(kubeconfig=str(emulated.kubeconfig)), policy=TIGHT, seed=cycle)
        deployer = Deployer(cluster, None, DeploySettings(ready_timeout=2, delete_timeout=2, pods_gone_timeout=2),
                            progress=lambda m: None)
        for step in (deployer.instantiate, deployer.terminate):
            try:
                step(plan)
                stats.succeeded += 1
            except L2NetError as e:  # every failure surfaces as the project's error, with a message
                assert str(e)
                stats.failures.append(f"cycle {cycle} {step.__name__}: {type(e).__name__}")
        cluster.close()
        if stats.failures and stats.failures[-1].startswith(f"cycle {cycle} terminate"):
            emulated.faults = None  # what a user does after a failed delete: delete again
            env.deployer(with_helm=False).terminate(plan)
        assert owned(env, plan) == [], f"seed {seed} cycle {cycle} leaked networks"
    stats.faults = len(faults.injected)
    return stats


def test_seeded_faults_over_many_cycles_leak_nothing(env: Env) -> None:
    env.operator()
    stats = fault_cycles(env, cdn_plan(), CYCLES, SEED)
    print(f"\n{stats}")
    assert stats.faults, "the fault plan injected nothing: this test would prove nothing"
    assert stats.failures, "no step ever failed: raise the fault rate"
    assert stats.succeeded, "no step ever succeeded: lower the fault rate"


class Crash(BaseException):
    """The process dies here."""


def crashing(obj: Any, after: int, counter: list[int]) -> Any:
    """A proxy of ``obj`` whose public method calls die (Crash) once ``after`` calls have been made in total."""

    class Proxy:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(obj, name)
            if name.startswith("_") or not callable(attr):
                return attr

            def call(*args: Any, **kwargs: Any) -> Any:
                counter[0] += 1
                if counter[0] > after:
                    raise Crash(f"crash before call {counter[0]}: {name}")
                return attr(*args, **kwargs)

            return call

    return Proxy()


def steps_of(run: Callable[[Deployer], Any], env: Env) -> int:
    counter = [0]
    deployer = env.deployer()
    deployer.cluster = crashing(deployer.cluster, 10**6, counter)
    deployer.helm = crashing(deployer.helm, 10**6, counter)
    run(deployer)
    return counter[0]


@pytest.mark.parametrize("phase", ["apply", "delete"])
def test_a_crash_between_any_two_steps_is_cured_by_running_again(env: Env, phase: str) -> None:
    env.operator()
    plan = cdn_plan()
    if phase == "delete":
        env.deployer().instantiate(plan)
        total = steps_of(lambda d: d.terminate(plan), env)
        env.deployer().instantiate(plan)
    else:
        total = steps_of(lambda d: d.instantiate(plan), env)
        env.deployer().terminate(plan)
    assert total >= 6
    for after in range(total):
        counter = [0]
        deployer = env.deployer()
        deployer.cluster = crashing(deployer.cluster, after, counter)
        deployer.helm = crashing(deployer.helm, after, counter)
        with pytest.raises(Crash):
            (deployer.instantiate if phase == "apply" else deployer.terminate)(plan)
        # a new process runs the same command again, and converges
        if phase == "apply":
            env.deployer().instantiate(plan)
            assert sorted(owned(env, plan)) == sorted(n.name for n in plan.networks)
            deployed = {r.name for r in env.helm().list_releases(None) if r.status == "deployed"}
            assert {k.release_name for k in plan.kdus} <= deployed
            env.deployer().terminate(plan)
        else:
            env.deployer().terminate(plan)
            assert owned(env, plan) == []
            assert not {r.name for r in env.helm().list_releases(None)} & {k.release_name for k in plan.kdus}
            env.deployer().instantiate(plan)
    env.deployer().terminate(plan)
