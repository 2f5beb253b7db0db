"""Text renderings for people: tables, the topology as DOT, and YAML/JSON dumps. Pure.

The dumps are written for plans of tens of thousands of elements: :func:`dump_json` and :func:`dump_yaml` give exactly
the bytes of ``json.dumps(..., indent=2)`` and ``yaml.safe_dump(..., sort_keys=False, width=120)`` of the same data
(tests/unit/test_render.py compares them on generated data), but hand the C JSON encoder whole flat containers and
format the common YAML scalars without building PyYAML's node graph (which made ``-o yaml`` of 10,000 links take
half a minute and twice the memory). Anything outside the common cases is handed to PyYAML itself, in place.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import yaml

from osm_l2net.errors import Problem
from osm_l2net.plan import Plan, plain

_SCALAR_TYPES = (str, int, float, bool, type(None))
_CHUNK = 1 << 16  # pieces per write: big enough to amortise the call, small enough to keep memory flat


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def dump(data: Any, fmt: str) -> str:
    """``data`` as JSON (indent 2) or block YAML, without a trailing newline for JSON (as ``json.dumps``)."""
    return "".join(dump_json(data) if fmt == "json" else dump_yaml(data))


# ---- JSON -----------------------------------------------------------------------------------------------------------

@cache
def _flat_encoder(depth: int) -> Callable[[Any], str]:
    """The C encoder writing a flat container's items one per line at ``depth`` (it has no indent of its own); made
    once per depth, as ``JSONEncoder.encode`` would make it again at every call."""
    separators = (",\n" + "  " * depth, ": ")
    if c_make_encoder is None:  # an interpreter without the C accelerator: the same text, slower
        return json.JSONEncoder(separators=separators).encode
    encode = c_make_encoder(None, None, encode_basestring_ascii, None, separators[1], separators[0], False, False, True)
    return lambda value: "".join(encode(value, 0))


def dump_json(data: Any) -> Iterator[str]:
    """``json.dumps(plain(data), indent=2)`` in pieces: mappings and tuples are read as they are, never copied."""
    out: list[str] = []
    _json(data, 0, out)
    yield from _chunks(out)


def _chunks(out: list[str]) -> Iterator[str]:
    for start in range(0, len(out), _CHUNK):
        yield "".join(out[start:start + _CHUNK])


def _json_scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value)  # float (NaN and infinities as json writes them), bool, None


def _str_keys(node: Mapping[Any, Any]) -> bool:
    return all(type(k) is str for k in node)


def _json(value: Any, depth: int, out: list[str]) -> None:
    if type(value) in _SCALAR_TYPES:
        out.append(_json_scalar(value))
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
        elif not _str_keys(value):
            _json(plain(value), depth, out)  # keys as plain() makes them: 3 and '3' are one key
        else:
            _json_mapping(value, depth, out)
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
        else:
            _json_sequence(value, depth, out)
    else:
        out.append(json.dumps(value))  # not JSON: raises json's own TypeError


def _json_mapping(value: Mapping[str, Any], depth: int, out: list[str]) -> None:
    """A non-empty mapping, one item per line; a flat dict (scalars only) in one call of the C encoder."""
    pad = "\n" + "  " * (depth + 1)
    if type(value) is dict and all(type(v) in _SCALAR_TYPES for v in value.values()):
        out.append("{" + pad + _flat_encoder(depth + 1)(value)[1:-1] + "\n" + "  " * depth + "}")
        return
    sep = "{" + pad
    for k, v in value.items():
        if type(v) in _SCALAR_TYPES:
            out.append(sep + encode_basestring_ascii(k) + ": " + _json_scalar(v))
        else:
            out.append(sep + encode_basestring_ascii(k) + ": ")
            _json(v, depth + 1, out)
        sep = "," + pad
    out.append("\n" + "  " * depth + "}")


def _json_sequence(value: Sequence[Any], depth: int, out: list[str]) -> None:
    pad = "\n" + "  " * (depth + 1)
    if all(type(v) in _SCALAR_TYPES for v in value):
        out.append("[" + pad + _flat_encoder(depth + 1)(value)[1:-1] + "\n" + "  " * depth + "]")
        return
    sep = "[" + pad
    for v in value:
        out.append(sep)
        _json(v, depth + 1, out)
        sep = "," + pad
    out.append("\n" + "  " * depth + "]")


# ---- YAML -----------------------------------------------------------------------------------------------------------

#: printable ASCII without spaces, not ending in ':' — the scalars whose YAML form does not depend on where they stand
_SIMPLE = re.compile(r"[!-~]*[!-9;-~]")
#: first characters that make PyYAML quote such a scalar (indicators), and the prefixes it treats as document markers
_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"


def _yaml_str(text: str) -> str | None:
    """The block-context YAML of a string when it is :data:`_SIMPLE` (plain unless PyYAML's analysis or resolver
    forbids it, then single-quoted), else None: PyYAML writes it."""
    if not _SIMPLE.fullmatch(text):
        return None
    first = text[0]
    quoted = first in _INDICATORS or (len(text) == 1 and first in "-?:") or text.startswith(("---", "..."))
    if not quoted:
        quoted = any(regexp.match(text) and tag != _STR_TAG for tag, regexp in _RESOLVERS.get(first, ()))
    return "'" + text.replace("'", "''") + "'" if quoted else text


def _yaml_scalar(value: Any, texts: dict[str, str]) -> str | None:
    """A scalar's YAML text when it is one of the common cases, else None (PyYAML writes it)."""
    kind = type(value)
    if kind is str:
        text = texts.get(value)
        if text is None and (text := _yaml_str(value)) is not None:
            texts[value] = text
        return text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    return None


