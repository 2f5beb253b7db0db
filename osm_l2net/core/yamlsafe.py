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

Most input never gets a node graph. Three readers are tried in turn, each handing the whole text to the next when it
meets anything it does not handle, so all give the same data, the same limits and the same errors (every error is
the composed path's):

1. the line reader (``_from_lines``): block YAML of the strict subset descriptors are written in (``key: value``,
   ``- ...`` entries incl. ``- key: value``, one-line plain and quoted scalars without escapes, ``{}``/``[]``,
   comments, ``---``/``...``), read line by line in pure Python with PyYAML's resolver and constructors: a third of
   the events' time for a big NSD;
2. libyaml's events (``_from_events``): objects built straight from them, with the same resolver and constructors,
   the limits counted on the way, in a fifth of the time and a quarter of the memory of the graph (flow
   collections, block scalars, escapes...);
3. the composed graph (anchors, aliases, tags, timestamps, merge keys, complex keys, a limit passed, an error).

:func:`reader_path` says which one reads a text.

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
    try:
        yield from _from_lines(text, limits, keep_empty)
        return
    except _Unusual:
        pass
    if _LOADER is not yaml.SafeLoader:  # libyaml's events cost C time only; the pure-Python parser gains nothing
        try:
            yield from _from_events(text, limits, keep_empty)
            return
        except _Unusual:
            pass
    yield from _composed(text, limits, keep_empty)


def reader_path(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """Which reader :func:`load_all` uses for ``text``: "lines" (the line reader), "events" (libyaml's events) or
    "composed" (the node graph: anything unusual, and every error). For tests and benchmarks; it reads the text."""
    try:
        _from_lines(text, limits, True)
        return "lines"
    except _Unusual:
        pass
    if _LOADER is not yaml.SafeLoader:
        try:
            _from_events(text, limits, True)
            return "events"
        except _Unusual:
            pass
    return "composed"


class _Unusual(Exception):
    """The text holds something the event path leaves to the composed graph: the whole text is read again that way."""


# The line reader: most input (every descriptor the project and OSM write, the NSDs generators write) is block YAML of
# a strict subset, one node per line. Read line by line with two caches (the start of a line up to ': ' -> its
# indentation, '-' entries and key; the text after it -> the value), a 10,000-link NSD costs a third of libyaml's
# events: 171,000 lines but only 29 different starts. Anything outside the subset (flow collections, block scalars,
# a scalar over more than one line, anchors, aliases, tags, '?' keys, escapes, tabs, odd characters, a second
# '---' after '...', ...) raises _Unusual, and libyaml reads the whole text: same data, same errors, same limits.
class _Mark:
    """A value that is not a scalar: one type, so the loop tells them from scalars with one test."""


_EMPTY = _Mark()  # 'key:' or '-' ending a line: None, or the node that the next, deeper, lines hold
_NEW_MAP, _NEW_LIST = _Mark(), _Mark()  # '{}' and '[]' (helm's values.yaml): a new one each time, never shared
_NOKEY: Any = object()  # a line without a key: a list entry
_MISSING: Any = object()
_SKIP = (-1, False, (), _NOKEY, None)  # a blank or comment line (the shape of a line: see _shape)
_DOC_START, _DOC_END = (-2, False, (), _NOKEY, None), (-3, False, (), _NOKEY, None)  # '---' and '...' alone
_WHOLE = (-4, False, (), _NOKEY, None)  # its first ': ' is inside quotes ("- 'a: b'"): the line is read whole
_NO_SLOT = 1 << 62  # the column of the open slot when there is none: no line is deeper
# what a plain scalar cannot start with ('-', '?' and ':' can when a non-space follows: -1, ?x, :x)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_QUOTES = ("'", '"')


def _from_lines(text: str, limits: YamlLimits, keep_empty: bool) -> list[Any]:
    """The documents of ``text`` if it is all in the line reader's subset; _Unusual if not."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # a lone CR is refused: only printable characters are read
    # the written-out size (what measure bounds) of this subset is at most 2 characters per character of text plus
    # one (each scalar 1 + its length, each collection 1, each null 1, and each comes with its own ':', '-' or
    # text); a smaller max_expanded is checked by the event path
    if limits.expanded_limit < 2 * len(text) + 2:
        raise _Unusual
    loader = _LOADER("")
    try:
        if loader.yaml_path_resolvers:
            raise _Unusual
        return _read_lines(text.split("\n"), _plain_reader(loader), limits.max_depth, keep_empty)
    except _Unusual:
        raise
    except Exception as e:  # whatever this reader did not expect: the other paths decide
        raise _Unusual from e
    finally:
        loader.dispose()


def _read_lines(lines: list[str], plain: Any, max_depth: int, keep_empty: bool) -> list[Any]:  # noqa: C901, PLR0912, PLR0915
    """Build the documents of ``lines``. One function, locals only: this loop runs once per line (171,000 times for
    a 10,000-link NSD), and each call or attribute it saved is ~5 % of the time. The stack holds (container,
    column, is a mapping) of every open collection under the current one; the slot is where the node of deeper
    lines would go (after 'key:' or '-' ending a line): (container, key or index, column, is a key)."""
    starts: dict[str, tuple[int, bool, tuple[tuple[int, bool], ...], Any, Any]] = {}
    bare: dict[str, tuple[int, bool, tuple[tuple[int, bool], ...], Any, Any]] = {}
    values: dict[str, Any] = {}
    docs: list[Any] = []
    holder: list[Any] = [None]  # the document's root goes in holder[0]
    stack: list[tuple[Any, int, Any]] = []
    cur: Any = None  # the innermost open collection (None: none yet, column -1 below any line)
    ccol, cmap = -1, None
    slot: Any = holder
    slot_at: Any = 0
    slot_col, slot_key = -1, False  # column -1: the root
    depth, started = 0, False
    for line in lines:
        head, sep, rest = line.partition(": ")
        if sep:
            shape = starts.get(head)
            if shape is None:
                shape = starts[head] = _key_line(head, plain)
            col, dash, opens, key, val = shape
            if col >= 0:
                val = values.get(rest, _MISSING)
                if val is _MISSING:
                    val = values[rest] = _value(rest, plain)
            elif col == -1:  # a comment: PyYAML refuses an odd character anywhere in the stream, comments too
                if not rest.isprintable():
                    raise _Unusual
                continue
            else:
                sep = ""  # _WHOLE
        if not sep:
            shape = bare.get(line)
            if shape is None:
                shape = bare[line] = _bare_line(line, plain)
            col, dash, opens, key, val = shape
            if col < 0:
                if col == -1:
                    continue
                if started:
                    if holder[0] is not None or keep_empty:
                        docs.append(holder[0])
                elif col == -3:
                    raise _Unusual  # '...' ending no document
                started = col == -2
                holder, stack, cur, ccol, cmap, depth = [None], [], None, -1, None, 0
                slot, slot_at, slot_col, slot_key = holder, 0, (-1 if started else _NO_SLOT), False
                continue
            if key is _NOKEY and not dash:  # a scalar alone on its line: a document, or text going on from above
                if slot_col != -1:
                    raise _Unusual
                holder[0] = ({} if val is _NEW_MAP else []) if type(val) is _Mark else val
                slot_col, started = _NO_SLOT, True
                continue
        if col > slot_col or (col == slot_col and dash and slot_key):  # the node of the open slot starts here
            if depth >= max_depth:
                raise _Unusual
            new: Any = [] if dash else {}
            slot[slot_at] = new
            stack.append((cur, ccol, cmap))
            cur, ccol, cmap, started = new, col, not dash, True
            depth += 1
        else:
            while ccol > col:
                cur, ccol, cmap = stack.pop()
                depth -= 1
            if cmap is dash:  # a key meets a list: the list under a key of the same column ends (else an error)
                if cmap or ccol != col:
                    raise _Unusual
                cur, ccol, cmap = stack.pop()
                depth -= 1
            if ccol != col:
                raise _Unusual  # deeper than its collection (text going on, or an error), or a key meets a list
        slot_col = _NO_SLOT
        for ocol, omap in opens:  # '- - x', '- key: x': lists and a mapping opened on this line
            if depth >= max_depth:
                raise _Unusual
            new = {} if omap else []
            cur.append(new)
            stack.append((cur, ccol, cmap))
            cur, ccol, cmap = new, ocol, omap
            depth += 1
        if type(val) is _Mark:
            if val is _EMPTY:
                val = None
                slot, slot_at, slot_col, slot_key = cur, (len(cur) if key is _NOKEY else key), ccol, key is not _NOKEY
            elif depth >= max_depth:
                raise _Unusual
            else:
                val = {} if val is _NEW_MAP else []
        if key is _NOKEY:
            cur.append(val)
        else:
            cur[key] = val
    if started and (holder[0] is not None or keep_empty):
        docs.append(holder[0])
    return docs


def _key_line(head: str, plain: Any) -> tuple[int, bool, tuple[tuple[int, bool], ...], Any, Any]:
    """The shape of a line ``head: ...``: it ends with a key."""
    if not head.isprintable():
        raise _Unusual
    col, dashes, i = _line_start(head)
    if i == len(head) or (col == 0 and head.startswith(("---", "..."))):
        raise _Unusual  # ': x' (an empty key), '- : x', or a document marker going on
    if head[i] == "#":
        if dashes:
            raise _Unusual  # '- # c: x': an entry whose comment holds ': '
        return _SKIP
    try:
        key = _key(head[i:].rstrip(" "), plain)
    except _Unusual:
        if head.startswith(_QUOTES, i):
            return _WHOLE
        raise
    return _shape(col, dashes, i, key, None)


def _bare_line(line: str, plain: Any) -> tuple[int, bool, tuple[tuple[int, bool], ...], Any, Any]:
    """The shape of a line without ': ' (or with one in quotes): blank, a comment, a marker, 'key:', '- x', a scalar
    alone; its value is in the shape."""
    if not line.isprintable():
        raise _Unusual
    text = line.rstrip(" ")
    if not text:
        return _SKIP
    col, dashes, i = _line_start(text)
    if i == len(text) or text[i] == "#":  # '-' ending its line, or a comment
        return _shape(col, dashes, i, _NOKEY, _EMPTY) if dashes else _SKIP
    if col == 0 and text.startswith(("---", "...")):
        if text in ("---", "..."):
            return _DOC_START if text == "---" else _DOC_END
        raise _Unusual  # '--- x', '--- # c', '---x': libyaml's
    key, value = _bare_rest(text[i:], plain)
    return _shape(col, dashes, i, key, value)


def _bare_rest(rest: str, plain: Any) -> tuple[Any, Any]:
    """(key, value) of the rest of a line without ': ' after its '-' entries: ('key', _EMPTY) for 'key:', else
    (_NOKEY, the scalar)."""
    if rest.startswith(_QUOTES):
        value, after = _quoted(rest)
        if after == ":" or after.startswith(": "):  # a quoted key ("'a: b': c" comes here whole)
            return _key(rest[:len(rest) - len(after)], plain), _value(after[2:], plain) if after[1:] else _EMPTY
        return _NOKEY, _after_quoted(value, after)
    body = _plain_body(rest)
    if body.endswith(":"):
        return _key(body[:-1].rstrip(" "), plain), _EMPTY
    return _NOKEY, _plain(body, plain)


def _line_start(text: str) -> tuple[int, list[int], int]:
    """(indentation, the columns of the '-' entries that start the line, where the rest starts)."""
    size = len(text)
    i = size - len(text.lstrip(" "))
    col, dashes = i, []
    while text.startswith("-", i) and (i + 1 == size or text[i + 1] == " "):
        dashes.append(i)
        i = size - len(text[i + 1:].lstrip(" "))
    return col, dashes, i


def _shape(col: int, dashes: list[int], at: int, key: Any, value: Any) -> tuple[int, bool, tuple[tuple[int, bool], ...],
                                                                               Any, Any]:
    """(column of the line's first node, starts with '-', the collections it opens after that (column, is a
    mapping), its key or _NOKEY, its value, _EMPTY, or None when the value follows ': ')."""
    opens = [(d, False) for d in dashes[1:]]
    if dashes and key is not _NOKEY:
        opens.append((at, True))
    return col, bool(dashes), tuple(opens), key, value


def _key(text: str, plain: Any) -> Any:
    if not text or len(text) > 1000:  # libyaml's simple keys end within 1024 characters
        raise _Unusual
    if text.startswith(_QUOTES):
        value, after = _quoted(text)
        if after:
            raise _Unusual
        return value
    if " #" in text:
        raise _Unusual  # 'a #b: c' is 'a' and a comment
    key = _plain(text, plain)
    if type(key) is _Mark:
        raise _Unusual  # '{}: x': a mapping as a key
    return key


def _value(rest: str, plain: Any) -> Any:
    """The value of a line's text after its first ': ': _EMPTY when there is none."""
    if not rest.isprintable():
        raise _Unusual
    text = rest.lstrip(" ")
    if not text or text[0] == "#":
        return _EMPTY
    if text.startswith(_QUOTES):
        return _after_quoted(*_quoted(text))
    return _plain(_plain_body(text), plain)


def _quoted(text: str) -> tuple[str, str]:
    """(the value, what follows the closing quote) of the quoted scalar that starts ``text``, on this line."""
    if text[0] == '"':
        end = text.find('"', 1)
        if end < 0 or "\\" in text[1:end]:
            raise _Unusual  # escapes, or a scalar going on to the next line
        return text[1:end], text[end + 1:]
    end = 1
    while True:
        end = text.find("'", end)
        if end < 0:
            raise _Unusual
        if not text.startswith("'", end + 1):
            return text[1:end].replace("''", "'"), text[end + 1:]
        end += 2


def _after_quoted(value: str, after: str) -> str:
    """``value``, if only spaces and a comment follow its closing quote ('"a"#c', '"a" "b"': libyaml's)."""
    comment = after.lstrip(" ")
    if after and not (after[0] == " " and (not comment or comment[0] == "#")):
        raise _Unusual
    return value


def _plain_body(text: str) -> str:
    """A plain scalar's text: up to a comment, without trailing spaces."""
    cut = text.find(" #")
    return (text[:cut] if cut >= 0 else text).rstrip(" ")


def _plain(text: str, plain: Any) -> Any:
    """A plain scalar's value ('{}' and '[]' too, the only flow collections read here)."""
    if text in ("{}", "[]"):
        return _NEW_MAP if text == "{}" else _NEW_LIST
    first = text[:1]
    if first in _INDICATORS and (first not in "-?:" or text[1:2] in ("", " ")):
        raise _Unusual  # an alias, tag, anchor, flow collection, block scalar... or an error
    if ": " in text or text.endswith(":"):
        raise _Unusual  # 'a: b: c', 'a: b:': libyaml's errors
    return plain(text)


def _typed(tag: str, text: str, converters: dict[str, Any]) -> Any:
    """A scalar's value from its resolved tag, by SafeConstructor's own function for the tag (both fast readers)."""
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    convert = converters.get(tag)
    if convert is None:  # timestamp, merge key, value key, a resolver some caller added
        raise _Unusual
    return convert(yaml.ScalarNode(tag, text))


def _plain_reader(loader: Any) -> Any:
    """A plain scalar's text to its value: the loader's resolver and SafeConstructor's functions, as _scalar_reader."""
    resolve, node = loader.resolve, yaml.ScalarNode
    converters = {tag: getattr(loader, name) for tag, name in _CONVERTED.items()}
    implicit = (True, False)

    def plain(text: str) -> Any:
        return _typed(resolve(node, text, implicit), text, converters)

    return plain


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
        return _typed(tag, value, converters)

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
