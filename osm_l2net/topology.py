"""The NS as a graph: KNF instances and virtual links as nodes, attachments (with addresses) as edges. Pure.

A KNF *forwards* between links when it is attached to two or more links that have a cidr, unless the instantiation
parameters say otherwise (``additionalParamsForVnf[].additionalParams.l2net.forwarding``). Routes: every KNF gets, for
every subnet of the NS it is not on, a route through the nearest forwarding KNF (fewest routers). When two first hops
are equally near, the one met first in descriptor order wins and a warning names both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from osm_l2net.errors import Problem

Node = tuple[str, str]  # ("knf", member-vnf-index) or ("vl", vld id)


@dataclass(frozen=True)
class Edge:
    member_vnf_index: str
    vld_id: str
    ip: str | None  # the KNF's address on the link (addresses are compared as canonical strings)


@dataclass(frozen=True)
class TopoRoute:
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
    def __init__(self, members: Iterable[str], subnets: Mapping[str, str | None], edges: Iterable[Edge],
                 forwarding_override: Mapping[str, bool | None] | None = None) -> None:
        import networkx as nx  # half a second to import: loaded on first use, not when LCM imports the connector

        self.graph = nx.Graph()
        self.subnets = dict(subnets)
        for m in members:
            self.graph.add_node(knf(m))
        for vld_id in self.subnets:
            self.graph.add_node(vl(vld_id))
        self.graph.add_edges_from((knf(e.member_vnf_index), vl(e.vld_id), {"ip": e.ip}) for e in edges)
        override = forwarding_override or {}
        self.forwarding = {
            m: (override[m] if override.get(m) is not None else self._routed_links(m) >= 2)
            for m in members
        }

    def _routed_links(self, member: str) -> int:
        return sum(1 for _, n in self.graph.edges(knf(member)) if self.subnets.get(n[1]) is not None)

    def neighbours(self, node: Node) -> list[Node]:
        """Neighbours in insertion (descriptor) order, which makes every traversal deterministic."""
        return list(self.graph.adj[node])

    def ip_on(self, member: str, vld_id: str) -> str | None:
        data = self.graph.get_edge_data(knf(member), vl(vld_id))
        return data["ip"] if data else None

    def routes(self) -> tuple[list[TopoRoute], list[Problem]]:
        """Static routes for every KNF, plus warnings for ambiguous choices and isolated groups of links."""
        routes: list[TopoRoute] = []
        warnings: list[Problem] = []
        for node in self.graph.nodes:
            if node[0] == "knf":
                found, ambiguous = self._routes_from(node[1])
                routes.extend(found)
                warnings.extend(ambiguous)
        warnings.extend(self._islands())
        return routes, warnings

    def _routes_from(self, member: str) -> tuple[list[TopoRoute], list[Problem]]:
        """BFS from a KNF; a path may cross a KNF only if it forwards. Remembers the first hop of each reached link."""
        start = knf(member)
        direct = {n[1] for n in self.neighbours(start)}
        first_hop: dict[str, tuple[str, str, int]] = {}  # vld -> (out vld, via, routers)
        warnings: list[Problem] = []
        queue: deque[tuple[str, str, str, int]] = deque()  # (router member, out vld, via, routers so far)
        for out in self.neighbours(start):
            for router in self._forwarders_on(out[1], exclude=member):
                via = self.ip_on(router, out[1])
                if via is not None and self.ip_on(member, out[1]) is not None:
                    queue.append((router, out[1], via, 1))
        visited_routers = {member}
        while queue:
            router, out_vld, via, routers = queue.popleft()
            if router in visited_routers:
                continue
            visited_routers.add(router)
            for link in self.neighbours(knf(router)):
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
                for nxt in self._forwarders_on(vld_id, exclude=router):
                    nxt_ip = self.ip_on(nxt, vld_id)
                    if nxt not in visited_routers and nxt_ip is not None and self.ip_on(router, vld_id) is not None:
                        queue.append((nxt, out_vld, via, routers + 1))
        routes = [TopoRoute(member, net, via, out_vld, n) for vld_id, (out_vld, via, n) in first_hop.items()
                  if (net := self.subnets.get(vld_id)) is not None]
        return routes, warnings

    def _forwarders_on(self, vld_id: str, exclude: str) -> list[str]:
        return [n[1] for n in self.neighbours(vl(vld_id)) if n[1] != exclude and self.forwarding.get(n[1])]

    def _islands(self) -> list[Problem]:
        """Groups of KNFs that cannot reach each other over the NS's L2 links (only the cluster network joins them)."""
        import networkx as nx

        routed = nx.Graph()
        for a, b in self.graph.edges:
            member, link = (a, b) if a[0] == "knf" else (b, a)
            if self.forwarding.get(member[1]) or len(self.graph.adj[member]) == 1:
                routed.add_edge(a, b)
            else:  # a non-forwarding KNF joins its links' islands only as a leaf of each
                routed.add_edge((*member, link[1]), link)
        groups = [sorted(n[1] for n in comp if n[0] == "vl") for comp in nx.connected_components(routed)]
        groups = sorted(g for g in groups if g)
        if len(groups) <= 1:
            return []
        shown = "; ".join(", ".join(g[:4]) + (" …" if len(g) > 4 else "") for g in groups[:5])
        return [Problem("topology", "virtual links", f"the NS's L2 links form {len(groups)} groups that no router joins: "
                        f"{shown}{' …' if len(groups) > 5 else ''}", "a forwarding KNF between groups that must talk",
                        "warning")]

