"""``osm-l2net lab …``: run an NS locally with real kernel networking (netns per KNF pod, bridge per network)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from osm_l2net.cli.common import CONFIG, OUTPUT, emit, handle_errors, placement_flags, read_config, table
from osm_l2net.cli.types import KeyValue
from osm_l2net.core.errors import InputError
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.plan import Plan
from osm_l2net.lab.inputs import (
    DEFAULT_PACKAGES,
    DEFAULT_PROFILE,
    default_path,
    is_plan_file,
    load_plan,
    load_profile_file,
)
from osm_l2net.lab.profile import Profile, parse_rate, parse_size
from osm_l2net.lab.report_file import FORMATS, check_writable

if TYPE_CHECKING:
    from osm_l2net.lab.engine import Lab

_LAB = click.option("--lab", "lab_name", default="default", show_default=True, envvar="OSM_L2NET_LAB",
                    help="Lab name (a-z, 0-9, _): several labs can run side by side.")


# The lab's engine imports pyroute2 (~100 ms): only the commands that drive a lab load it, not `lab --help`.
def _lab(name: str, **kwargs: Any) -> Lab:
    from osm_l2net.lab.engine import Lab

    return Lab(name, **kwargs)


def _check_host(**kwargs: Any) -> None:
    from osm_l2net.lab import procs

    procs.check_host(**kwargs)


def _say(text: str) -> None:
    click.echo(text, err=True)


@click.group()
def lab() -> None:
    """Run an NS in a local network-namespace lab (needs root)."""


def _profile(opts: dict[str, Any]) -> Profile:
    prof = load_profile_file(opts["profile"] or default_path(DEFAULT_PROFILE))
    size, rate = opts["size"], opts["rate"]
    return prof.with_content(size=parse_size(size, "--size") if size else None,
                             rate_bps=(parse_rate(rate, "--rate") or 0) if rate else None)  # 0: unlimited


def _paths(opts: dict[str, Any]) -> tuple[Path, ...]:
    return tuple(opts["inputs"]) or (default_path(DEFAULT_PACKAGES),)


def _plan(opts: dict[str, Any], suffix: str = "") -> Plan:
    ns_name = (opts["ns_name"] or f"lab-{opts['lab_name']}") + suffix
    config = read_config(opts["config"])
    return load_plan(_paths(opts), ns_name, None if suffix else opts["ns_id"], config.data, config.source,
                     _placement(opts))


def _placement(opts: dict[str, Any]) -> PlanOptions | None:
    """``--cluster``/``--inter-cluster-provider`` as the plan command reads them (docs/multi-cluster.md)."""
    placement, inter = opts.get("placement") or (), opts.get("inter_cluster")
    if not placement:
        if inter:
            raise InputError.single("--inter-cluster-provider", inter[0], "given without --cluster",
                                    "--cluster MEMBER=CLUSTER for the KNFs to place")
        return None
    clusters, provider = placement_flags(placement, inter)
    return PlanOptions(placement=clusters, inter_cluster=provider)


_INPUTS: list[Callable[[Any], Any]] = [
    click.argument("inputs", nargs=-1, type=click.Path(exists=True, path_type=Path)),
    click.option("--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help=f"Lab profile (default {DEFAULT_PROFILE})."),
    click.option("--ns-name", help="NS instance name when planning from descriptors (default: lab-<lab>)."),
    click.option("--ns-id", help="NS instance id when planning from descriptors (default: derived from the name)."),
    CONFIG,
    click.option("--size", help="Override the content file size, e.g. 2MiB."),
    click.option("--rate", help="Override the content server's rate, e.g. 1600kbit or unlimited."),
    click.option("--cluster", "placement", type=KeyValue("MEMBER", "CLUSTER"), multiple=True,
                 help="Run KNF MEMBER on lab cluster CLUSTER (repeatable): each cluster is a switch of its own, a "
                      "link spanning clusters is stretched over a VXLAN across the lab's WAN (docs/lab.md)."),
    click.option("--inter-cluster-provider", "inter_cluster", type=KeyValue("NAME", "ADDRESS"), default=None,
                 help="The inter-cluster provider a stretched link names, as for 'plan', e.g. idco=10.0.0.5."),
]


def _with_inputs(fn: Callable[..., Any]) -> Callable[..., Any]:
    for deco in reversed(_INPUTS):
        fn = deco(fn)
    return fn


@lab.command()
@_with_inputs
@_LAB
@handle_errors
def up(**opts: Any) -> None:
    """Realise a plan (plan JSON, or OSM packages/descriptors; default: descriptors/) in the lab."""
    lab_name = opts["lab_name"]
    prof, plan = _profile(opts), _plan(opts)  # the input first: its problems need no root to be seen
    _check_host()
    spec = _lab(lab_name, progress=_say).up(plan, prof)
    if spec.clusters:
        bridges = sum(len(c.bridges) for c in spec.clusters)
        click.echo(f"lab {lab_name} is up: NS {plan.ns_id}, {len(spec.pods)} pods, {bridges} bridges on "
                   f"{len(spec.clusters)} clusters ({', '.join(c.label for c in spec.clusters)})")
        return
    click.echo(f"lab {lab_name} is up: NS {plan.ns_id}, {len(spec.pods)} pods, {len(spec.bridges)} networks")


@lab.command()
@_LAB
@handle_errors
def down(lab_name: str) -> None:
    """Remove everything the lab made (also after a crash or a lost state file)."""
    _check_host(tools=())
    done = _lab(lab_name).down()
    click.echo(f"lab {lab_name} is down: {len(done['netns'])} namespaces, {len(done['processes'])} processes removed")


@lab.command()
@_LAB
@OUTPUT
@handle_errors
def status(lab_name: str, fmt: str) -> None:
    """Show pods, interfaces, processes and the cache's download."""
    _check_host(tools=())
    data = _lab(lab_name).status()
    emit(fmt, data, lambda: _status_table(data))


