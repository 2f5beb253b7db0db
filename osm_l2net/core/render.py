"""Text renderings for people: tables, the topology as DOT, and YAML/JSON dumps. Pure.

The dumps are written for plans of tens of thousands of elements: :func:`dump_json` and :func:`dump_yaml` give exactly
the bytes of ``json.dumps(..., indent=2)`` and ``yaml.safe_dump(..., sort_keys=False, width=120)`` of the same data
(tests/unit/test_render.py compares them on generated data), but hand the C JSON encoder whole flat containers and
format the common YAML scalars without building PyYAML's node graph (which made ``-o yaml`` of 10,000 links take
half a minute and twice the memory). Anything outside the common cases is handed to PyYAML itself, in place.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import yaml

from osm_l2net.core.errors import Problem
from osm_l2net.core.plan import Plan, plain

_SCALAR_TYPES = (str, int, float, bool, type(None))
#: characters per write. Every piece is made before the first is written, so that a value JSON cannot hold fails before
#: any output (as json.dumps did); what is saved is the copy of the plan and the one 20 MB string of the whole text
_CHUNK = 1 << 16


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
    """``json.dumps(plain(data), indent=2)`` in pieces: mappings and tuples are read as they are, never copied.

    The whole text is made before the first piece is given, so that a value JSON cannot hold fails before any output
    (as json.dumps did); but as one string per element of the top-level containers (a network, a KDU), not as a list
    of half a million small strings, which cost a third more memory than the text itself."""
    pieces: list[str] = []
    if type(data) is dict and data and all(type(k) is str for k in data):
        pad = _PADS[1]
        sep = "{" + pad
        for k, v in data.items():
            key = encode_basestring_ascii(k) + ": "
            if type(v) in (list, tuple) and v:
                item_sep = sep + key + "[" + _PADS[2]
                for item in v:
                    pieces.append(item_sep + _json_text(item, 2))
                    item_sep = "," + _PADS[2]
                pieces.append(pad + "]")
            else:
                pieces.append(sep + key + _json_text(v, 1))
            sep = "," + pad
        pieces.append("\n}")
    else:
        pieces.append(_json_text(data, 0))
    yield from _chunks(pieces)


#: a newline and the indentation of each depth
_PADS = ["\n" + "  " * depth for depth in range(64)]


def _json_text(value: Any, depth: int) -> str:
    """``value``'s indented JSON at ``depth``. The fast path: plain dicts with str keys, lists, tuples and the common
    scalars, each container's items joined in one call; anything else (other mappings, other keys, other types) is
    written by :func:`_json`, which copies as :func:`plain` does."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is dict or kind is list or kind is tuple:
        if not value:
            return "{}" if kind is dict else "[]"
        if depth + 2 < len(_PADS):
            try:
                return _json_container(value, depth)
            except TypeError:  # a non-str key, or a value json cannot hold: the slow path decides
                pass
    elif kind is bool or kind is int or value is None:
        return _json_scalar(value)
    out: list[str] = []
    _json(value, depth, out)
    return "".join(out)


def _json_container(value: dict[str, Any] | list[Any] | tuple[Any, ...], depth: int) -> str:
    inner, pad = depth + 1, _PADS[depth + 1]
    text = _json_text
    enc = encode_basestring_ascii
    if type(value) is dict:
        items = [enc(k) + ": " + (enc(v) if type(v) is str else text(v, inner)) for k, v in value.items()]
        return "{" + pad + ("," + pad).join(items) + _PADS[depth] + "}"
    items = [enc(v) if type(v) is str else text(v, inner) for v in value]
    return "[" + pad + ("," + pad).join(items) + _PADS[depth] + "]"


def _chunks(out: list[str]) -> Iterator[str]:
    """The pieces joined into strings of about :data:`_CHUNK` characters: few writes, no second copy of the text."""
    batch: list[str] = []
    size = 0
    for piece in out:
        batch.append(piece)
        size += len(piece)
        if size >= _CHUNK:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def _json_scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value)  # float (NaN and infinities as json writes them), or what json cannot hold (its error)


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

#: printable ASCII, neither starting nor ending with a space, not ending in ':': one line that PyYAML writes as it is
#: (plain or single-quoted); with a space inside, only while the line stays within the width (else PyYAML folds it)
_SIMPLE = re.compile(r"[!-~](?:[ -~]*[!-9;-~])?")
_WIDTH = 120
#: first characters that make PyYAML quote such a scalar (indicators), and the prefixes it treats as document markers
_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"
_SLOW = "\0"  # a key text no key has: this key needs the general path


