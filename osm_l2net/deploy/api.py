"""The cluster half of the library API: what ``osm-l2net apply``, ``delete`` and ``status`` do, as functions::

    import osm_l2net
    applied = osm_l2net.apply(["descriptors/"], ns_name="vod-service-deployment", kubeconfig="kubeconfig")
    print(osm_l2net.status(applied.plan, kubeconfig="kubeconfig").ready)

Each call connects (kubeconfig and context resolved as kubectl does), plans when it is given paths (in ``namespace``,
else the context's namespace: kubectl's rule), does its work, closes the connection and returns data. Nothing is
printed: the lines of slow steps go to ``progress`` (default: this module's logger). Failures are the library's
errors (:class:`~osm_l2net.core.errors.L2NetError` and its kinds); a failed apply raises
:class:`~osm_l2net.deploy.deployer.DeployError`, whose ``report`` says what was done and rolled back.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from osm_l2net import api
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.plan import Plan
from osm_l2net.deploy import fanout
from osm_l2net.deploy.converge import judge
from osm_l2net.deploy.deployer import Deployer, DeploySettings, Progress, Report
from osm_l2net.helm.runner import Helm, HelmSettings
from osm_l2net.kube.state import NetworkStatus, RetryPolicy

if TYPE_CHECKING:  # the kubernetes client is slow to import: only a call that connects pays for it
    from osm_l2net.kube.cluster import Cluster

log = logging.getLogger(__name__)
PathLike = str | os.PathLike[str]
# A plan; the paths of an NS's packages (planned in the cluster's namespace); or a function from that namespace to the
# plan, for callers that make plans their own way (the CLI, from its flags). status and delete call the function
# again with ``ns_id=`` and ``ns_name=`` keywords when the cluster holds the NS under another id (deploy/lookup.py).
PlanSource = Plan | api.Paths | Callable[..., Plan]
DryRun = Literal["none", "client", "server"]


@dataclass(frozen=True)
class Change:
    """What an apply would do to one object (a dry run): a network's ``create``, ``update`` (labels to adopt) or
    ``unchanged``; a release's ``install``, ``upgrade`` or ``unchanged``. ``detail``: why (an upgrade names the
    changed value key paths, never their values)."""

    action: str
    kind: str
    name: str
    namespace: str
    detail: str = ""  # why: the changed key paths of an upgrade, a network's judgement
    cluster: str = ""  # an NS on several clusters: which one ("(default)" for the call's own context)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k != "cluster" or v}


@dataclass(frozen=True)
class DeployResult:
    """The plan carried out and what was done; a dry run fills ``changes`` instead and leaves ``report`` empty."""

    plan: Plan
    report: Report
    changes: tuple[Change, ...] = ()
    dry_run: DryRun = "none"
    reports: Mapping[str, Report] = field(default_factory=dict)  # per cluster, for an NS on several (else empty)


@dataclass(frozen=True)
class StatusResult:
    """Per virtual link of the plan: its network's state and the pods attached, with their problems."""

    plan: Plan
    networks: tuple[NetworkStatus, ...] = field(default_factory=tuple)
    clusters: tuple[str, ...] = ()  # each row's cluster, for an NS on several clusters (else empty)

    @property
    def problems(self) -> list[str]:
        return [p for n in self.networks for p in n.problems]

    @property
    def ready(self) -> bool:
        """Every network exists and is ready, and no attached pod has a problem."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The form ``osm-l2net status -o json`` prints."""
        vld = {n.name: n.vld_id for n in self.plan.networks}
        rows = [{**({"cluster": self.clusters[i]} if self.clusters else {}), "vld": vld.get(s.name, ""),
                 "network": s.name, "kind": s.kind, "exists": s.exists, "ready": s.ready, "detail": s.detail,
                 "pods": [asdict(p) for p in s.pods], "problems": list(s.problems)}
                for i, s in enumerate(self.networks)]
        return {"ns": self.plan.ns_id, "networks": rows}


