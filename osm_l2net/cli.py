"""The ``osm-l2net`` command. Thin: each command translates its flags and calls one library function.

Exit codes (the table is in osm_l2net/errors.py): 0 success, 1 internal error or a cluster/helm/OSM failure, 2 invalid
input (descriptors, parameters, flags), 3 conflict with an object we do not own, 4 a deadline passed, 5 credentials or
permission refused, 128 + N interrupted by signal N. Errors are one clear message, never a traceback (``--debug``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from osm_l2net import api, yamlsafe
from osm_l2net.errors import EXIT_FAILURE, EXIT_SIGNAL_BASE, InputError, L2NetError
from osm_l2net.options import PROVIDERS, PlanOptions, ValuesLayout
from osm_l2net.packages import read_yaml, yaml_limits
from osm_l2net.render import dump, plan_dot, plan_json, plan_text, plan_yaml, problems_text, table
from osm_l2net.yamlsafe import YamlInputError

F = TypeVar("F", bound=Callable[..., Any])
OUTPUT = click.option("-o", "--output", "fmt", type=click.Choice(["table", "yaml", "json"]), default="table",
                      show_default=True, help="Output format.")


def plan_options(func: F) -> F:
    options = [
        click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True)),
        click.option("--ns-name", default="vod-service-deployment", show_default=True, help="NS instance name."),
        click.option("--ns-id", default=None, help="NS instance id (OSM nsr id); default: derived from --ns-name."),
        click.option("-n", "--namespace", default=None,
                     help="Kubernetes namespace of the NS (default: the kubeconfig context's, else 'default')."),
        click.option("--provider", type=click.Choice(PROVIDERS), default="l2sm", show_default=True),
        click.option("--config", "config", default=None,
                     help="Instantiation parameters as osmclient --config: a YAML file or inline YAML."),
        click.option("--df", "df_id", default=None, help="NSD deployment flavour (default: the first)."),
        click.option("--interface-capacity", type=click.IntRange(1, 4096), default=10, show_default=True,
                     help="L2 interfaces a pod may have (L2S-M: the Overlay's interfaceNumber)."),
        click.option("--values-labels-path", default="podLabels", show_default=True,
                     help="Dotted path of pod labels in the charts' values."),
        click.option("--values-annotations-path", default="podAnnotations", show_default=True,
                     help="Dotted path of pod annotations in the charts' values."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as e:
            click.echo(problems_text(e.problems), err=True)
            sys.exit(e.exit_code)
        except L2NetError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper  # type: ignore[return-value]


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


def load_config(config: str | None) -> dict[str, Any] | None:
    """``--config`` as osmclient takes it: a file path, or inline YAML (both within the YAML limits)."""
    return config_mapping(config, None)


def config_mapping(config: str | None, config_file: str | None) -> dict[str, Any] | None:
    """Instantiation parameters from inline YAML (``config``) or a file (``config_file``, or ``config`` naming one)."""
    if config is None and config_file is None:
        return None
    if config_file is None and config is not None and is_file(config):
        config_file = config
    source = config_file or "--config"
    try:
        data = read_yaml(config_file) if config_file else yamlsafe.load(config or "", yaml_limits())
    except YamlInputError as e:
        raise InputError(e.problem(source)) from e
    if data is not None and not isinstance(data, dict):
        raise InputError.single(source, "", f"is a {type(data).__name__}", "a YAML mapping (osmclient --config)")
    return data


def is_file(text: str) -> bool:
    """Whether a flag's value names a file; inline YAML may be too long or odd for a path (ENAMETOOLONG, NUL)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def build_plan(paths: Sequence[str], ns_name: str, ns_id: str | None, namespace: str | None, provider: str,
               config: str | None, df_id: str | None, interface_capacity: int, values_labels_path: str,
               values_annotations_path: str) -> api.Plan:
    """The plan the CLI's flags describe (shared by plan, graph and the cluster commands)."""
    namespace = namespace or "default"
    options = PlanOptions(provider=provider, namespace=namespace, df_id=df_id, interface_capacity=interface_capacity,
                          values_layout=ValuesLayout(values_labels_path, values_annotations_path))
    raw = load_config(config)
    return api.plan(paths, ns_name=ns_name, ns_id=ns_id, namespace=namespace, config=raw,
                    config_source=config if config and is_file(config) else "--config", options=options)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Log debug messages and show tracebacks of internal errors.")
