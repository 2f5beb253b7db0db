"""The ``osm-l2net`` command. Thin: each command translates its flags and calls one library function.

Exit codes (the table is in osm_l2net/core/errors.py): 0 success, 1 internal error or a cluster/helm/OSM failure, 2 invalid
input (descriptors, parameters, flags), 3 conflict with an object we do not own, 4 a deadline passed, 5 credentials or
permission refused, 128 + N interrupted by signal N. Errors are one clear message, never a traceback (``--debug``).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from osm_l2net.cli import signals
from osm_l2net.cli.common import (
    CONFIG,
    CONTEXT_HELP,
    KUBECONFIG_HELP,
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
from osm_l2net.core.errors import EXIT_FAILURE, InputError
from osm_l2net.core.options import DEFAULT_PROVIDER, PlanOptions, ValuesLayout

if TYPE_CHECKING:
    from osm_l2net import api
# Start-up time is the CLI's first impression: the core (~100 ms), YAML, the kubernetes client and the lab's
# pyroute2 (~340 ms) are imported inside the commands that use them, and the commands of other modules on first use.

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


# name -> ("module:attribute", short help, module that must be importable for the command to exist). The short help
# is kept here so that --help lists the commands without importing them; tests/unit/test_cli_startup.py holds it
# equal to each command's own.
LAZY_COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "apply": ("osm_l2net.cli.cluster:apply",
              "Create the NS's networks, wait until ready, then install its KDUs (create-or-adopt; safe to re-run).", None),
    "delete": ("osm_l2net.cli.cluster:delete",
               "Uninstall the NS's KDUs, wait until its pods are gone, delete its networks and wait until they are gone.",
               None),
    "status": ("osm_l2net.cli.cluster:status",
               "Per virtual link: the network's state and the pods attached, with their interfaces, addresses and "
               "problems.", None),
    "gc": ("osm_l2net.cli.cluster:gc",
           "Delete networks (carrying our labels only) whose NS instance no longer exists; keeps any with pods attached.",
           None),
    "post-render": ("osm_l2net.cli.cluster:post_render",
                    "helm --post-renderer: add a KDU's attachment (pod labels/annotations) to every pod template on "
                    "stdin.", None),
    "ns-create": ("osm_l2net.cli.osm:ns_create",
                  "Create the NS's L2 networks, then the NS in OSM with each KDU's attachment (osm ns-create).", None),
    "ns-delete": ("osm_l2net.cli.osm:ns_delete",
                  "Delete the NS in OSM (osm ns-delete), wait until it is terminated, then delete its networks.", None),
    "lab": ("osm_l2net.cli.lab:lab", "Run an NS in a local network-namespace lab (needs root).", "pyroute2"),
}

# Options kubectl/helm users give before the command too: given there, they are the default of the command's option
# with the same flag (an option after the command still wins); commands without that option ignore them, as kubectl's
# and helm's commands ignore global flags they do not use.
GLOBAL_FLAGS = ("--kubeconfig", "--context", "--namespace", "--output")


class LazyGroup(click.Group):
    """A group whose commands in LAZY_COMMANDS are imported on first use, not when the program starts."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str | None]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def _available(self, name: str) -> bool:
        requires = self.lazy[name][2]
        return requires is None or importlib.util.find_spec(requires) is not None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(n for n in self.lazy if self._available(n))})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy and self._available(cmd_name):
            module, _, attr = self.lazy[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, with the short help of commands not yet imported taken from the table."""
        names = [n for n in self.list_commands(ctx) if not (n in self.commands and self.commands[n].hidden)]
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = [(n, self.commands[n].get_short_help_str(limit) if n in self.commands
                 else click.Command(n, help=self.lazy[n][1]).get_short_help_str(limit)) for n in names]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _global_defaults(command: click.Command, given: dict[str, Any]) -> dict[str, Any]:
    """click's default_map for ``command`` (and, for a group, its commands): the globally given flags by param name."""
    defaults: dict[str, Any] = {}
    for param in command.params:
        flag = next((f for f in getattr(param, "opts", ()) if f in given), None)
        if isinstance(param, click.Option) and flag is not None:
            defaults[str(param.name)] = given[flag]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            defaults[name] = _global_defaults(sub, given)
    return defaults


def _global_option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(*decls, default=None, **kwargs)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="--kubeconfig, --context, -n and -o may also come before the command (as with kubectl and helm): "
                    "osm-l2net -n vod plan descriptors/ is osm-l2net plan descriptors/ -n vod. Timeouts and intervals "
                    "take Go-style durations (5m, 90s, 1h30m, 500ms) or plain seconds.")
@click.option("--debug", is_flag=True, help="Log debug messages and show tracebacks of internal errors.")
@_global_option("--kubeconfig", "g_kubeconfig", metavar="FILE", help=KUBECONFIG_HELP)
@_global_option("--context", "g_context", metavar="NAME", help=CONTEXT_HELP)
@_global_option("-n", "--namespace", "g_namespace", metavar="NAMESPACE",
                help="Kubernetes namespace, for the commands that take -n (each says its default).")
@_global_option("-o", "--output", "g_output", metavar="FORMAT",
                help="Output format (table, yaml, json), for the commands that take -o.")
@click.version_option(package_name="osm-l2net")
@click.pass_context
def cli(ctx: click.Context, debug: bool, g_kubeconfig: str | None, g_context: str | None, g_namespace: str | None,
        g_output: str | None) -> None:
    """Turn OSM network-service virtual links into isolated L2 networks for KNFs on Kubernetes."""
    import logging

    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"debug": debug}
    values = (g_kubeconfig, g_context, g_namespace, g_output)
    given = {flag: value for flag, value in zip(GLOBAL_FLAGS, values, strict=True) if value is not None}
    name, group = ctx.invoked_subcommand, ctx.command
    command = group.get_command(ctx, name) if name and isinstance(group, click.Group) else None
    if given and name and command is not None:
        ctx.default_map = {name: _global_defaults(command, given)}


@cli.command()
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


@cli.command()
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


@cli.command()
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


def main(argv: Sequence[str] | None = None) -> None:
    """The console script. SIGTERM and SIGINT unwind the run (its ``finally`` clean-ups), then exit 128 + the signal:
    osm_l2net/cli/signals.py, the one handler of every command."""
    # argv None: the console script, whose process ends with this call (a caller passing argv keeps its handlers)
    with signals.unwinding(until_exit=argv is None) as received:
        try:
            cli.main(args=list(argv) if argv is not None else None, prog_name="osm-l2net", standalone_mode=True)
        except SystemExit:
            if received:
                signals.exit_interrupted(received[0])
            raise
        except Exception as e:  # the last line of defence: never a traceback for users unless --debug
            if received:
                signals.exit_interrupted(received[0])
            if "--debug" in (argv if argv is not None else sys.argv):
                raise
            click.echo(f"internal error: {type(e).__name__}: {e} (run with --debug for details)", err=True)
            sys.exit(EXIT_FAILURE)


def __getattr__(name: str) -> Any:
    """``osm_l2net.cli.main.table`` as before, imported only when asked for."""
    if name == "table":
        from osm_l2net.core.render import table

        return table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LAZY_COMMANDS", "LazyGroup", "cli", "main"]
