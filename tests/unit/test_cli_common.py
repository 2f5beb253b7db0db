"""One CLI, not four glued together (issue 11): every command reports errors through the one handler (every problem of
bad input, the error tree's exit code), reads --config through the one reader, declares the cluster options with the
same help, prints -o table|yaml|json through the one printer, and the lab's teardown shield hands a held signal on."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from osm_l2net.cli import common
from osm_l2net.cli.main import cli
from osm_l2net.core.errors import (
    AccessDenied,
    ConflictError,
    InputError,
    L2NetError,
    LabError,
    Problem,
    ToolError,
    WaitTimeout,
)
from osm_l2net.core.render import dump_json, dump_yaml
from tests.conftest import CDN_PACKAGES, REPO

BROKEN_NSD = "docs/examples/broken_vod_nsd.yaml"  # the CDN NSD with three mistakes, five problems (descriptor-guide.md)
KNF_PACKAGES = sorted(str(p.relative_to(REPO)) for p in (REPO / "descriptors").glob("*_knf"))
NO_CLUSTER = {"KUBECONFIG": "/nonexistent/kubeconfig"}  # a command that contacted a cluster would fail differently


def invoke(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the paths in messages as the docs show them


def every_command() -> Iterator[tuple[str, click.Command]]:
    """(name, command) of each command the user can run, the lab's subcommands too."""
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                subcommand = command.get_command(ctx, sub)
                assert subcommand is not None
                yield f"{name} {sub}", subcommand
        else:
            yield name, command


# ---- one error handler -----------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("in_repo")
@pytest.mark.parametrize("command", [["plan"], ["graph", "--format", "dot"], ["lab", "up"], ["lab", "run"]],
                         ids=" ".join)
def test_every_command_reports_every_problem_of_bad_descriptors(command: list[str]) -> None:
    """`lab up` showed the first of the five problems ("… (and 4 more)") where `plan` showed all five."""
    if command[0] == "lab" and "lab" not in cli.list_commands(click.Context(cli)):
        pytest.skip("the lab needs pyroute2 (pip install osm-l2net[lab])")
    reference = invoke("validate", BROKEN_NSD, *KNF_PACKAGES)
    assert reference.exit_code == 2
    problems = reference.stdout.splitlines()
    assert len(problems) == 5 and all(line.startswith(f"error: {BROKEN_NSD}: nsd[0].df[0].") for line in problems)
    result = invoke(*command, BROKEN_NSD, *KNF_PACKAGES)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == problems and result.stdout == ""


def test_every_command_goes_through_the_one_error_handler() -> None:
    unhandled = [name for name, command in every_command()
                 if name != "post-render" and not getattr(command.callback, "handles_errors", False)]
    assert unhandled == []  # post-render is helm's hook: it reports on its own terms (osm_l2net/helm/postrender.py)


@pytest.mark.parametrize(("error", "code"), [
    (InputError([Problem("a.yaml", "nsd[0]", "first"), Problem("b.yaml", "vnfd", "second", "x")]), 2),
    (ConflictError("L2Network default/x already exists and is not this NS instance's"), 3),
    (WaitTimeout("networks did not become ready"), 4),
    (AccessDenied("HTTP 403 from the API server"), 5),
    (ToolError(["helm", "install"], 1, "boom"), 1),
    (LabError("bridge l2n-x: exists"), 1),
], ids=lambda v: type(v).__name__ if isinstance(v, L2NetError) else str(v))
def test_the_handler_gives_the_error_trees_exit_code_and_one_line_per_problem(
        monkeypatch: pytest.MonkeyPatch, error: L2NetError, code: int) -> None:
    """Through a lab command (whose handler said "error: <first problem> (and 1 more)" before)."""
    pytest.importorskip("pyroute2")
    from osm_l2net.cli import lab

    def raise_it(**_: object) -> None:
        raise error

    monkeypatch.setattr(lab, "_check_host", raise_it)
    result = invoke("lab", "down", "--lab", "x")
    assert result.exit_code == code
    if isinstance(error, InputError):
        assert result.stderr.splitlines() == ["error: a.yaml: nsd[0]: first", "error: b.yaml: vnfd: second (expected x)"]
    else:
        assert result.stderr == f"error: {error}\n"


# ---- one --config reader ---------------------------------------------------------------------------------------------

NS_CREATE = ["ns-create", "--ns_name", "a", "--nsd_name", "b", "--vim_account", "c"]


@pytest.mark.parametrize("command", [["plan", *CDN_PACKAGES], ["validate", *CDN_PACKAGES], ["graph", *CDN_PACKAGES],
                                     ["apply", *CDN_PACKAGES, "--ns-name", "a"], ["delete", *CDN_PACKAGES, "--ns-id", "a"],
                                     ["status", *CDN_PACKAGES, "--ns-name", "a"],
                                     NS_CREATE], ids=lambda c: c[0])
