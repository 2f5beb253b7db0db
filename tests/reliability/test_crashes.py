"""Campaign 3: a crash injected after every step, and re-running converges.

tests/deploy/test_faults.py already crashes apply and delete of the CDN service (networks + helm) after every call
to the cluster or helm. This adds what it does not cover: the networks-only path (`apply --no-kdus`, and the LCM
connector's first step) on a generated service with many networks (long mode: 40), and the LCM connector path, where
LCM dies between creating an NS's networks and installing its KDUs, and a new LCM retries the same KDUs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from osm_l2net import api
from osm_l2net.core.model import NsInstance
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.plan import Plan, owner_labels
from osm_l2net.core.planner import build_plan
from osm_l2net.deploy.deployer import Deployer
from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.deploy.conftest import Env
from tests.deploy.test_faults import Crash, crashing, owned
from tests.osm.conftest import Lcm, tool
from tests.reliability.conftest import Scale, report
from tests.support.descriptors import descriptors, service_docs
from tests.support.k8s_emulator import L2NETWORKS, SECRETS
from tests.support.osm_lcm_double import K8sHelm3ConnectorDouble
from tests.support.osm_records import create_ns

SEED = 20261128


def generated_plan(groups: int, links: int) -> Plan:
    nsd, vnfds = service_docs(groups, links, 3, seed=SEED)
    return build_plan(descriptors(nsd, vnfds), NsInstance("crash-campaign", "crash-campaign"), PlanOptions())


def calls_of(run: Callable[[Deployer], Any], env: Env) -> int:
    counter = [0]
    deployer = env.deployer(with_helm=False)
    real = deployer.cluster
    deployer.cluster = crashing(real, 10**6, counter)
    run(deployer)
    real.close()
    return counter[0]


@pytest.mark.parametrize("phase", ["apply", "delete"])
def test_a_crash_after_every_step_of_the_networks_only_path_is_cured_by_running_again(env: Env, scale: Scale,
                                                                                       phase: str) -> None:
    env.operator()
    plan = generated_plan(*((2, 4) if not scale.long else (5, 9)))
    names = sorted(n.name for n in plan.networks)
    started = time.monotonic()
    if phase == "delete":
        env.deployer(with_helm=False).instantiate(plan)
        total = calls_of(lambda d: d.terminate(plan), env)
        env.deployer(with_helm=False).instantiate(plan)
    else:
        total = calls_of(lambda d: d.instantiate(plan), env)
        env.deployer(with_helm=False).terminate(plan)
    assert total >= (len(plan.networks) if phase == "apply" else 3), "one call per network on apply; batched on delete"
    for after in range(total):
        counter = [0]
        deployer = env.deployer(with_helm=False)
        real = deployer.cluster
        deployer.cluster = crashing(real, after, counter)
        with pytest.raises(Crash):
            (deployer.instantiate if phase == "apply" else deployer.terminate)(plan)
        real.close()  # the dead process's connections go with it
        if phase == "apply":  # a new process runs the same command again, and converges
            again = env.deployer(with_helm=False).instantiate(plan)
            assert sorted(owned(env, plan)) == names, f"crash after {after} calls"
            assert not again.adopted, "our own objects are recognised, not adopted"
            env.deployer(with_helm=False).terminate(plan)
        else:
            env.deployer(with_helm=False).terminate(plan)
            assert owned(env, plan) == [], f"crash after {after} calls"
            env.deployer(with_helm=False).instantiate(plan)
    env.deployer(with_helm=False).terminate(plan)
    assert env.emulator.list(L2NETWORKS, "default") == []
    report(f"crash-{phase}-networks", scale, seed=SEED, networks=len(plan.networks), crash_points=total, converged=total,
           leaks=0, seconds=round(time.monotonic() - started, 1))


class HelmDiesDouble(K8sHelm3ConnectorDouble):
    """LCM's helm 3 connector in a process that dies just before running helm (after the networks were made)."""

    async def install(self, *args: Any, **kwargs: Any) -> bool:
        raise Crash("LCM died before helm install")


NAMESPACE = "admin-project"
VIM = "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01"


def connector(lcm: Lcm, base: type) -> Any:
    """A fresh connector (a new LCM process: no memory of the previous one's NS state)."""
    return make_connector_class(base)(fs=lcm.fs, db=lcm.db, kubectl_command=tool("kubectl"),
                                      helm_command=tool("helm"), log=None, on_update_db=None)


@pytest.mark.helm
def test_lcm_dying_between_networks_and_helm_install_is_cured_by_lcms_retry(lcm: Lcm, scale: Scale) -> None:
    lcm.cluster.operator.start(ready_after=0.0)
    nsr_id = create_ns(lcm.db, lcm.onboarded, "vod-crash", VIM)
    plan = api.plan(CDN_PACKAGES, ns_name="vod-crash", ns_id=nsr_id, namespace=NAMESPACE)
    names = sorted(n.name for n in plan.networks)
    lcm.connector = connector(lcm, HelmDiesDouble)
    results = asyncio.run(lcm.replay().instantiate(nsr_id))
    assert all(isinstance(r, Crash) for r in results), results
    with lcm.kube() as cluster:
        assert sorted(o.name for o in cluster.list_owned(owner_labels(nsr_id))) == names, "networks made, then death"
    assert not [s for s in lcm.cluster.list(SECRETS, NAMESPACE) if s["metadata"]["name"].startswith("sh.helm.release")], \
        "no release was written"
    # LCM restarts and retries the KDUs of the NS: the networks are found ready, the charts are installed
    lcm.connector = connector(lcm, K8sHelm3ConnectorDouble)
    replay = lcm.replay()
    assert asyncio.run(replay.instantiate(nsr_id)) == [True, True, True]
    creates = [e for e in lcm.cluster.log.select("POST", "/l2networks") if e.status == 201]
    assert len(creates) == len(names), "each network created once over both attempts"
    assert sorted(i for i, _, _ in lcm.connector.installs) == sorted(replay.releases(nsr_id).values())
    kdu_of = {release: plan.kdu(*key) for key, release in replay.releases(nsr_id).items()}
    for kdu_instance, params, _ in lcm.connector.installs:
        kdu = kdu_of[kdu_instance]
        assert kdu is not None and params["podAnnotations"] == dict(kdu.pod_annotations), "attached as planned"
    assert asyncio.run(replay.terminate(nsr_id)) == [True, True, True]
    with lcm.kube() as cluster:
        assert cluster.list_owned() == []
    report("crash-lcm", scale, networks=len(names), kdus=len(plan.kdus), crash_points=1, converged=1, leaks=0)
