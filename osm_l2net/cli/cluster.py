"""Cluster commands of ``osm-l2net``: apply, delete, status, gc, post-render. Thin: flags → one library call each."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from osm_l2net.cli.common import OUTPUT, emit, handle_errors, kube_options, namespace_option, read_config, table
from osm_l2net.cli.planning import build_plan, plan_options, require_ns
from osm_l2net.cli.types import DryRunCommand, Duration, format_duration
from osm_l2net.core.plan import Plan
from osm_l2net.kube.state import RetryPolicy

F = TypeVar("F", bound=Callable[..., Any])


_DEFAULTS = RetryPolicy()


def connection_options(func: F) -> F:
    options = [
        kube_options,
        click.option("--connect-timeout", type=Duration(0.001), default=format_duration(_DEFAULTS.first_contact_timeout_s),
                     show_default=True,
                     help="How long the first contact with the API server (GET /version, "
                          f"{_DEFAULTS.first_contact_attempts} tries) may take before the command gives up "
                          "(Go-style duration: 10s, 1m30s; or plain seconds)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cluster_options(func: F) -> F:
    options = [
        click.option("--ready-timeout", type=Duration(), default="5m", show_default=True,
                     help="How long to wait for networks to become ready / pods and networks to go (Go-style "
                          "duration: 5m, 90s, 1h30m; or plain seconds)."),
        click.option("--progress-interval", type=Duration(), default=format_duration(_DEFAULTS.progress_interval_s),
                     show_default=True,
                     help="Time between the lines saying what a wait is still waiting for (0: changes only; Go-style "
                          "duration or plain seconds)."),
    ]
    for option in reversed(options):
        func = option(func)
    return connection_options(func)


def helm_options(func: F) -> F:
    options = [
        click.option("--no-kdus", is_flag=True, help="Networks only: do not install/uninstall the KDUs' helm charts."),
        click.option("--helm-flag", "helm_flags", multiple=True,
                     help="Extra flag for helm install/upgrade (repeatable), e.g. --helm-flag=--disable-openapi-validation."),
        click.option("--helm-timeout", type=Duration(1.0), default="5m", show_default=True,
                     help="helm --timeout (Go-style duration as helm takes it: 5m, 90s, 1h30m; or plain seconds)."),
        click.option("--wait/--no-wait", "helm_wait", default=True, show_default=True, help="helm --wait."),
        click.option("--atomic/--no-atomic", default=True, show_default=True, help="helm --atomic."),
        click.option("--create-namespace/--no-create-namespace", default=True, show_default=True,
                     help="helm --create-namespace for the KDUs' namespaces."),
        click.option("--post-renderer", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
                     help="Attach pods through helm values (never), the post-renderer (always), or values with the "
                          "post-renderer for charts that have no values hook (auto)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _progress(message: str) -> None:
    click.echo(f"· {message}", err=True)


def _connect(kubeconfig: str | None, context: str | None, namespace: str | None, connect_timeout: float) -> Any:
    """The cluster for ``gc`` (apply, delete and status connect through the library), after a first contact of at
    most ``connect_timeout`` s per try, naming server, kubeconfig and context when it fails."""
    from osm_l2net.kube.cluster import Cluster, ClusterAccess

    return Cluster(ClusterAccess(kubeconfig, context, namespace), policy=_policy(connect_timeout), progress=_progress)


def _deploy_args(ready_timeout: float, no_kdus: bool, helm_flags: tuple[str, ...], helm_timeout: float, helm_wait: bool,
                 atomic: bool, create_namespace: bool, post_renderer: str, replace: bool = False) -> dict[str, Any]:
    """The library's apply/delete arguments the flags describe (kubeconfig and context reach helm through the call)."""
    from osm_l2net.deploy.deployer import DeploySettings
    from osm_l2net.helm.runner import HelmSettings

    return {"kdus": not no_kdus, "progress": _progress,
            "helm": HelmSettings(atomic=atomic, wait=helm_wait, timeout=helm_timeout, extra_flags=helm_flags,
                                 create_namespace=create_namespace),
            "settings": DeploySettings(ready_timeout=ready_timeout, delete_timeout=ready_timeout,
                                       pods_gone_timeout=ready_timeout, post_renderer=post_renderer,
                                       replace=replace)}


def _policy(connect_timeout: float, progress_interval: float = _DEFAULTS.progress_interval_s) -> RetryPolicy:
    return dataclasses.replace(_DEFAULTS, first_contact_timeout_s=connect_timeout, progress_interval_s=progress_interval)


