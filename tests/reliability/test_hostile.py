"""Campaign 6: hostile input through the console script. Generated YAML (alias bombs, deep nesting, huge scalars, odd
tags, binary, invalid UTF-8), archives (traversal, links, devices, huge, tar bombs, not gzip under a .tar.gz name) and
``--config`` values go to ``.venv/bin/osm-l2net validate|plan`` in a subprocess capped in memory (RLIMIT_AS) and time;
every run must exit 2 with located ``error:`` lines (the file, then a descriptor path, a line/column, a member or the
file-level reason), print a bounded amount, never ``internal error`` or a traceback, and leave no file in its private
TMPDIR nor a partial unpack in the package cache. The caps are safety limits, not goals: bench/yaml_bench.py
measures time and memory.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CDN_PACKAGES
from tests.reliability.conftest import Scale, report

EXE = Path(sys.executable).with_name("osm-l2net")
MEMORY_CAP = 1024 * 2**20  # bytes of address space per run (a Python with the project's imports uses ~300 MiB of it)
TIME_CAP = 60  # seconds per run
OUTPUT_CAP = 64 * 1024  # what one run may print: messages quote values cut short
# always one real mistake (a VNFD that is not given), whatever the hostile part does; TARGETS leave df and vnfd-id alone
BASE_NSD = ("nsd:\n  nsd:\n  - id: hostile\n    vnfd-id: [missing-vnfd]\n"
            "    df: [{id: default-df, vnf-profile: [{id: '1', vnfd-id: missing-vnfd}]}]\n")
LOCATED = re.compile(
    r"(nsd|vnfd|vld|additionalParamsFor\w+|k8s-namespace)\b|line \d+, column \d+|document \d+|member '|\('!!yaml' string|"
    r"is not UTF-8 text \(byte \d+|is [\d.,]+ (MiB|bytes), more than|top-level keys|the folder holds no|"
    r"is not a readable package archive|unpacks to more than|has more than [\d,]+ members|cannot be read|"
    r"no NSD found|is a (list|str|int|float|bool|bytes|set|tuple|date|datetime)\b|"
    r"is neither a YAML descriptor nor an OSM package|is a zip archive|pre-SOL006"  # main's reading by content
)
stats: Counter[str] = Counter()


class Generated:
    """One generated input with a short repr: hypothesis prints examples (and warns past 30 kB, an error here under
    ``-W error``), and some are megabytes. A plain class: hypothesis's pretty-printer would print a str/bytes subclass
    or a dataclass in full."""

    __slots__ = ("data", "kind")

    def __init__(self, kind: str, data: Any) -> None:
        self.kind, self.data = kind, data

    def __repr__(self) -> str:
        return f"Generated({self.kind}, {len(self.data):,} long: {self.data[:60]!r}{'…' if len(self.data) > 60 else ''})"


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(home: Path, *args: str) -> Run:
    """The console script under the caps, with a private HOME, TMPDIR and package cache below ``home``."""
    tmp, cache = home / "tmp", home / "cache"
    tmp.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp),
           "XDG_CACHE_HOME": str(cache), "LANG": "C.UTF-8"}
    started = time.monotonic()
    done = subprocess.run([str(EXE), *args], capture_output=True, timeout=TIME_CAP, check=False, env=env,
                          preexec_fn=_cap)
    return Run(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"),
               time.monotonic() - started)


def check_refused(run: Run, home: Path, sources: set[str], what: str) -> None:
    """Exit 2; every error line located in one of ``sources``; bounded output; nothing left behind."""
    where = f"{what}: exit {run.code} in {run.seconds:.1f} s\nstdout: {run.out[:3000]}\nstderr: {run.err[:3000]}"
    assert run.code == 2, where
    assert "Traceback" not in run.out + run.err and "internal error" not in run.err, where
    assert len(run.out) + len(run.err) < OUTPUT_CAP, f"{len(run.out) + len(run.err)} characters printed: {where[:500]}"
    errors = [line for line in (run.out + run.err).splitlines() if line.startswith("error: ")]
    assert errors, where
    for line in errors:
        source = next((s for s in sources if line.startswith(f"error: {s}: ") or line == f"error: {s}"), None)
        assert source is not None, f"not located in {sorted(sources)}: {line[:300]}"
        assert LOCATED.search(line[len(f"error: {source}: "):]), f"no path or reason: {line[:300]}"
    left = sorted(str(p.relative_to(home)) for p in (home / "tmp").rglob("*"))
    packages = home / "cache" / "osm-l2net" / "packages"
    partial = sorted(p.name for p in packages.iterdir() if not re.fullmatch(r"[0-9a-f]{16}", p.name)) \
        if packages.is_dir() else []
    assert left == [] and partial == [], f"left behind: {left} {partial}"
    kind = what.split(":", maxsplit=1)[0]
    stats[kind] += 1
    stats[f"slowest_ms:{kind}"] = max(stats[f"slowest_ms:{kind}"], round(run.seconds * 1000))


# --- hostile YAML -------------------------------------------------------------------------------------------------

def alias_bomb(levels: int, width: int, merge: bool) -> str:
    lines = [f"    l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * width)
        lines.append(f"    l{i}: &l{i} {{<<: [{refs}]}}" if merge and i == 1 else f"    l{i}: &l{i} [{refs}]")
    return BASE_NSD + "\n".join(lines) + "\n"


def deep(levels: int, style: str) -> str:
    if style == "flow":
        return BASE_NSD + "    x: " + "[" * levels + "]" * levels + "\n"
    if style == "map":
        return BASE_NSD + "    x: " + "{a: " * levels + "1" + "}" * levels + "\n"
    return BASE_NSD + "    x:\n" + "".join("  " * (i + 3) + "- k:\n" for i in range(levels))


ODD_TAGS = ("!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1, b: 2]", "!!pairs [a: 1, a: 2]", "!!timestamp 2001-12-14",
            "!!python/object:os.system ls", "!!python/name:os.system", "!custom x", "!!float .nan", "!!int 0x1F",
            "!!str", "!!null ~", "!<tag:example.com,2000:x> y", "!!bool yes", "!!merge <<", "!!value =", "!!map {}",
            "!!seq []", "&a *a", "? [a, b]\n    : c", "{[1]: 2}")
TARGETS = ("id", "virtual-link-desc", "version", "designer", "name", "description", "x-other")


@st.composite
def hostile_yaml(draw: st.DrawFn, kind: str) -> Generated:
    return Generated(*_hostile_yaml(draw, kind))


YAML_KINDS = ("bomb", "deep", "scalar", "tag", "binary", "utf8", "mutated")


def _hostile_yaml(draw: st.DrawFn, kind: str) -> tuple[str, bytes]:
    if kind == "bomb":
        text = alias_bomb(draw(st.integers(2, 14)), draw(st.integers(2, 12)), draw(st.booleans()))
    elif kind == "deep":
        text = deep(draw(st.integers(50, 3000)), draw(st.sampled_from(["flow", "map", "block"])))
    elif kind == "scalar":
        size = draw(st.sampled_from([10**4, 10**6, 5 * 10**6, 17 * 2**20]))
        where = draw(st.sampled_from(["value", "key", "quoted-key", "comment"]))
        big = "v" * size
        text = {"value": f"{BASE_NSD}    virtual-link-desc: [{{id: {big}}}]\n", "key": f"{BASE_NSD}    {big}: 1\n",
                "quoted-key": f'{BASE_NSD}    "{big}": 1\n', "comment": f"{BASE_NSD}# {big}\n"}[where]
    elif kind == "tag":
        tag = draw(st.sampled_from(ODD_TAGS))
        text = f"{BASE_NSD}    {draw(st.sampled_from(TARGETS))}: {tag}\n"
    elif kind == "binary":
        return kind, draw(st.binary(min_size=1, max_size=4096))
    elif kind == "utf8":
        raw = (BASE_NSD + "    name: café\n").encode()
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf\xef\xbb\xbf",
                                    b"\x1b[31m", b"\xfe\xff"]))
        cut = draw(st.integers(0, len(raw)))
        return kind, raw[:cut] + bad + raw[cut:]
    else:
        raw = BASE_NSD.encode()
        flips = draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), min_size=1, max_size=8))
        data = bytearray(raw)
        for at, value in flips:
            data[at] = value
        return kind, bytes(data)
    return kind, text.encode()


def campaign(kinds: tuple[str, ...], strategy: Callable[[str], st.SearchStrategy[Any]], extra: st.SearchStrategy[Any],
             examples: int, body: Callable[[Any, Any], None]) -> None:
    """``examples`` hypothesis examples of each kind (every kind in every mode, the fast one too)."""
    for kind in kinds:
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(case=strategy(kind), extra=extra)
        def one(case: Any, extra: Any) -> None:
            body(case, extra)

        one()


def test_hostile_yaml_files_are_refused_with_located_errors(scale: Scale) -> None:
    stats.clear()

    def body(case: Generated, command: str) -> None:
        kind, data = case.kind, case.data
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            path = home / "hostile.yaml"
            path.write_bytes(data)
            check_refused(run_cli(home, command, str(path)), home, {str(path)}, f"yaml-{kind}: {command}")

    campaign(YAML_KINDS, hostile_yaml, st.sampled_from(["validate", "plan"]), scale(3, 57), body)
    report("hostile-yaml", scale, **dict(sorted(stats.items())))


# --- hostile archives ---------------------------------------------------------------------------------------------

def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b"") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def _zero_bomb(size: int) -> bytes:
    """A gzip'd tar whose one member is ``size`` zero bytes, written in pieces (never held whole in memory)."""
    import gzip

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as gz:
        info = tarfile.TarInfo("pkg/zeros")
        info.size = size
        gz.write(info.tobuf())
        chunk = b"\0" * 2**20
        for _ in range(size // len(chunk)):
            gz.write(chunk)
        gz.write(b"\0" * (size % len(chunk) + (-size) % 512) + b"\0" * 1024)
    return buffer.getvalue()


ARCHIVE_KINDS = ("traversal", "absolute", "symlink", "hardlink", "device", "fifo", "bomb", "many", "not-gzip",
                 "truncated", "garbage-gzip", "bz2", "xz", "empty", "hostile-yaml")


@st.composite
def hostile_archive(draw: st.DrawFn, kind: str) -> Generated:
    return Generated(kind, _hostile_archive(draw, kind))


def _hostile_archive(draw: st.DrawFn, kind: str) -> bytes:
    import gzip

    descriptor = BASE_NSD.encode()
    good = _member("pkg/pkg.yaml", data=descriptor)
    name = draw(st.sampled_from(["../../escaped.yaml", "pkg/../../x.yaml", "../x"]))
    members = {
        "traversal": [good, _member(name, data=b"x")],
        "absolute": [good, _member("/tmp/escaped.yaml", data=b"x")],
        "symlink": [good, _member("pkg/link", tarfile.SYMTYPE, draw(st.sampled_from(["/etc/passwd", "pkg.yaml", "../.."])))],
        "hardlink": [good, _member("pkg/link", tarfile.LNKTYPE, draw(st.sampled_from(["/etc/passwd", "pkg/pkg.yaml"])))],
        "device": [good, _member("pkg/dev", tarfile.CHRTYPE)],
        "fifo": [good, _member("pkg/fifo", tarfile.FIFOTYPE)],
        "hostile-yaml": [_member("pkg/pkg.yaml", data=alias_bomb(10, 10, False).encode())],
    }
    if kind in members:
        return gzip.compress(_tar(members[kind]))
    whole = gzip.compress(_tar([good]))
    makers = {
        "bomb": lambda: _zero_bomb(draw(st.sampled_from([8, 64, 300])) * 2**20),
        "many": lambda: gzip.compress(_tar([good] + [_member(f"pkg/f{i}")
                                                     for i in range(draw(st.integers(10_001, 10_100)))])),
        "not-gzip": lambda: draw(st.sampled_from([b"just text, not an archive\n" * 20, descriptor, b"PK\x03\x04zip"])),
        "truncated": lambda: whole[:draw(st.integers(1, len(whole) - 1))],
        "garbage-gzip": lambda: b"\x1f\x8b\x08\x00" + draw(st.binary(min_size=0, max_size=512)),
        "bz2": lambda: bz2.compress(_tar([good, _member("../x", data=b"x")])),
        "xz": lambda: lzma.compress(_tar([good, _member("pkg/l", tarfile.SYMTYPE, "/")])),
        "empty": lambda: b"",
    }
    return makers[kind]()


def test_hostile_archives_are_refused_and_leave_nothing_behind(scale: Scale) -> None:
    stats.clear()

    def body(case: Generated, suffix: str) -> None:
        kind, data = case.kind, case.data
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            path = home / f"hostile{suffix}"
            path.write_bytes(data)
            cached = home / "cache" / "osm-l2net" / "packages"
            run = run_cli(home, "validate", str(path))
            sources = {str(path)} | {str(p) for p in cached.glob("*/pkg/pkg.yaml")} | {str(p) for p in cached.glob("*")} \
                | {str(p) for p in cached.glob("*/*")}
            check_refused(run, home, sources, f"archive-{kind}: validate")
            assert not (home / "escaped.yaml").exists() and not Path("/tmp/escaped.yaml").exists()

    campaign(ARCHIVE_KINDS, hostile_archive, st.sampled_from([".tar.gz", ".tgz"]), scale(1, 20), body)
    report("hostile-archives", scale, **dict(sorted(stats.items())))


# --- hostile --config ---------------------------------------------------------------------------------------------

CONFIG_KINDS = ("bomb", "deep", "yaml-string", "long", "tag", "not-mapping", "invalid")


@st.composite
def hostile_config(draw: st.DrawFn, kind: str) -> Generated:
    return Generated(kind, _config_text(draw, kind))


def _config_text(draw: st.DrawFn, kind: str) -> str:
    broken = "vld: [{name: no-such-vld}]"  # always one real mistake, whatever the hostile part does
    if kind == "bomb":
        levels, width = draw(st.integers(2, 12)), draw(st.integers(2, 10))
        anchors = "a0: &a0 [x, x]" + "".join(f", a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]"
                                            for i in range(1, levels))
        return f"{{{broken}, additionalParamsForNs: {{{anchors}}}}}"
    if kind == "deep":
        n = draw(st.integers(50, 2000))
        return f"{{{broken}, additionalParamsForNs: {{x: {'[' * n}{']' * n}}}}}"
    if kind == "yaml-string":
        inner = draw(st.sampled_from(["[[[[", "&a [*a]", "!!python/object:os.system x", "'" + "[" * 500 + "]" * 500 + "'",
                                      "{a: &a [1,2], b: [*a, *a]}", "\\x00"]))
        return (f"{{{broken}, additionalParamsForVnf: [{{member-vnf-index: cdn, additionalParams: "
                f"{{x: \"!!yaml {inner}\"}}}}]}}")
    simple = {
        "long": lambda: f"{{{broken}, additionalParamsForNs: {{x: '{'a' * draw(st.integers(256, 120_000))}'}}}}",
        "tag": lambda: f"{{{broken}, additionalParamsForNs: {{x: {draw(st.sampled_from(ODD_TAGS[:12]))}}}}}",
        "not-mapping": lambda: draw(st.sampled_from(["[1, 2]", "42", "'text'", "!!binary aGVsbG8=", "- a\n- b"])),
        "invalid": lambda: draw(st.sampled_from(["{", "a: [", "{a: 1, a: 2", "\t{}", "%YAML 9.9\n---\n{}", "*undefined"])),
    }
    return simple[kind]()


def test_hostile_config_values_are_refused_with_located_errors(scale: Scale) -> None:
    stats.clear()

    def body(case: Generated, as_file: bool) -> None:
        kind, config = case.kind, case.data
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            value = config
            if as_file:
                (home / "config.yaml").write_text(config)
                value = str(home / "config.yaml")
            run = run_cli(home, "plan", *CDN_PACKAGES, "--config", value)
            check_refused(run, home, {value if as_file else "--config"}, f"config-{kind}: plan")

    campaign(CONFIG_KINDS, hostile_config, st.booleans(), scale(2, 43), body)
    report("hostile-config", scale, **dict(sorted(stats.items())))


def test_the_caps_let_a_normal_run_through(tmp_path: Path) -> None:
    """The memory and time caps are not what refuses the hostile input: the CDN service plans under them."""
    run = run_cli(tmp_path, "plan", *CDN_PACKAGES)
    assert run.code == 0, run.err


@pytest.mark.parametrize("case", ["alias-bomb-1k", "nested-995"])
def test_the_issue_cases_exit_2(tmp_path: Path, case: str) -> None:
    """The two files of issue 14 (their time and memory are measured in bench/yaml_bench.py)."""
    text = alias_bomb(9, 9, False) if case == "alias-bomb-1k" else deep(995, "flow")
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    assert path.stat().st_size <= 1024 or case == "nested-995"
    run = run_cli(tmp_path, "validate", str(path))
    check_refused(run, tmp_path, {str(path)}, case)
    assert ("nests deeper" if case == "nested-995" else "has aliases that add more than") in run.out + run.err