@pytest.mark.parametrize("kind", ["inline", "file"])
def test_a_bad_config_is_the_same_message_in_every_command_before_any_contact(tmp_path: Path, command: list[str],
                                                                              kind: str) -> None:
    """The cluster commands read --config before the cluster, ns-create before OSM: bad input is exit 2 whatever
    answers (before, apply said the kubeconfig was missing)."""
    if kind == "inline":
        value, where = "[1, 2]", "--config"
    else:
        path = tmp_path / "params.yaml"
        path.write_text("- 1\n- 2\n")
        value, where = str(path), str(path)
    result = invoke(*command, "--config", value, env=NO_CLUSTER)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {where}: is a list (expected a YAML mapping (osmclient --config))\n"


def test_the_config_file_is_looked_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """build_plan asked twice whether --config names a file (and so could disagree with itself)."""
    path = tmp_path / "params.yaml"
    path.write_text("vld: [{name: my-first-osm-net}]\n")
    asked: list[str] = []
    real = common.is_file

    def counting(text: str) -> bool:
        asked.append(text)
        return real(text)

    monkeypatch.setattr(common, "is_file", counting)
    assert invoke("plan", *CDN_PACKAGES, "--config", str(path), "-o", "json").exit_code == 0
    assert asked == [str(path)]