def _split(kwargs: dict[str, Any], func: Callable[..., Any]) -> dict[str, Any]:
    """Take the keyword arguments ``func`` accepts out of ``kwargs``."""
    names = func.__code__.co_varnames[: func.__code__.co_argcount]
    return {k: kwargs.pop(k) for k in list(kwargs) if k in names}


def _read_inputs(kwargs: dict[str, Any]) -> None:
    """The NS named, and --config read, before the cluster is contacted: bad input is exit 2 whether or not a cluster
    answers."""
    require_ns(kwargs["ns_name"], kwargs["ns_id"])
    kwargs["config"] = read_config(kwargs["config"])


def _planner(kwargs: dict[str, Any]) -> Callable[..., Plan]:
    """The plan the flags describe, in the namespace the library settles on (kubectl's rule: -n, else the context's);
    status and delete plan again with the NS id and name they found the NS under in the cluster."""
    def planner(namespace: str, **found: str) -> Plan:
        return build_plan(**{**kwargs, "namespace": namespace, **found})

    return planner


def _lookup(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The NS status and delete look for in the cluster: by --ns-id (an NS id or OSM's nsr id), else by --ns-name."""
    return {"ns_name": kwargs["ns_name"], "ns_id": kwargs["ns_id"]}


def _library_args(kubeconfig: str | None, context: str | None, connect_timeout: float, ready_timeout: float,
                  progress_interval: float, kwargs: dict[str, Any]) -> tuple[Callable[[str], Plan], dict[str, Any]]:
    """What apply and delete hand the library alike: the planner (after --config is read, before any contact) and
    the cluster, policy and deploy settings."""
    deploy_args = _deploy_args(ready_timeout, **_split(kwargs, _deploy_args))
    _read_inputs(kwargs)
    return _planner(kwargs), {"kubeconfig": kubeconfig, "context": context, "namespace": kwargs.get("namespace"),
                              "policy": _policy(connect_timeout, progress_interval), **deploy_args}


@click.command(cls=DryRunCommand)
@plan_options
@cluster_options
@helm_options
@click.option("--replace", is_flag=True,
              help="Our network whose spec differs from the plan is deleted and created again, if no pod is attached "
                   "to it (pods attached: refused, exit 3, naming them). Without it such a network is refused with the "
                   "diff (exit 3). A network spec is never patched in place; --dry-run reports 'replace'.")
@click.option("--dry-run", "dry_run", type=click.Choice(["none", "client", "server"]), default="none",
              show_default=True,
              help="As kubectl's: show what would change, change nothing. client (also bare --dry-run): from reads "
                   "only (our networks, each release's helm status, values and chart); server: besides, each network "
                   "is sent to the API server with dryRun=All, so its schema, admission and RBAC checks run and "
                   "nothing is stored (the namespace must exist). The KDUs are compared with the plan from helm reads "
                   "in both (install, upgrade, unchanged). Give a value as --dry-run=server.")
@click.option("--skip-preflight", is_flag=True,
              help="Do not check L2S-M before creating anything (its version, Overlay and ports, webhook endpoints, "
                   "per-node port capacity, MTU; docs/troubleshooting.md#l2s-m-pre-flight).")
@OUTPUT
@handle_errors
def apply(kubeconfig: str | None, context: str | None, connect_timeout: float, ready_timeout: float,
          progress_interval: float, dry_run: str, skip_preflight: bool, fmt: str, **kwargs: Any) -> None:
    """Create the NS's networks, wait until ready, then install its KDUs (create-or-adopt; safe to re-run)."""
    from osm_l2net.deploy import api as library

    source, common = _library_args(kubeconfig, context, connect_timeout, ready_timeout, progress_interval, kwargs)
    result = library.apply(source, dry_run=dry_run, preflight=not skip_preflight, **common)  # type: ignore[arg-type]
    if dry_run != "none":
        rows = [c.as_dict() for c in result.changes]
        _echo(rows, fmt, ["ACTION", "KIND", "NAME", "NAMESPACE", "DETAIL",
                          *(["CLUSTER"] if any("cluster" in r for r in rows) else [])], "changes")
        return
    _echo_report(result.report, fmt)


@click.command()
@plan_options
@cluster_options
@helm_options
@click.option("--force", is_flag=True, help="Do not wait for the NS's pods to go before deleting its networks.")
@OUTPUT
@handle_errors
def delete(kubeconfig: str | None, context: str | None, connect_timeout: float, ready_timeout: float,
           progress_interval: float, force: bool, fmt: str, **kwargs: Any) -> None:
    """Uninstall the NS's KDUs, wait until its pods are gone, delete its networks and wait until they are gone."""
    from osm_l2net.deploy import api as library

    source, common = _library_args(kubeconfig, context, connect_timeout, ready_timeout, progress_interval, kwargs)
    result = library.delete(source, force=force, **_lookup(kwargs), **common)
    _echo_report(result.report, fmt)


@click.command()
@plan_options
@cluster_options
@OUTPUT
@handle_errors
def status(kubeconfig: str | None, context: str | None, connect_timeout: float, ready_timeout: float,
           progress_interval: float, fmt: str, **kwargs: Any) -> None:
    """Per virtual link: the network's state and the pods attached, with their interfaces, addresses and problems."""
    from osm_l2net.deploy import api as library

    _read_inputs(kwargs)
    found = library.status(_planner(kwargs), kubeconfig=kubeconfig, context=context, namespace=kwargs.get("namespace"),
                           policy=_policy(connect_timeout), progress=_progress, **_lookup(kwargs))
    plan, rows = found.plan, found.as_dict()["networks"]
    emit(fmt, {"ns": plan.ns_id, "networks": rows}, lambda: _status_table(rows))
    if any(r["problems"] for r in rows):
        sys.exit(1)


def _status_table(rows: list[dict[str, Any]]) -> str:
    multi = any("cluster" in r for r in rows)  # an NS on several clusters: each row names its cluster
    text = table([*(["CLUSTER"] if multi else []), "VIRTUAL LINK", "NETWORK", "READY", "DETAIL", "PODS"],
                 [(*([r["cluster"]] if multi else []), r["vld"], r["network"], "yes" if r["ready"] else "no", r["detail"],
                   ", ".join(f"{p['pod']}:{p.get('interface') or '?'}={','.join(p.get('ips') or []) or '-'}"
                             for p in r["pods"]) or "-") for r in rows])
    problems = [p for r in rows for p in r["problems"]]
    return "\n\n".join([text, "\n".join(f"problem: {p}" for p in problems)]) if problems else text


@click.command()
@click.option("--ns-id", default=None, help="Delete the networks of this NS instance (it no longer exists).")
@click.option("--keep", "keep", default=None,
              help="Cluster-wide: comma-separated NS instance ids that still exist; every other NS's networks go.")
@namespace_option("all namespaces")
@connection_options
@OUTPUT
@handle_errors
def gc(ns_id: str | None, keep: str | None, namespace: str | None, kubeconfig: str | None, context: str | None,
       connect_timeout: float, fmt: str) -> None:
    """Delete networks (carrying our labels only) whose NS instance no longer exists; keeps any with pods attached."""
    if (ns_id is None) == (keep is None):
        raise click.UsageError("give exactly one of --ns-id or --keep")
    existing = None if keep is None else {k.strip() for k in keep.split(",") if k.strip()}
    from osm_l2net.deploy.removal import gc as remove_orphans

    with _connect(kubeconfig, context, namespace, connect_timeout) as cluster:
        result = remove_orphans(cluster, existing, ns_id=ns_id, namespace=namespace)
    rows = [("deleted", n.kind, n.name, n.namespace, n.ns_id, "") for n in result.deleted]
    rows += [("kept", n.kind, n.name, n.namespace, n.ns_id, why) for n, why in result.skipped]
    _echo([dict(zip(["action", "kind", "name", "namespace", "nsId", "reason"], r, strict=True)) for r in rows], fmt,
          ["ACTION", "KIND", "NAME", "NAMESPACE", "NS-ID", "REASON"], "gc")


@click.command("post-render", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def post_render(args: tuple[str, ...]) -> None:
    """helm --post-renderer: add a KDU's attachment (pod labels/annotations) to every pod template on stdin."""
    from osm_l2net.helm.postrender import main as post_render_main

    sys.exit(post_render_main(list(args)))


def _echo(rows: list[dict[str, str]], fmt: str, headers: Sequence[str], key: str) -> None:
    emit(fmt, {key: rows}, lambda: table(headers, [r.values() for r in rows]) if rows else f"no {key}")


def _echo_report(report: Any, fmt: str) -> None:
    data = report.as_dict()
    emit(fmt, data, lambda: table(["", "COUNT", "NAMES"], [(k, len(v), ", ".join(v)) for k, v in data.items()
                                                          if isinstance(v, list) and v]))


def register(group: click.Group) -> None:
    for command in (apply, delete, status, gc, post_render):
        group.add_command(command)
