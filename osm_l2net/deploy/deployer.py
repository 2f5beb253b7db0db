"""Instantiate and terminate an NS's networks and KDUs on a cluster, in the order L2S-M needs, idempotently.

Instantiate: ensure every network (bounded concurrency) → wait until all are ready → install the KDUs (concurrently),
upgrade the deployed ones whose values or chart differ from the plan (``deploy.converge``), leave the others without a
helm write → verify each release's pod templates carry their attachment. A failure rolls back what *this run* did
(uninstalls what it installed, rolls what it upgraded back to the revision before, deletes the networks it created;
never what it adopted or left unchanged) and is reported. Terminate: uninstall the KDUs → wait until the NS's pods
are gone → delete the networks → wait until they are gone → verify nothing owned by the NS remains. Every step is
idempotent, so re-running either after a crash converges. The async API runs the same code in a worker thread: it
never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from osm_l2net.core.errors import ConflictError, L2NetError
from osm_l2net.core.plan import KduPlan, NetworkPlan, Plan
from osm_l2net.deploy.converge import Verdict, judge
from osm_l2net.deploy.removal import RemovalPolicy, remove_owned
from osm_l2net.helm.runner import DeployedRelease, Helm, check_attachment, verify_release
from osm_l2net.kube.state import same_nsd

if TYPE_CHECKING:  # the kubernetes client is slow to import; LCM loads this module at start
    from osm_l2net.kube.cluster import Cluster

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DeploySettings:
    ready_timeout: float = 300.0
    delete_timeout: float = 300.0
    pods_gone_timeout: float = 300.0
    concurrency: int = 8  # parallel API writes / helm processes
    verify: bool = True  # check the rendered pod templates carry the attachment, before and after install
    post_renderer: str = "auto"  # "auto": values, or the post-renderer for charts without a values hook; "always"; "never"
    create_namespace: bool = True  # create the networks' namespace when missing (networks come before helm)
    # roll back after ANY exception, not only the project's errors: the LCM connector runs in LCM's process, where a
    # client's own exception (a TypeError of a newer kubernetes client) must not leave networks behind. The CLI keeps
    # the default: a foreign exception there is a bug to see, not a failure to explain.
    roll_back_foreign: bool = False
    # apply --replace: our network whose spec differs from the plan is deleted and created again, when no pod is
    # attached to it (else refused, naming the pods). Off: refused with the diff. A spec is never patched in place.
    replace: bool = False


@dataclass
class Report:
    """What a run did, for people (``-o table``) and machines (``-o json``)."""

    ns_id: str
    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)
    upgraded: list[str] = field(default_factory=list)  # deployed releases whose values or chart differed
    existing_releases: list[str] = field(default_factory=list)
    uninstalled: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: (sorted(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}


class DeployError(L2NetError):
    """A step failed; ``report`` says what had been done and what was rolled back. Chained to the cause."""

    def __init__(self, message: str, report: Report, cause: BaseException) -> None:
        super().__init__(message)
        self.report = report
        if isinstance(cause, L2NetError):
            self.exit_code = cause.exit_code
            self.temporary = cause.temporary


@dataclass(frozen=True)
class Converged:
    """What an apply did to one release: "installed", "upgraded" (``previous``: the revision it replaced, which a
    rollback of the run restores) or "unchanged"."""

    action: str
    previous: int = 0


_NOTHING = Converged("unchanged")


class UpgradeFailed(L2NetError):
    """``helm upgrade`` failed; says which revision ran before and what helm left (``restored``: --atomic rolled the
    release back, so the previous chart and values run). Exit code and temporariness are the cause's."""

    def __init__(self, kdu: KduPlan, before: int, now: DeployedRelease | None, cause: L2NetError) -> None:
        self.restored = now is not None and now.status == "deployed"
        if now is None:
            after = "its state now is unknown (helm status failed)"
        elif self.restored:
            after = (f"helm --atomic rolled it back: revision {now.revision} runs revision {before}'s chart and "
                     f"values")
        else:
            after = f"it is left {now.status} at revision {now.revision} (without --atomic); a re-run upgrades it again"
        super().__init__(f"upgrade of {kdu.namespace}/{kdu.release_name} (KDU {kdu.key}) from revision {before} "
                         f"failed: {cause}; {after}")
        self.exit_code = cause.exit_code
        self.temporary = cause.temporary


