"""The planning commands of ``osm-l2net``: validate, plan and graph, with the flags and the plan-building they share
with the cluster commands (osm_l2net/cli/cluster.py). Imported when one of them runs (osm_l2net/cli/main.py's
LAZY_COMMANDS): ``osm-l2net --help`` needs none of this, nor the core's errors and options it imports."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from osm_l2net.cli.common import (
    CONFIG,
    NAMESPACE_DEFAULT,
    OUTPUT,
    Config,
    emit,
    handle_errors,
    namespace_option,
    placement_flags,
    read_config,
)
from osm_l2net.cli.types import KeyValue, ProviderChoice
from osm_l2net.core.errors import InputError
from osm_l2net.core.options import DEFAULT_PROVIDER, PlanOptions, ValuesLayout

if TYPE_CHECKING:
    from osm_l2net import api

F = TypeVar("F", bound=Callable[..., Any])


def plan_options(func: F) -> F:
    options = [
        click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True)),
        click.option("--ns-name", default=None,
                     help="NS instance name (as osm ns-create --ns_name). apply, delete and status need it or --ns-id; "
                          "plan and graph default to the NSD's id."),
        click.option("--ns-id", default=None,
                     help="NS instance id (status/delete: also an OSM nsr id); default: derived from --ns-name."),
        namespace_option(NAMESPACE_DEFAULT),
        click.option("--provider", type=ProviderChoice(), default=DEFAULT_PROVIDER, show_default=True),
        CONFIG,
        click.option("--df", "df_id", default=None, help="NSD deployment flavour (default: the first)."),
        click.option("--interface-capacity", type=click.IntRange(1, 4096), default=10, show_default=True,
                     help="L2 interfaces a pod may have (L2S-M: the Overlay's interfaceNumber)."),
        click.option("--values-labels-path", default="podLabels", show_default=True,
                     help="Dotted path of pod labels in the charts' values."),
        click.option("--values-annotations-path", default="podAnnotations", show_default=True,
                     help="Dotted path of pod annotations in the charts' values."),
        click.option("--cluster", "placement", type=KeyValue("MEMBER", "CLUSTER"), multiple=True,
                     help="Run KNF MEMBER (its member-vnf-index) on CLUSTER (a kube context; repeatable). KNFs not "
                          "named run on the current context; a link joining KNFs on several clusters is stretched "
                          "across them (docs/multi-cluster.md)."),
        click.option("--inter-cluster-provider", "inter_cluster", type=KeyValue("NAME", "ADDRESS"), default=None,
                     help="The inter-cluster provider a stretched link names in each cluster (L2S-M: the SDN "
                          "controller of the clusters' NetworkEdgeDevices), e.g. idco=10.0.0.5."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """For one command's load, plan and output: they allocate millions of small acyclic objects and free them only at
    the end, so the cycle collector would rescan them again and again with nothing to collect (it cost about two
    thirds of the load time of a 10,000-link NSD)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_plan(paths: Sequence[str], ns_name: str | None, ns_id: str | None, namespace: str | None, provider: str,
               config: Config | str | None, df_id: str | None, interface_capacity: int, values_labels_path: str,
               values_annotations_path: str, placement: Sequence[tuple[str, str]] = (),
               inter_cluster: tuple[str, str] | None = None) -> api.Plan:
    """The plan the CLI's flags describe (shared by plan, graph and the cluster commands); ``config``: the --config
    flag, or what :func:`read_config` made of it already.

    Without --ns-name the NS is named by --ns-id, else after its NSD's id: never one name for every NSD, since the NS
    id derives from the name and two NSDs sharing one would share their networks' owner. (The cluster commands refuse
    to run without either: :func:`require_ns`.)"""
    from osm_l2net import api
    namespace = namespace or "default"
    clusters, inter = placement_flags(placement, inter_cluster)
    options = PlanOptions(provider=provider, namespace=namespace, df_id=df_id, interface_capacity=interface_capacity,
                          values_layout=ValuesLayout(values_labels_path, values_annotations_path),
                          placement=clusters, inter_cluster=inter)
    params = config if isinstance(config, Config) else read_config(config)
    source: api.Paths | api.Descriptors = paths
    if ns_name is None and ns_id is None:
        source = api.load(paths)
        ns_name = source.nsd.id
    return api.plan(source, ns_name=ns_name or str(ns_id), ns_id=ns_id, namespace=namespace, config=params.data,
                    config_source=params.source, options=options)


