"""Campaign 1: generated and mutated descriptors, through the real loader, never escape the project's errors, and
every rejection names the file and a path inside the descriptor; `osm-l2net validate` (the console script) on a sample
exits 0 or 2 with `file: path: message` lines and never a traceback."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from osm_l2net import api
from osm_l2net.core.errors import InputError, L2NetError, Problem
from tests.reliability.conftest import Scale, report
from tests.support.descriptors import service_docs
from tests.support.mutation import mutate
from tests.unit import cdn

SEED = 20261126
ROOTS = ("nsd", "vnfd")  # every descriptor path starts inside one of the two documents
CLI = Path(sys.executable).with_name("osm-l2net")
Docs = dict[str, Any]  # file name -> document
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when there: writing is not what is under test


def generated(rnd: random.Random) -> Docs:
    """Either the CDN service or a random generated service (tests/support/descriptors.py), as files' documents."""
    if rnd.random() < 0.5:
        nsd, vnfds = cdn.docs()
        return {"nsd.yaml": nsd, **{f"{k}.yaml": v for k, v in vnfds.items()}}
    nsd, generated_vnfds = service_docs(rnd.randint(1, 2), rnd.randint(1, 4), rnd.randint(1, 3),
                                        prefix=rnd.choice([24, 26, 28]), pin_every=rnd.randint(0, 3),
                                        seed=rnd.randrange(2**16))
    return {"nsd.yaml": nsd, **{f"vnfd-{i}.yaml": v for i, v in enumerate(generated_vnfds)}}


def case(seed: int) -> tuple[Docs, list[str]]:
    """The documents of one case and the changes made: 1 in 10 left intact (they must be accepted), else 1-4 changes
    to one randomly chosen document."""
    rnd = random.Random(seed)
    docs = generated(rnd)
    if rnd.random() < 0.1:
        return docs, []
    target = rnd.choice(sorted(docs))
    return docs, [f"{target}: {mutate(docs[target], rnd)}" for _ in range(rnd.randint(1, 4))]


def write(docs: Docs, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, doc in docs.items():
        (folder / name).write_text(yaml.dump(doc, Dumper=DUMPER, sort_keys=False))
    return sorted(str(folder / name) for name in docs)


def kindless(docs: Docs) -> set[str]:
    """Files whose document is no descriptor at all (no top-level 'nsd'/'vnfd'): there is no path inside to name."""
    return {name for name, doc in docs.items()
            if not isinstance(doc, dict) or not {str(k).split(":")[-1] for k in doc} & set(ROOTS)}


def unlocated(problems: list[Problem], files: list[str], docs: Docs) -> tuple[list[str], int]:
    """Error problems that do not name one of the files and a path starting inside a descriptor; and how many are
    about a whole document that is no descriptor (allowed to name the document only; see docs/reliability.md)."""
    bad, whole = [], 0
    no_kind = {f for f in files if Path(f).name in kindless(docs)}
    for p in problems:
        if p.severity != "error":
            continue
        root = re.split(r"[.\[ ]", p.path, maxsplit=1)[0]
        if p.source in no_kind and root in ("", "document"):
            whole += 1
        elif p.source not in files or root not in ROOTS:
            bad.append(str(p) or repr(p))
    return bad, whole


@dataclass
class Tally:
    accepted: int = 0
    rejected: int = 0
    problems: int = 0
    document_level: int = 0
    failures: list[str] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)


def run_case(seed: int, folder: Path, tally: Tally) -> None:
    docs, changes = case(seed)
    tally.actions.update(c.split(": ", 1)[1].split(" ", 1)[0] for c in changes)
    files = write(docs, folder)
    try:
        problems = api.validate(files)
    except InputError as e:  # unreadable input: the loader raises, with located problems
        problems = list(e.problems)
    except L2NetError as e:
        tally.failures.append(f"seed {seed} {changes}: {type(e).__name__} without located problems: {e}")
        return
    except Exception as e:  # the campaign counts escapes instead of stopping at the first
        tally.failures.append(f"seed {seed} {changes}: uncaught {type(e).__name__}: {e}")
        return
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        tally.accepted += 1
    else:
        tally.rejected += 1
        tally.problems += len(errors)
        bad, whole = unlocated(errors, files, docs)
        tally.document_level += whole
        tally.failures.extend(f"seed {seed} {changes}: rejection without a descriptor path: {b}" for b in bad)
    if not changes and errors:
        tally.failures.append(f"seed {seed}: an intact generated service was rejected: {errors[0]}")


def test_mutated_descriptors_are_rejected_with_located_problems_or_accepted(scale: Scale, tmp_path: Path) -> None:
    count = scale(500, 10_000)
    tally = Tally()
    started = time.monotonic()
    for i in range(count):
        run_case(SEED + i, tmp_path / "case", tally)
    report("descriptors", scale, seed=SEED, cases=count, accepted=tally.accepted, rejected=tally.rejected,
           problems=tally.problems, document_level=tally.document_level, escapes=len(tally.failures), seconds=round(time.monotonic() - started, 1),
           changes=dict(sorted(tally.actions.items())))
    assert not tally.failures, "\n".join(tally.failures[:20])
    assert tally.accepted + tally.rejected == count
    assert tally.accepted >= count // 20 and tally.rejected >= count // 4, "the mix proves both outcomes"


LINE = re.compile(r"^(error|warning): (?P<file>/\S+\.yaml): (?P<path>(nsd|vnfd)\S*): \S")


def test_the_validate_command_on_a_sample_exits_0_or_2_with_located_lines(scale: Scale, tmp_path: Path) -> None:
    count = scale(5, 100)
    codes: Counter[int] = Counter()
    started = time.monotonic()
    for i in range(count):
        seed = SEED + 7_000_000 + i
        docs, changes = case(seed)
        files = write(docs, tmp_path / f"case{i}")
        done = subprocess.run([str(CLI), "validate", *files], capture_output=True, text=True, timeout=120,
                              check=False)
        codes[done.returncode] += 1
        both = done.stdout + done.stderr
        where = f"seed {seed} {changes}: exit {done.returncode}\n{both}"
        assert "Traceback" not in both and "internal error" not in both, where
        assert done.returncode in (0, 2), where
        if done.returncode == 2:
            errors = [line for line in both.splitlines() if line.startswith("error: ")]
            whole = {f for f in files if Path(f).name in kindless(docs)}  # finding 1: no path inside to name
            assert errors and all(LINE.match(line) or line.split(": ")[1] in whole for line in errors), where
        else:
            assert not changes or "valid" in done.stdout, where
    report("validate-cli", scale, seed=SEED + 7_000_000, runs=count, exit0=codes[0], exit2=codes[2],
           seconds=round(time.monotonic() - started, 1))
    assert codes[2] > 0, "the sample holds rejected descriptors"