def dump_yaml(data: Any) -> Iterator[str]:
    """``yaml.safe_dump(plain(data), sort_keys=False, default_flow_style=False, width=120)`` in pieces."""
    out: list[str] = []
    if isinstance(data, Mapping | list | tuple) and data:
        _yaml_block(data, 0, "", out, {})
    else:
        out.append(_pyyaml(plain(data)))
    yield from _chunks(out)


def _pyyaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def _yaml_block(node: Mapping[str, Any] | Sequence[Any], indent: int, lead: str, out: list[str],
                texts: dict[str, str]) -> None:
    """A non-empty mapping or sequence whose first line starts with ``lead`` (len ``indent``: spaces, or '- ' marks).

    ``texts`` caches the YAML of strings seen before (names and addresses recur across a plan). The loops are inlined
    on purpose: this runs once per value of the plan, a million times for 10,000 links.
    """
    if isinstance(node, Mapping):
        _yaml_mapping(node, indent, lead, out, texts)
    else:
        _yaml_sequence(node, indent, lead, out, texts)


def _yaml_mapping(node: Mapping[str, Any], indent: int, lead: str, out: list[str], texts: dict[str, str]) -> None:
    pad = " " * indent
    if not _str_keys(node):
        node = plain(node)  # keys as plain() makes them: 3 and '3' are one key
    for k, v in node.items():
        key = texts.get(k) if type(k) is str and len(k) < 128 else None
        if key is None:
            name = k if type(k) is str else str(k)
            key = _yaml_scalar(name, texts) if len(name) < 128 else None  # longer: a complex key ('? ')
            if key is None:
                _pyyaml_at({name: plain(v)}, indent, lead, 0, out)
                lead = pad
                continue
        text = _yaml_scalar(v, texts) if type(v) in _SCALAR_TYPES else None
        if text is not None:
            out.append(f"{lead}{key}: {text}\n")
        elif isinstance(v, Mapping | list | tuple):
            if not v:
                out.append(f"{lead}{key}: {{}}\n" if isinstance(v, Mapping) else f"{lead}{key}: []\n")
            else:
                out.append(f"{lead}{key}:\n")
                # a sequence under a key is written at the key's column (PyYAML's indentless sequences)
                inner = indent + 2 if isinstance(v, Mapping) else indent
                _yaml_block(v, inner, " " * inner, out, texts)
        else:
            _pyyaml_at({k if type(k) is str else str(k): plain(v)}, indent, lead, 0, out)
        lead = pad


def _yaml_sequence(node: Sequence[Any], indent: int, lead: str, out: list[str], texts: dict[str, str]) -> None:
    pad = " " * indent
    for v in node:
        dash = lead + "- "
        text = _yaml_scalar(v, texts) if type(v) in _SCALAR_TYPES else None
        if text is not None:
            out.append(f"{dash}{text}\n")
        elif isinstance(v, Mapping | list | tuple):
            if not v:
                out.append(dash + ("{}\n" if isinstance(v, Mapping) else "[]\n"))
            else:
                _yaml_block(v, indent + 2, dash, out, texts)
        else:
            _pyyaml_at({"x": [plain(v)]}, indent, lead, 1, out)
        lead = pad


def _pyyaml_at(doc: Mapping[str, Any], indent: int, lead: str, skip: int, out: list[str]) -> None:
    """PyYAML's text for ``doc`` as if it stood at column ``indent`` (nested in dummy mappings, so that long scalars
    fold where they would in the whole document); its first ``skip`` lines are dropped, the next starts with ``lead``."""
    levels = indent // 2
    wrapped: Any = doc
    for _ in range(levels):
        wrapped = {"x": wrapped}
    lines = _pyyaml(wrapped).splitlines(keepends=True)[levels + skip:]
    lines[0] = lead + lines[0][indent:]
    out.extend(lines)


def plan_json(plan: Plan) -> Iterator[str]:
    """``osm-l2net plan -o json``: the plan's JSON form in pieces, read from the plan without copying it."""
    return dump_json(plan.as_dict(copy=False))


def plan_yaml(plan: Plan) -> Iterator[str]:
    return dump_yaml(plan.as_dict(copy=False))


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
    on_link: dict[str, list[str]] = defaultdict(list)  # one pass over the interfaces: linear in the NS size
    for k in plan.kdus:
        mark = "*" if k.forwarding else ""
        for i in k.interfaces:
            on_link[i.vld_id].append(f"{k.member_vnf_index}{mark}({i.address or 'L2'})")
    lines = ["topology:"]
    for n in plan.networks:
        members = on_link.get(n.vld_id)
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
