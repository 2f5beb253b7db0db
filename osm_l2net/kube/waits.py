"""Waiting on the cluster: until networks are ready, until networks or an NS's pods are gone. Each wait lists, then
watches from the list's resourceVersion (a failed or expired watch is followed by a fresh list after a backoff), with
a deadline, and says every few seconds what it is still waiting for. ``WaitTimeout`` names what is missing and why."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from typing import Any

from osm_l2net.core.errors import WaitTimeout
from osm_l2net.core.plan import LABEL_NS_ID, NetworkPlan
from osm_l2net.kube import state as ks
from osm_l2net.kube.client import PODS, ApiFailure, Client, Notify, log
from osm_l2net.kube.state import OwnedNetwork, Readiness, ResourceRef

Progress = Callable[[Readiness], None]
Objects = dict[str, dict[str, Any]]
Missing = Callable[[Objects, float], list[str]]  # (objects by name, elapsed s) -> progress lines


class _Ticker:
    """Calls ``tick(elapsed seconds)`` every ``interval`` seconds from a daemon thread until the block ends (interval
    0: never). A progress line must never break a wait: its failures are logged and skipped."""

    def __init__(self, interval: float, tick: Callable[[float], None]) -> None:
        self.interval, self.tick = interval, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Ticker:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="osm-l2net-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.interval))

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                self.tick(time.monotonic() - started)
            except (RuntimeError, ValueError, OSError) as e:  # a dict changing under the copy, a closed stderr
                log.debug("progress line skipped: %s", e)


def await_objects(api: Client, ref: ResourceRef, ns: str, selector: str, done: Callable[[Objects], bool],
                  deadline: float, missing: Missing | None = None, notify: Notify | None = None) -> tuple[Objects, bool]:
    """List, then watch until ``done(objects by name)`` or the deadline. Returns (objects, done?).

    Every ``policy.progress_interval_s`` meanwhile, ``notify`` gets the lines ``missing(objects, elapsed)`` says
    (from a ticker thread: a watch on which nothing happens blocks this one)."""
    latest: list[Objects] = [{}]

    def tick(elapsed: float) -> None:
        if missing is not None:
            for line in missing(dict(latest[0]), elapsed):  # dict(): one atomic copy of the watched dict
                (notify or api.progress)(line)

    with _Ticker(api.policy.progress_interval_s if missing is not None else 0.0, tick):
        return _await_loop(api, ref, ns, selector, done, deadline, latest)


def _await_loop(api: Client, ref: ResourceRef, ns: str, selector: str, done: Callable[[Objects], bool],
                deadline: float, latest: list[Objects]) -> tuple[Objects, bool]:
    failures = 0
    while True:
        items, rv = api.list_objects(ref, ns, selector)
        objs = {o["metadata"]["name"]: o for o in items}
        latest[0] = objs  # the watch updates it in place
        if done(objs):
            return objs, True
        if deadline - time.monotonic() <= 0:
            return objs, False
        started = time.monotonic()
        try:
            if _watch(api, ref, ns, selector=selector, rv=rv, objs=objs, done=done, deadline=deadline):
                return objs, True
            if time.monotonic() - started >= 0.5:
                continue  # the stream ran its course: list again at once
            reason = "the watch ended at once"
        except ApiFailure as e:
            reason = f"the watch failed: {e}"
        failures += 1  # back off, so that a server ending every watch cannot turn this into a busy loop
        log.info("%s (%s in %s); listing again", reason, ref.plural, ns)
        api.sleep(min(api.policy.delay(failures, api.rng), max(0.0, deadline - time.monotonic())))


def _watch(api: Client, ref: ResourceRef, ns: str, *, selector: str, rv: str, objs: Objects,
           done: Callable[[Objects], bool], deadline: float) -> bool:
    seconds = max(1, math.ceil(min(deadline - time.monotonic(), 60)))
    with closing(api.events(ref, ns, selector, rv, seconds)) as events:
        for kind, obj in events:
            name = obj.get("metadata", {}).get("name")
            if kind == "DELETED":
                objs.pop(name, None)
            elif name:
                objs[name] = dict(obj, kind=obj.get("kind") or ref.kind)
            if done(objs):
                return True
            if time.monotonic() > deadline:
                return False
    return False


def wait_ready(api: Client, networks: Sequence[NetworkPlan], namespace: str | None = None, deadline_s: float = 120.0,
               progress: Progress | None = None, notify: Notify | None = None) -> list[Readiness]:
    """Until every network is ready (L2Network: status.internalConnectivity == Available; NAD: present), or
    ``WaitTimeout`` naming those that are not and why. ``progress`` gets every change of a network's state;
    ``notify`` (default: the cluster's ``progress``) every few seconds what is still missing, with a hint."""
    started = time.monotonic()
    deadline = started + deadline_s
    seen: dict[str, str] = {}
    final: dict[str, Readiness] = {}
    for ref, ns, nets in api.groups(networks, namespace):
        names = [n.name for n in nets]

        def done(objs: Objects, ref: ResourceRef = ref, names: list[str] = names) -> bool:
            states = [ks.readiness(ref.kind, name, objs.get(name)) for name in names]
            for state in states:
                final[state.name] = state
                if progress is not None and seen.get(state.name) != state.detail:
                    progress(state)
                seen[state.name] = state.detail
            return all(s.ready for s in states)

        def missing(objs: Objects, _: float, ref: ResourceRef = ref, ns: str = ns,
                    names: list[str] = names) -> list[str]:
            states = [ks.readiness(ref.kind, name, objs.get(name)) for name in names]
            return ks.not_ready_summary(ref.kind, ns, states, time.monotonic() - started)

        _, ok = await_objects(api, ref, ns, ks.selector_for(nets), done, deadline, missing, notify)
        if not ok:
            stuck = [final[n.name] for n in nets if not final[n.name].ready]
            listed = "; ".join(f"{ref.kind} {ns}/{s.name}: {s.explained}" for s in stuck)
            raise WaitTimeout(f"networks not ready after {deadline_s:g}s: {listed}")
    return [final[n.name] for n in networks]


def wait_absent(api: Client, ref: ResourceRef, ns: str, names: Sequence[str], deadline_s: float,
                notify: Notify | None = None) -> None:
    """Until none of ``names`` is left (their finalizers released), or ``WaitTimeout`` naming each and why."""
    deadline = time.monotonic() + deadline_s

    def missing(objs: Objects, elapsed: float) -> list[str]:
        return ks.still_present_summary(ref.kind, ns, objs, names, elapsed)

    objs, ok = await_objects(api, ref, ns, "", lambda o: not any(n in o for n in names), deadline, missing, notify)
    if not ok:
        pods = api.pods(ns)
        stuck = [f"{ref.kind} {ns}/{n}: {ks.stuck_reason(objs[n], ks.attached_pods(pods, n))}"
                 for n in names if n in objs]
        raise WaitTimeout(f"networks still present {deadline_s:g}s after deletion: {'; '.join(stuck)}")


def wait_gone(api: Client, networks: Sequence[NetworkPlan], namespace: str | None = None, deadline_s: float = 120.0,
              notify: Notify | None = None) -> None:
    """Until the networks are gone, or ``WaitTimeout`` naming each one still there and why (finalizers, pods);
    ``notify`` (default: the cluster's ``progress``) hears every few seconds which are still there and why."""
    for ref, ns, nets in api.groups(networks, namespace):
        wait_absent(api, ref, ns, [n.name for n in nets], deadline_s, notify)


def wait_owned_gone(api: Client, nets: Sequence[OwnedNetwork], deadline_s: float = 120.0,
                    notify: Notify | None = None) -> None:
    """Until the listed networks of ours are gone (their finalizers released), or ``WaitTimeout`` as ``wait_gone``."""
    places: dict[tuple[str, str], list[str]] = {}
    for net in nets:
        places.setdefault((net.kind, net.namespace), []).append(net.name)
    for (kind, ns), names in places.items():
        wait_absent(api, ks.resource_of_kind(kind), ns, names, deadline_s, notify)


def wait_pods_gone(api: Client, owner: Mapping[str, str], namespace: str | None = None, deadline_s: float = 300.0,
                   notify: Notify | None = None) -> None:
    """Until no pod of the NS ``owner`` marks (its ``osm.etsi.org/ns-id`` label) is left: pods before networks."""
    ns, ns_id = namespace or api.namespace, owner[LABEL_NS_ID]
    selector = f"{LABEL_NS_ID}={ns_id}"

    def missing(objs: Objects, elapsed: float) -> list[str]:
        return ks.pods_left_summary(ns_id, ns, objs, selector, elapsed)

    objs, ok = await_objects(api, PODS, ns, selector, lambda o: not o, time.monotonic() + deadline_s, missing, notify)
    if not ok:
        left = [f"{name} ({ks.pod_state(p)})" for name, p in sorted(objs.items())]
        raise WaitTimeout(f"pods of NS {ns_id} still present in {ns} after {deadline_s:g}s: {', '.join(left)} "
                          f"(kubectl -n {ns} get pods -l {selector})")
