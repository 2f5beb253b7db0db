"""The fast dumps (render.dump_json / dump_yaml) against the libraries they stand in for, byte for byte, on arbitrary
nested data: strings chosen to hit every quoting rule of PyYAML (indicators, resolvable scalars, spaces that fold at
width 120, non-ASCII, long keys), tuples and read-only mappings as the plan holds them."""

from __future__ import annotations

import json
import types
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from osm_l2net.plan import plain
from osm_l2net.render import dump, dump_json, dump_yaml

TRICKY = ["", " ", "a b", "a: b", "a:", "a #b", "#a", "-", "- a", "-a", "?", "? a", ":", "---", "...", "--- a", "yes",
          "No", "on", "~", "null", "Null", "=", "<<", "10", "1.5", "1e3", "0x1f", "0o7", "1_000", "2001-01-01",
          "12:30:00", ".inf", "-.5", "+1", "[1]", "{a}", "a,b", "'q'", '"q"', "a'b", "!tag", "&anchor", "*alias", "%x",
          "@x", "`x", "|x", ">x", "x\ny", "\tx", "x ", " x", "é", "\u2028", "🙂", "a" * 130, "word " * 40,
          '[{"name":"vod-service-deployment-my-first-osm-net-9a3627f5","ips":["10.0.1.10/24"]}]', "10.0.1.10/24",
          "net1", "l2sm/networks", "osm.etsi.org/ns-id"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False), st.sampled_from(TRICKY), st.text(max_size=30),
                    st.lists(st.sampled_from(["a", " ", "b", ":", "#", "-", "'", "1"]), max_size=150).map("".join))
keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12), st.integers(0, 5), st.booleans())


def trees() -> st.SearchStrategy[Any]:
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=4), st.dictionaries(keys, inner, max_size=3).map(types.MappingProxyType)),
        max_leaves=25)


def pyyaml(data: Any) -> str:
    return yaml.safe_dump(plain(data), sort_keys=False, default_flow_style=False, width=120)


@settings(max_examples=400, deadline=None)
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


def test_scalars_and_empty_documents() -> None:
    for data in ({}, [], "x", None, 1, [[]], {"a": {}}):
        assert dump(data, "yaml") == pyyaml(data)
        assert dump(data, "json") == json.dumps(plain(data), indent=2)
