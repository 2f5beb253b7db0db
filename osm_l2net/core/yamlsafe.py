"""The one YAML reader for input from users (descriptors, ``--config``, ``!!yaml`` parameters, lab profiles) and from
helm (rendered manifests). Pure: it gets text, never opens a file.

libyaml's C parser composes the node graph (fast, and small even for an alias bomb: an alias is the same node object
again); before any Python object is built, one walk over that graph bounds

* the nesting depth (``max_depth``): deeper input is refused with the line of the first node too deep, instead of a
  ``RecursionError`` somewhere later;
* what aliases add (``max_alias_expansion``: characters of scalar text plus one per node, of every copy an alias of a
  mapping or list makes), and the size with every alias written out (``max_expanded``, scalar aliases included):
  anchors and aliases are allowed, as OSM allows them, but cannot make a document much bigger than its text. A 1 KB
  "billion laughs" file would expand to 10⁹ nodes and is refused at once.

Most input (descriptors without anchors, aliases or tags) never gets a node graph: the objects are built straight
from libyaml's events, with the same resolver and constructors, the same limits counted on the way, in a fifth of the
time and a quarter of the memory for a big NSD. Whatever that path does not handle sends the whole text down the
composed-graph path above, so both give the same data and the same errors.

The text itself is bounded by ``max_bytes`` (callers that read files check the size before reading, see
:func:`check_size`). Errors are :class:`YamlInputError`: where (line, column), what, what was expected; callers turn
them into their own error (a descriptor problem, a ``--config`` problem, a helm failure).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from osm_l2net.core.errors import InputError, Problem, quote

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: several times faster

MIB = 2**20


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML text. ``max_expanded`` defaults to twice ``max_bytes``: a file without aliases stays below
    it (its written-out size is at most about 1.5 times its length), so only aliases can reach it."""

    max_bytes: int = 16 * MIB
    max_depth: int = 100
    max_expanded: int | None = None
    # what aliases of mappings/lists may add: each copy is walked, and copied, by the code that reads the data (about
    # 40 bytes of memory per unit): 1,000,000 is ~40 MB and a second; OSM's packages use a few hundred at most
    max_alias_expansion: int = 1_000_000

    @property
    def expanded_limit(self) -> int:
        return self.max_expanded if self.max_expanded is not None else 2 * self.max_bytes


DEFAULT_LIMITS = YamlLimits()
ENV_MAX_BYTES, ENV_MAX_DEPTH, ENV_MAX_EXPANDED = "OSM_L2NET_YAML_MAX_BYTES", "OSM_L2NET_YAML_MAX_DEPTH", \
    "OSM_L2NET_YAML_MAX_EXPANDED"
ENV_MAX_ALIAS_EXPANSION = "OSM_L2NET_YAML_MAX_ALIAS_EXPANSION"


def limits_from(environ: Mapping[str, str]) -> YamlLimits:
    """The limits that ``OSM_L2NET_YAML_*`` variables of ``environ`` set (the defaults where unset)."""
    expanded = environ.get(ENV_MAX_EXPANDED)
    return YamlLimits(max_bytes=positive_int(environ, ENV_MAX_BYTES, DEFAULT_LIMITS.max_bytes),
                      max_depth=positive_int(environ, ENV_MAX_DEPTH, DEFAULT_LIMITS.max_depth),
                      max_expanded=positive_int(environ, ENV_MAX_EXPANDED, 0) if expanded else None,
                      max_alias_expansion=positive_int(environ, ENV_MAX_ALIAS_EXPANSION,
                                                       DEFAULT_LIMITS.max_alias_expansion))


def positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    """``environ[name]`` as a whole number above 0 (``default`` when unset); InputError naming the variable if not."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError.single(name, "", f"{quote(raw)} is not a whole number above 0", f"e.g. {name}={default}")
    return value


class YamlInputError(ValueError):
    """A YAML text that cannot be read, or that exceeds a limit. ``where`` is "line L, column C" or ""."""

    def __init__(self, message: str, where: str = "", expected: str = "a YAML document") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.message, self.where, self.expected = message, where, expected

    def problem(self, source: str) -> Problem:
        return Problem(source, self.where, self.message, self.expected)


def check_size(size: int, limits: YamlLimits = DEFAULT_LIMITS) -> None:
    """Refuse a text of ``size`` bytes before it is read."""
    if size > limits.max_bytes:
        raise YamlInputError(f"is {_mib(size)}, more than the limit of {_mib(limits.max_bytes)}",
                             expected=f"a YAML file of at most {_mib(limits.max_bytes)} (OSM_L2NET_YAML_MAX_BYTES)")


def load(text: str | bytes, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """The single document of ``text`` (None when empty); more than one document is an error, as in yaml.safe_load."""
    docs = load_all(text, limits, keep_empty=True)
    if len(docs) > 1:
        raise YamlInputError("holds more than one document", _where(None), "one YAML document")
    return docs[0] if docs else None


def load_all(text: str | bytes, limits: YamlLimits = DEFAULT_LIMITS, *, keep_empty: bool = False) -> list[Any]:
    """Every document of ``text`` as Python data (empty documents dropped unless ``keep_empty``)."""
    check_size(len(text), limits)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise YamlInputError(f"is not UTF-8 text (byte {e.start}: {e.reason})", expected="a UTF-8 YAML file") from e
    return list(_documents(text, limits, keep_empty))


def _documents(text: str, limits: YamlLimits, keep_empty: bool) -> Iterator[Any]:
    if _LOADER is not yaml.SafeLoader:  # libyaml's events cost C time only; the pure-Python parser gains nothing
        try:
            yield from _from_events(text, limits, keep_empty)
            return
        except _Unusual:
            pass
    yield from _composed(text, limits, keep_empty)


class _Unusual(Exception):
    """The text holds something the event path leaves to the composed graph: the whole text is read again that way."""


_TAG = "tag:yaml.org,2002:"
_STR, _NULL = _TAG + "str", _TAG + "null"
_CONVERTED = {_TAG + "int": "construct_yaml_int", _TAG + "float": "construct_yaml_float",
              _TAG + "bool": "construct_yaml_bool"}
_SCALAR_EVENT, _END_EVENTS = yaml.ScalarEvent, (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_START_EVENTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)


def _from_events(text: str, limits: YamlLimits, keep_empty: bool) -> list[Any]:
    """The documents of ``text`` built straight from libyaml's events, never holding the node graph (which costs
    most of the time and nearly all the memory of a big descriptor). Only the plain case: no anchor, alias or
    explicit tag, scalars that resolve to str/int/float/bool/null (PyYAML's own resolver and constructors), scalar
    keys, within every limit, no error. Anything else raises _Unusual, and the caller reads the text the composed
    way, so results, limits and error messages are exactly that path's."""
    loader = _LOADER(text)
    try:
        return _build(loader, limits, keep_empty)
    except _Unusual:
        raise
    except Exception as e:  # a parse or construction error: the composed path reports it as it always has
        raise _Unusual from e
    finally:
        loader.dispose()


def _build(loader: Any, limits: YamlLimits, keep_empty: bool) -> list[Any]:
    get, scalar = loader.get_event, _scalar_reader(loader)
    docs: list[Any] = []
    stack: list[tuple[list[Any], bool]] = []  # (items so far, is a mapping): keys and values alternate in a mapping
    size = 0  # the written-out size (what measure counts): without aliases only a small max_expanded can be reached
    while True:
        event = get()
        kind = type(event)
        if kind is _SCALAR_EVENT:
            data = scalar(event)
            size += 1 + len(event.value)
        elif kind in _END_EVENTS:
            items, mapping = stack.pop()
            data = dict(zip(items[::2], items[1::2], strict=True)) if mapping else items  # later duplicates win
            size += 1
        elif kind is yaml.DocumentEndEvent:
            if size > limits.expanded_limit:
                raise _Unusual
            size = 0
            continue
        else:
            if _structure(event, stack, limits.max_depth):
                return docs
            continue
        if stack:
            stack[-1][0].append(data)
        elif data is not None or keep_empty:
            docs.append(data)


def _structure(event: Any, stack: list[tuple[list[Any], bool]], max_depth: int) -> bool:
    """Open a mapping or list on ``stack``; True at the end of the stream."""
    kind = type(event)
    if kind in _START_EVENTS:
        if event.anchor is not None or event.tag is not None or len(stack) >= max_depth:
            raise _Unusual  # the composed path applies the tag, or names the node too deep
        if stack and stack[-1][1] and not len(stack[-1][0]) % 2:
            raise _Unusual  # a mapping or list as a key
        stack.append(([], kind is yaml.MappingStartEvent))
        return False
    if kind is yaml.AliasEvent:
        raise _Unusual
    return kind is yaml.StreamEndEvent  # else the start of the stream or of a document


def _scalar_reader(loader: Any) -> Any:
    """A function of a scalar event to its value, as the composed path would construct it: the loader's own
    resolver, and SafeConstructor's own functions for int/float/bool (str and null are the text and None)."""
    if loader.yaml_path_resolvers:  # they resolve by position in the graph, which only the composer tracks
        raise _Unusual
    resolve, node = loader.resolve, yaml.ScalarNode
    converters = {tag: getattr(loader, name) for tag, name in _CONVERTED.items()}
    plain: dict[str, str] = {}  # the tag of a plain scalar depends on its text alone: descriptors repeat their texts

    def scalar(event: Any) -> Any:
        if event.anchor is not None or event.tag is not None:
            raise _Unusual
        value, implicit = event.value, event.implicit
        if implicit[0]:
            tag = plain.get(value)
            if tag is None:
                tag = plain[value] = resolve(node, value, implicit)
        else:
            tag = resolve(node, value, implicit)
        if tag == _STR:
            return value
        if tag == _NULL:
            return None
        convert = converters.get(tag)
        if convert is None:  # timestamp, merge key, value key, a resolver some caller added
            raise _Unusual
        return convert(node(tag, value))

    return scalar


def _composed(text: str, limits: YamlLimits, keep_empty: bool) -> Iterator[Any]:
    loader = _LOADER(text)
    try:
        while _call(text, loader.check_node):
            node = _call(text, loader.get_node)
            measure(node, limits)
            data = _call(text, loader.construct_document, node)
            if data is not None or keep_empty:
                yield data
    finally:
        loader.dispose()


def _call(text: str, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except yaml.MarkedYAMLError as e:
        problem = e.problem or e.context or str(e).splitlines()[0]
        raise YamlInputError(f"is not valid YAML: {problem}", _where(e.problem_mark or e.context_mark)) from e
    except yaml.reader.ReaderError as e:  # control characters: no mark, an offset (in UTF-8 bytes for libyaml)
        code = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "\0")
        raise YamlInputError(f"is not valid YAML: character U+{code:04X}: {e.reason}",
                             _offset_where(text, e.position, _LOADER is not yaml.SafeLoader)) from e
    except yaml.YAMLError as e:
        raise YamlInputError(f"is not valid YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e


def _offset_where(text: str, position: int, in_bytes: bool) -> str:
    head = text.encode("utf-8", "replace")[:position].decode("utf-8", "replace") if in_bytes else text[:position]
    line = head.count("\n")
    return f"line {line + 1}, column {len(head) - (head.rfind(chr(10)) + 1) + 1}"


def measure(root: yaml.Node, limits: YamlLimits = DEFAULT_LIMITS) -> tuple[int, int]:
    """(depth, written-out size) of a composed document; raise YamlInputError past a limit.

    Depth counts nested mappings and lists (a scalar document has depth 0). Iterative: no recursion however deep
    the input. Each collection node is walked once: a node met again (an alias) adds its memoised size, so an alias
    bomb costs time in proportion to its text, not to its expansion.
    """
    if isinstance(root, yaml.ScalarNode):
        return 0, 1 + len(root.value)
    memo: dict[int, tuple[int, int]] = {}  # id(collection node) -> (height, size)
    excess = 0  # what aliases of collections add: the size of each copy
    stack: list[list[Any]] = [[root, _children(root), 0, 0]]  # [node, children left, max child height, size so far]
    scalar = yaml.ScalarNode
    while True:
        frame = stack[-1]
        pending = frame[1]
        if pending:
            child = pending.pop()
            if type(child) is scalar or isinstance(child, scalar):
                frame[3] += 1 + len(child.value)
                continue
            known = memo.get(id(child))
            if known is not None:
                if len(stack) + known[0] > limits.max_depth:
                    raise _too_deep(child, limits)
                frame[2] = max(frame[2], known[0])
                frame[3] += known[1]
                excess += known[1]
                if excess > limits.max_alias_expansion:
                    raise YamlInputError(
                        f"has aliases that add more than {limits.max_alias_expansion:,} characters and nodes",
                        _where(child.start_mark),
                        f"anchors/aliases that expand to at most {limits.max_alias_expansion:,} "
                        "(OSM_L2NET_YAML_MAX_ALIAS_EXPANSION)")
                continue
            if len(stack) >= limits.max_depth:
                raise _too_deep(child, limits)
            stack.append([child, _children(child), 0, 0])
            continue
        stack.pop()
        height, size = frame[2] + 1, frame[3] + 1
        if size > limits.expanded_limit:
            raise YamlInputError(
                f"would be more than {limits.expanded_limit:,} characters and nodes with its aliases written out",
                _where(frame[0].start_mark),
                f"a document whose anchors/aliases expand to at most {limits.expanded_limit:,} "
                f"(OSM_L2NET_YAML_MAX_EXPANDED)")
        memo[id(frame[0])] = (height, size)
        if not stack:
            return height, size
        parent = stack[-1]
        parent[2] = max(parent[2], height)
        parent[3] += size


def _children(node: yaml.Node) -> list[yaml.Node]:
    """A collection's children, last first: popped from the end, they are walked in document order."""
    mapping = isinstance(node, yaml.MappingNode)
    children = [n for pair in node.value for n in pair] if mapping else list(node.value)
    children.reverse()
    return children


def _too_deep(node: yaml.Node, limits: YamlLimits) -> YamlInputError:
    return YamlInputError(f"nests deeper than {limits.max_depth} levels", _where(node.start_mark),
                          f"at most {limits.max_depth} levels of mappings and lists (OSM_L2NET_YAML_MAX_DEPTH)")


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB" if size >= MIB else f"{size:,} bytes"
