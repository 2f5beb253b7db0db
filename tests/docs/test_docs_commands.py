"""Every command in the docs is run: README.md and docs/*.md, as a reader would type them.

The convention, for whoever writes docs:

- Fenced blocks tagged ``sh`` or ``console`` hold commands; other tags (``text``, ``yaml``, ``python``, …) do not.
  A block of another tag (or untagged) whose lines start with ``osm-l2net`` or ``$ `` fails the test: tag it.
- ``sh``: every line, with ``\\`` continuations joined and ``# comments`` dropped, is one command.
  ``console``: lines starting with ``$ `` are commands; the lines after one, up to the next ``$ ``, are its shown
  output, and every non-blank shown line must be a line of the real output (stdout or stderr, trailing blanks
  ignored; a line ``...`` stands for lines left out).
- A command exits 0 unless its comment says otherwise: ``osm-l2net validate broken/  # exit 2``.
- Runnable commands are ``osm-l2net …`` or ``.venv/bin/osm-l2net …`` (the checkout's ``.venv/bin/osm-l2net`` runs;
  argv split with shlex, globs expanded as a shell would, ``> FILE`` at the end writes stdout there; never a shell
  string), optionally after ``sudo`` (CI runs as root) and ``VAR=value`` prefixes; ``export VAR=value`` lines set the environment of the file's later commands. Any
  other command in a runnable block fails the test: nothing goes unrun silently.
- A marker on the line right before the fence changes that:
  ``<!-- not-run: WHY -->``: not run. Only for what needs a real cluster, OSM, docker or the whole CI; WHY is required.
  ``<!-- run-by: TARGET[, TARGET] -->``: run elsewhere (``tests/lab/test_scenario.py::test_name`` or a file such as
  ``.ci/run``); the test checks that each target exists.

Where commands run: in a scratch directory holding copies of descriptors/, examples/, deploy/ and docs/, with
HOME there too (helm's caches), so nothing lands in the checkout. Per docs file, in order, sharing one state:

- ``apply``/``delete``/``status``/``gc`` talk to the KubernetesAPIEmulator (test double of kube-apiserver, with the
  L2S-M operator and workload controller doubles running): ``--kubeconfig`` points at it (namespaces are left to the
  commands, which create the NS's own), and ``apply``/``delete`` get the emulator's helm flags (it has no OpenAPI document and no controllers
  for helm's --wait; see tests/deploy/test_cli_cluster.py).
- ``ns-create``/``ns-delete`` talk to OsmNbiDouble (test double of OSM NBI; the CDN packages onboarded, VIM account
  ``site1``) and the same emulator: ``$OSM_HOSTNAME``/``$OSM_USER``/``$OSM_PASSWORD``/``$OSM_PROJECT`` point at the
  double whatever the doc exports, and ``--poll-interval 0.05`` is added (NBI's operation ends after two polls).
- ``lab`` commands need root (skipped with that reason otherwise; CI runs as root) and run in a lab of their own
  (``$OSM_L2NET_LAB``), taken down after the file whatever happened.
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CDN_PACKAGES, MODELS, REPO
from tests.support.k8s_harness import EmulatedCluster

DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
EXE = Path(sys.executable).with_name("osm-l2net")
PROGRAMS = {"osm-l2net", ".venv/bin/osm-l2net"}
COPIED = ("descriptors", "examples", "deploy", "docs")
EMULATOR_HELM = ["--helm-flag=--disable-openapi-validation", "--no-wait", "--no-atomic", "--no-create-namespace"]
CLUSTER_COMMANDS = {"apply", "delete", "status", "gc"}
NBI_COMMANDS = {"ns-create", "ns-delete"}
OSM_ENV = ("OSM_HOSTNAME", "OSM_USER", "OSM_PASSWORD", "OSM_PROJECT")
NBI_SCHEMA = MODELS / "osm-nbi" / "ns_instantiate.schema.json"
NBI_PASSWORD = "docs-pw"  # the double's user admin
MARKER = re.compile(r"^<!--\s*(not-run|run-by)\s*:\s*(.*?)\s*-->$")
FENCE = re.compile(r"^```(\S*)\s*$")
EXIT = re.compile(r"(?:^|\s)#\s*exit\s+(\d+)\b")
LOOKS_RUNNABLE = re.compile(r"^\s*(\$ |(sudo\s+)?(\.venv/bin/)?osm-l2net\s)")


@dataclass
class Command:
    text: str  # as written, continuations joined, without the prompt
    line: int
    shown: list[str] = field(default_factory=list)  # console output lines

    @property
    def exit_code(self) -> int:
        found = EXIT.search(self.text)
        return int(found.group(1)) if found else 0


@dataclass
class Block:
    doc: Path
    line: int
    lang: str
    marker: tuple[str, str] | None
    commands: list[Command]

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


# ---------------------------------------------------------------- extraction


def blocks(doc: Path, text: str | None = None) -> tuple[list[Block], list[str]]:
    """The command blocks of a markdown file, and the problems of its fences (untagged commands, bad markers)."""
    lines = (doc.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: list[Block] = []
    problems: list[str] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        body, lang, where = lines[i + 1:end], fence.group(1), f"{doc.name}:{i + 1}"
        marker = _marker(lines[i - 1] if i else "", where, problems)
        if lang in ("sh", "console"):
            found.append(Block(doc, i + 1, lang, marker, _commands(body, lang, i + 2)))
        elif any(LOOKS_RUNNABLE.match(b) for b in body):
            problems.append(f"{where}: a ```{lang or '(untagged)'} block holds commands: tag it sh or console")
        i = end + 1
    return found, problems


def _marker(line: str, where: str, problems: list[str]) -> tuple[str, str] | None:
    if "not-run" not in line and "run-by" not in line:
        return None
    found = MARKER.match(line.strip())
    if found is None or len(found.group(2)) < 10:
        problems.append(f"{where}: marker {line.strip()!r} needs a reason or targets (<!-- not-run: WHY -->)")
        return None
    return found.group(1), found.group(2)


def _commands(body: list[str], lang: str, first_line: int) -> list[Command]:
    out: list[Command] = []
    pending: Command | None = None
    for n, raw in enumerate(body, start=first_line):
        if pending is not None:  # a continuation line
            pending.text = pending.text[:-1] + " " + raw.strip()
        elif lang == "console" and not raw.startswith("$ "):
            if out:
                out[-1].shown.append(raw.rstrip())
            continue
        else:
            text = raw[2:] if lang == "console" else raw
            if not text.strip() or text.strip().startswith("#"):
                continue
            pending = Command(text.strip(), n)
            out.append(pending)
        pending = pending if pending.text.endswith("\\") else None
    return out


# ---------------------------------------------------------------- running


class DocRun:
    """The state one docs file's commands share: scratch directory, environment, emulated cluster, NBI double, lab."""

    def __init__(self, scratch: Path, cluster: EmulatedCluster) -> None:
        self.cwd = scratch / "work"
        self.cwd.mkdir()
        for name in COPIED:
            shutil.copytree(REPO / name, self.cwd / name, ignore=shutil.ignore_patterns("__pycache__"))
        self.cluster = cluster
        self.lab = f"docs{os.getpid() % 10000}{uuid.uuid4().hex[:4]}"
        self.used_lab = False
        self.env = {"PATH": f"{EXE.parent}:{REPO / '.tools' / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": str(scratch / "home"), "LANG": "C.UTF-8", "OSM_L2NET_LAB": self.lab,
                    # the checkout whose docs these are, not the one the venv's console script was installed from
                    "PYTHONPATH": str(REPO)}
        self._nbi: object | None = None
        self.timings: list[tuple[float, str]] = []
        self._stack: list[object] = []

    def nbi_env(self) -> dict[str, str]:
        if self._nbi is None:
            from tests.support.nbi_double import OsmNbiDouble

            if not NBI_SCHEMA.is_file():
                pytest.fail(f"NBI's ns_instantiate schema is not at {NBI_SCHEMA} (set OSM_L2NET_MODELS)")
            double = OsmNbiDouble(CDN_PACKAGES, NBI_SCHEMA, users={"admin": NBI_PASSWORD},
                                  vim_accounts={"site1": str(uuid.uuid4())})
            self._nbi = double.__enter__()
            self._stack.append(double)
        url = self._nbi.url  # type: ignore[attr-defined]
        return {"OSM_HOSTNAME": url, "OSM_USER": "admin", "OSM_PASSWORD": NBI_PASSWORD, "OSM_PROJECT": "admin"}

    def close(self) -> None:
        for double in reversed(self._stack):
            double.__exit__(None, None, None)  # type: ignore[attr-defined]
        if self.used_lab:
            from osm_l2net.lab import Lab
            from osm_l2net.lab.scenario import sibling_name

            Lab(self.lab).down()
            Lab(sibling_name(self.lab)).down()

    def argv(self, command: Command) -> tuple[list[str], dict[str, str]] | str:
        """The argv and environment to run, or why the command cannot be run here."""
        words = shlex.split(command.text, comments=True)
        env = dict(self.env)
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        if words and words[0] == "sudo":
            words.pop(0)
        if words[:1] == ["export"]:
            self.env.update(w.split("=", 1) for w in words[1:] if "=" in w)  # type: ignore[arg-type]
            return [], env
        if not words or words[0] not in PROGRAMS:
            return f"not an osm-l2net command: {command.text!r} (mark the block not-run or run-by)"
        if len(words) > 2 and words[-2] == ">":  # stdout to a file, the only redirection the docs use
            env["_STDOUT"] = words.pop()
            words.pop()
        args = [a for w in words[1:] for a in self._expand(w)]
        verb = _verb(args)
        if verb in CLUSTER_COMMANDS | NBI_COMMANDS:
            args = self._against_doubles(verb, args, env)
        if verb == "lab":
            if os.geteuid() != 0:
                raise NeedsRoot("the docs' lab commands need root (network namespaces); CI runs as root")
            self.used_lab = True
        return [str(EXE), *args], env

    def _expand(self, word: str) -> list[str]:
        if not any(c in word for c in "*?["):
            return [word]
        hits = sorted(glob.glob(word, root_dir=self.cwd))
        return hits or [word]

    def _against_doubles(self, verb: str, args: list[str], env: dict[str, str]) -> list[str]:
        args = [*_drop_option(args, "--kubeconfig"), "--kubeconfig", str(self.cluster.kubeconfig)]
        if verb in ("apply", "delete"):
            args += EMULATOR_HELM
        if verb in NBI_COMMANDS:
            env.update(self.nbi_env())
            args += ["--poll-interval", "0.05"]
        return args

    def run(self, command: Command) -> str | None:
        """Run one command; None when it did what the doc says, else what went wrong."""
        prepared = self.argv(command)
        if isinstance(prepared, str):
            return prepared
        argv, env = prepared
        if not argv:
            return None
        target = env.pop("_STDOUT", None)
        started = time.monotonic()
        done = subprocess.run(argv, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
        self.timings.append((time.monotonic() - started, command.text))
        output = done.stdout + "\n" + done.stderr
        if target is not None:
            (self.cwd / target).write_text(done.stdout)
        if "Traceback" in done.stderr:
            return f"{command.text!r} printed a traceback:\n{done.stderr[-2000:]}"
        if done.returncode != command.exit_code:
            return (f"{command.text!r} exited {done.returncode}, the doc says {command.exit_code}:\n"
                    f"{done.stderr[-1500:] or done.stdout[-1500:]}")
        real = {line.rstrip() for line in output.splitlines()}
        missing = [s for s in command.shown if s.strip() and s.strip() != "..." and s not in real]
        if missing:
            return f"{command.text!r}: shown lines not in the real output: {missing}\nreal output:\n{output[-3000:]}"
        return None


GLOBAL_WITH_VALUE = ("--kubeconfig", "--context", "-n", "--namespace", "-o", "--output")


def _verb(args: list[str]) -> str:
    """The command word: the first one that is neither an option nor the value of a global option before it."""
    words = iter(args)
    for a in words:
        if a in GLOBAL_WITH_VALUE:
            next(words, None)
        elif not a.startswith("-"):
            return a
    return ""


def _drop_option(args: list[str], name: str) -> list[str]:
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == name:
            skip = True
        elif not a.startswith(name + "="):
            out.append(a)
    return out


def check_run_by(block: Block) -> list[str]:
    assert block.marker is not None
    problems = []
    for target in (t.strip() for t in block.marker[1].split(",")):
        path, _, func = target.partition("::")
        file = REPO / path
        if not file.is_file():
            problems.append(f"{block.where}: run-by target {path} does not exist")
        elif func and not re.search(rf"^(async )?def {re.escape(func)}\(", file.read_text(), re.MULTILINE):
            problems.append(f"{block.where}: run-by target {target}: no such test")
    return problems


def run_doc(doc: Path, run: DocRun, text: str | None = None) -> tuple[list[str], dict[str, int]]:
    """Run every command of one docs file in order; return the failures and the counts."""
    found, failures = blocks(doc, text)
    counts = {"run": 0, "not-run": 0, "run-by": 0}
    for block in found:
        if block.marker and block.marker[0] == "run-by":
            failures += check_run_by(block)
        if block.marker:
            counts[block.marker[0]] += len(block.commands)
            continue
        for command in block.commands:
            problem = run.run(command)
            counts["run"] += 1
            if problem:
                failures.append(f"{block.where} (line {command.line}): {problem}")
    return failures, counts


@dataclass
class DocResult:
    failures: list[str]
    counts: dict[str, int]
    seconds: float
    skipped: str | None = None
    slowest: list[tuple[float, str]] = field(default_factory=list)


class NeedsRoot(Exception):
    """A lab command met without root: the file's remaining commands are not run, and its test says why."""


def _run_one_doc(doc: Path, scratch: Path) -> DocResult:
    started = time.monotonic()
    scratch.mkdir(parents=True)
    with EmulatedCluster(workdir=scratch) as cluster:
        cluster.operator.start(ready_after=0.0)
        cluster.workloads.start()
        run = DocRun(scratch, cluster)
        try:
            failures, counts = run_doc(doc, run)
        except NeedsRoot as e:
            return DocResult([], {}, time.monotonic() - started, str(e))
        finally:
            run.close()
        errors = cluster.server_errors
    failures += [f"the Kubernetes API emulator raised internally: {e!r}" for e in errors]
    return DocResult(failures, counts, time.monotonic() - started, slowest=sorted(run.timings, reverse=True)[:3])


@pytest.fixture(scope="session")
def doc_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[Path, DocResult]:
    """The selected docs files at once, each in its own scratch directory, cluster and lab: most of a command's time is
    spent waiting (interpreter start, helm, the doubles), so running the files side by side keeps the whole short."""
    selected = [d for d in DOCS if any(getattr(item, "callspec", None) and item.callspec.params.get("doc") == d
                                       for item in request.session.items)]
    base = tmp_path_factory.mktemp("docs")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {doc: pool.submit(_run_one_doc, doc, base / f"{i}") for i, doc in enumerate(selected)}
        return {doc: future.result() for doc, future in futures.items()}


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_every_command_in_the_doc_runs_as_shown(doc: Path, doc_results: dict[Path, DocResult]) -> None:
    result = doc_results[doc]
    print(f"{doc.relative_to(REPO)}: {result.counts} in {result.seconds:.1f}s; slowest: "
          + "; ".join(f"{t:.1f}s {c[:60]}" for t, c in result.slowest))
    assert not result.failures, "\n\n".join(result.failures)
    if result.skipped:
        pytest.skip(result.skipped)


def test_the_docs_hold_commands_and_every_not_run_block_says_why() -> None:
    totals = {"run": 0, "not-run": 0, "run-by": 0}
    for doc in DOCS:
        for block in blocks(doc)[0]:
            key = block.marker[0] if block.marker else "run"
            totals[key] += len(block.commands)
            if block.marker:
                print(f"{block.where}: {block.marker[0]}: {block.marker[1]}")
    print(f"doc commands: {totals}")
    assert totals["run"] >= 30, totals  # the guides are made of commands; a parser gone blind would find few
    assert totals["not-run"] < totals["run"] / 2, totals


VERSION = importlib.metadata.version("osm-l2net")
SAMPLE = f"""
```console
$ osm-l2net --version
osm-l2net, version {VERSION}
```

```console
$ osm-l2net --version
osm-l2net, version 9.9.9
```

```sh
osm-l2net validate descriptors/vod_service_ns   # exit 2: its VNFDs are missing
osm-l2net validate descriptors/vod_service_ns
kubectl get pods
```

<!-- not-run: -->
```sh
kubectl apply -f deploy/rbac.yaml
```

<!-- run-by: tests/docs/test_docs_commands.py::no_such_test -->
```sh
osm-l2net lab run
```

```text
osm-l2net plan descriptors/*
```
"""


@pytest.fixture
def doc_run(kube_emulator: EmulatedCluster, tmp_path: Path) -> Iterator[DocRun]:
    run = DocRun(tmp_path, kube_emulator)
    try:
        yield run
    finally:
        run.close()


def test_the_checker_catches_wrong_output_exit_codes_unmarked_commands_and_bad_markers(doc_run: DocRun) -> None:
    failures, counts = run_doc(REPO / "docs" / "SAMPLE.md", doc_run, SAMPLE)
    text = "\n".join(failures)
    assert text.count("shown lines not in the real output") == 1 and "['osm-l2net, version 9.9.9']" in text
    assert "exited 2, the doc says 0" in text  # the second validate: its exit code is not stated
    assert "exited 2, the doc says 2" not in text
    assert "not an osm-l2net command: 'kubectl get pods'" in text
    assert "needs a reason" in text and "no_such_test: no such test" in text
    assert "block holds commands: tag it" in text
    assert "not an osm-l2net command: 'kubectl apply" in text  # a marker without a reason does not count
    assert counts == {"run": 6, "not-run": 0, "run-by": 1}, counts
    assert len(failures) == 7, text