def apply(source: PlanSource, *, kubeconfig: PathLike | None = None, context: str | None = None,
          namespace: str | None = None, ns_name: str | None = None, ns_id: str | None = None,
          config: Mapping[str, Any] | None = None, options: PlanOptions | None = None, kdus: bool = True,
          helm: HelmSettings | None = None, settings: DeploySettings | None = None, dry_run: DryRun = "none",
          policy: RetryPolicy | None = None, progress: Progress | None = None, preflight: bool = True) -> DeployResult:
    """Create the NS's networks, wait until they are ready, then install or upgrade its KDUs (converges; safe to re-run).

    ``source``: a :class:`Plan`, or the NS's package paths planned with ``ns_name``/``ns_id``/``config``/``options``.
    ``kdus`` False: networks only. ``helm``: how helm runs (kubeconfig and context default to this call's).
    A re-run upgrades the releases whose values or chart differ from the plan and leaves the others untouched.
    ``dry_run`` ``"client"``: what would change, from reads only; ``"server"``: each network is also sent with
    dryRun=All. Nothing is changed then. ``preflight`` (also in a dry run): check L2S-M first (its API version, the
    Overlay and its ports, the webhook, per-node port capacity, the MTU) and raise
    :class:`~osm_l2net.core.preflight.PreflightError` before anything is created; False skips it.
    """
    _check(source, namespace, ns_name, ns_id, config, options)
    say = _say(progress)
    with _connect(kubeconfig, context, namespace, policy, progress, announce=say) as cluster:
        plan = _plan(source, cluster.namespace, ns_name, ns_id, config, options)
        if plan.clusters != ("",):
            with _fanned(plan, cluster, kubeconfig, context, policy, progress, say, kdus, helm, settings) as parts:
                if preflight:  # every cluster's, before anything is written on any
                    for part in parts:
                        part.deployer.cluster.preflight(part.plan, say)
                return _apply_fanned(plan, parts, dry_run, say)
        if preflight:
            cluster.preflight(plan, say)
        deployer = _deployer(cluster, kubeconfig, context, kdus, helm, settings, say)
        if dry_run != "none":
            return DeployResult(plan, Report(plan.ns_id), _changes(deployer, plan, server=dry_run == "server"), dry_run)
        return DeployResult(plan, deployer.instantiate(plan))


def delete(source: PlanSource, *, kubeconfig: PathLike | None = None, context: str | None = None,
           namespace: str | None = None, ns_name: str | None = None, ns_id: str | None = None,
           config: Mapping[str, Any] | None = None, options: PlanOptions | None = None, kdus: bool = True,
           helm: HelmSettings | None = None, settings: DeploySettings | None = None, force: bool = False,
           policy: RetryPolicy | None = None, progress: Progress | None = None) -> DeployResult:
    """Uninstall the NS's KDUs, wait until its pods are gone (unless ``force``), delete its networks and wait until
    they are gone. Arguments as :func:`apply`'s. Planned from paths, the NS is first looked for in the cluster by
    ``ns_id`` (an NS id or OSM's nsr id), else by ``ns_name`` (deploy/lookup.py), and planned with the id and name its
    networks carry; only networks of the plan's NSD (or of none: older versions) are removed."""
    _check(source, namespace, ns_name, ns_id, config, options)
    say = _say(progress)
    with _connect(kubeconfig, context, namespace, policy, progress, announce=say) as cluster:
        plan = _located(cluster, source, _plan(source, cluster.namespace, ns_name, ns_id, config, options), ns_name,
                        ns_id, config, options)
        if plan.clusters != ("",):
            with _fanned(plan, cluster, kubeconfig, context, policy, progress, say, kdus, helm, settings) as parts:
                fanout.terminate(parts, say, force=force)
                return DeployResult(plan, fanout.merged(parts), reports={p.cluster: p.report for p in parts})
        report = _deployer(cluster, kubeconfig, context, kdus, helm, settings, say).terminate(plan, force=force)
    return DeployResult(plan, report)