def test_ns_create_refuses_config_and_config_file_together(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("{}\n")
    result = invoke(*NS_CREATE, "--config", "{}", "--config_file", str(path), env=NO_CLUSTER)
    assert result.exit_code == 2
    assert result.stderr == "error: --config: is given together with --config_file (expected one of them)\n"


# ---- one set of cluster options --------------------------------------------------------------------------------------

def _helps(flag: str) -> dict[str, str]:
    """Per command (and the group, for the flags given before the command): the help of its option ``flag``."""
    found: dict[str, str] = {}
    for name, command in [("osm-l2net", cli), *every_command()]:
        for param in command.params:
            if isinstance(param, click.Option) and flag in param.opts:
                found[name] = param.help or ""
    return found


@pytest.mark.parametrize("flag", ["--kubeconfig", "--context"])
def test_kubeconfig_and_context_have_one_help_text_everywhere(flag: str) -> None:
    helps = _helps(flag)
    assert {"osm-l2net", "apply", "delete", "status", "gc", "ns-create", "ns-delete"} <= set(helps)
    assert len(set(helps.values())) == 1, helps


def test_namespace_has_one_help_text_that_names_each_commands_default() -> None:
    """-n is the same option everywhere; only its default differs where the command's meaning needs it (gc: all
    namespaces; ns-create: the KDUs follow --config's k8s-namespace)."""
    helps = _helps("--namespace")
    assert {"plan", "graph", "apply", "delete", "status", "gc", "ns-create"} <= set(helps)
    commands = {name: text for name, text in helps.items() if name != "osm-l2net"}
    assert all(text.startswith("Kubernetes namespace (default: ") for text in commands.values()), commands
    same = {commands[name] for name in ("plan", "graph", "apply", "delete", "status")}
    assert same == {"Kubernetes namespace (default: the kubeconfig context's, else 'default')."}
    assert commands["gc"] == "Kubernetes namespace (default: all namespaces)."



@pytest.mark.parametrize("command", [["apply", *CDN_PACKAGES], ["status", *CDN_PACKAGES], ["gc", "--keep", "x"],
                                     NS_CREATE, ["ns-delete", "x"]], ids=lambda c: c[0])
def test_a_folder_as_kubeconfig_is_refused_alike_by_every_command(tmp_path: Path, command: list[str]) -> None:
    """ns-create and ns-delete refused a folder, the cluster commands said it "does not exist": now one option."""
    result = invoke(*command, "--kubeconfig", str(tmp_path))
    assert result.exit_code == 2
    assert f"Invalid value for '--kubeconfig': File '{tmp_path}' is a directory." in result.stderr

# ---- one printer -----------------------------------------------------------------------------------------------------

LAB_STATUS = {"lab": "x", "ns_id": "ns-1", "switch": "linux-bridge", "bridge_nf": "off", "pods": [
    {"pod": "l2n-x-cdn-server", "netns": "l2n-x-cdn-server", "role": "cache", "replicas": 1,
     "links": [{"name": "net1", "addresses": ["10.0.2.10/24"]}], "processes": [{"pid": 1}],
     "download": {"state": "downloading", "bytes": 4096}}]}


@pytest.fixture
def lab_status(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyroute2")
    from osm_l2net.cli import lab

    class FakeLab:
        def status(self) -> dict[str, Any]:
            return LAB_STATUS

    monkeypatch.setattr(lab, "_check_host", lambda **_: None)
    monkeypatch.setattr(lab, "_lab", lambda *_, **__: FakeLab())


@pytest.mark.usefixtures("lab_status")
def test_lab_status_prints_through_the_one_printer() -> None:
    """JSON as every other command writes it (lab status had indent 1), YAML likewise, the table by the one table."""
    as_json = invoke("lab", "status", "--lab", "x", "-o", "json")
    assert as_json.exit_code == 0 and as_json.stdout == "".join(dump_json(LAB_STATUS)) + "\n"
    assert json.loads(as_json.stdout) == LAB_STATUS
    as_yaml = invoke("lab", "status", "--lab", "x", "-o", "yaml")
    assert as_yaml.stdout == "".join(dump_yaml(LAB_STATUS))
    as_table = invoke("-o", "table", "lab", "status", "--lab", "x")  # -o before the command, as for the others
    assert as_table.stdout.splitlines() == [
        "lab x  NS ns-1  switch linux-bridge  bridge-nf off",
        "POD               NETNS             ROLE   REPLICAS  INTERFACES         PROCS  DOWNLOAD",
        "l2n-x-cdn-server  l2n-x-cdn-server  cache  1         net1=10.0.2.10/24  1      downloading 4096B"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_plan_and_validate_documents_end_with_one_newline(fmt: str) -> None:
    """A shell prompt after `plan -o json` starts on its own line (it followed the closing brace before)."""
    for command in ("plan", "validate"):
        out = invoke(command, *CDN_PACKAGES, "-o", fmt).stdout
        assert out.endswith("\n") and not out.endswith("\n\n"), (command, out[-40:])


def test_only_the_printer_writes_json_or_yaml() -> None:
    """Each command hands its document to common.emit: no other module of cli/ formats JSON or YAML itself."""
    cli_dir = REPO / "osm_l2net" / "cli"
    writers = ("json.dump", "yaml.safe_dump", "yaml.dump", "dump_json", "dump_yaml", "plan_json", "plan_yaml",
               "render import dump")
    offenders = {f.name: [w for w in writers if w in f.read_text()] for f in cli_dir.glob("*.py") if f.name != "common.py"}
    assert {name: found for name, found in offenders.items() if found} == {}


# ---- signals ---------------------------------------------------------------------------------------------------------

def test_the_lab_cli_installs_no_signal_handler_of_its_own() -> None:
    """SIGINT/SIGTERM are osm_l2net/cli/signals.py's, for every command (the lab's group had a second handler)."""
    handlers = {f.name for f in (REPO / "osm_l2net" / "cli").glob("*.py") if "signal.signal(" in f.read_text()}
    assert handlers == {"signals.py"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_lab_teardown_shield_hands_a_held_signal_on_after_the_teardown(sig: signal.Signals) -> None:
    """A signal in the teardown waits for it to finish, then reaches the handler it would have met: under osm-l2net
    that is cli/signals.py's, so the command still exits 128 + N (before, the shield dropped it: exit 0)."""
    pytest.importorskip("pyroute2")
    from osm_l2net.lab.scenario import _shielded

    seen: list[int] = []
    previous = signal.signal(sig, lambda signum, _frame: seen.append(signum))
    try:
        said: list[str] = []
        with _shielded(said.append):
            os.kill(os.getpid(), sig)
            assert seen == [] and said == ["cleaning up the lab, please wait"]  # held, the teardown goes on
        assert seen == [sig]
    finally:
        signal.signal(sig, previous)


def test_the_cli_unwinds_on_the_first_signal_and_notes_the_later_ones() -> None:
    from osm_l2net.cli.signals import unwinding

    with unwinding() as received:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)  # in the clean-up: noted, not raised
    assert received == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back



@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_the_command_while_python_exits_leaves_the_commands_exit_code(sig: signal.Signals) -> None:
    """The console script leaves its signal block only to exit. A signal landing in the interpreter's shutdown, after
    Python put the default action back, killed the process (-15: seen in CI's tests/reliability/test_interrupts.py);
    one sent from the last atexit callback lands in that window. The command had finished: its own code stands."""
    import subprocess
    import sys

    script = ("import atexit, os, signal, sys, time\n"
              "from osm_l2net.cli.signals import unwinding\n"
              f"atexit.register(lambda: (os.kill(os.getpid(), {int(sig)}), time.sleep(0.3)))\n"
              "with unwinding(until_exit=True):\n"
              "    print('done', flush=True)\n"
              f"os.kill(os.getpid(), {int(sig)})\n"
              "time.sleep(0.3)\n"
              "sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (done.returncode, done.stdout) == (3, "done\n"), done.stderr


def test_an_in_process_call_of_main_gives_the_handlers_back() -> None:
    """Only the console script (no argv) ignores signals after the command; a program calling main(argv) gets
    its own handlers back (a pytest run did not: a later test found the console script's)."""
    from osm_l2net.cli.main import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
