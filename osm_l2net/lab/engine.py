"""The lab: realise a Plan on this host (one switch namespace with a bridge per network, one namespace per KNF pod),
scale pods to 0/1 as ``kubectl scale`` would, report status, and remove exactly what it made."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from osm_l2net.core.errors import LabError
from osm_l2net.core.plan import Plan
from osm_l2net.lab import names, netlink, procs, roles, wan
from osm_l2net.lab.profile import Profile
from osm_l2net.lab.spec import LabSpec, PodSpec, build_spec
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
        state = LabState.load(self.root, self.name)
        old = state.plan
        if old is not None and old.ns_id != plan.ns_id:
            raise LabError(f"lab {self.name} already runs NS {old.ns_id}; run 'lab down' first or use another --lab")
        if old is not None and old.clusters != plan.clusters:  # another layout of switches: not a re-up
            raise LabError(f"lab {self.name} runs NS {old.ns_id} on clusters {', '.join(map(_label, old.clusters))}, "
                           f"not {', '.join(map(_label, plan.clusters))}; run 'lab down' first or use another --lab")
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
        existing = set(netlink.list_netns())
        waiting: Waiting = []
        try:
            with netlink.rtnl(spec.switch) as sw:
                for pod in sorted(spec.pods, key=_plug_order):
                    if pod.replicas == 0:
                        self.progress(f"pod {pod.key}: replicas 0 in the plan, not started (lab scale … --replicas 1)")
                        state.data["replicas"][pod.key] = 0
                        continue
                    self._plug_pod(state, ctx, pod, sw, pod.netns in existing)
                    if pod.role:
                        if any(_start_rank(p) < _start_rank(pod) for p, _ in waiting):
                            self._ready(state, waiting)  # what this pod's role talks to is up before it starts
                        waiting.append((pod, self._launch(state, ctx, pod)))
            self._ready(state, waiting)
        finally:
            self._ready(state, waiting, wait=False)  # after a failure: record what runs, for down
            state.save()
        return spec

    def _plug_pod(self, state: LabState, ctx: roles.Context, pod: PodSpec, sw: Any = None,
                  existed: bool = True) -> None:
        """A pod's namespace and links. The state is saved before each creation step (the namespace, the daemons)
        and once their pids are known; ``up`` saves once more at its end, so a pod without a role costs one write
        (a rename-replace is a flush on ext4: milliseconds on a busy disk)."""
        self.progress(f"pod {pod.key}: {pod.netns} ({pod.role.role if pod.role else 'no role'})")
        state.intend("netns", pod.netns)
        switch = ctx.spec.switch_of(pod)  # its cluster's switch in a placed plan; ``sw`` is the lab's one switch
        netlink.setup_pod_links(switch, pod, sw if switch == ctx.spec.switch else None)
        # idempotent re-up: restart the pod's daemons with current settings (a namespace made just now runs nothing)
        procs.stop(self._pod_pids(state, pod, scan=existed))
        state.data["pids"][pod.key] = []
        state.data["replicas"][pod.key] = 1

    def _launch(self, state: LabState, ctx: roles.Context, pod: PodSpec) -> list[procs.Pending]:
        """Start the pod's role; its daemons come up while the caller goes on (``_ready`` waits for them)."""
        state.intend("start", pod.key, force=True)
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
                pids: list[int] = state.data["pids"].get(pod.key, [])
                try:
                    pids += [pid for launch in launches if (pid := launch.pid()) is not None] if wait else []
                finally:
                    state.data["pids"][pod.key] = pids + sorted(set(self._pod_pids(state, pod)) - set(pids))
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
        recorded = [p for p in state.data["pids"].get(pod.key, []) if str(state.run_dir) in procs.cmdline(p)]
        return sorted(set(found) | set(recorded))

    def scale(self, member: str, replicas: int) -> PodSpec:
        if replicas not in (0, 1):
            raise LabError(f"the lab runs 0 or 1 replica per KNF, not {replicas}")
        procs.check_host()
        state, spec, ctx = self._load()
        pod = spec.pod(member)
        if replicas == 0:
            self.progress(f"scale {pod.key} → 0: stop its processes, delete {pod.netns}")
            procs.stop(self._pod_pids(state, pod))
            netlink.unplug_pod(spec.switch_of(pod), pod)
            netlink.delete_netns(pod.netns)
            state.data["pids"][pod.key] = []
            state.data["replicas"][pod.key] = 0
            state.save()
        else:
            self._start_pod(state, ctx, pod)
            roles.announce(pod)
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
        pids = {p for ps in netlink.netns_pids(ours).values() for p in ps}
        pids |= {p for p in state.all_pids() if str(state.run_dir) in procs.cmdline(p)}
        stopped = procs.stop(pids)
        switch = names.switch_netns(self.name)
        removed = [n for n in sorted(ours, key=lambda n: n == switch) if netlink.delete_netns(n)]
        stray = netlink.host_links_with_alias(f"{names.ALIAS_PREFIX}{self.name} ")
        for link in stray:
            netlink.delete_host_link(link)
        shutil.rmtree(state.run_dir, ignore_errors=True)
        state.remove()
        return {"lab": self.name, "netns": removed, "processes": sorted(stopped), "host_links": stray}

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
        state, spec, ctx = self._load()
        present = set(netlink.list_netns())
        pods = [self._pod_status(state, ctx, pod, pod.netns in present) for pod in spec.pods]
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

    def _pod_status(self, state: LabState, ctx: roles.Context, pod: PodSpec, up: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"pod": pod.key, "netns": pod.netns, "role": pod.role.role if pod.role else "none",
                               "replicas": state.data["replicas"].get(pod.key, 0), "up": up,
                               "processes": [p for p in self._pod_pids(state, pod) if procs.alive(p)] if up else []}
        out["links"] = netlink.describe_links(pod.netns) if up else []
        if pod.role and pod.role.role == "cache":
            out["download"] = roles.cache_status(ctx, pod)
        return out

    def exec(self, member: str, argv: Sequence[str], timeout: float | None = None,
             capture: bool = False) -> subprocess.CompletedProcess[str]:
        pod = self.spec().pod(member)
        if pod.netns not in netlink.list_netns():
            raise LabError(f"{pod.key} is scaled to 0 (no namespace {pod.netns})")
        try:
            return subprocess.run(procs.netns_argv(pod.netns, argv), capture_output=capture, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise LabError(f"{argv[0]} in {pod.key} timed out after {timeout}s") from e
        except OSError as e:
            raise LabError(f"cannot run {argv[0]} in {pod.key}: {e}") from e
