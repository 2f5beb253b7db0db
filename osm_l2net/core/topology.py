"""The NS as a graph: KNF instances and virtual links as nodes, attachments (with addresses) as edges. Pure.

A KNF *forwards* between links when it is attached to two or more links that have a cidr, unless the instantiation
parameters say otherwise (``additionalParamsForVnf[].additionalParams.l2net.forwarding``). Routes: every KNF gets, for
every subnet of the NS it is not on, a route through the nearest forwarding KNF (fewest routers). When two first hops
are equally near, the one met first in descriptor order wins and a warning names both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, NamedTuple

from osm_l2net.core.errors import Problem

Node = tuple[str, str]  # ("knf", member-vnf-index) or ("vl", vld id)


# NamedTuples, not frozen dataclasses: one Edge per attachment and one TopoRoute per route, and a frozen dataclass's
# __init__ costs several times a tuple's (each field set through object.__setattr__).
class Edge(NamedTuple):
    member_vnf_index: str
    vld_id: str
    ip: str | None  # the KNF's address on the link (addresses are compared as canonical strings)


class TopoRoute(NamedTuple):
    member_vnf_index: str
    to: str  # subnet in CIDR form
    via: str
    out_vld: str  # the link the route leaves through
    routers: int  # forwarding KNFs crossed to reach the subnet


def knf(member: str) -> Node:
    return ("knf", member)


def vl(vld_id: str) -> Node:
    return ("vl", vld_id)


class Topology:
    def __init__(self, members: Iterable[str], subnets: Mapping[str, str | None],
                 edges: Iterable[Edge | tuple[str, str, str | None]],
                 forwarding_override: Mapping[str, bool | None] | None = None) -> None:
        """``edges``: :class:`Edge` s or plain (member-vnf-index, vld id, ip) triples (what the planner passes: one per
        attachment, and a NamedTuple costs a Python call to make)."""
        self.subnets = dict(subnets)
        # Plain dicts for the traversals (networkx's views cost more than the BFS itself on large NSs). A node's
        # neighbours are the keys of a dict: insertion (descriptor) order, a repeated edge once, as in a networkx Graph.
        self._adj: dict[Node, dict[Node, None]] = {knf(m): {} for m in members}
        self._adj.update({("vl", vld_id): {} for vld_id in self.subnets})  # vl() inlined: once per link
        self._ip: dict[tuple[str, str], str | None] = {}
        adj, ips, subnets = self._adj, self._ip, self.subnets
        addressed: dict[str, int] = {}  # member -> how many of its links have a cidr, counted here: no pass per KNF
        for member, vld_id, ip in edges:  # node tuples inlined (knf()/vl()): this loop runs once per attachment
            a, b = ("knf", member), ("vl", vld_id)
            if a not in adj:
                adj[a] = {}
            if b not in adj:
                adj[b] = {}
            links = adj[a]
            if b not in links and subnets.get(vld_id) is not None:
                addressed[member] = addressed.get(member, 0) + 1
            links[b] = None
            adj[b][a] = None
            ips[(member, vld_id)] = ip
        override = forwarding_override or {}
        self.forwarding = {m: (o if (o := override.get(m)) is not None else addressed.get(m, 0) >= 2) for m in members}
        forwarding = self.forwarding
        self._forwarders: dict[str, list[str]] = {}  # vld id -> its forwarding KNFs, in neighbour order
        for n, nbrs in adj.items():  # loops, not a comprehension (a call) per link
            if n[0] == "vl":
                routers: list[str] = []
                for m in nbrs:
                    if forwarding.get(m[1]):
                        routers.append(m[1])
                self._forwarders[n[1]] = routers

    @cached_property
    def graph(self) -> Any:
        """The NS as a networkx Graph (nodes :func:`knf`/:func:`vl`, edges with the KNF's ``ip``), built on first use."""
        import networkx as nx  # half a second to import: loaded only when wanted, not when LCM imports the connector

        graph = nx.Graph()
        graph.add_nodes_from(self._adj)
        graph.add_edges_from((knf(m), vl(vld_id), {"ip": ip}) for (m, vld_id), ip in self._ip.items())
        return graph

    def neighbours(self, node: Node) -> list[Node]:
        """Neighbours in insertion (descriptor) order, which makes every traversal deterministic."""
        return list(self._adj[node])

    def ip_on(self, member: str, vld_id: str) -> str | None:
        return self._ip.get((member, vld_id))

    def routes(self) -> tuple[list[TopoRoute], list[Problem]]:
        """Static routes for every KNF, plus warnings for ambiguous choices and isolated groups of links."""
        routes: list[TopoRoute] = []
        warnings: list[Problem] = []
        for node in self._adj:
            if node[0] == "knf":
                found, ambiguous = self._routes_from(node[1])
                routes.extend(found)
                warnings.extend(ambiguous)
        warnings.extend(self._islands())
        return routes, warnings

    def _routes_from(self, member: str) -> tuple[list[TopoRoute], list[Problem]]:
        """BFS from a KNF; a path may cross a KNF only if it forwards. Remembers the first hop of each reached link.

        Node tuples and the forwarders' lookups are inlined, and the queue is fed by plain loops, not generators
        (one made per link reached): this runs once per KNF, its inner loop once per link a router reaches."""
        ip, adj, forwarders = self._ip, self._adj, self._forwarders
        first_hop: dict[str, tuple[str, str, int]] = {}  # vld -> (out vld, via, routers)
        warnings: list[Problem] = []
        own = adj[("knf", member)]
        queue, direct = self._first_routers(member, own)
        visited_routers = {member}
        while queue:
            router, out_vld, via, routers = queue.popleft()
            if router in visited_routers:
                continue
            visited_routers.add(router)
            for link in adj[("knf", router)]:
                vld_id = link[1]
                if vld_id in direct:
                    continue
                known = first_hop.get(vld_id)
                if known is None:
                    first_hop[vld_id] = (out_vld, via, routers)
                elif known[2] == routers and known[1] != via:
                    warnings.append(Problem("topology", f"knf '{member}' → '{vld_id}'",
                                            f"two routers are equally near: {known[1]} (chosen) and {via}",
                                            "one path, or l2net.forwarding: false on one router", "warning"))
                if ip.get((router, vld_id)) is not None:
                    for nxt in forwarders[vld_id]:
                        if nxt != router and nxt not in visited_routers and ip.get((nxt, vld_id)):
                            queue.append((nxt, out_vld, via, routers + 1))
        subnets = self.subnets
        new = tuple.__new__  # not TopoRoute(): its __new__ is a Python function that only hands its arguments on to it
        routes = [new(TopoRoute, (member, net, via, out_vld, n)) for vld_id, (out_vld, via, n) in first_hop.items()
                  if (net := subnets.get(vld_id)) is not None]
        return routes, warnings

    def _first_routers(self, member: str, own: Mapping[Node, None]) -> tuple[deque[tuple[str, str, str, int]], set[str]]:
        """The BFS's start: (router, out vld, via, 1) for each forwarding neighbour on ``member``'s own links; and
        those links' ids (gathered in the same loop)."""
        ip, forwarders = self._ip, self._forwarders
        queue: deque[tuple[str, str, str, int]] = deque()  # (router member, out vld, via, routers so far)
        direct: set[str] = set()
        for out in own:
            out_vld = out[1]
            direct.add(out_vld)
            if ip.get((member, out_vld)) is not None:
                for router in forwarders[out_vld]:
                    # a next hop needs an address the plan knows ("" is a pool-addressed interface: no fixed one)
                    if router != member and (via := ip.get((router, out_vld))):
                        queue.append((router, out_vld, via, 1))
        return queue, direct

    def _islands(self) -> list[Problem]:
        """Groups of KNFs that cannot reach each other over the NS's L2 links (only the cluster network joins them)."""
        groups = sorted(self._link_groups())
        if len(groups) <= 1:
            return []
        shown = "; ".join(", ".join(g[:4]) + (" …" if len(g) > 4 else "") for g in groups[:5])
        return [Problem("topology", "virtual links", f"the NS's L2 links form {len(groups)} groups that no router joins: "
                        f"{shown}{' …' if len(groups) > 5 else ''}", "a forwarding KNF between groups that must talk",
                        "warning")]

    def _link_groups(self) -> list[list[str]]:
        """The attached links joined by forwarding KNFs, each group sorted (the connected components of the links and
        the forwarding KNFs; a non-forwarding KNF joins nothing: it only hangs off each of its links).

        A union-find over plain dicts: networkx's components gave the same groups, but its graph cost a quarter of the
        planning time of a 10,000-link NS, and its import an eighth of a second at every ``osm-l2net plan``.
        """
        parent: dict[str, str] = {n[1]: n[1] for n, nbrs in self._adj.items() if n[0] == "vl" and nbrs}

        def root(vld_id: str) -> str:
            while (up := parent[vld_id]) != vld_id:
                parent[vld_id] = parent[up]  # path halving keeps the trees flat
                vld_id = up
            return vld_id

        forwarding = self.forwarding
        for member, links in self._adj.items():
            if member[0] == "knf" and forwarding.get(member[1]) and links:
                nodes = iter(links)
                f = root(next(nodes)[1])  # stays the root: every other link's root is hung under it
                for other in nodes:
                    if (r := root(other[1])) != f:
                        parent[r] = f
        groups: dict[str, list[str]] = {}
        for vld_id, up in parent.items():  # root() changes values only, never the keys: safe while iterating
            # most links hang right under their root by now: that case found without a call to root()
            groups.setdefault(up if parent[up] == up else root(vld_id), []).append(vld_id)
        return [sorted(g) for g in groups.values()]
