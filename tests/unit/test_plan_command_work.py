"""What ``osm-l2net plan`` does for a big NS, checked by the work done rather than by the clock (issue 13, Why 2: the
table's picture scanned every interface for every network, the cycle collector ran while descriptors were loaded,
``-o yaml`` went through PyYAML's node graph, and the whole document was one string). The timings are bench/'s."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from osm_l2net.cli import common
from osm_l2net.cli.main import cli
from osm_l2net.core import render, yamlsafe
from osm_l2net.core.model import NsInstance
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from tests.conftest import CDN_PACKAGES
from tests.support.descriptors import descriptors, service_docs


class Counted(tuple):  # type: ignore[type-arg]
    """A tuple that counts how often it is walked (iterated or indexed)."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        Counted.walks += 1
        return super().__iter__()

    def __getitem__(self, index: Any) -> Any:
        Counted.walks += 1
        return super().__getitem__(index)


def generated(groups: int) -> Plan:
    """``groups`` chains of 6 links and 3 KNFs."""
    nsd, vnfds = service_docs(groups, 6, 3, pin_every=0)
    return build_plan(descriptors(nsd, vnfds), NsInstance("big", "big", "default"))


def interface_walks(plan: Plan, draw: Any) -> float:
    """How often ``draw(plan)`` walks each KDU's interfaces, on average."""
    counted = replace(plan, kdus=tuple(replace(k, interfaces=Counted(k.interfaces)) for k in plan.kdus))
    Counted.walks = 0
    draw(counted)
    return Counted.walks / len(plan.kdus)


@pytest.mark.parametrize("draw", [render.topology_ascii, render.plan_text, render.plan_dot],
                         ids=["topology_ascii", "plan_text", "plan_dot"])
def test_the_table_and_picture_walk_each_kdus_interfaces_a_fixed_number_of_times(draw: Any) -> None:
    """Linear in the NS: with 1 or 30 chains, each KDU's interfaces are walked as often (quadratic before: once per
    network, 10,000 times each for the 10,000-VL NSD)."""
    small, big = generated(1), generated(30)
    assert len(big.links()) > 20 * len(small.links())  # the probe: the NS grew
    assert interface_walks(small, draw) == interface_walks(big, draw) <= 6


@pytest.fixture
def package_files(tmp_path: Path) -> list[str]:
    nsd, vnfds = service_docs(2, 6, 3)
    paths = [tmp_path / "nsd.yaml", *(tmp_path / f"vnfd{i}.yaml" for i in range(len(vnfds)))]
    for path, doc in zip(paths, [nsd, *vnfds], strict=True):
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return [str(p) for p in paths]


@pytest.mark.parametrize("command", [["plan"], ["plan", "-o", "json"], ["validate"], ["graph", "--format", "dot"]],
                         ids=" ".join)
def test_descriptors_are_read_and_planned_with_the_cycle_collector_paused(
        monkeypatch: pytest.MonkeyPatch, package_files: list[str], command: list[str]) -> None:
    """The loader and the planner allocate millions of acyclic objects: the collector rescanning them was two thirds of
    the load time of a 10,000-VL NSD. Paused around the whole command (cli.planning.gc_paused), enabled again after."""
    seen: list[tuple[str, bool]] = []
    for name in ("load", "load_all"):
        real = getattr(yamlsafe, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            seen.append((_name, gc.isenabled()))
            return _real(*args, **kwargs)

        monkeypatch.setattr(yamlsafe, name, spy)
    real_emit = common.emit

    def emitting(*args: Any) -> None:
        seen.append(("emit", gc.isenabled()))
        real_emit(*args)

    monkeypatch.setattr(common, "emit", emitting)
    assert gc.isenabled()
    result = CliRunner().invoke(cli, [*command, *package_files])
    assert result.exit_code == 0, (result.output, result.exception)
    assert len([s for s in seen if s[0] != "emit"]) >= len(package_files), seen  # the probe saw every file read
    assert not [s for s in seen if s[1]], f"the collector ran while {seen}"
    assert gc.isenabled(), "paused for the command only"


class CountingRepresenter:
    """Records what PyYAML is asked to represent (to build a node graph of), whoever asks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[Any] = []
        real = yaml.representer.BaseRepresenter.represent

        def represent(representer: Any, data: Any) -> Any:
            self.seen.append(data)
            return real(representer, data)

        monkeypatch.setattr(yaml.representer.BaseRepresenter, "represent", represent)


def test_yaml_output_never_builds_pyyamls_node_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """-o yaml of real plans is written by render's own writer (byte for byte PyYAML's: tests/unit/test_render_plans.py);
    the node graph made -o yaml of 10,000 links half a minute and 439 MiB. PyYAML still writes, in place, a scalar it
    would fold (a long warning): one small mapping per such scalar, never the document."""
    counter = CountingRepresenter(monkeypatch)
    yaml.safe_dump({"probe": 1})
    assert counter.seen == [{"probe": 1}]  # the probe sees what safe_dump does
    counter.seen.clear()
    result = CliRunner().invoke(cli, ["plan", *CDN_PACKAGES, "-o", "yaml"])
    assert result.exit_code == 0 and yaml.safe_load(result.stdout)["kdus"]
    assert counter.seen == []
    big = generated(30)
    text = "".join(render.plan_yaml(big))
    assert len(text) > 100_000 and len(counter.seen) <= len(big.warnings), [repr(d)[:80] for d in counter.seen]
    assert all(len(repr(d)) < 1000 for d in counter.seen)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_big_plan_is_written_in_pieces_not_as_one_string(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """The document was built whole (json.dumps, then echo: a second copy of 20 MB for 10,000 links)."""
    plan = generated(100)
    writes: list[int] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(len(text))
            return super().write(text)

    out = Recorder()
    monkeypatch.setattr("sys.stdout", out)
    common.emit(fmt, plan, lambda: "")
    text = out.getvalue()
    assert json.loads(text) if fmt == "json" else yaml.safe_load(text)  # a whole document
    assert len(text) > 8 * render._CHUNK, "the probe: a plan several pieces long"
    assert len(writes) > 4 and max(writes) < len(text) / 4, writes
