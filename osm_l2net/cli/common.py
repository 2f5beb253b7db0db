"""What every ``osm-l2net`` command shares, once: the error handler, the ``--config`` reader, the cluster options and
the output printer. Imported at start-up by osm_l2net/cli/main.py (for --help's option texts), so only click loads
here: the core's errors and options (and dataclasses with them) are imported by the functions that use them, when a
command runs (tests/unit/test_cli_startup.py)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from osm_l2net.core.errors import L2NetError
    from osm_l2net.core.options import InterClusterProvider

F = TypeVar("F", bound=Callable[..., Any])

# ---- errors ---------------------------------------------------------------------------------------------------------


def error_text(error: L2NetError) -> str:
    """What a user sees of ``error``: each problem of bad input on its own line (all of them, not the first), else one
    line."""
    from osm_l2net.core.errors import InputError

    if isinstance(error, InputError):
        from osm_l2net.core.render import problems_text

        return problems_text(error.problems)
    return f"error: {error}"


def fail(error: L2NetError) -> NoReturn:
    """Print ``error`` on stderr and exit with the code the error tree gives it (osm_l2net/core/errors.py)."""
    click.echo(error_text(error), err=True)
    sys.exit(error.exit_code)


def handle_errors(func: F) -> F:
    """The error handler of every command: the project's errors become :func:`error_text` and their exit code, never a
    traceback (anything else is main()'s last line of defence)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from osm_l2net.core.errors import L2NetError

        try:
            return func(*args, **kwargs)
        except L2NetError as e:
            fail(e)

    wrapper.handles_errors = True  # type: ignore[attr-defined]  # for tests/unit/test_cli_common.py
    return wrapper  # type: ignore[return-value]


# ---- --config -------------------------------------------------------------------------------------------------------


class Config(NamedTuple):
    """osmclient's instantiation parameters as given, and where they came from (for the messages about them). A named
    tuple, not a dataclass: this module is imported by --help, which should not import dataclasses."""

    data: dict[str, Any] | None
    source: str  # the file's path, or "--config" for inline YAML


CONFIG = click.option("--config", default=None,
                      help="Instantiation parameters as osmclient --config: a YAML file or inline YAML.")


def read_config(config: str | None, config_file: str | None = None) -> Config:
    """``--config`` as osmclient takes it: inline YAML or a file naming one; ``config_file``: ns-create's
    ``--config_file``. Both within the YAML limits; a YAML mapping or nothing."""
    from osm_l2net.core.errors import InputError

    if config and config_file:
        raise InputError.single("--config", "", "is given together with --config_file", "one of them")
    if config_file is None and config and is_file(config):
        config_file = config
    source = config_file or "--config"
    if not config and not config_file:
        return Config(None, source)
    from osm_l2net.core import yamlsafe
    from osm_l2net.core.yamlsafe import YamlInputError
    from osm_l2net.local.packages import read_yaml, yaml_limits

    try:
        data = read_yaml(config_file) if config_file else yamlsafe.load(config or "", yaml_limits())
    except YamlInputError as e:
        raise InputError(e.problem(source)) from e
    if data is not None and not isinstance(data, dict):
        raise InputError.single(source, "", f"is a {type(data).__name__}", "a YAML mapping (osmclient --config)")
    return Config(data, source)


def is_file(text: str) -> bool:
    """Whether a flag's value names a file; inline YAML may be too long or odd for a path (ENAMETOOLONG, NUL)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


# ---- cluster options ------------------------------------------------------------------------------------------------

KUBECONFIG_HELP = "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)."
CONTEXT_HELP = "kubeconfig context (default: the kubeconfig's current-context)."
NAMESPACE_HELP = "Kubernetes namespace (default: {default})."
NAMESPACE_DEFAULT = "the kubeconfig context's, else 'default'"


def namespace_option(default: str = NAMESPACE_DEFAULT) -> Callable[[F], F]:
    """``-n/--namespace``, with the same help wherever a command takes it; ``default`` says what it is when not given
    (gc: all namespaces)."""
    return click.option("-n", "--namespace", default=None, metavar="NAMESPACE", help=NAMESPACE_HELP.format(default=default))


def kube_options(func: F) -> F:
    """``--kubeconfig`` and ``--context``, the same flags and help wherever a command takes them (-n is
    :func:`namespace_option`, as plan and graph take it too). No envvar=KUBECONFIG: the adapter reads $KUBECONFIG
    itself, so its messages can say where a path came from."""
    func = click.option("--context", default=None, metavar="NAME", help=CONTEXT_HELP)(func)
    kubeconfig = click.Path(dir_okay=False)  # a folder is refused at once; a missing file is the adapter's to explain
    return click.option("--kubeconfig", type=kubeconfig, default=None, metavar="FILE", help=KUBECONFIG_HELP)(func)


# ---- output ---------------------------------------------------------------------------------------------------------

FORMATS = ("table", "yaml", "json")
OUTPUT = click.option("-o", "--output", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                      help="Output format.")


def emit(fmt: str, document: Any, as_table: Callable[[], str]) -> None:
    """The one printer of ``-o table|yaml|json``: ``as_table()`` for people, else ``document`` (data, or a Plan) in the
    project's JSON or YAML (osm_l2net/core/render.py), written in pieces (a big plan is never joined into one string);
    every form ends with one newline."""
    if fmt == "table":
        click.echo(as_table())
        return
    from osm_l2net.core import render
    from osm_l2net.core.plan import Plan

    if isinstance(document, Plan):
        pieces = render.plan_json(document) if fmt == "json" else render.plan_yaml(document)
    else:
        pieces = render.dump_json(document) if fmt == "json" else render.dump_yaml(document)
    # Straight to the text stream, not click.echo: echo looks up the stream and scans every piece for ANSI codes to
    # strip, a regex over the whole document (22 MB for 10,000 links), and JSON/YAML already escape control characters.
    out = sys.stdout
    last = ""
    for piece in pieces:
        if piece:
            out.write(piece)
            last = piece
    if not last.endswith("\n"):
        out.write("\n")
    out.flush()


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """Aligned columns (osm_l2net/core/render.py's ``table``), imported when a table is printed."""
    from osm_l2net.core.render import table as render_table

    return render_table(list(headers), [list(r) for r in rows])


def placement_flags(placement: Sequence[tuple[str, str]],
                    inter_cluster: tuple[str, str] | None) -> tuple[dict[str, str], InterClusterProvider | None]:
    """``--cluster MEMBER=CLUSTER`` (repeatable) and ``--inter-cluster-provider NAME=ADDRESS`` as the planner takes
    them (the plan and cluster commands and the lab alike); a member named twice is refused."""
    from osm_l2net.core.errors import InputError
    from osm_l2net.core.options import InterClusterProvider

    clusters = dict(placement)
    if len(clusters) < len(placement):
        twice = sorted({m for m, _ in placement if sum(1 for n, _ in placement if n == m) > 1})
        raise InputError.single("--cluster", twice[0], "names one member-vnf-index twice",
                                "one --cluster MEMBER=CLUSTER per KNF")
    return clusters, InterClusterProvider(*inter_cluster) if inter_cluster else None
