"""The fast dumps (render.dump_json / dump_yaml) against the libraries they stand in for, byte for byte, on arbitrary
nested data: strings chosen to hit every quoting rule of PyYAML (indicators, resolvable scalars, spaces that fold at
width 120, non-ASCII, long keys), tuples and read-only mappings as the plan holds them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import types
from dataclasses import replace
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from osm_l2net import api
from osm_l2net.core.plan import Plan, plain
from osm_l2net.core.render import dump, dump_json, dump_yaml, plan_dot
from tests.conftest import CDN_PACKAGES, REPO

TRICKY = ["", " ", "a b", "a: b", "a:", "a #b", "#a", "-", "- a", "-a", "?", "? a", ":", "---", "...", "--- a", "yes",
          "No", "on", "~", "null", "Null", "=", "<<", "10", "1.5", "1e3", "0x1f", "0o7", "1_000", "2001-01-01",
          "12:30:00", ".inf", "-.5", "+1", "[1]", "{a}", "a,b", "'q'", '"q"', "a'b", "!tag", "&anchor", "*alias", "%x",
          "@x", "`x", "|x", ">x", "x\ny", "\tx", "x ", " x", "é", "\u2028", "🙂", "a" * 130, "word " * 40,
          '[{"name":"vod-service-deployment-my-first-osm-net-9a3627f5","ips":["10.0.1.10/24"]}]', "10.0.1.10/24",
          "net1", "l2sm/networks", "osm.etsi.org/ns-id"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False), st.sampled_from(TRICKY), st.text(max_size=30),
                    st.lists(st.sampled_from(["a", " ", "b", ":", "#", "-", "'", "1"]), max_size=150).map("".join),
                    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=130),
                    st.builds(lambda n, tail: "x" * n + tail, st.integers(80, 125),
                              st.sampled_from(["", " y", " yy zz", ": y", " #y", "  y"])))
keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12), st.integers(0, 5), st.booleans())


def trees() -> st.SearchStrategy[Any]:
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=4), st.dictionaries(keys, inner, max_size=3).map(types.MappingProxyType)),
        max_leaves=25)


def pyyaml(data: Any) -> str:
    return yaml.safe_dump(plain(data), sort_keys=False, default_flow_style=False, width=120)


@settings(max_examples=int(os.environ.get("OSM_L2NET_RENDER_EXAMPLES", "400")), deadline=None)
@given(trees())
def test_yaml_is_pyyamls_text(data: Any) -> None:
    assert "".join(dump_yaml(data)) == pyyaml(data)


@settings(max_examples=300, deadline=None)
@given(trees())
def test_json_is_json_dumps_text(data: Any) -> None:
    assert "".join(dump_json(data)) == json.dumps(plain(data), indent=2)


def test_deep_and_flat_containers_at_every_depth() -> None:
    data = {"a": [{"b": {"c": [[1, "x y"], [], {}], "d": "word " * 40}}, ["- a", "yes", {"k": ("t", None)}]],
            "long " * 30: {"v": 1}, "": "", "e": types.MappingProxyType({"f": ["'"]})}
    assert dump(data, "yaml") == pyyaml(data)
    assert dump(data, "json") == json.dumps(plain(data), indent=2)


def test_nesting_deeper_than_the_fast_paths_indentation_tables() -> None:
    data: Any = "leaf"
    for depth in range(90):  # past render's 64 JSON depths and 128 YAML columns, mappings and sequences mixed
        data = {"k": data, "n": depth} if depth % 3 else [data, {"a b": depth}]
    assert dump(data, "yaml") == pyyaml(data)
    assert dump(data, "json") == json.dumps(plain(data), indent=2)


def test_a_key_only_pyyaml_can_write_after_keys_the_fast_path_wrote() -> None:
    for data in ([{"a": 1, "é": 2}], {"x": {"a": [1], 3: "y", "3": "z"}}, {"k": {"a": 1, "long" * 40: 2}}):
        assert dump(data, "yaml") == pyyaml(data)
        assert dump(data, "json") == json.dumps(plain(data), indent=2)


def test_scalars_and_empty_documents() -> None:
    data: Any
    for data in ({}, [], "x", None, 1, [[]], {"a": {}}):
        assert dump(data, "yaml") == pyyaml(data)
        assert dump(data, "json") == json.dumps(plain(data), indent=2)


# ---- the topology picture (graph) -------------------------------------------------------------------------------------

def laid_out(plan: Plan) -> dict[str, tuple[float, float, str]]:
    """Graphviz's own layout of plan_dot: node name -> (x, y, fill colour), y growing upwards (dot -Tplain)."""
    done = subprocess.run(["dot", "-Tplain"], input=plan_dot(plan), capture_output=True, text=True, timeout=60,
                          check=True)
    nodes = {}
    for line in done.stdout.splitlines():
        if line.startswith("node "):
            name, x, y = shlex.split(line)[1:4]
            nodes[name] = (float(x), float(y), line.rsplit(" ", 1)[1])
    return nodes


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (Debian: graphviz; scripts/setup installs it)")
def test_the_router_chain_reads_top_to_bottom_with_routers_between_their_buses() -> None:
    nodes = laid_out(api.plan([str(REPO / "examples" / "two_routers")], ns_name="chain"))
    chain = ["vl:net-a", "knf:router-1/router", "vl:net-b", "knf:router-2/router", "vl:net-c", "knf:server/host"]
    heights = [nodes[n][1] for n in chain]
    assert heights == sorted(heights, reverse=True) and len(set(heights)) == len(heights), heights
    assert nodes["knf:client/host"][1] < nodes["vl:net-a"][1]  # a host hangs below its bus
    assert nodes["legend"][1] < min(heights)  # the legend at the bottom
    routers = {nodes[n][2] for n in chain if "router-" in n}
    assert len(routers) == 1 and routers != {nodes["knf:client/host"][2]}  # routers one colour, hosts another


def test_the_picture_names_the_ns_buses_subnets_and_addresses_once() -> None:
    plan = api.plan([str(REPO / "examples" / "two_routers")], ns_name="chain-demo")
    dot = plan_dot(plan)
    assert "<b>NS chain-demo</b>" in dot and "NSD two_routers_ns" in dot
    for n in plan.networks:
        assert f"<b>{n.vld_id}</b>   {n.cidr}" in dot
    for k in plan.kdus:
        for i in k.interfaces:
            assert dot.count(f"<b>{i.address}</b> {i.name}>") == 1, i
    assert "router: forwards between its links" in dot  # the legend says what the orange boxes are
    cdn = plan_dot(api.plan(CDN_PACKAGES, ns_name="vod"))
    assert "KDU cdn-server" not in cdn  # a KDU named as its KNF is not named twice
    assert "KDU router" in dot  # ... one with its own name is


def test_pure_l2_links_and_unaddressed_interfaces_are_drawn() -> None:
    plan = api.plan([str(REPO / "examples" / "two_routers")], ns_name="l2")
    l2 = replace(plan, networks=tuple(replace(n, cidr=None) if n.vld_id == "net-b" else n for n in plan.networks),
                 kdus=tuple(replace(k, interfaces=tuple(replace(i, ip=None) if i.vld_id == "net-b" else i
                                                        for i in k.interfaces)) for k in plan.kdus))
    dot = plan_dot(l2)
    assert "<b>net-b</b>   <i>L2 only</i>" in dot
    edges = [line for line in dot.splitlines() if "->" in line and '"vl:net-b"' in line]
    assert len(edges) == 2 and all(re.search(r"\[label=<net\d>\];$", e) for e in edges), edges  # no address
    assert not re.search(r"\[label=<net\d>\]", plan_dot(plan))