def require_ns(ns_name: str | None, ns_id: str | None) -> None:
    """apply, delete and status change or read one NS instance: it must be named, before any cluster is contacted.
    osmclient requires --ns_name too; a default shared by every NSD once let two NSDs share (and delete) networks."""
    if ns_name is None and ns_id is None:
        raise click.UsageError("which NS instance? give --ns-name NAME (as osm ns-create --ns_name; the NS id derives "
                               "from it) or --ns-id ID (an NS id, or OSM's nsr id for status and delete)")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@CONFIG
@click.option("--provider", type=ProviderChoice(), default=DEFAULT_PROVIDER, show_default=True)
@click.option("--interface-capacity", type=click.IntRange(1, 4096), default=10, show_default=True)
@OUTPUT
@handle_errors
def validate(paths: tuple[str, ...], config: str | None, provider: str, interface_capacity: int, fmt: str) -> None:
    """Check descriptors (files, package folders, .tar.gz) and parameters; report every problem with its path."""
    from osm_l2net import api
    from osm_l2net.core.render import problems_text

    try:
        with gc_paused():
            problems = api.validate(paths, config=read_config(config).data,
                                    options=PlanOptions(provider=provider, interface_capacity=interface_capacity))
    except InputError as e:  # unreadable input: with -o json/yaml still one document on stdout, saying why
        if fmt == "table":
            raise
        emit(fmt, {"valid": False, "problems": [p.as_dict() for p in e.problems]}, lambda: "")  # never a table here
        sys.exit(e.exit_code)
    errors = [p for p in problems if p.severity == "error"]

    def as_table() -> str:
        if not problems:
            return "valid: no problems found"
        return problems_text(problems) + ("" if errors else f"\nvalid, with {len(problems)} warning(s)")

    emit(fmt, {"valid": not errors, "problems": [p.as_dict() for p in problems]}, as_table)
    if errors:
        sys.exit(2)


@click.command()
@plan_options
@OUTPUT
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Also write one manifest per network and one values file per KDU here.")
@handle_errors
def plan(fmt: str, out_dir: str | None, **kwargs: Any) -> None:
    """Show what the NS needs on the cluster: networks, each KDU's interfaces, routes and helm values."""
    from osm_l2net import api
    from osm_l2net.core.render import plan_text

    with gc_paused():
        result = build_plan(**kwargs)
        emit(fmt, result, lambda: plan_text(result))
    if out_dir:
        written = api.write_plan_files(result, Path(out_dir))
        click.echo(f"wrote {len(written)} files to {out_dir}", err=True)


@click.command()
@plan_options
@click.option("--format", "image_format", type=click.Choice(["svg", "png", "dot"]), default="svg", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="File to write (default: stdout).")
@handle_errors
def graph(image_format: str, out_file: str | None, **kwargs: Any) -> None:
    """Draw the NS topology: links as buses with their subnets, KNFs (routers in orange), addresses (Graphviz)."""
    if image_format == "png" and out_file is None and sys.stdout.isatty():
        raise InputError.single("--format png", "", "PNG is binary and stdout is a terminal",
                                "--out FILE.png, or stdout redirected to a file or a pipe (… > topology.png)")
    from osm_l2net.core.render import plan_dot

    with gc_paused():
        dot = plan_dot(build_plan(**kwargs))
    if image_format == "dot":
        data = dot.encode()
    else:
        from osm_l2net.local.graphviz import render

        data = render(dot, image_format)
    if out_file:
        Path(out_file).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


__all__ = ["build_plan", "gc_paused", "graph", "plan", "plan_options", "require_ns", "validate"]