def _yaml_str(text: str) -> str | None:
    """The block-context YAML of a string when it is :data:`_SIMPLE`: plain, unless PyYAML's analysis (an indicator
    first, ': ' or ' #' inside, a document marker) or its resolver (it would read back as another type) forbids it,
    then single-quoted; else None: PyYAML writes it."""
    if not _SIMPLE.fullmatch(text):
        return None
    first = text[0]
    quoted = (first in _INDICATORS or (first in "-?:" and (len(text) == 1 or text[1] == " "))
              or text.startswith(("---", "...")) or ": " in text or " #" in text)
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
    if type(data) is dict and data:
        _yaml_dict(data, 0, "", out, {})
    elif type(data) in (list, tuple) and data:
        _yaml_list(data, 0, "", out, {})
    elif isinstance(data, Mapping | list | tuple) and data:
        _yaml_block(data, 0, "", out, {})
    else:
        out.append(_pyyaml(plain(data)))
    yield from _chunks(out)


def _pyyaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


_SPACES = [" " * indent for indent in range(128)]


def _yaml_dict(node: dict[Any, Any], indent: int, lead: str, out: list[str], texts: dict[str, str]) -> None:
    """:func:`_yaml_mapping` for a plain dict, with the common cases inlined (this runs once per value of the plan, a
    million times for 10,000 links). At the first key it cannot write itself, what it wrote of this dict is dropped
    and :func:`_yaml_mapping` writes the whole dict (the same text)."""
    if indent + 2 >= len(_SPACES):
        _yaml_mapping(node, indent, lead, out, texts)
        return
    start, first, pad, get = len(out), lead, _SPACES[indent], texts.get
    for k, v in node.items():
        key = get(k) if type(k) is str and len(k) < 128 else _SLOW
        if key is None and (key := _yaml_str(k)) is not None:
            texts[k] = key
        if key is None or key is _SLOW:
            del out[start:]
            _yaml_mapping(node, indent, first, out, texts)
            return
        kind = type(v)
        if kind is dict or kind is list or kind is tuple or (kind is not str and isinstance(v, Mapping)):
            if not v:
                out.append(lead + key + (": {}\n" if isinstance(v, Mapping) else ": []\n"))
            else:
                out.append(f"{lead}{key}:\n")
                _yaml_nested(v, indent, out, texts)
        else:
            text = get(v) if kind is str else _yaml_scalar(v, texts)
            if text is None and kind is str and (text := _yaml_str(v)) is not None:
                texts[v] = text
            if text is not None and (" " not in text or len(lead) + len(key) + 2 + len(text) <= _WIDTH):
                out.append(f"{lead}{key}: {text}\n")
            else:  # not a common scalar, or PyYAML would fold it at a space past the width
                _pyyaml_at({k: plain(v)}, indent, lead, 0, out)
        lead = pad


def _yaml_nested(v: Any, indent: int, out: list[str], texts: dict[str, str]) -> None:
    """A non-empty container under a key at ``indent``: a mapping indented, a sequence at the key's column."""
    if type(v) is dict:
        _yaml_dict(v, indent + 2, _SPACES[indent + 2], out, texts)
    elif type(v) in (list, tuple):
        _yaml_list(v, indent, _SPACES[indent], out, texts)
    else:
        _yaml_mapping(v, indent + 2, _SPACES[indent + 2], out, texts)


