"""The topology's plain-dict traversals against networkx, on random graphs; and the fast paths of names and lookups."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from osm_l2net.core.checks import first_by
from osm_l2net.core.errors import Problem
from osm_l2net.core.names import slug
from osm_l2net.core.topology import Edge, Topology, knf, vl

MEMBERS = [f"m{i}" for i in range(6)]
LINKS = [f"v{i}" for i in range(6)]

edges_st = st.lists(st.tuples(st.sampled_from(MEMBERS), st.sampled_from(LINKS),
                              st.sampled_from([None, "10.0.0.1", "10.0.0.2", "fd00::1"])), max_size=20)
override_st = st.dictionaries(st.sampled_from(MEMBERS), st.sampled_from([None, True, False]), max_size=6)
subnet_st = st.dictionaries(st.sampled_from(LINKS), st.sampled_from([None, "10.0.0.0/24"]), min_size=1, max_size=6)


def build(edges: Sequence[tuple[str, str, str | None]], subnets: Mapping[str, str | None],
          override: Mapping[str, bool | None]) -> Topology:
    return Topology(MEMBERS[:4], subnets, [Edge(m, v, ip) for m, v, ip in edges], override)


def islands_by_networkx(t: Topology) -> list[list[str]]:
    """The isolated groups of links as planning computed them on networkx before the plain-dict walk (the oracle)."""
    routed = nx.Graph()
    for a, b in t.graph.edges:
        member, link = (a, b) if a[0] == "knf" else (b, a)
        if t.forwarding.get(member[1]) or len(t.graph.adj[member]) == 1:
            routed.add_edge(a, b)
        else:  # a non-forwarding KNF joins its links' islands only as a leaf of each
            routed.add_edge((*member, link[1]), link)
    groups = [sorted(n[1] for n in comp if n[0] == "vl") for comp in nx.connected_components(routed)]
    return sorted(g for g in groups if g)


def islands_warning(warnings: list[Problem]) -> list[str]:
    return [w.message for w in warnings if w.path == "virtual links"]


@settings(max_examples=300, deadline=None)
@given(edges_st, subnet_st, override_st)
def test_isolated_groups_are_networkx_connected_components(edges: list[tuple[str, str, str | None]],
                                                            subnets: dict[str, str | None],
                                                            override: dict[str, bool | None]) -> None:
    t = build(edges, subnets, override)
    groups = islands_by_networkx(t)
    assert sorted(t._link_groups()) == groups  # the union-find's groups, all of them (the message shows five)
    messages = islands_warning(t.routes()[1])
    if len(groups) <= 1:
        assert messages == []
    else:
        assert len(messages) == 1
        assert messages[0].startswith(f"the NS's L2 links form {len(groups)} groups that no router joins: ")
        assert ", ".join(groups[0][:4]) in messages[0]


@settings(max_examples=200, deadline=None)
@given(edges_st, subnet_st, override_st)
def test_the_networkx_graph_is_the_traversal_view(edges: list[tuple[str, str, str | None]],
                                                  subnets: dict[str, str | None],
                                                  override: dict[str, bool | None]) -> None:
    """Neighbour order (descriptor order, a repeated edge once) and addresses (the last given) are networkx's."""
    t = build(edges, subnets, override)
    reference = nx.Graph()
    reference.add_nodes_from([knf(m) for m in MEMBERS[:4]] + [vl(v) for v in subnets])
    reference.add_edges_from((knf(m), vl(v), {"ip": ip}) for m, v, ip in edges)
    assert list(t.graph.nodes) == list(reference.nodes)
    for node in reference.nodes:
        assert t.neighbours(node) == list(reference.adj[node])
        assert list(t.graph.adj[node]) == list(reference.adj[node])
    for a, b, ip in reference.edges(data="ip"):
        member, link = (a, b) if a[0] == "knf" else (b, a)
        assert t.ip_on(member[1], link[1]) == ip == t.graph.edges[a, b]["ip"]


def test_two_chains_joined_by_a_non_forwarding_knf_stay_two_groups() -> None:
    edges = [("m0", "v0", "10.0.0.1"), ("m0", "v1", "10.0.1.1"), ("m1", "v1", "10.0.1.2"), ("m1", "v2", "10.0.2.1"),
             ("m2", "v2", "10.0.2.2"), ("m2", "v3", "10.0.3.1")]
    t = build(edges, {v: "10.0.0.0/24" for v in LINKS[:4]}, {"m1": False})
    assert islands_by_networkx(t) == [["v0", "v1"], ["v2", "v3"]]
    assert islands_warning(t.routes()[1]) == ["the NS's L2 links form 2 groups that no router joins: v0, v1; v2, v3"]


def reference_slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "x"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="abzAZ09-_. éİ", max_size=14), st.integers(1, 15))
def test_slug_fast_path_gives_what_the_rewriting_gives(text: str, limit: int) -> None:
    assert slug(text, limit) == reference_slug(text, limit)


def test_slug_keeps_ids_that_are_already_slugs_and_rewrites_others() -> None:
    assert slug("g12-l3", 29) == "g12-l3"
    assert slug("a--b", 29) == "a-b"
    assert slug("my-first-osm-net", 8) == "my-first"
    assert slug("My_Net", 29) == "my-net"


def test_first_by_keeps_the_first_of_each_key() -> None:
    items = [("a", 1), ("b", 2), ("a", 3)]
    assert first_by(items, lambda i: i[0]) == {"a": ("a", 1), "b": ("b", 2)}
