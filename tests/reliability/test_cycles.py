"""Campaign 2: seeded apply/terminate cycles under API faults leak nothing, and every failed step is reported as the
project's error. The cycle itself is tests/deploy/test_faults.py's (60 cycles in every CI run, its own seed); this runs
it again with another seed and, in long mode, 200+ cycles, then checks the whole store, not only the NS's labels."""

from __future__ import annotations

import time

from tests.deploy.conftest import Env, cdn_plan
from tests.deploy.test_faults import fault_cycles
from tests.reliability.conftest import Scale, report
from tests.support.k8s_emulator import L2NETWORKS

SEED = 20261127


def test_seeded_api_faults_over_apply_terminate_cycles_leak_nothing(env: Env, scale: Scale) -> None:
    env.operator()
    cycles = scale(40, 200)
    started = time.monotonic()
    stats = fault_cycles(env, cdn_plan(ns_name="reliability-faults"), cycles, SEED)
    report("fault-cycles", scale, seed=SEED, cycles=cycles, faults_injected=stats.faults,
           steps_succeeded=stats.succeeded, failures_reported=len(stats.failures), leaks=0,
           seconds=round(time.monotonic() - started, 1))
    assert env.emulator.list(L2NETWORKS, "default") == [], "no L2Network of any NS is left in the store"
    assert stats.faults >= cycles, "about one fault per cycle at least, or the campaign proves little"
    assert stats.failures and stats.succeeded >= cycles, "both outcomes happen"
