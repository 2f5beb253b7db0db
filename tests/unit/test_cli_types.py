"""The shared option types: Go-style durations (as time.ParseDuration reads them, unsigned) or plain seconds, and
options whose value comes only after '=' (kubectl's --dry-run)."""

from __future__ import annotations

from typing import ClassVar

import click
import pytest
from click.testing import CliRunner

from osm_l2net.cli.main import cli
from osm_l2net.cli.types import BareValueCommand, format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("5m", 300), ("90s", 90), ("1h30m", 5400), ("1h30m15s", 5415), ("500ms", 0.5), ("1.5h", 5400), ("2.5", 2.5),
    ("300", 300), ("0", 0), ("250us", 0.00025), (" 5m ", 300)])
def test_durations_read_as_go_does(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "m", "5x", "1h30", "5m3", "-5s", "5 m", "inf", "nan", "1d", "h1"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(("seconds", "text"), [(300, "5m"), (90, "1m30s"), (5400, "1h30m"), (3600, "1h"),
                                               (0.5, "0.5s"), (4, "4s")])
def test_defaults_shown_in_go_form(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text and parse_duration(text) == seconds


def test_osm_timeouts_take_durations_and_say_the_minimum() -> None:
    result = CliRunner().invoke(cli, ["ns-create", "--ns_name", "a", "--nsd_name", "b", "--vim_account", "c",
                                      "--timeout", "0.5"])
    assert result.exit_code == 2
    assert "Invalid value for '--timeout': '0.5' is shorter than the minimum 1s" in result.stderr
    result = CliRunner().invoke(cli, ["ns-delete", "x", "--poll-interval", "soon"])
    assert result.exit_code == 2 and "'--poll-interval': 'soon' is not a duration" in result.stderr
    assert "[default: 1h]" in CliRunner().invoke(cli, ["ns-delete", "--help"], terminal_width=200).stdout


class _Probe(BareValueCommand):
    bare_values: ClassVar[dict[str, str]] = {"--dry-run": "client"}


@click.command(cls=_Probe)
@click.argument("paths", nargs=-1)
@click.option("--dry-run", default="none")
@click.option("--helm-flag", multiple=True)
@click.option("--quiet", is_flag=True)
def probe(paths: tuple[str, ...], dry_run: str, helm_flag: tuple[str, ...], quiet: bool) -> None:
    click.echo(f"{dry_run}|{','.join(paths)}|{','.join(helm_flag)}|{quiet}")


@pytest.mark.parametrize(("args", "out"), [
    (["--dry-run", "a"], "client|a||False"),  # bare: client, and the path stays a path (pflag's NoOptDefVal)
    (["a", "--dry-run=server"], "server|a||False"),
    (["--dry-run", "server"], "client|server||False"),  # as kubectl: a value only after '='
    (["--helm-flag", "--dry-run", "a"], "none|a|--dry-run|False"),  # another option's value is left alone
    (["--quiet", "--dry-run"], "client|||True"),
    (["--", "--dry-run"], "none|--dry-run||False"),
])
def test_a_value_only_after_equals(args: list[str], out: str) -> None:
    result = CliRunner().invoke(probe, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == out


def test_output_and_namespace_before_the_command() -> None:
    from tests.conftest import CDN_PACKAGES

    before = CliRunner().invoke(cli, ["-o", "json", "-n", "vod", "plan", *CDN_PACKAGES])
    after = CliRunner().invoke(cli, ["plan", *CDN_PACKAGES, "-o", "json", "-n", "vod"])
    assert before.exit_code == after.exit_code == 0 and before.stdout == after.stdout
    assert '"namespace": "vod"' in before.stdout
    # a global option the command does not have is ignored, as kubectl's global flags are
    graph = CliRunner().invoke(cli, ["-o", "json", "--context", "x", "graph", *CDN_PACKAGES, "--format", "dot"])
    assert graph.exit_code == 0 and graph.stdout.startswith("digraph")
    assert "may also come before the command" in CliRunner().invoke(cli, ["--help"]).stdout
