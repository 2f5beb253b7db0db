"""An NS placed on several clusters (docs/multi-cluster.md): apply, delete and status fanned out, one Deployer per
cluster, with the single-cluster order kept across all of them.

- apply: every cluster's networks are ensured and ready (a stretched link's in each of its clusters) before any KDU
  is installed anywhere, since a pod created before its network exists is never attached, and a stretched link is
  only whole once every cluster has its part. A failure on one cluster undoes what this run did on every cluster:
  releases it installed, networks it created (never what it adopted or found).
- delete: every cluster's KDUs are uninstalled before any network is removed anywhere (a stretched link's pods on
  another cluster would keep a dead interface otherwise).
- status: each cluster's networks, each row naming its cluster.

Every connection is opened before the first write, so a context missing from the kubeconfig or a cluster that does
not answer stops the run with nothing created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from osm_l2net.core.errors import L2NetError
from osm_l2net.core.plan import Plan
from osm_l2net.deploy.deployer import Converged, Deployer, DeployError, Progress, Report


@dataclass
class Member:
    """One cluster's part of the NS: its plan, the deployer connected to it and what this run did there."""

    cluster: str  # "" is the default cluster (the call's own context)
    plan: Plan
    deployer: Deployer
    report: Report
    done: dict[str, Converged] = field(default_factory=dict)  # release -> what this run did to it (for undo)


def label(cluster: str) -> str:
    return cluster or "(default)"


def members(plan: Plan, deployer_for: Callable[[str], Deployer]) -> list[Member]:
    """One member per cluster of the plan, in plan order; ``deployer_for`` connects to each (all before any write)."""
    return [Member(c, plan.for_cluster(c), deployer_for(c), Report(plan.ns_id)) for c in plan.clusters]


def instantiate(parts: Sequence[Member], progress: Progress) -> None:
    """Networks on every cluster, then KDUs on every cluster; on a failure, undo this run everywhere and raise."""
    for part in parts:  # another NSD's NS under this id, on any cluster, is refused before anything is written
        part.deployer.refuse_other_nsd(part.plan)
    for i, part in enumerate(parts):
        progress(f"cluster {label(part.cluster)}: networks")
        try:
            part.deployer.create_networks(part.plan, part.report)  # undoes its own cluster's on failure
        except L2NetError as e:
            _fail(parts[:i], parts, part, "networks", e, progress)
    for part in parts:
        if part.deployer.helm is None or not part.plan.kdus:
            continue
        progress(f"cluster {label(part.cluster)}: KDUs (the networks of all {len(parts)} clusters are ready)")
        try:
            part.deployer.install_kdus(part.plan, part.report, part.done)
        except L2NetError as e:
            _fail(parts, parts, part, "KDU installation", e, progress)


def terminate(parts: Sequence[Member], progress: Progress, *, force: bool = False) -> None:
    """Every cluster's KDUs uninstalled first, then every cluster's networks removed."""
    for part in parts:
        if part.deployer.helm is not None and part.plan.kdus:
            progress(f"cluster {label(part.cluster)}: uninstalling KDUs")
            part.deployer.uninstall_kdus(part.plan, part.report)
    for part in parts:
        progress(f"cluster {label(part.cluster)}: removing networks")
        part.deployer.remove_networks(part.plan, part.report, force=force)


def merged(parts: Sequence[Member]) -> Report:
    """One report for the NS: each name as ``name@cluster`` (a stretched link's network has one name everywhere)."""
    out = Report(parts[0].plan.ns_id if parts else "")
    for part in parts:
        for key, names in part.report.__dict__.items():
            if isinstance(names, list):
                getattr(out, key).extend(f"{n}@{label(part.cluster)}" for n in names)
    return out


def _fail(to_undo: Sequence[Member], parts: Sequence[Member], failed: Member, step: str, cause: L2NetError,
          progress: Progress) -> None:
    """Undo this run on ``to_undo`` (the failed cluster undid its own networks already) and raise one DeployError
    for the NS that says where it failed and what was undone, or what could not be."""
    problems: list[str] = []
    for part in to_undo:
        try:
            part.deployer.undo(part.plan, part.report, part.done)
        except L2NetError as e:
            problems.append(f"cluster {label(part.cluster)}: {e}")
            progress(f"rollback on cluster {label(part.cluster)} incomplete: {e}")
    undone = merged(parts).rolled_back
    detail = f"; rolled back {', '.join(undone)}" if undone else ""
    if problems:
        detail += f"; rollback incomplete ({'; '.join(problems)}): left for 'osm-l2net gc'"
    raise DeployError(f"cluster {label(failed.cluster)}: {step} failed: {cause}{detail}", merged(parts), cause) from cause
