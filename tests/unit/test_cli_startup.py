"""``osm-l2net`` starts without importing what the command does not use: --help imports none of the adapters' libraries
nor the core; commands of other modules load on first use, listed in --help with their own short help. Behaviour, not
timing (the timing is bench/cli_bench.py's)."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from osm_l2net.cli.main import LAZY_COMMANDS, cli
from tests.conftest import CDN_PACKAGES

HEAVY = ("pyroute2", "kubernetes", "requests", "networkx", "urllib3")


def modules_of(code: str, *argv: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` with ``argv``."""
    code += "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60, check=False)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def modules_after(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after ``osm-l2net ARGV`` (the console script's entry point, main)."""
    return modules_of("import sys\nfrom osm_l2net.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
                      "    pass", *argv)


#: what a click program's --help needs anyway: click, and what its help writing imports (textwrap, shutil for the
#: terminal width, gettext's locale)
CLICK_HELP = ("import click\n@click.group()\ndef group() -> None:\n    'A group.'\n@group.command()\n"
              "def command() -> None:\n    'A command.'\ntry:\n    group(['--help'])\nexcept SystemExit:\n    pass")
#: all that `osm-l2net --help` may import beyond that: the group, the options' help texts, the signal handling
HELP_MODULES = {"osm_l2net", "osm_l2net.cli", "osm_l2net.cli.main", "osm_l2net.cli.common", "osm_l2net.cli.signals",
                "signal"}


def test_help_imports_nothing_but_click_and_the_group() -> None:
    """Start-up is click's own cost and nothing more (issue 13): no command module, none of the core (not even its
    errors and options, whose dataclasses were a tenth of --help), no YAML; the commands are listed from the
    LAZY_COMMANDS table."""
    floor = modules_of(CLICK_HELP)
    assert "click" in floor and "click.formatting" in floor  # the probe works: click wrote a help
    loaded = modules_after("--help")
    assert loaded - floor <= HELP_MODULES, sorted(loaded - floor - HELP_MODULES)
    assert "osm_l2net.cli.main" in loaded and "dataclasses" not in loaded - floor


def test_help_imports_no_adapter_library_and_not_the_core() -> None:
    loaded = modules_after("--help")
    assert "click" in loaded  # the probe works: the CLI ran
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)
    assert not loaded & {"osm_l2net.api", "osm_l2net.core.planner", "osm_l2net.core.render", "yaml", "osm_l2net.cli.lab",
                         "osm_l2net.cli.cluster", "osm_l2net.cli.osm"}


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_validate_and_plan_import_no_cluster_nbi_or_lab_library(command: str) -> None:
    loaded = modules_after(command, *CDN_PACKAGES)
    assert "osm_l2net.core.planner" in loaded  # it did plan
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


def test_a_lazy_command_loads_its_module_only_when_used() -> None:
    loaded = modules_after("gc", "--help")
    assert "osm_l2net.cli.cluster" in loaded and "osm_l2net.cli.osm" not in loaded and "pyroute2" not in loaded


def test_lab_help_does_not_load_the_lab_engine() -> None:
    loaded = modules_after("lab", "--help")
    assert "osm_l2net.cli.lab" in loaded  # the lab's group was loaded and printed its help
    assert "pyroute2" not in loaded and "osm_l2net.lab.engine" not in loaded


def test_help_lists_every_command_with_its_own_short_help() -> None:
    ctx = click.Context(cli)
    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        own = command.get_short_help_str(200)
        assert f"  {name}" in out and own in out, (name, own)
        if name in LAZY_COMMANDS:  # the table's copy is the command's own help, word for word
            assert LAZY_COMMANDS[name][1] == own, name
    assert set(LAZY_COMMANDS) - {"lab"} <= set(cli.list_commands(ctx))
