"""Pure helpers of the Kubernetes API test double: selectors, merge and JSON patches, Status bodies, protobuf.

Nothing here does I/O; the emulator (``k8s_emulator.py``) uses these to answer requests the way kube-apiserver does.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """An error the emulator answers with a ``Status`` body (the wire form of every apiserver error)."""

    def __init__(self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Success" if code < 400 else "Failure", "message": message, "reason": reason,
                            "code": code}
    if details:
        body["details"] = dict(details)
    return body


# ---------------------------------------------------------------- selectors

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SET_RE = re.compile(rf"^({_KEY})\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_RE = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)$")
_EXISTS_RE = re.compile(rf"^(!?)\s*({_KEY})$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin" match absent keys, as in kube


def query_bool(value: str | None) -> bool:
    """A boolean query parameter as kube-apiserver reads it (apimachinery's Convert_Slice_string_To_bool): false only
    when absent, "0" or "false" in any case; anything else, "True" (what kubernetes client 33.1, LCM v19's pin,
    sends for watch=True) and the empty string included, is true."""
    return value is not None and value != "0" and value.lower() != "false"


def _split_terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    """Parse ``a=b,c!=d,e in (f,g),!h`` as kube-apiserver does; 400 on anything else."""
    reqs: list[Requirement] = []
    for term in _split_terms(text or ""):
        if m := _SET_RE.match(term):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), m.group(2), values))
        elif m := _EQ_RE.match(term):
            reqs.append(Requirement(m.group(1), "!=" if m.group(2) == "!=" else "=", (m.group(3),)))
        elif m := _EXISTS_RE.match(term):
            reqs.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: invalid label selector {term!r}")
    return tuple(reqs)


def labels_match(reqs: tuple[Requirement, ...], obj: Mapping[str, Any]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


def parse_field_selector(text: str | None) -> tuple[tuple[str, str, str], ...]:
    """``metadata.name=x,metadata.namespace!=y``: equality on dotted paths (what clients actually send)."""
    out: list[tuple[str, str, str]] = []
    for term in _split_terms(text or ""):
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$", term)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid field selector {term!r}")
        out.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return tuple(out)


def fields_match(reqs: tuple[tuple[str, str, str], ...], obj: Mapping[str, Any]) -> bool:
    for path, op, expected in reqs:
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        actual = "" if value is None else str(value)
        if (actual == expected) != (op == "="):
            return False
    return True


# ---------------------------------------------------------------- object metadata validation (as kube-apiserver)

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def metadata_problems(meta: Mapping[str, Any]) -> list[str]:
    """What kube-apiserver would reject in metadata: the name (DNS subdomain) and label keys/values."""
    problems: list[str] = []
    name = str(meta.get("name", ""))
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        problems.append(f"metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 subdomain must consist of "
                        "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric")
    for key, value in (meta.get("labels") or {}).items():
        prefix, _, label = str(key).rpartition("/")
        if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))) or len(label) > 63 \
                or not _LABEL_NAME.match(label):
            problems.append(f"metadata.labels: Invalid value: {key!r}: not a valid label key")
        if not isinstance(value, str) or len(value) > 63 or (value and not _LABEL_NAME.match(value)):
            problems.append(f"metadata.labels: Invalid value: {value!r}: a valid label value must be 63 characters "
                            "or less, and consist of alphanumerics, '-', '_' or '.', starting and ending with one")
    return problems


# ---------------------------------------------------------------- patches

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (also used for strategic merge: the emulator has no patch-strategy metadata)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"json patch path {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", f"json patch path not found at {part!r}") from e
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    return _parent(doc, [*parts, ""]) if parts else doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent, last = _parent(doc, parts), parts[-1]
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, IndexError, ValueError) as e:
        raise ApiError(422, "Invalid", f"json patch: cannot remove missing {'/'.join(parts)!r}") from e


def _add(doc: Any, parts: list[str], value: Any, replace: bool = False) -> Any:
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if replace:
            parent[index] = copy.deepcopy(value)
        else:
            parent.insert(index, copy.deepcopy(value))
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise ApiError(422, "Invalid", f"json patch: cannot replace missing {'/'.join(parts)!r}")
        parent[last] = copy.deepcopy(value)
    else:
        raise ApiError(422, "Invalid", f"json patch: parent of {'/'.join(parts)!r} is not a container")
    return doc


def _apply_op(doc: Any, op: Mapping[str, Any]) -> Any:
    kind, parts = op.get("op"), _pointer(op.get("path", ""))
    if kind == "add":
        return _add(doc, parts, op.get("value"))
    if kind == "replace":
        return _add(doc, parts, op.get("value"), replace=True)
    if kind == "remove":
        _remove(doc, parts)
        return doc
    if kind == "move":
        return _add(doc, parts, _remove(doc, _pointer(op["from"])))
    if kind == "copy":
        return _add(doc, parts, _get(doc, _pointer(op["from"])))
    if kind == "test":
        return doc if _get(doc, parts) == op.get("value") else _test_failed(op)
    raise ApiError(422, "Invalid", f"json patch: unknown op {kind!r}")


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch: add, remove, replace, move, copy, test."""
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        doc = _apply_op(doc, op)
    return doc


def _test_failed(op: Mapping[str, Any]) -> Any:
    raise ApiError(422, "Invalid", f"json patch test failed at {op.get('path')!r}")


# ---------------------------------------------------------------- protobuf (built-in kinds sent by client-go)

PROTOBUF_MAGIC = b"k8s\x00"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result

    def fields(self) -> list[tuple[int, int | bytes]]:
        out: list[tuple[int, int | bytes]] = []
        while self.pos < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                out.append((number, self.varint()))
            elif wire == 2:
                size = self.varint()
                out.append((number, self.data[self.pos:self.pos + size]))
                self.pos += size
            elif wire in (1, 5):
                size = 8 if wire == 1 else 4
                out.append((number, self.data[self.pos:self.pos + size]))
                self.pos += size
            else:
                raise ApiError(415, "UnsupportedMediaType", f"protobuf wire type {wire} not supported")
        return out


def _msg(data: int | bytes) -> list[tuple[int, int | bytes]]:
    return _Reader(data if isinstance(data, bytes) else b"").fields()


def _s(data: int | bytes) -> str:
    return data.decode() if isinstance(data, bytes) else str(data)


def _map_entry(data: int | bytes) -> tuple[str, int | bytes]:
    entry = dict(_msg(data))
    return _s(entry.get(1, b"")), entry.get(2, b"")


def _object_meta(data: int | bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, value in _msg(data):
        if number in names and _s(value):  # k8s protos are proto2: empty strings are sent, they mean unset
            meta[names[number]] = _s(value)
        elif number in (11, 12):
            key, val = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _s(val)
        elif number == 14:
            meta.setdefault("finalizers", []).append(_s(value))
    return meta


def decode_protobuf(body: bytes) -> dict[str, Any]:
    """Decode the protobuf envelope (runtime.Unknown) of a Secret, ConfigMap or Namespace into its JSON form.

    client-go sends built-in kinds as protobuf when asked to (helm's release storage does): the emulator stores JSON,
    so only the kinds helm writes are understood; anything else is answered 415 so the gap is visible.
    """
    if not body.startswith(PROTOBUF_MAGIC):
        raise ApiError(400, "BadRequest", "protobuf body without the k8s\\0 magic prefix")
    unknown = dict(_msg(body[len(PROTOBUF_MAGIC):]))
    type_meta = dict(_msg(unknown.get(1, b"")))
    api_version, kind = _s(type_meta.get(1, b"")), _s(type_meta.get(2, b""))
    if kind == "DeleteOptions":
        return _delete_options(unknown.get(2, b""))
    if kind == "Namespace":  # what 'kubectl create namespace' sends (OSM's N2VC runs it before helm)
        return _namespace(api_version, unknown.get(2, b""))
    if kind not in ("Secret", "ConfigMap"):
        raise ApiError(415, "UnsupportedMediaType", f"protobuf of {kind} is not decoded here")
    obj: dict[str, Any] = {"apiVersion": api_version or "v1", "kind": kind}
    for number, value in _msg(unknown.get(2, b"")):
        raw = value if isinstance(value, bytes) else b""
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, val = _map_entry(value)
            data = val if isinstance(val, bytes) else b""
            obj.setdefault("data", {})[key] = base64.b64encode(data).decode() if kind == "Secret" else data.decode()
        elif number == 3 and kind == "Secret":
            obj["type"] = raw.decode()
        elif number == 3 and kind == "ConfigMap":
            key, val = _map_entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(val if isinstance(val, bytes) else b"").decode()
        elif number == 5 and kind == "Secret":
            obj["immutable"] = bool(value)
    return obj


def _namespace(api_version: str, data: int | bytes) -> dict[str, Any]:
    """k8s.io.api.core.v1.Namespace: metadata = 1, spec = 2 (NamespaceSpec: repeated string finalizers = 1)."""
    obj: dict[str, Any] = {"apiVersion": api_version or "v1", "kind": "Namespace"}
    for number, value in _msg(data):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            finalizers = [_s(v) for n, v in _msg(value) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
    return obj


def _delete_options(data: int | bytes) -> dict[str, Any]:
    options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    for number, value in _msg(data):
        if number == 1:
            options["gracePeriodSeconds"] = value
        elif number == 2:
            pre = dict(_msg(value))
            wanted = ((1, "uid"), (2, "resourceVersion"))
            options["preconditions"] = {k: _s(pre[n]) for n, k in wanted if _s(pre.get(n, b""))}
        elif number == 4:
            options["propagationPolicy"] = _s(value)
    return options