def status(source: PlanSource, *, kubeconfig: PathLike | None = None, context: str | None = None,
           namespace: str | None = None, ns_name: str | None = None, ns_id: str | None = None,
           config: Mapping[str, Any] | None = None, options: PlanOptions | None = None,
           policy: RetryPolicy | None = None, progress: Progress | None = None) -> StatusResult:
    """Per virtual link: the network's state and the pods attached (interfaces, addresses, problems). Reads only.
    The NS is found as :func:`delete` finds it."""
    _check(source, namespace, ns_name, ns_id, config, options)
    with _connect(kubeconfig, context, namespace, policy, progress) as cluster:
        plan = _located(cluster, source, _plan(source, cluster.namespace, ns_name, ns_id, config, options), ns_name,
                        ns_id, config, options)
        if plan.clusters != ("",):
            with _fanned(plan, cluster, kubeconfig, context, policy, progress, None, False, None, None) as parts:
                rows = [(p.cluster, s) for p in parts
                        for s in p.deployer.cluster.network_status(list(p.plan.networks), plan.namespace)]
            return StatusResult(plan, tuple(s for _, s in rows), tuple(fanout.label(c) for c, _ in rows))
        return StatusResult(plan, tuple(cluster.network_status(list(plan.networks), plan.namespace)))


@contextlib.contextmanager
def _fanned(plan: Plan, default: Cluster, kubeconfig: PathLike | None, context: str | None,
            policy: RetryPolicy | None, progress: Progress | None, say: Progress | None, kdus: bool,
            helm: HelmSettings | None, settings: DeploySettings | None) -> Iterator[list[fanout.Member]]:
    """A deployer per cluster of the plan, all connected before anything is written: the default cluster ("") is
    this call's connection, a named one the kubeconfig's context of that name (helm too)."""
    with contextlib.ExitStack() as stack:
        def deployer_for(name: str) -> Deployer:
            if not name:
                return _deployer(default, kubeconfig, context, kdus, helm, settings, say or _say(progress))
            cluster = stack.enter_context(_connect(kubeconfig, name, plan.namespace, policy, progress, announce=say))
            return _deployer(cluster, kubeconfig, name, kdus, helm, settings, say or _say(progress))

        yield fanout.members(plan, deployer_for)


def _apply_fanned(plan: Plan, parts: list[fanout.Member], dry_run: DryRun, say: Progress) -> DeployResult:
    if dry_run != "none":
        changes = tuple(replace(c, cluster=fanout.label(p.cluster)) for p in parts
                        for c in _changes(p.deployer, p.plan, server=dry_run == "server"))
        return DeployResult(plan, Report(plan.ns_id), changes, dry_run)
    fanout.instantiate(parts, say)
    say(f"NS {plan.ns_name}: {len(plan.networks)} networks ready on {len(parts)} clusters, {len(plan.kdus)} KDUs "
        "installed")
    return DeployResult(plan, fanout.merged(parts), reports={p.cluster: p.report for p in parts})


def _say(progress: Progress | None) -> Progress:
    return progress or (lambda message: log.info("%s", message))


def _connect(kubeconfig: PathLike | None, context: str | None, namespace: str | None, policy: RetryPolicy | None,
             progress: Progress | None, announce: Progress | None = None) -> Cluster:
    """``announce``: calls that change the cluster say first which one it is, as the wrong context is a classic."""
    from osm_l2net.kube.cluster import Cluster, ClusterAccess

    cluster = Cluster(ClusterAccess(_str(kubeconfig), context, namespace), policy=policy, progress=progress)
    if announce is not None:
        announce(f"cluster: {cluster.endpoint.describe()}")
    return cluster