def _status_table(data: dict[str, Any]) -> str:
    rows = []
    for pod in data["pods"]:
        ifaces = " ".join(f"{li['name']}={','.join(li['addresses']) or '-'}" for li in pod["links"]) or "-"
        dl = pod.get("download")
        # a replica of a multi-replica KDU: "i/N" (a single-replica KDU's row reads as before)
        replica = pod.get("replica", 1)
        count = f"{replica}/{pod['replicas']}" if max(pod["replicas"], replica) > 1 else pod["replicas"]
        rows.append((pod["pod"], pod["netns"], pod["role"], count, ifaces, len(pod["processes"]),
                     f"{dl.get('state', '?')} {dl['bytes']}B" if dl else ""))
    head = f"lab {data['lab']}  NS {data['ns_id']}  switch {data['switch']}  bridge-nf {data['bridge_nf']}"
    if "clusters" in data:
        return _clusters_table(data, rows)
    return "\n".join([head, table(["POD", "NETNS", "ROLE", "REPLICAS", "INTERFACES", "PROCS", "DOWNLOAD"], rows)])


def _clusters_table(data: dict[str, Any], rows: list[tuple[Any, ...]]) -> str:
    """A placed lab: each pod's cluster, then each inter-cluster link with its state."""
    head = f"lab {data['lab']}  NS {data['ns_id']}  WAN {data['wan']}  clusters " + ", ".join(
        f"{c['cluster']} ({c['switch']})" for c in data["clusters"])
    pods = [(r[0], pod["cluster"], *r[1:]) for r, pod in zip(rows, data["pods"], strict=True)]
    links = [(" <-> ".join(li["clusters"]), li["state"], ",".join(map(str, li["vni"])), " ".join(li["links"]),
              " ".join(li["underlay"])) for li in data["inter_cluster_links"]]
    return "\n".join([head, table(["POD", "CLUSTER", "NETNS", "ROLE", "REPLICAS", "INTERFACES", "PROCS", "DOWNLOAD"],
                                  pods),
                      "", table(["INTER-CLUSTER LINK", "STATE", "VNI", "LINKS", "UNDERLAY"], links)])