class Deployer:
    def __init__(self, cluster: Cluster, helm: Helm | None = None, settings: DeploySettings | None = None,
                 progress: Progress | None = None) -> None:
        """``helm`` None: networks only."""
        self.cluster = cluster
        self.helm = helm
        self.settings = settings or DeploySettings()
        self.progress: Progress = progress or (lambda message: log.info("%s", message))
        self._failures: tuple[type[Exception], ...] = (Exception,) if self.settings.roll_back_foreign else (L2NetError,)

    # ---- networks ---------------------------------------------------------------------------------------------------

    def create_networks(self, plan: Plan, report: Report | None = None) -> Report:
        """Ensure every network and wait until all are ready; on failure delete the ones this call created, then raise."""
        report = report or Report(plan.ns_id)
        # networks already as planned get no write (not even a create answered 409): a re-run writes nothing
        settled = self.cluster.settled_networks(plan.networks, plan.namespace) if plan.networks else set()
        todo = [n for n in plan.networks if n.name not in settled]
        if self.settings.create_namespace and todo and self.cluster.ensure_namespace(plan.namespace):
            self.progress(f"namespace {plan.namespace} created")
        replace = self.settings.replace
        outcomes, failures = self._each(todo, lambda n: self.cluster.ensure_network(n, plan.namespace, replace=replace))
        report.unchanged.extend(n.name for n in plan.networks if n.name in settled)
        for net, outcome in outcomes:
            getattr(report, outcome).append(net.name)
        if failures:
            self._fail(plan, report, f"could not create {len(failures)} network(s)", failures[0][1])
        self.progress(f"networks: {len(report.created)} created, {len(report.adopted)} adopted, "
                      f"{len(report.unchanged)} already there; waiting until ready")
        try:
            self.cluster.wait_ready(list(plan.networks), plan.namespace, self.settings.ready_timeout,
                                    progress=lambda r: self.progress(f"network {r.name}: {r.explained}"),
                                    notify=self.progress)
        except self._failures as e:
            self._fail(plan, report, "networks did not become ready", e)
        return report

    def refuse_other_nsd(self, plan: Plan) -> None:
        """Networks of this NS id planned from another NSD belong to another NS (same --ns-name, other NSD): refused
        before anything is written, whichever network names collide or not (one list per kind). Its KDUs' release
        names would be shared too, so a network-by-network check would not be enough. Called by ``instantiate`` (apply)
        and the dry runs, whose NS ids derive from NS names; the OSM paths call ``create_networks`` directly: an nsr id
        (or ns-create's random plan id) is never shared, and ensure_network still refuses another NSD's network."""
        if not plan.networks:
            return
        other = [o for o in self.cluster.list_owned(plan.owner_labels, plan.namespace)
                 if not same_nsd(o.nsd_id, plan.nsd_label)]
        if other:
            nsds = ", ".join(sorted({o.nsd_id for o in other}))
            raise ConflictError(
                f"NS {plan.ns_name} (id {plan.ns_id}) already exists in {plan.namespace} from NSD {nsds}, not from this "
                f"plan's NSD {plan.nsd_id} (its networks: {', '.join(o.name for o in other[:5])}"
                f"{' …' if len(other) > 5 else ''}): left untouched; deploy this NSD under another NS name (--ns-name)")

    def remove_networks(self, plan: Plan, report: Report | None = None, *, force: bool = False) -> Report:
        """Remove the NS's networks by its ownership labels, in the plan's namespace (``removal.remove_owned``: wait
        until the NS's pods are gone unless ``force``, delete, wait until gone, verify none left)."""
        report = report or Report(plan.ns_id)
        self.progress("networks: waiting until the NS's pods are gone, then deleting them" if not force
                      else "networks: deleting them")
        policy = RemovalPolicy(force=force, pods_timeout_s=self.settings.pods_gone_timeout,
                               gone_timeout_s=self.settings.delete_timeout)
        removal = remove_owned(self.cluster, plan.owner_labels, plan.namespace, policy, notify=self.progress,
                               nsd=plan.nsd_label)
        report.deleted.extend(removal.names)
        return report

    # ---- KDUs -------------------------------------------------------------------------------------------------------

    def install_kdus(self, plan: Plan, report: Report, done: dict[str, Converged] | None = None) -> Report:
        """Install each KDU's release, upgrade the ones whose values or chart differ from the plan, leave the others
        (no helm write). ``done`` receives what happened to each release, for a rollback of this run."""
        helm = self._helm()
        outcomes, failures = self._each(plan.kdus, lambda k: self._converge(helm, k))
        lists = {"installed": report.installed, "upgraded": report.upgraded, "unchanged": report.existing_releases}
        for kdu, outcome in outcomes:
            lists[outcome.action].append(kdu.release_name)
            if done is not None:
                done[kdu.release_name] = outcome
        for kdu, error in failures:  # helm --atomic restored it: the report says so
            if isinstance(error, UpgradeFailed) and error.restored:
                report.rolled_back.append(kdu.release_name)
        if failures:
            raise failures[0][1]
        return report

    def _converge(self, helm: Helm, kdu: KduPlan) -> Converged:
        chart = kdu.chart_path or kdu.helm_chart or ""
        verdict = judge(helm, kdu, chart, verify=self.settings.verify)
        if verdict.action == "unchanged":
            return Converged("unchanged")
        if verdict.action == "upgrade" and verdict.release is not None:
            return self._upgrade(helm, kdu, chart, verdict)
        if verdict.release is not None:  # failed / pending from a crashed run: start again
            self.progress(f"{kdu.namespace}/{kdu.release_name}: {verdict.why}: installing it again")
            helm.uninstall(kdu.release_name, kdu.namespace)
        self._install(helm, kdu, chart)
        return Converged("installed")

    def _install(self, helm: Helm, kdu: KduPlan, chart: str) -> None:
        use_post = self._needs_post_renderer(helm, kdu, chart)
        self.progress(f"installing {kdu.key} as {kdu.namespace}/{kdu.release_name}"
                      + (" (attachment by post-renderer)" if use_post else ""))
        if use_post:
            with helm.attachment_post_renderer(kdu) as post:
                helm.install(kdu.release_name, chart, kdu.namespace, kdu.values, post)
        else:
            helm.install(kdu.release_name, chart, kdu.namespace, kdu.values)
        try:
            self._verify(helm, kdu)
        except L2NetError:
            helm.uninstall(kdu.release_name, kdu.namespace)  # made by this run and not attached: do not leave it
            raise

    def _upgrade(self, helm: Helm, kdu: KduPlan, chart: str, verdict: Verdict) -> Converged:
        """``helm upgrade`` with the plan's values replacing the release's (--reset-values) and the attachment as
        install sends it; a failure is named with the state helm left (--atomic: the previous revision runs)."""
        before = verdict.release
        assert before is not None, "only a release that exists is upgraded"
        use_post = self._needs_post_renderer(helm, kdu, chart)
        self.progress(f"upgrading {kdu.key} ({kdu.namespace}/{kdu.release_name}, revision {before.revision}): "
                      f"{verdict.why}" + (" (attachment by post-renderer)" if use_post else ""))
        try:
            if use_post:
                with helm.attachment_post_renderer(kdu) as post:
                    helm.upgrade(kdu.release_name, chart, kdu.namespace, kdu.values, post)
            else:
                helm.upgrade(kdu.release_name, chart, kdu.namespace, kdu.values)
        except L2NetError as e:
            raise UpgradeFailed(kdu, before.revision, self._state_after(helm, kdu), e) from e
        try:
            self._verify(helm, kdu)
        except L2NetError:  # upgraded by this run and not attached: back to what ran before
            helm.rollback(kdu.release_name, kdu.namespace, before.revision)
            raise
        return Converged("upgraded", before.revision)

    def _state_after(self, helm: Helm, kdu: KduPlan) -> DeployedRelease | None:
        try:
            return helm.deployed(kdu.release_name, kdu.namespace)
        except L2NetError as e:  # the failure is reported anyway; its aftermath is then unknown
            log.warning("%s/%s: state after the failed upgrade unknown: %s", kdu.namespace, kdu.release_name, e)
            return None

    def _needs_post_renderer(self, helm: Helm, kdu: KduPlan, chart: str) -> bool:
        mode = self.settings.post_renderer
        if mode == "always":
            return True
        if mode == "never" or not self.settings.verify or not kdu.interfaces:
            return False
        problems = check_attachment(helm.template(kdu.release_name, chart, kdu.namespace, kdu.values), kdu)
        if problems:
            log.info("%s: the chart does not carry the attachment through its values (%s); using the post-renderer",
                     kdu.key, "; ".join(problems))
        return bool(problems)

    def _verify(self, helm: Helm, kdu: KduPlan) -> None:
        if self.settings.verify and kdu.interfaces:
            verify_release(helm, kdu, kdu.release_name)

    def uninstall_kdus(self, plan: Plan, report: Report) -> Report:
        helm = self._helm()
        done, failures = self._each(plan.kdus, lambda k: helm.uninstall(k.release_name, k.namespace))
        report.uninstalled.extend(k.release_name for k, existed in done if existed)
        if failures:
            raise failures[0][1]
        return report

    # ---- whole NS ---------------------------------------------------------------------------------------------------

    def instantiate(self, plan: Plan) -> Report:
        self.refuse_other_nsd(plan)  # before any write, the namespace's too
        report = self.create_networks(plan)
        if self.helm is None:
            return report
        done: dict[str, Converged] = {}
        try:
            self.install_kdus(plan, report, done)
        except L2NetError as e:
            self._rollback_kdus(plan, report, done)
            undone = f" (releases rolled back: {', '.join(sorted(report.rolled_back))})" if report.rolled_back else ""
            self._fail(plan, report, f"KDU installation failed{undone}", e)
        self.progress(f"NS {plan.ns_name}: {len(plan.networks)} networks ready, {len(plan.kdus)} KDUs: "
                      f"{len(report.installed)} installed, {len(report.upgraded)} upgraded, "
                      f"{len(report.existing_releases)} unchanged")
        return report

    def terminate(self, plan: Plan, *, force: bool = False) -> Report:
        report = Report(plan.ns_id)
        if self.helm is not None:
            self.uninstall_kdus(plan, report)
        self.remove_networks(plan, report, force=force)
        self.progress(f"NS {plan.ns_name}: {len(report.uninstalled)} releases uninstalled, "
                      f"{len(report.deleted)} networks deleted")
        return report

    def undo(self, plan: Plan, report: Report, done: Mapping[str, Converged]) -> None:
        """Undo what this run did here (``done``: its releases, installed or upgraded; then ``report``'s networks it
        created; never what it adopted or found), after a failure on another cluster of the same NS (:mod:`.fanout`)."""
        if self.helm is not None:
            self._rollback_kdus(plan, report, done)
        created = [n for n in plan.networks if n.name in report.created and n.name not in report.rolled_back]
        if not created:
            return
        self.progress(f"rolling back: deleting {len(created)} network(s) this run created")
        self.cluster.delete_networks(created, plan.namespace, force=True)
        self.cluster.wait_gone(created, plan.namespace, self.settings.delete_timeout, notify=self.progress)
        report.rolled_back.extend(n.name for n in created)

    async def ainstantiate(self, plan: Plan) -> Report:
        return await asyncio.to_thread(self.instantiate, plan)

    async def aterminate(self, plan: Plan, *, force: bool = False) -> Report:
        return await asyncio.to_thread(self.terminate, plan, force=force)

    async def acreate_networks(self, plan: Plan) -> Report:
        return await asyncio.to_thread(self.create_networks, plan)

    async def aremove_networks(self, plan: Plan, *, force: bool = False) -> Report:
        return await asyncio.to_thread(self.remove_networks, plan, force=force)

    # ---- plumbing ---------------------------------------------------------------------------------------------------

    def _helm(self) -> Helm:
        if self.helm is None:
            raise L2NetError("no helm runner configured: this deployer handles networks only")
        return self.helm

    def _each(self, items: Sequence[T], fn: Callable[[T], Any]) -> tuple[list[tuple[T, Any]], list[tuple[T, Exception]]]:
        """Run ``fn`` on every item with bounded concurrency; every failure is collected, none is lost (so that a
        rollback knows every network that was created, even when another one's creation failed)."""
        done: list[tuple[T, Any]] = []
        failures: list[tuple[T, Exception]] = []
        if not items:
            return done, failures
        with ThreadPoolExecutor(max_workers=max(1, min(self.settings.concurrency, len(items)))) as pool:
            futures = [(item, pool.submit(fn, item)) for item in items]
            for item, future in futures:
                try:
                    done.append((item, future.result()))
                except self._failures as e:
                    failures.append((item, e))
        for item, error in failures:
            self.progress(f"failed: {_label(item)}: {error}")
        return done, failures

    def _rollback_kdus(self, plan: Plan, report: Report, done: Mapping[str, Converged]) -> None:
        """Undo this run's helm changes: uninstall what it installed, roll what it upgraded back to the revision that
        ran before. Releases it left unchanged are not touched; a failed upgrade was rolled back by helm --atomic."""
        mine = [k for k in plan.kdus if done.get(k.release_name, _NOTHING).action in ("installed", "upgraded")]
        if mine:
            self.progress(f"rolling back {len(mine)} release(s) this run installed or upgraded")
        _, failures = self._each(mine, lambda k: self._undo(k, done[k.release_name]))
        report.rolled_back.extend(k.release_name for k in mine if k not in [f[0] for f in failures])

    def _undo(self, kdu: KduPlan, outcome: Converged) -> None:
        if outcome.action == "upgraded":
            self._helm().rollback(kdu.release_name, kdu.namespace, outcome.previous)
        else:
            self._helm().uninstall(kdu.release_name, kdu.namespace)

    def _fail(self, plan: Plan, report: Report, what: str, cause: Exception) -> None:
        """Delete the networks this run created (never adopted ones), then raise a DeployError chained to ``cause``.
        A foreign ``cause`` (``roll_back_foreign``) is named with its type and says what was rolled back."""
        created = [n for n in plan.networks if n.name in report.created]
        own = isinstance(cause, L2NetError)
        detail = str(cause) if own else f"{type(cause).__name__}: {cause}"
        if not created:
            raise DeployError(f"{what}: {detail}" + ("" if own else " (none had been created)"), report, cause) from cause
        self.progress(f"rolling back: deleting {len(created)} network(s) this run created")
        names = ", ".join(n.name for n in created)
        try:
            self.cluster.delete_networks(created, plan.namespace, force=True)
        except self._failures as e:  # report both: the cause and why the rollback is incomplete
            raise DeployError(f"{what}: {detail}; rollback incomplete: {e}", report, cause) from cause
        try:
            self.cluster.wait_gone(created, plan.namespace, self.settings.delete_timeout, notify=self.progress)
        except self._failures as e:
            if own:
                raise DeployError(f"{what}: {detail}; rollback incomplete: {e}", report, cause) from cause
            # deletion was accepted; the operator finishes it
            raise DeployError(f"{what}: {detail}; rolled back: deleted {names} (not yet confirmed gone: {e})", report,
                              cause) from cause
        report.rolled_back.extend(n.name for n in created)
        raise DeployError(f"{what}: {detail}" + ("" if own else f"; rolled back: deleted {names}"), report,
                          cause) from cause


def _label(item: object) -> str:
    if isinstance(item, NetworkPlan):
        return f"network {item.name}"
    if isinstance(item, KduPlan):
        return f"KDU {item.key}"
    return str(item)