@click.version_option(package_name="osm-l2net")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Turn OSM network-service virtual links into isolated L2 networks for KNFs on Kubernetes."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--config", default=None, help="Instantiation parameters (YAML file or inline YAML) to check too.")
@click.option("--provider", type=click.Choice(PROVIDERS), default="l2sm", show_default=True)
@click.option("--interface-capacity", type=click.IntRange(1, 4096), default=10, show_default=True)
@OUTPUT
@handle_errors
def validate(paths: tuple[str, ...], config: str | None, provider: str, interface_capacity: int, fmt: str) -> None:
    """Check descriptors (files, package folders, .tar.gz) and parameters; report every problem with its path."""
    try:
        with gc_paused():
            problems = api.validate(paths, config=load_config(config),
                                    options=PlanOptions(provider=provider, interface_capacity=interface_capacity))
    except InputError as e:  # unreadable input: with -o json/yaml still one document on stdout, saying why
        if fmt == "table":
            raise
        click.echo(dump({"valid": False, "problems": [p.as_dict() for p in e.problems]}, fmt))
        sys.exit(e.exit_code)
    errors = [p for p in problems if p.severity == "error"]
    if fmt == "table":
        click.echo(problems_text(problems) if problems else "valid: no problems found")
        if problems and not errors:
            click.echo(f"valid, with {len(problems)} warning(s)")
    else:
        click.echo(dump({"valid": not errors, "problems": [p.as_dict() for p in problems]}, fmt))
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
    with gc_paused():
        result = build_plan(**kwargs)
        if fmt == "table":
            click.echo(plan_text(result))
        else:  # in pieces: a 10,000-link plan is 20 MB of text, never copied nor joined into one string
            for piece in plan_json(result) if fmt == "json" else plan_yaml(result):
                click.echo(piece, nl=False)
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
    with gc_paused():
        dot = plan_dot(build_plan(**kwargs))
    if image_format == "dot":
        data = dot.encode()
    else:
        from osm_l2net.graphviz import render

        data = render(dot, image_format)
    if out_file:
        Path(out_file).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


def _register_optional() -> None:
    """Adapter command groups that land in their own modules."""
    from osm_l2net import cli_cluster

    cli_cluster.register(cli)
    from osm_l2net.osm.cli import register as register_osm

    register_osm(cli)
    try:
        from osm_l2net.lab.cli import lab  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    cli.add_command(lab)


_register_optional()


def main(argv: Sequence[str] | None = None) -> None:
    """The console script. SIGTERM and SIGINT unwind the run (``finally`` clean-ups: helm stopped, values files and
    partial unpacks removed), then exit 128 + the signal. Only here: the library never installs signal handlers."""
    with _signals_unwind() as received:
        try:
            cli.main(args=list(argv) if argv is not None else None, prog_name="osm-l2net", standalone_mode=True)
        except SystemExit:
            if received:
                _exit_interrupted(received[0])
            raise
        except Exception as e:  # the last line of defence: never a traceback for users unless --debug
            if received:
                _exit_interrupted(received[0])
            if "--debug" in (argv if argv is not None else sys.argv):
                raise
            click.echo(f"internal error: {type(e).__name__}: {e} (run with --debug for details)", err=True)
            sys.exit(EXIT_FAILURE)


def _exit_interrupted(signum: int) -> None:
    click.echo(f"interrupted by {signal.Signals(signum).name}: stopped, temporary files removed", err=True)
    sys.exit(EXIT_SIGNAL_BASE + signum)


@contextlib.contextmanager
def _signals_unwind() -> Iterator[list[int]]:
    """SIGTERM/SIGINT raise KeyboardInterrupt in the main thread (click prints "Aborted!"), once: a second signal
    during the clean-up is noted, not raised, so the clean-up finishes. A process forked from us (pyroute2's helpers)
    gets the default action back and dies as it would have."""
    received: list[int] = []
    owner = os.getpid()

    def handler(signum: int, _frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


__all__ = ["cli", "main", "table"]
