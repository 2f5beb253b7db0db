"""Helm post-renderer that attaches KNF pods to their networks when a chart has no podLabels/podAnnotations hook.

Helm pipes the rendered release (a multi-document YAML stream, hooks excluded) to ``--post-renderer`` and installs
what comes back. We add the plan's pod labels and annotations to every pod template and pass everything else through
byte for byte: documents without pod templates are copied verbatim, so only the documents we changed are re-serialised.

Run as ``python -m osm_l2net.helm.postrender --metadata FILE`` where FILE is JSON ``{"labels": {...}, "annotations": {...}}``
(written 0600 by :mod:`osm_l2net.helm.runner`). Bad input: a message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from osm_l2net.core import yamlsafe

# kind -> path from the object to the dict that holds the pod template's ``metadata``
POD_TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# A line that starts a YAML document ("---" alone or followed by blanks/content). Helm splits its streams the same way.
_DOC_START = re.compile(r"^---(?:[ \t].*)?$")
EXIT_BAD_INPUT = 2

# Plain scalars that helm's YAML parser (go-yaml v2, YAML 1.1) reads as booleans or numbers but PyYAML would write
# unquoted: a label "y" or "1e3" must stay a string.
_GO_YAML_NON_STRING = re.compile(r"^(?:[yYnN]|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$")


# libyaml's C emitter when PyYAML was built with it (10x faster on big releases), same safe semantics
_DUMPER_BASE: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ManifestDumper(_DUMPER_BASE):  # type: ignore[misc]
    """Safe dumper that also quotes the strings go-yaml v2 would not read back as strings."""


def _represent_str(dumper: Any, value: str) -> yaml.ScalarNode:
    style = "'" if _GO_YAML_NON_STRING.match(value) else None
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return node


ManifestDumper.add_representer(str, _represent_str)


class BadInput(Exception):
    """The stream or the metadata file cannot be post-rendered; the message is for the user."""


@dataclass(frozen=True)
class PodMetadata:
    """Labels and annotations every pod template must carry (the KDU's network attachment)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {"labels": dict(self.labels), "annotations": dict(self.annotations)}

    @classmethod
    def from_dict(cls, data: object, source: str = "metadata") -> PodMetadata:
        if not isinstance(data, dict):
            raise BadInput(f"{source}: expected a JSON object with 'labels' and 'annotations', got {_type(data)}")
        unknown = sorted(set(data) - {"labels", "annotations"})
        if unknown:
            raise BadInput(f"{source}: unknown keys {unknown} (expected only 'labels' and 'annotations')")
        return cls(
            labels=_string_map(data.get("labels", {}), f"{source}: labels"),
            annotations=_string_map(data.get("annotations", {}), f"{source}: annotations"),
        )


@dataclass(frozen=True)
class PodTemplate:
    """One pod template found in a manifest; ``holder["metadata"]`` is the pod's metadata (may be absent)."""

    kind: str
    name: str
    holder: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def meta(self, key: str) -> Mapping[str, Any]:
        """The pod's labels or annotations (empty when absent)."""
        metadata = self.holder.get("metadata") or {}
        value = metadata.get(key) if isinstance(metadata, dict) else None
        return value if isinstance(value, dict) else {}


def is_hook(doc: Mapping[str, Any]) -> bool:
    """Helm hooks (tests, pre-install jobs…) never reach a helm 3 post-renderer, nor `helm get manifest`."""
    metadata = doc.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and "helm.sh/hook" in annotations


def pod_templates(doc: Any) -> Iterator[PodTemplate]:
    """Every pod template inside one manifest, descending into ``List`` kinds (``items``)."""
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            yield from pod_templates(item)
        return
    path = POD_TEMPLATE_PATHS.get(kind) if isinstance(kind, str) else None
    if path is None:
        return
    holder: Any = doc
    for key in path:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if isinstance(holder, dict):
        metadata = doc.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        yield PodTemplate(str(kind), str(name) if name is not None else "(unnamed)", holder)


def attach(doc: Any, pod: PodMetadata) -> list[str]:
    """Add ``pod``'s labels/annotations to every pod template of ``doc`` in place; ours win on our keys.

    Returns notes on values we replaced (a chart that set a different value for one of our keys), for the user.
    """
    notes: list[str] = []
    for template in pod_templates(doc):
        metadata = template.holder.setdefault("metadata", {})
        if metadata is None:
            metadata = template.holder["metadata"] = {}
        if not isinstance(metadata, dict):
            raise BadInput(f"{template.ref}: pod template metadata is {_type(metadata)}, expected a mapping")
        for section, wanted in (("labels", pod.labels), ("annotations", pod.annotations)):
            notes += _merge(template.ref, metadata, section, wanted)
    return notes


def _merge(ref: str, metadata: dict[str, Any], section: str, wanted: Mapping[str, str]) -> list[str]:
    if not wanted:
        return []
    current = metadata.get(section)
    if current is None:
        current = metadata[section] = {}
    if not isinstance(current, dict):
        raise BadInput(f"{ref}: pod template {section} is {_type(current)}, expected a mapping")
    notes = [
        f"{ref}: replaced {section[:-1]} {key}={current[key]!r} with {value!r}"
        for key, value in wanted.items()
        if key in current and current[key] != value
    ]
    current.update(wanted)
    return notes


def split_documents(stream: str) -> list[str]:
    """Split a YAML stream into document texts at ``---`` lines, keeping every character (joined: ``stream``)."""
    chunks: list[str] = []
    current: list[str] = []
    for line in stream.splitlines(keepends=True):
        if _DOC_START.match(line.rstrip("\r\n")) and current:
            chunks.append("".join(current))
            current = []
        current.append(line)
    if current:
        chunks.append("".join(current))
    return chunks


def render(stream: str, pod: PodMetadata) -> tuple[str, list[str]]:
    """Post-render a whole stream: (new stream, notes). Untouched documents are copied byte for byte."""
    out: list[str] = []
    notes: list[str] = []
    for number, chunk in enumerate(split_documents(stream), start=1):
        docs = _load(chunk, number)
        changed: list[str] = []
        touched = False
        for doc in docs:
            if doc is not None and not isinstance(doc, dict):
                raise BadInput(f"document {number}: a Kubernetes manifest must be a mapping, got {_type(doc)}")
            touched = touched or any(True for _ in pod_templates(doc))
            changed += attach(doc, pod)
        notes += changed
        out.append(_dump(chunk, docs) if touched else chunk)
    return "".join(out), notes


def _load(chunk: str, number: int) -> list[Any]:
    try:
        return yamlsafe.load_all(chunk, keep_empty=True)  # bounded: helm output is a chart author's, not ours
    except yamlsafe.YamlInputError as e:
        where = f" ({e.where} of the document)" if e.where else ""
        raise BadInput(f"document {number} {e.message}{where}") from e


def _dump(chunk: str, docs: list[Any]) -> str:
    """Re-serialise a changed document, keeping its ``---`` line and leading comments (helm's ``# Source:``)."""
    head: list[str] = []
    for line in chunk.splitlines(keepends=True):
        stripped = line.strip()
        if not (stripped == "" or stripped.startswith("#") or _DOC_START.match(line.rstrip("\r\n"))):
            break
        if _DOC_START.match(line.rstrip("\r\n")) and stripped != "---":
            head.append("---\n")  # "--- {inline: doc}": the content is re-dumped below
            break
        head.append(line if line.endswith("\n") else line + "\n")
    body = "".join(
        ("---\n" if i else "") + yaml.dump(doc, Dumper=ManifestDumper, sort_keys=False, default_flow_style=False)
        for i, doc in enumerate(d for d in docs if d is not None)
    )
    return "".join(head) + body


def load_metadata(path: str) -> PodMetadata:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise BadInput(f"cannot read pod metadata file {path}: {e.strerror or e}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"pod metadata file {path} is not valid JSON: {e}") from e
    return PodMetadata.from_dict(data, source=path)


def command(metadata_path: str, python: str | None = None) -> list[str]:
    """The post-renderer argv for helm (first item: ``--post-renderer``; the rest: ``--post-renderer-args``)."""
    return [python or sys.executable, "-m", "osm_l2net.helm.postrender", "--metadata", metadata_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="osm-l2net post-render",
        description="Helm post-renderer: add a KDU's network-attachment labels/annotations to every pod template "
        "of the YAML stream on stdin and write the stream to stdout.",
    )
    parser.add_argument(
        "--metadata", required=True, metavar="FILE", help='JSON {"labels": {...}, "annotations": {...}}'
    )
    args = parser.parse_args(argv)
    try:
        pod = load_metadata(args.metadata)
        stream = sys.stdin.buffer.read().decode("utf-8")
        output, notes = render(stream, pod)
    except UnicodeDecodeError as e:
        print(f"osm-l2net post-render: stdin is not UTF-8 text: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as e:
        print(f"osm-l2net post-render: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for note in notes:
        print(f"osm-l2net post-render: {note}", file=sys.stderr)
    sys.stdout.buffer.write(output.encode("utf-8"))
    sys.stdout.flush()
    return 0


def _string_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadInput(f"{where}: expected an object of string to string, got {json.dumps(value)[:200]}")
    return dict(value)


def _type(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(
        type(value), type(value).__name__
    )


if __name__ == "__main__":
    sys.exit(main())
