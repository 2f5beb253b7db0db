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
        # Plain dicts for the traversals (networkx's views cost more than the BFS itself on large NSs), one per kind
        # of node and keyed by id: a (kind, id) node tuple per lookup would be made and hashed each time. A KNF's
        # links map to its address on each, a link's KNFs to theirs; the keys keep insertion (descriptor) order and a
        # repeated edge once (its last address), as in a networkx Graph.
        members = list(members)  # read twice: for the adjacency and for who forwards
        links_of: dict[str, dict[str, str | None]] = {m: {} for m in members}
        members_of: dict[str, dict[str, str | None]] = {vld_id: {} for vld_id in self.subnets}
        self._links, self._members = links_of, members_of
        self._extra: list[Node] = []  # nodes that only an edge named, in the order networkx would have added them
        self._pairs: list[tuple[str, str]] = []  # each (member, vld id) once, first given first: for the graph only
        subnets = self.subnets
        addressed: dict[str, int] = {}  # member -> how many of its links have a cidr, counted here: no pass per KNF
        for member, vld_id, ip in edges:  # runs once per attachment; subscripts, not get(): a method call each
            try:
                links = links_of[member]
            except KeyError:
                links = links_of[member] = {}
                self._extra.append(("knf", member))
            try:
                knfs = members_of[vld_id]
            except KeyError:
                knfs = members_of[vld_id] = {}
                self._extra.append(("vl", vld_id))
            if vld_id not in links:
                self._pairs.append((member, vld_id))
                if subnets.get(vld_id) is not None:
                    addressed[member] = addressed.get(member, 0) + 1
            links[vld_id] = ip
            knfs[member] = ip
        override = forwarding_override or {}
        self.forwarding = {m: (o if (o := override.get(m)) is not None else addressed.get(m, 0) >= 2)
                           for m in members}
        forwarding = self.forwarding
        # vld id -> its forwarding KNFs with their address on it, in neighbour order
        self._forwarders: dict[str, list[tuple[str, str | None]]] = {}
        for vld_id, knfs in members_of.items():  # loops, not a comprehension (a call) per link
            routers: list[tuple[str, str | None]] = []
            for m, ip in knfs.items():
                if forwarding.get(m):
                    routers.append((m, ip))
            self._forwarders[vld_id] = routers

    def _nodes(self) -> list[Node]:
        """Every node in networkx's order: the members and links given, then the ones edges added."""
        declared = [knf(m) for m in self.forwarding] + [vl(v) for v in self.subnets]
        return declared + self._extra

    @cached_property
    def graph(self) -> Any:
        """The NS as a networkx Graph (nodes :func:`knf`/:func:`vl`, edges with the KNF's ``ip``), built on first use."""
        import networkx as nx  # half a second to import: loaded only when wanted, not when LCM imports the connector

        graph = nx.Graph()
        graph.add_nodes_from(self._nodes())
        graph.add_edges_from(self._edges_in_order())
        return graph

    def _edges_in_order(self) -> list[tuple[Node, Node, dict[str, str | None]]]:
        """Each edge once, in the order first given (which orders every node's neighbours), with its last address."""
        return [(knf(m), vl(vld_id), {"ip": self._links[m][vld_id]}) for m, vld_id in self._pairs]

    def neighbours(self, node: Node) -> list[Node]:
        """Neighbours in insertion (descriptor) order, which makes every traversal deterministic."""
        kind, name = node
        if kind == "knf":
            return [vl(v) for v in self._links[name]]
        return [knf(m) for m in self._members[name]]

    def ip_on(self, member: str, vld_id: str) -> str | None:
        links = self._links.get(member)
        return links.get(vld_id) if links else None

    def routes(self) -> tuple[list[TopoRoute], list[Problem]]:
        """Static routes for every KNF, plus warnings for ambiguous choices and isolated groups of links."""
        routes: list[TopoRoute] = []
        warnings: list[Problem] = []
        for member in self._links:
            found, ambiguous = self._routes_from(member)
            routes.extend(found)
            warnings.extend(ambiguous)
        warnings.extend(self._islands())
        return routes, warnings

    def _routes_from(self, member: str) -> tuple[list[TopoRoute], list[Problem]]:
        """BFS from a KNF; a path may cross a KNF only if it forwards. Remembers the first hop of each reached link.

        The forwarders carry their addresses and the queue is fed by plain loops, not generators (one made per link
        reached): this runs once per KNF, its inner loop once per link a router reaches."""
        links_of, forwarders = self._links, self._forwarders
        first_hop: dict[str, tuple[str, str, int]] = {}  # vld -> (out vld, via, routers)
        warnings: list[Problem] = []
        own = links_of[member]  # also the links reached directly: no route to them
        queue = self._first_routers(member, own)
        visited_routers = {member}
        while queue:
            router, out_vld, via, routers = queue.popleft()
            if router in visited_routers:
                continue
            visited_routers.add(router)
            for vld_id, router_ip in links_of[router].items():
                if vld_id in own:
                    continue
                known = first_hop.get(vld_id)
                if known is None:
                    first_hop[vld_id] = (out_vld, via, routers)
                elif known[2] == routers and known[1] != via:
                    warnings.append(Problem("topology", f"knf '{member}' → '{vld_id}'",
                                            f"two routers are equally near: {known[1]} (chosen) and {via}",
                                            "one path, or l2net.forwarding: false on one router", "warning"))
                if router_ip is not None:
                    for nxt, nxt_ip in forwarders[vld_id]:
                        if nxt_ip and nxt != router and nxt not in visited_routers:
                            queue.append((nxt, out_vld, via, routers + 1))
        subnets = self.subnets
        new = tuple.__new__  # not TopoRoute(): its __new__ is a Python function that only hands its arguments on to it
        routes = [new(TopoRoute, (member, net, via, out_vld, n)) for vld_id, (out_vld, via, n) in first_hop.items()
                  if (net := subnets.get(vld_id)) is not None]
        return routes, warnings

    def _first_routers(self, member: str, own: Mapping[str, str | None]) -> deque[tuple[str, str, str, int]]:
        """The BFS's start: (router, out vld, via, 1) for each forwarding neighbour on ``member``'s own links."""
        forwarders = self._forwarders
        queue: deque[tuple[str, str, str, int]] = deque()  # (router member, out vld, via, routers so far)
        for out_vld, my_ip in own.items():
            if my_ip is not None:
                for router, via in forwarders[out_vld]:
                    # a next hop needs an address the plan knows ("" is a pool-addressed interface: no fixed one)
                    if via and router != member:
                        queue.append((router, out_vld, via, 1))
        return queue

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
        parent: dict[str, str] = {vld_id: vld_id for vld_id, knfs in self._members.items() if knfs}

        def root(vld_id: str) -> str:
            while (up := parent[vld_id]) != vld_id:
                parent[vld_id] = parent[up]  # path halving keeps the trees flat
                vld_id = up
            return vld_id

        forwarding = self.forwarding
        for member, links in self._links.items():
            if forwarding.get(member) and links:
                nodes = iter(links)
                f = root(next(nodes))  # stays the root: every other link's root is hung under it
                for other in nodes:
                    if (r := root(other)) != f:
                        parent[r] = f
        groups: dict[str, list[str]] = {}
        for vld_id, up in parent.items():  # root() changes values only, never the keys: safe while iterating
            # most links hang right under their root by now: that case found without a call to root()
            groups.setdefault(up if parent[up] == up else root(vld_id), []).append(vld_id)
        return [sorted(g) for g in groups.values()]