def _plan(source: PlanSource, cluster_namespace: str, ns_name: str | None, ns_id: str | None,
          config: Mapping[str, Any] | None, options: PlanOptions | None) -> Plan:
    if isinstance(source, Plan):
        plan = source
    elif callable(source):
        plan = source(cluster_namespace)
    else:
        assert ns_name is not None, "_check refuses paths without ns_name before connecting"
        plan = api.plan(source, ns_name=ns_name, ns_id=ns_id, namespace=cluster_namespace, config=config,
                        options=options)
    return plan


def _located(cluster: Cluster, source: PlanSource, plan: Plan, ns_name: str | None, ns_id: str | None,
             config: Mapping[str, Any] | None, options: PlanOptions | None) -> Plan:
    """The plan of the NS the cluster holds under ``ns_id`` (an NS id or OSM nsr id), else under ``ns_name``: its
    networks' id and name may differ from those ``plan`` was made with (ns-create's random id). A Plan given is
    used as it is."""
    from osm_l2net.deploy.lookup import find_ns

    if isinstance(source, Plan):
        return plan
    found = find_ns(cluster, plan, ns_id=ns_id, ns_name=None if ns_id else ns_name)
    if found is None or (found.ns_id, found.ns_name) == (plan.ns_id, plan.ns_name):
        return plan
    if callable(source):
        return source(cluster.namespace, ns_id=found.ns_id, ns_name=found.ns_name)
    return api.plan(source, ns_name=found.ns_name, ns_id=found.ns_id, namespace=cluster.namespace, config=config,
                    options=options)


def _check(source: PlanSource, namespace: str | None, ns_name: str | None, ns_id: str | None,
           config: Mapping[str, Any] | None, options: PlanOptions | None) -> None:
    """Arguments that cannot go together are refused before anything connects."""
    if isinstance(source, Plan):
        given = {"ns_name": ns_name, "ns_id": ns_id, "config": config, "options": options}
        if any(v is not None for v in given.values()):
            raise ValueError(f"{', '.join(k for k, v in given.items() if v is not None)}: for planning from paths; "
                             "this call was given a Plan")
        if namespace is not None and namespace != source.namespace:
            raise ValueError(f"namespace {namespace!r} differs from the plan's {source.namespace!r}: plan in it")
    elif not callable(source) and ns_name is None:
        raise ValueError("ns_name is required to plan from paths (the NS instance name, as osm ns-create --ns_name)")


def _deployer(cluster: Cluster, kubeconfig: PathLike | None, context: str | None, kdus: bool,
              helm: HelmSettings | None, settings: DeploySettings | None, progress: Progress) -> Deployer:
    runner = None
    if kdus:
        chosen = helm or HelmSettings()
        runner = Helm(replace(chosen, kubeconfig=chosen.kubeconfig or _str(kubeconfig),
                              kube_context=chosen.kube_context or context))
    return Deployer(cluster, runner, settings or DeploySettings(), progress=progress)


def _changes(deployer: Deployer, plan: Plan, *, server: bool) -> tuple[Change, ...]:
    """What apply would do: each network read and judged as apply would (a spec that differs is the same conflict
    as apply's, unless ``--replace``); ``server``: its write also sent with dryRun=All. Each KDU's release compared
    with the plan as apply would (``deploy.converge``: helm reads only)."""
    deployer.refuse_other_nsd(plan)  # as apply: another NSD's NS under this id is refused before anything
    replace = deployer.settings.replace
    actions = {n.name: deployer.cluster.dry_run_network(n, plan.namespace, replace=replace, server=server)
               for n in plan.networks}
    changes = [Change(actions[n.name], n.kind, n.name, plan.namespace) for n in plan.networks]
    if deployer.helm is not None:
        for k in plan.kdus:
            verdict = judge(deployer.helm, k, k.chart_path or k.helm_chart or "", verify=deployer.settings.verify)
            changes.append(Change(verdict.action, "HelmRelease", k.release_name, k.namespace, verdict.why))
    return tuple(changes)


def _str(path: PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)


__all__ = ["Change", "DeployResult", "StatusResult", "apply", "delete", "status"]
