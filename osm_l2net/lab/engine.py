"""The lab: realise a Plan on this host (one switch namespace with a bridge per network, one namespace per KNF pod
replica), scale pods as ``kubectl scale`` would, report status, and remove exactly what it made."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from osm_l2net.core.errors import InputError, LabError
from osm_l2net.core.plan import Plan
from osm_l2net.lab import names, netlink, procs, roles, wan
from osm_l2net.lab.profile import Profile
from osm_l2net.lab.spec import (
    LabConflict,
    LabSpec,
    PodSpec,
    PoolSpec,
    build_spec,
    remaining,
    replica_index,
    replica_of,
)
from osm_l2net.lab.spec import allocate as allocate_address
from osm_l2net.lab.state import DEFAULT_ROOT, LabState

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _start_rank(pod: PodSpec) -> int:
    """Servers first, then routers, then clients (the cache starts pulling at once)."""
    order = ("content-server", "router", "none", "cache")
    return order.index(pod.role.role) if pod.role else order.index("none")


def _plug_order(pod: PodSpec) -> tuple[bool, int]:
    """Pods with a role in their start order, then the others: their links are made while the daemons start."""
    return pod.role is None, _start_rank(pod)


Waiting = list[tuple[PodSpec, list[procs.Pending]]]


def _label(cluster: str) -> str:
    return cluster or "(default)"


class Lab:
    def __init__(self, name: str = "default", root: Path = DEFAULT_ROOT, progress: Progress = _quiet) -> None:
        self.name = names.check_lab_name(name)
        self.root = root
        self.progress = progress

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    def up(self, plan: Plan, profile: Profile) -> LabSpec:
        procs.check_host()
        spec = build_spec(self.name, plan, profile)  # every name is checked before anything is created
        for pod in spec.pods:
            pod.check_replicas(pod.replicas)  # a plan written by hand: several replicas of a pinned address
        state = LabState.load(self.root, self.name)
        old = state.plan
        if old is not None and old.ns_id != plan.ns_id:
            raise LabError(f"lab {self.name} already runs NS {old.ns_id}; run 'lab down' first or use another --lab")
        if old is not None and old.clusters != plan.clusters:  # another layout of switches: not a re-up
            raise LabError(f"lab {self.name} runs NS {old.ns_id} on clusters {', '.join(map(_label, old.clusters))}, "
                           f"not {', '.join(map(_label, plan.clusters))}; run 'lab down' first or use another --lab")
        existing = set(netlink.list_netns())
        self._check_pools(state, [(pod, [i for i in range(1, pod.replicas + 1) if not self._addresses(state, pod, i)])
                                  for pod in spec.pods])  # before anything changes
        state.set_inputs(plan, profile)  # saved with the first intent, just below
        state.intend("dir", str(state.run_dir), force=True)
        state.run_dir.mkdir(parents=True, exist_ok=True)
        state.run_dir.chmod(0o755)
        state.intend("netns", spec.switch)
        self.progress(f"switch {spec.switch}: {len(spec.bridges)} bridges" if not spec.clusters else
                      f"WAN {spec.switch}: the router between {len(spec.clusters)} clusters")
        state.data["bridge_nf"] = netlink.setup_switch(spec.switch, spec.bridges)
        if spec.clusters:  # a placed plan: ``spec.switch`` is the WAN between the clusters' switches
            state.data["clusters_bridge_nf"] = wan.setup(spec, state.intend, self.progress)
        ctx = roles.Context(spec, plan, state.run_dir)
        waiting: Waiting = []
        try:
            with netlink.rtnl(spec.switch) as sw:
                for pod in sorted(spec.pods, key=_plug_order):
                    for extra in sorted(self._live(state, pod, existing) - {1}, reverse=True):
                        if extra > pod.replicas:  # left by an earlier 'lab scale': the plan's count wins, as helm's
                            self._remove_replica(state, spec, pod, extra)
                    state.data["replicas"][pod.key] = pod.replicas
                    if pod.replicas == 0:
                        self.progress(f"pod {pod.key}: replicas 0 in the plan, not started (lab scale … --replicas 1)")
                        continue
                    for i in range(1, pod.replicas + 1):
                        self._up_replica(state, ctx, self._replica(state, spec, pod, i), sw, existing, waiting)
            self._ready(state, waiting)
        finally:
            self._ready(state, waiting, wait=False)  # after a failure: record what runs, for down
            state.save()
        return spec

    def _up_replica(self, state: LabState, ctx: roles.Context, pod: PodSpec, sw: Any, existing: set[str],
                    waiting: Waiting) -> None:
        self._plug_pod(state, ctx, pod, sw, pod.netns in existing)
        if pod.role:
            if any(_start_rank(p) < _start_rank(pod) for p, _ in waiting):
                self._ready(state, waiting)  # what this pod's role talks to is up before it starts
            waiting.append((pod, self._launch(state, ctx, pod)))

    # ---- replicas ---------------------------------------------------------------------------------------------
    def _addresses(self, state: LabState, pod: PodSpec, replica: int) -> dict[str, str]:
        """The pool addresses replica ``replica`` of ``pod`` was given (interface → address), {} if none yet."""
        found: dict[str, str] = state.data["addresses"].get(pod.key, {}).get(str(replica), {})
        return found

    def _live(self, state: LabState, pod: PodSpec, present: set[str]) -> set[int]:
        """The replicas of ``pod`` that exist: a namespace, or pool addresses given and not yet returned by a scale."""
        made = {int(i) for i in state.data["addresses"].get(pod.key, {})}
        return made | {i for n in present if (i := replica_index(pod, n)) is not None}

    def _replica(self, state: LabState, spec: LabSpec, pod: PodSpec, replica: int, allocate: bool = True) -> PodSpec:
        """Replica ``replica`` of ``pod``; a new one gets its pool addresses now, saved before anything is made:
        like L2S-M's webhook at admission, the address is used whatever happens to the pod."""
        given = self._addresses(state, pod, replica)
        if not given and allocate and pod.pools:
            ipam = state.data["ipam"]
            for link in pod.links:
                if link.pool is not None:
                    given[link.ifname], ipam[link.vld_id] = allocate_address(ipam.get(link.vld_id), link.pool)
            state.data["addresses"].setdefault(pod.key, {})[str(replica)] = given
            made = replica_of(self.name, spec.ns_id, pod, replica, given)
            state.intend("netns", made.netns, force=True)  # one write: the addresses and the intent to make it
            return made
        return replica_of(self.name, spec.ns_id, pod, replica, given)

    def _check_pools(self, state: LabState, new: Sequence[tuple[PodSpec, Sequence[int]]]) -> None:
        """Refuse, before anything changes, replicas whose pools cannot address them (L2S-M never frees one)."""
        need: dict[str, int] = {}
        pools: dict[str, PoolSpec] = {}
        for pod, replicas in new:
            for pool in pod.pools:
                need[pool.vld_id] = need.get(pool.vld_id, 0) + len(replicas)
                pools[pool.vld_id] = pool
        for vld, count in need.items():
            pool, record = pools[vld], state.data["ipam"].get(vld)
            if record and record.get("range") != pool.block:  # e.g. a plan with another replicaCount, another block
                raise LabConflict(f"network {vld} of lab {self.name} hands out addresses from {record.get('range')}, "
                                  f"the plan says {pool.block} (a pool is never changed in place): run 'lab down' first")
            left = remaining(record, pool)
            if count > left:
                raise LabConflict(f"network {vld}: {count} new replica(s) need {count} address(es) from its pool "
                                  f"{pool.block}, which has {left} left of {pool.capacity} (an address is never "
                                  "reused: every replica ever created took one); nothing was changed")

    def _remove_replica(self, state: LabState, spec: LabSpec, pod: PodSpec, replica: int) -> None:
        gone = replica_of(self.name, spec.ns_id, pod, replica, self._addresses(state, pod, replica))
        self.progress(f"scale {pod.key}: remove replica {replica}: stop its processes, delete {gone.netns}")
        procs.stop(self._pod_pids(state, gone))
        netlink.unplug_pod(spec.switch_of(gone), gone)
        netlink.delete_netns(gone.netns)
        state.data["pids"][gone.ident] = []
        state.data["addresses"].get(pod.key, {}).pop(str(replica), None)  # its address stays used (ipam)
        state.save()

    def _plug_pod(self, state: LabState, ctx: roles.Context, pod: PodSpec, sw: Any = None,
                  existed: bool = True) -> None:
        """A pod's namespace and links. The state is saved before each creation step (the namespace, the daemons)
        and once their pids are known; ``up`` saves once more at its end, so a pod without a role costs one write
        (a rename-replace is a flush on ext4: milliseconds on a busy disk)."""
        addresses = " ".join(li.ip for li in pod.links if li.pool and li.ip)
        self.progress(f"pod {pod.ident}: {pod.netns} ({pod.role.role if pod.role else 'no role'})"
                      + (f" {addresses}" if addresses else ""))
        state.intend("netns", pod.netns)
        switch = ctx.spec.switch_of(pod)  # its cluster's switch in a placed plan; ``sw`` is the lab's one switch
        netlink.setup_pod_links(switch, pod, sw if switch == ctx.spec.switch else None)
        # idempotent re-up: restart the pod's daemons with current settings (a namespace made just now runs nothing)
        procs.stop(self._pod_pids(state, pod, scan=existed))
        state.data["pids"][pod.ident] = []

    def _launch(self, state: LabState, ctx: roles.Context, pod: PodSpec) -> list[procs.Pending]:
        """Start the pod's role; its daemons come up while the caller goes on (``_ready`` waits for them)."""
        state.intend("start", pod.ident, force=True)
        try:
            return roles.start(ctx, pod)
        except BaseException:
            self._ready(state, [(pod, [])], wait=False)
            raise

    def _ready(self, state: LabState, waiting: Waiting, wait: bool = True) -> None:
        """Wait for what was started (``wait``), record the daemons' pids and whatever else runs in their pods."""
        if not waiting:
            return
        try:
            for pod, launches in waiting:
                pids: list[int] = state.data["pids"].get(pod.ident, [])
                try:
                    pids += [pid for launch in launches if (pid := launch.pid()) is not None] if wait else []
                finally:
                    state.data["pids"][pod.ident] = pids + sorted(set(self._pod_pids(state, pod)) - set(pids))
        finally:
            waiting.clear()
            state.save()

    def _start_pod(self, state: LabState, ctx: roles.Context, pod: PodSpec) -> None:
        self._plug_pod(state, ctx, pod)
        if pod.role:
            self._ready(state, [(pod, self._launch(state, ctx, pod))])
        state.save()

    def _pod_pids(self, state: LabState, pod: PodSpec, scan: bool = True) -> list[int]:
        found = netlink.netns_pids({pod.netns}).get(pod.netns, []) if scan else []
        recorded = [p for p in state.data["pids"].get(pod.ident, []) if str(state.run_dir) in procs.cmdline(p)]
        return sorted(set(found) | set(recorded))

    def scale(self, member: str, replicas: int) -> PodSpec:
        """``kubectl scale``: replicas above ``replicas`` go (highest first), missing ones up to it are made, each
        new one with fresh pool addresses; refused before anything changes when the pools cannot address them."""
        if replicas < 0:
            raise InputError.single("lab scale", member, f"--replicas {replicas}", "0 or more")
        procs.check_host()
        state, spec, ctx = self._load()
        pod = spec.pod(member)
        pod.check_replicas(replicas)
        present = set(netlink.list_netns())
        adding = [i for i in range(1, replicas + 1) if replica_of(self.name, spec.ns_id, pod, i, {}).netns not in present]
        self._check_pools(state, [(pod, [i for i in adding if not self._addresses(state, pod, i)])])
        for extra in sorted(self._live(state, pod, present), reverse=True):
            if extra > replicas:
                self._remove_replica(state, spec, pod, extra)
        made = []
        for i in adding:
            made.append(self._replica(state, spec, pod, i))
            self._start_pod(state, ctx, made[-1])
        roles.announce(*made)
        state.data["replicas"][pod.key] = replicas
        state.save()
        return pod

    def start_pull(self, member: str) -> None:
        """Let a cache whose profile says ``pull: manual`` start downloading."""
        _, spec, ctx = self._load()
        roles.start_pull(ctx, spec.pod(member))

    def down(self) -> dict[str, Any]:
        """Remove everything of this lab: by state file AND by name scan, also after a crash or a lost state file."""
        try:
            state = LabState.load(self.root, self.name)
        except LabError:
            state = LabState(self.root, self.name)
        present = set(netlink.list_netns())
        ours = {n for n in present if names.owns_netns(self.name, n)} | (state.netns_names() & present)
        stopped = self._stop_all(state, ours)
        switch = names.switch_netns(self.name)
        removed = [n for n in sorted(ours, key=lambda n: n == switch) if netlink.delete_netns(n)]
        stray = netlink.host_links_with_alias(f"{names.ALIAS_PREFIX}{self.name} ")
        for link in stray:
            netlink.delete_host_link(link)
        shutil.rmtree(state.run_dir, ignore_errors=True)
        state.remove()
        return {"lab": self.name, "netns": removed, "processes": sorted(stopped), "host_links": stray}

    @staticmethod
    def _stop_all(state: LabState, netns: set[str], passes: int = 5) -> list[int]:
        """Stop the lab's processes, pass after pass until one finds none: a daemon in the middle of its double fork
        (a ``lab up`` killed while starting it) has a child that one listing of /proc may not see yet."""
        stopped: set[int] = set()
        for _ in range(passes):
            pids = {p for ps in netlink.netns_pids(netns).values() for p in ps}
            pids |= {p for p in state.all_pids() if str(state.run_dir) in procs.cmdline(p)}
            pids |= procs.mentioning(f"{state.run_dir}/")
            signalled = procs.stop(pids)
            if not signalled:
                break
            stopped.update(signalled)
        return sorted(stopped)

    # ---- inspection -------------------------------------------------------------------------------------------
    def _load(self) -> tuple[LabState, LabSpec, roles.Context]:
        state = LabState.load(self.root, self.name)
        plan = state.plan
        if plan is None:
            raise LabError(f"lab {self.name} is not up (no state in {state.path})")
        spec = build_spec(self.name, plan, state.profile)
        return state, spec, roles.Context(spec, plan, state.run_dir)

    def spec(self) -> LabSpec:
        return self._load()[1]

    def plan(self) -> Plan:
        plan = self._load()[0].plan
        assert plan is not None
        return plan

    def status(self) -> dict[str, Any]:
        """One entry per pod replica (a pod scaled to 0: one entry, not up), each with its addresses."""
        state, spec, ctx = self._load()
        present = set(netlink.list_netns())
        pods = [self._pod_status(state, ctx, replica, replica.netns in present)
                for pod in spec.pods for replica in self._replicas(state, spec, pod, present)]
        out = {"lab": self.name, "ns_id": spec.ns_id, "switch": spec.switch, "bridge_nf": state.data.get("bridge_nf"),
               "bridges": [{"vld": b.vld_id, "name": b.name, "mac": b.mac} for b in spec.bridges],
               "pods": pods, "state_file": str(state.path)}
        if spec.clusters:  # only a placed plan's status has these: a single-cluster lab's keeps its form
            out.update(wan.status(spec, pods, present))
        return out

    def link(self, a: str, b: str, up: bool) -> dict[str, Any]:
        """Cut (``up=False``) or restore the inter-cluster link of clusters ``a`` and ``b``; its state, read back."""
        procs.check_host(tools=())
        spec = self.spec()
        link = wan.set_link(spec, a, b, up)
        self.progress(f"inter-cluster link {link.key}: {'restored' if up else 'cut'} in the WAN {spec.switch}")
        return next(s for s in wan.links_status(spec) if set(s["clusters"]) == {link.a.label, link.b.label})

    def replicas(self, member: str) -> list[PodSpec]:
        """The replicas of ``member`` that exist, lowest first, with their addresses."""
        state, spec, _ = self._load()
        pod = spec.pod(member)
        present = set(netlink.list_netns())
        return [r for r in self._replicas(state, spec, pod, present) if r.netns in present]

    def _replicas(self, state: LabState, spec: LabSpec, pod: PodSpec, present: set[str]) -> list[PodSpec]:
        return [self._replica(state, spec, pod, i, allocate=False) for i in sorted(self._live(state, pod, present) or {1})]

    def _pod_status(self, state: LabState, ctx: roles.Context, pod: PodSpec, up: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"pod": pod.key, "netns": pod.netns, "role": pod.role.role if pod.role else "none",
                               "replicas": state.data["replicas"].get(pod.key, 0), "replica": pod.replica,
                               "addresses": {li.ifname: li.ip for li in pod.links if li.ip}, "up": up,
                               "processes": [p for p in self._pod_pids(state, pod) if procs.alive(p)] if up else []}
        out["links"] = netlink.describe_links(pod.netns) if up else []
        if pod.role and pod.role.role == "cache":
            out["download"] = roles.cache_status(ctx, pod)
        return out

    def exec(self, member: str, argv: Sequence[str], timeout: float | None = None,
             capture: bool = False, replica: int = 1) -> subprocess.CompletedProcess[str]:
        spec = self.spec()
        pod = replica_of(self.name, spec.ns_id, spec.pod(member), replica, {})  # its namespace: names only
        if pod.netns not in netlink.list_netns():
            what = "is scaled to 0" if replica == 1 else f"has no replica {replica}"
            raise LabError(f"{pod.key} {what} (no namespace {pod.netns})")
        try:
            return subprocess.run(procs.netns_argv(pod.netns, argv), capture_output=capture, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise LabError(f"{argv[0]} in {pod.ident} timed out after {timeout}s") from e
        except OSError as e:
            raise LabError(f"cannot run {argv[0]} in {pod.ident}: {e}") from e
