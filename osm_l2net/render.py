"""Text renderings for people: tables, the topology as DOT, and YAML/JSON dumps. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from osm_l2net.errors import Problem
from osm_l2net.plan import Plan


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def problems_text(problems: Sequence[Problem]) -> str:
    return "\n".join(f"{p.severity}: {p}" for p in problems)


def plan_text(plan: Plan) -> str:
    """The plan as people read it: networks, then each KDU's interfaces and routes, then a picture of the links."""
    nets = table(["VIRTUAL LINK", "NETWORK", "KIND", "CIDR"],
                 [(n.vld_id, n.name, n.kind, n.cidr or "(L2 only)") for n in plan.networks])
    kdus = table(["MEMBER-VNF-INDEX", "KDU", "NAMESPACE", "INTERFACES", "ROUTES", "FORWARDING"],
                 [(k.member_vnf_index, k.kdu_name, k.namespace,
                   ", ".join(f"{i.name}={i.ip or '-'}@{i.vld_id}" for i in k.interfaces) or "-",
                   ", ".join(f"{r.to} via {r.via}" for r in k.routes) or "-",
                   "yes" if k.forwarding else "no") for k in plan.kdus])
    head = f"NS {plan.ns_name} (id {plan.ns_id}, NSD {plan.nsd_id}) in namespace {plan.namespace}, provider {plan.provider}"
    parts = [head, "", nets, "", kdus, "", topology_ascii(plan)]
    if plan.warnings:
        parts += ["", problems_text(plan.warnings)]
    return "\n".join(parts)


def topology_ascii(plan: Plan) -> str:
    """One line per link: the KNFs on it with their addresses; routers marked, so the path can be read at a glance."""
    lines = ["topology:"]
    for n in plan.networks:
        members = [f"{k.member_vnf_index}{'*' if k.forwarding else ''}({i.address or 'L2'})"
                   for k in plan.kdus for i in k.interfaces if i.vld_id == n.vld_id]
        lines.append(f"  [{n.vld_id} {n.cidr or 'L2'}] ── " + " ── ".join(members or ["(no KNF)"]))
    lines.append("  (* forwards between links)")
    return "\n".join(lines)


def plan_dot(plan: Plan) -> str:
    """Graphviz DOT: KNFs as boxes (routers double-boxed), virtual links as ellipses, edges labelled interface/address."""
    out = ["graph ns {", '  graph [rankdir=LR, fontname="Helvetica", label=' + _q(f"{plan.ns_name} ({plan.nsd_id})") + "];",
           '  node [fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=10];']
    for n in plan.networks:
        out.append(f"  {_q('vl:' + n.vld_id)} [shape=ellipse, style=filled, fillcolor=lightblue, "
                   f"label={_q(n.vld_id + chr(10) + (n.cidr or 'L2 only'))}];")
    for k in plan.kdus:
        shape = "box, peripheries=2" if k.forwarding else "box"
        out.append(f"  {_q('knf:' + k.key)} [shape={shape}, label={_q(k.member_vnf_index + chr(10) + k.kdu_name)}];")
        for i in k.interfaces:
            out.append(f"  {_q('knf:' + k.key)} -- {_q('vl:' + i.vld_id)} [label={_q(i.name + ' ' + (i.ip or ''))}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid DOT quoted string