def _yaml_list(node: list[Any] | tuple[Any, ...], indent: int, lead: str, out: list[str],
               texts: dict[str, str]) -> None:
    """:func:`_yaml_sequence` with the common cases inlined. At the top level (``indent`` 0: the plan's networks and
    KDUs) each item's lines are joined into one string, which holds the text in a third less memory."""
    if indent + 2 >= len(_SPACES):
        _yaml_sequence(node, indent, lead, out, texts)
        return
    pad, get, inner = _SPACES[indent], texts.get, indent + 2
    for v in node:
        dash, start, kind = lead + "- ", len(out), type(v)
        if kind is dict and v:
            _yaml_dict(v, inner, dash, out, texts)
        elif (kind is list or kind is tuple) and v:
            _yaml_list(v, inner, dash, out, texts)
        elif kind is dict or kind is list or kind is tuple or (kind is not str and isinstance(v, Mapping)):
            if not v:
                out.append(dash + ("{}\n" if isinstance(v, Mapping) else "[]\n"))
            else:
                _yaml_mapping(v, inner, dash, out, texts)
        else:
            text = get(v) if kind is str else _yaml_scalar(v, texts)
            if text is None and kind is str and (text := _yaml_str(v)) is not None:
                texts[v] = text
            if text is not None and (" " not in text or len(dash) + len(text) <= _WIDTH):
                out.append(f"{dash}{text}\n")
            else:
                _pyyaml_at({"x": [plain(v)]}, indent, lead, 1, out)
        if indent == 0:
            out[start:] = ["".join(out[start:])]
        lead = pad


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
        if text is not None and " " in text and len(lead) + len(key) + 2 + len(text) > _WIDTH:
            text = None  # PyYAML would fold it at a space past the width
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
        if text is not None and " " in text and len(dash) + len(text) > _WIDTH:
            text = None  # PyYAML would fold it at a space past the width
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
    multi = len(plan.clusters) > 1  # the CLUSTER column only then: a single-cluster plan reads as it always did
    where: Callable[[str], tuple[str, ...]] = (lambda c: (c or "(default)",)) if multi else (lambda c: ())
    nets = table([*(["CLUSTER"] if multi else []), "VIRTUAL LINK", "NETWORK", "KIND", "CIDR",
                  *(["POD ADDRESS RANGE"] if multi else [])],
                 [(*where(n.cluster), n.vld_id, n.name, n.kind, n.cidr or "(L2 only)",
                   *((n.pod_address_range or "-",) if multi else ())) for n in plan.networks])
    kdus = table([*(["CLUSTER"] if multi else []), "MEMBER-VNF-INDEX", "KDU", "NAMESPACE", "INTERFACES", "ROUTES",
                  "FORWARDING"],
                 [(*where(k.cluster), k.member_vnf_index, k.kdu_name, k.namespace,
                   ", ".join(f"{i.name}={i.ip or '-'}@{i.vld_id}" for i in k.interfaces) or "-",
                   ", ".join(f"{r.to} via {r.via}" for r in k.routes) or "-",
                   "yes" if k.forwarding else "no") for k in plan.kdus])
    head = f"NS {plan.ns_name} (id {plan.ns_id}, NSD {plan.nsd_id}) in namespace {plan.namespace}, provider {plan.provider}"
    if multi:
        head += f", on {len(plan.clusters)} clusters: {', '.join(c or '(default)' for c in plan.clusters)}"
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
    multi = len(plan.clusters) > 1
    if multi:  # each KNF with its cluster, each stretched link with the clusters it spans
        on_link.clear()
        for k in plan.kdus:
            mark = "*" if k.forwarding else ""
            for i in k.interfaces:
                on_link[i.vld_id].append(f"{k.member_vnf_index}{mark}({i.address or 'L2'})@{k.cluster or '(default)'}")
    spans = plan.link_clusters() if multi else {}
    lines = ["topology:"]
    for n in plan.links():
        members = on_link.get(n.vld_id)
        stretched = spans.get(n.vld_id, ())
        over = f" (stretched over {', '.join(c or '(default)' for c in stretched)})" if len(stretched) > 1 else ""
        lines.append(f"  [{n.vld_id} {n.cidr or 'L2'}] ── " + " ── ".join(members or ["(no KNF)"]) + over)
    lines.append("  (* forwards between links)")
    return "\n".join(lines)


_BUS = "#2c5f8a"  # virtual links: dark blue bars
_ROUTER = "#f6ad55"  # forwarding KNFs: orange
_HOST = "#edf2f7"  # other KNFs: light grey


