"""The ``osm-l2net`` command. Thin: each command translates its flags and calls one library function.

Exit codes (the table is in osm_l2net/core/errors.py): 0 success, 1 internal error or a cluster/helm/OSM failure, 2 invalid
input (descriptors, parameters, flags), 3 conflict with an object we do not own, 4 a deadline passed, 5 credentials or
permission refused, 128 + N interrupted by signal N. Errors are one clear message, never a traceback (``--debug``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from osm_l2net.cli import signals
from osm_l2net.cli.common import CONTEXT_HELP, KUBECONFIG_HELP

# Start-up time is the CLI's first impression (`osm-l2net --help` should cost little more than click itself): every
# command, this module's own validate/plan/graph too, is imported on first use from LAZY_COMMANDS, and with it the
# core (its errors and options, dataclasses), YAML, the kubernetes client and the lab's pyroute2.
# tests/unit/test_cli_startup.py holds --help to the modules it may import.

F = TypeVar("F", bound=Callable[..., Any])


# name -> ("module:attribute", short help, module that must be importable for the command to exist). The short help
# is kept here so that --help lists the commands without importing them; tests/unit/test_cli_startup.py holds it
# equal to each command's own.
LAZY_COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "validate": ("osm_l2net.cli.planning:validate",
                 "Check descriptors (files, package folders, .tar.gz) and parameters; report every problem with its path.",
                 None),
    "plan": ("osm_l2net.cli.planning:plan",
             "Show what the NS needs on the cluster: networks, each KDU's interfaces, routes and helm values.", None),
    "graph": ("osm_l2net.cli.planning:graph",
              "Draw the NS topology: links as buses with their subnets, KNFs (routers in orange), addresses (Graphviz).",
              None),
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
            from osm_l2net.core.errors import EXIT_FAILURE

            click.echo(f"internal error: {type(e).__name__}: {e} (run with --debug for details)", err=True)
            sys.exit(EXIT_FAILURE)


#: names this module had before the planning commands moved to osm_l2net/cli/planning.py, given on first use
_MOVED = {**dict.fromkeys(("build_plan", "gc_paused", "graph", "plan", "plan_options", "require_ns", "validate"),
                          "osm_l2net.cli.planning"), "table": "osm_l2net.core.render"}


def __getattr__(name: str) -> Any:
    """``osm_l2net.cli.main.build_plan`` (or ``table``, ``plan_options`` …) as before, imported only when asked for."""
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LAZY_COMMANDS", "LazyGroup", "cli", "main"]
