"""yamlsafe's event path (objects built straight from libyaml's events) against the composed-graph path and plain
``yaml.load_all(CSafeLoader)``: the same data (same types, same key order), the same errors, for generated documents
and every YAML file of the repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osm_l2net.core import yamlsafe
from osm_l2net.core.yamlsafe import YamlInputError, YamlLimits
from tests.support.descriptors import service_docs

ROOT = Path(__file__).resolve().parents[2]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
pytestmark = pytest.mark.skipif(LOADER is yaml.SafeLoader, reason="PyYAML built without libyaml: no event path")

# scalars whose resolution or construction is easy to get wrong, and the ones the event path leaves to the graph
ODD = ["0o17", "017", "0777", "1_000", "1__0", "0x1F", "0x_", "0b101", "0b_", "+12", "-0", "190:20:30", "1:20",
       "1e3", "1.5e+3", "6.8523015e+5", "0.", "._", ".inf", "-.INF", "+.Inf", ".nan", ".NaN", "yes", "no", "on", "off",
       "Yes", "OFF", "y", "n", "true", "False", "TRUE", "~", "null", "Null", "NULL", "", "2001-12-14",
       "2001-12-14t21:59:43.10-05:00", "<<", "=", "foo bar", "é ü", "- x", "a: b", "#x", "'single'", "'it''s'",
       '"dq\\n\\t"', '"true"', "'123'", '"0o17"', "!!str 123", '!!int "12"', "!!float 1", "!!binary aGVsbG8=",
       "!!null ''", "! 12", "!local x", "!!timestamp 2001-12-14", "|-\n  lit\n", ">\n  folded\n  text\n"]


def as_flow(text: str) -> str:
    """A scalar usable inside flow collections (block scalars and plain texts with flow indicators quoted)."""
    if text.startswith(("|", ">")) or any(c in text for c in ",[]{}") or text.startswith(("- ", "a:")):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


@st.composite
def documents(draw: st.DrawFn) -> str:
    anchors: list[str] = []

    def node(depth: int, flow: bool, indent: int) -> str:
        roll = draw(st.integers(0, 9))
        if (roll <= 4 or depth >= 4) and anchors and draw(st.integers(0, 9)) == 0:
            return f"*{draw(st.sampled_from(anchors * 3 + ['undefined']))}"  # mostly an anchor seen before
        prefix = ""
        if draw(st.integers(0, 11)) == 0:
            name = f"a{len(anchors)}"
            anchors.append(name)
            prefix = f"&{name} "
        if roll <= 4 or depth >= 4:
            if draw(st.booleans()):
                text = draw(st.sampled_from(ODD))
            else:  # any text: plain when it is letters and digits, else double-quoted with escapes (JSON's are YAML's)
                text = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6))
                ascii_escapes = draw(st.booleans()) and max(map(ord, text), default=0) < 0x10000  # no surrogate pairs
                text = text if text.isalnum() else json.dumps(text, ensure_ascii=ascii_escapes)
            if flow or "\n" in text:
                text = as_flow(text) if flow or not text.startswith(("|", ">")) else text.replace(
                    "\n  ", "\n" + " " * (indent + 2))
            return prefix + (text if text.strip() == text or text.startswith(("|", ">")) else repr(text))
        size = draw(st.integers(0, 3))
        mapping = roll <= 7
        inner_flow = flow or draw(st.booleans()) or size == 0
        if inner_flow:
            items = [f"{node(depth + 1, True, 0)}: {node(depth + 1, True, 0)}" if mapping
                     else node(depth + 1, True, 0) for _ in range(size)]
            return prefix + ("{%s}" if mapping else "[%s]") % ", ".join(items)
        pad = " " * (indent + 2)
        lines = []
        for _ in range(size):
            value = node(depth + 1, False, indent + 2)
            sep = "" if value.startswith("\n") else " "
            if mapping:
                key = as_flow(draw(st.sampled_from([*ODD[:48], "key", "name", "id"])))
                lines.append(f"{pad}{key}:{sep}{value}")
            else:
                lines.append(f"{pad}-{sep}{value}")
        return prefix + "\n" + "\n".join(lines)

    count = draw(st.integers(1, 3))
    docs = []
    for _ in range(count):  # anchors are per document
        anchors.clear()
        docs.append(node(0, False, -2))
    return "\n---\n".join(d.lstrip("\n") if d.startswith("\n") else d for d in docs) + "\n"


def outcome(read: Any, text: str) -> tuple[str, str]:
    try:
        return "data", repr(read(text))  # repr: types (1 vs 1.0 vs True), key order and nan all compared
    except YamlInputError as e:
        return "YamlInputError", str(e)
    except Exception as e:  # the error class is what is compared
        return type(e).__name__, ""


def composed(text: str) -> list[Any]:
    return list(yamlsafe._composed(text, yamlsafe.DEFAULT_LIMITS, True))


def plain(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=LOADER))


def assert_same(text: str) -> None:
    fast = outcome(lambda t: yamlsafe.load_all(t, keep_empty=True), text)
    assert fast == outcome(composed, text), text
    expected = outcome(plain, text)
    if expected[0] == "data":  # unless a limit refuses it (a recursive alias is a list nested without end)
        assert fast == expected or "levels" in fast[1] or "aliases" in fast[1], text
    else:  # libyaml's own error, worded by yamlsafe; a constructor's ValueError passes through
        assert fast[0] in ("YamlInputError", expected[0]), (text, fast, expected)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_read_the_same_as_pyyaml(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize("text", [*ODD, "[" + ", ".join(as_flow(o) for o in ODD) + "]",
                                  "{" + ", ".join(f"{as_flow(o)}: {i}" for i, o in enumerate(ODD)) + "}",
                                  "a: &x [1]\nb: *x\n", "a: {x: 1}\nb:\n  <<: {x: 2, y: 3}\n  x: 4\n",
                                  "? [1, 2]\n: v\n", "? {a: 1}\n: v\n", "1: a\ntrue: b\n1.0: c\n", "k: 1\nk: 2\n",
                                  "!!set {a, b}\n", "!!omap [a: 1]\n", "- !!binary aGVsbG8=\n", "--- 1\n--- 2\n",
                                  "", "---\n", "--- \n...\n--- x\n", "a: [1, 2\n", "a: *nope\n", "\t- x\n",
                                  "a: 1\n- b\n", "0b_: 1\n", "x: !!int 0x_\n", "\x07"])
def test_odd_values_read_the_same_as_pyyaml(text: str) -> None:
    assert_same(text)


def repository_yaml() -> list[Path]:
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "*.yaml", "*.yml"], capture_output=True, text=True,
                            check=True).stdout.split()
    return [ROOT / name for name in listed]


def test_every_yaml_file_of_the_repository_reads_the_same() -> None:
    files = repository_yaml()
    assert len(files) > 10
    for path in files:
        assert_same(path.read_text(encoding="utf-8"))


def test_a_big_nsd_takes_the_event_path_and_reads_the_same() -> None:
    nsd, _ = service_docs(250, 4, 2)
    text = yaml.dump(nsd, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))
    fast = yamlsafe._from_events(text, yamlsafe.DEFAULT_LIMITS, False)  # raises _Unusual if it fell back
    assert repr(fast) == repr([yaml.load(text, Loader=LOADER)]) == repr(composed(text))


@pytest.mark.parametrize("text", ["a: &x 1\n", "a: *x\n", "a: !!str 1\n", "<<: {a: 1}\n", "t: 2001-12-14\n",
                                  "? [k]\n: v\n", "a: [1, 2\n"])
def test_what_the_event_path_leaves_to_the_composed_graph(text: str) -> None:
    with pytest.raises(yamlsafe._Unusual):
        yamlsafe._from_events(text, yamlsafe.DEFAULT_LIMITS, False)


@pytest.mark.parametrize("levels", [3, 4, 5])
def test_the_depth_limit_is_the_same_at_its_boundary(levels: int) -> None:
    limits = YamlLimits(max_depth=4)
    text = "[" * levels + "]" * levels + "\n"
    fast = outcome(lambda t: yamlsafe.load_all(t, limits), text)
    assert fast == outcome(lambda t: list(yamlsafe._composed(t, limits, False)), text)
    assert (fast[0] == "data") is (levels <= 4)


def test_the_expanded_limit_is_the_same_without_aliases() -> None:
    limits = YamlLimits(max_expanded=50)
    for text in ["[" + "1, " * 10 + "]\n", "[" + "1, " * 30 + "]\n", "just a long scalar well past fifty chars ......"]:
        fast = outcome(lambda t: yamlsafe.load_all(t, limits), text)
        assert fast == outcome(lambda t: list(yamlsafe._composed(t, limits, False)), text)