@lab.command()
@click.argument("cluster_a")
@click.argument("cluster_b")
@click.option("--down/--up", "cut", required=True,
              help="--down cuts the inter-cluster link of the two clusters (their VXLAN tunnels lose the WAN), "
                   "--up restores it.")
@_LAB
@OUTPUT
@handle_errors
def link(cluster_a: str, cluster_b: str, cut: bool, lab_name: str, fmt: str) -> None:
    """Cut or restore the inter-cluster link between two clusters of a placed lab:  lab link edge core --down"""
    _check_host(tools=())
    state = _lab(lab_name, progress=_say).link(cluster_a, cluster_b, up=not cut)
    emit(fmt, state, lambda: f"inter-cluster link {' <-> '.join(state['clusters'])}: {state['state']}")


@lab.command()
@click.argument("member")
@click.option("--replicas", type=click.IntRange(min=0), required=True)
@_LAB
@handle_errors
def scale(member: str, replicas: int, lab_name: str) -> None:
    """Scale a KNF pod: to 0 (its namespaces go away), back to 1 (recreated with the same MACs), or to N replicas
    (a KDU whose plan gives its networks an address pool: each new replica takes a fresh address from it)."""
    lab_ = _lab(lab_name, progress=_say)
    pod = lab_.scale(member, replicas)
    addresses = [" ".join(li.ip for li in r.links if li.pool and li.ip) for r in lab_.replicas(pod.key)]
    shown = f": {', '.join(a for a in addresses if a)}" if any(addresses) else ""
    click.echo(f"{pod.key} scaled to {replicas}{shown}")


@lab.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("member")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--replica", type=click.IntRange(min=1), default=1, show_default=True,
              help="Which replica of a multi-replica KDU.")
@_LAB
@handle_errors
def exec_(member: str, argv: tuple[str, ...], replica: int, lab_name: str) -> None:
    """Run a command in a KNF pod's namespace:  lab exec cdn-server -- ping -c 3 10.0.2.10"""
    _check_host(tools=())
    sys.exit(_lab(lab_name).exec(member, list(argv), replica=replica).returncode)


def _command_line() -> str:
    """The command as typed, for the report: the program as click names it (``osm-l2net`` or ``python -m …``)."""
    prog = click.get_current_context().find_root().info_name or "osm-l2net"
    return " ".join([prog, shlex.join(sys.argv[1:])])


@lab.command()
@_with_inputs
@_LAB
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Write the report to FILE: an HTML page with the picture if FILE ends in .html, else JSON "
                   "(repeatable: --report r.json --report r.html).")
@click.option("--report-format", type=click.Choice(FORMATS), help="The report's form whatever FILE's suffix.")
@click.option("--isolation/--no-isolation", default=None, help="Also check a second NS instance (default: profile).")
@handle_errors
def run(**opts: Any) -> None:
    """The PoC scenario: up → ping, traceroute, firewall, cut-off, downloads, isolation → down."""
    check_writable(opts["report"])
    prof, plan = _profile(opts), _plan(opts)  # the input first: its problems need no root to be seen
    # the second instance is planned like the first, under another NS name (so another NS id)
    second = None if is_plan_file(_paths(opts)) else _plan(opts, suffix="-b")
    _check_host()
    if opts["isolation"] is not None:
        prof = prof.with_timings(isolation_instance=opts["isolation"])
    from osm_l2net.lab.scenario import run_scenario

    result = run_scenario(plan, prof, opts["lab_name"], report_path=opts["report"], progress=_say, second_plan=second,
                          report_format=opts["report_format"], command=_command_line())
    click.echo(result.table())
    for path in opts["report"]:
        _say(f"report written to {path}")
    if not result.ok:
        sys.exit(1)