def plan_dot(plan: Plan) -> str:
    """Graphviz DOT of the NS, read top to bottom along the router chain: each virtual link a bus (a bar with its id
    and subnet), the KNFs hanging off the buses they attach to, routers in orange between the buses they join, each
    attachment labelled with its address and interface; the NS in the title, a legend at the bottom."""
    level = _bus_levels(plan)
    fanout = Counter(i.vld_id for k in plan.kdus for i in k.interfaces)  # one pass: linear in the NS size
    out = ["digraph ns {",
           f"  graph [rankdir=TB, nodesep=0.5, ranksep=0.45, fontname=Helvetica, labelloc=t, label=<{_title(plan)}>];",
           "  node [fontname=Helvetica, fontsize=11]; edge [fontname=Helvetica, fontsize=9, dir=none, color=gray35];"]
    spans = plan.link_clusters()
    for n in plan.links():
        subnet = _h(n.cidr) if n.cidr else "<i>L2 only</i>"
        if len(spans[n.vld_id]) > 1:
            over = ", ".join(c or "(default)" for c in spans[n.vld_id])
            subnet += f' <font point-size="9">stretched: {_h(over)}</font>'
        out.append(f"  {_q('vl:' + n.vld_id)} [shape=box, style=filled, fillcolor={_q(_BUS)}, color={_q(_BUS)}, "
                   f"fontcolor=white, height=0.3, width={max(2.0, 1.3 * fanout[n.vld_id]):.1f}, "
                   f"tooltip={_q(n.name)}, label=<<b>{_h(n.vld_id)}</b>   {subnet}>];")
    for k in plan.kdus:
        kdu = "" if k.kdu_name == k.member_vnf_index else f'<br/><font point-size="9">KDU {_h(k.kdu_name)}</font>'
        fill = _ROUTER if k.forwarding else _HOST
        out.append(f"  {_q('knf:' + k.key)} [shape=box, style=\"filled,rounded\", fillcolor={_q(fill)}, "
                   f"label=<<b>{_h(k.member_vnf_index)}</b>{kdu}>];")
    out += _cluster_boxes(plan)
    for k in plan.kdus:
        entry = min((i.vld_id for i in k.interfaces), key=lambda v: level.get(v, 0), default=None)
        for i in k.interfaces:
            ends = (_q("knf:" + k.key), _q("vl:" + i.vld_id))
            tail, head = ends if k.forwarding and i.vld_id != entry else ends[::-1]  # buses above, except a router's next
            out.append(f"  {tail} -> {head} [label=<{_edge_label(i.address, i.name)}>];")
    out += _legend()
    out.append("}")
    return "\n".join(out) + "\n"


def _cluster_boxes(plan: Plan) -> list[str]:
    """On several clusters: each cluster a box around its KNFs (the stretched buses stay outside, between them)."""
    if len(plan.clusters) < 2:
        return []
    out = []
    for i, cluster in enumerate(plan.clusters):
        members = " ".join(_q("knf:" + k.key) + ";" for k in plan.kdus if k.cluster == cluster)
        out.append(f"  subgraph cluster_{i} {{ label=<<i>cluster {_h(cluster or '(default)')}</i>>; style=dashed; "
                   f"color=gray50; fontsize=10; {members} }}")
    return out


def _title(plan: Plan) -> str:
    return (f'<font point-size="16"><b>NS {_h(plan.ns_name)}</b></font><br/><font point-size="10">NSD '
            f"{_h(plan.nsd_id)} · namespace {_h(plan.namespace)} · provider {_h(plan.provider)}</font><br/> ")


def _edge_label(address: str | None, interface: str) -> str:
    return f"<b>{_h(address)}</b> {_h(interface)}" if address else _h(interface)


def _bus_levels(plan: Plan) -> dict[str, int]:
    """Each link's depth along the router chain (breadth-first from the first link of each group, in NSD order), so
    that a router sits below the bus it is reached from and above the buses it leads to."""
    links_of: dict[str, list[str]] = {}  # forwarding KNF -> its links
    routers_on: dict[str, list[str]] = {}  # link -> forwarding KNFs on it
    for k in plan.kdus:
        if k.forwarding:
            links_of[k.key] = [i.vld_id for i in k.interfaces]
            for i in k.interfaces:
                routers_on.setdefault(i.vld_id, []).append(k.key)
    level: dict[str, int] = {}
    for n in plan.networks:
        if n.vld_id in level:
            continue
        level[n.vld_id] = 0
        queue = [n.vld_id]
        for vld_id in queue:  # the list grows while it is walked: a breadth-first walk
            for router in routers_on.get(vld_id, ()):
                for nxt in links_of[router]:
                    if nxt not in level:
                        level[nxt] = level[vld_id] + 1
                        queue.append(nxt)
    return level


_LEGEND = ((f'bgcolor="{_BUS}" width="40"', " ", "virtual link: one L2 network, its subnet"),
           (f'bgcolor="{_ROUTER}" style="rounded"', " ", "router: forwards between its links"),
           (f'bgcolor="{_HOST}" style="rounded" border="1"', " ", "other KNF (each KDU: one helm release)"),
           ("", "<b>10.0.0.1</b> net1", "its address on the link, interface in the pod"))


def _legend() -> list[str]:
    rows = "".join(f'<tr><td {cell}>{sample}</td><td align="left">{text}</td></tr>' for cell, sample, text in _LEGEND)
    return ['  { rank=sink; legend [shape=plaintext, fontsize=9, label=<<table border="0" cellborder="0" '
            f'cellspacing="3" cellpadding="2">{rows}</table>>]; }}']


def _h(text: str) -> str:
    return html.escape(text, quote=True)  # inside Graphviz's HTML-like labels


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid DOT quoted string
