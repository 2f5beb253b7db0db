"""CRD schema validation for the Kubernetes API test double, as kube-apiserver does it for custom resources.

The L2Network and NetworkAttachmentDefinition CRDs and their checker come from the shared conformance models
(``validate_k8s_object.py``, found via ``tools.models_dir()``); without them the emulator does not validate (and
says so in ``KubernetesAPIEmulator.schemas``). Type, enum, pattern and required errors answer 422 ``Invalid``;
unknown fields answer 400 with ``fieldValidation=Strict`` (what kubectl sends) and are otherwise dropped with a
``Warning`` header (the server default, what the python client gets).
Also builds the minimal ``/openapi/v3`` documents that tell clients the server validates these kinds (and
Namespaces, whose only fields are metadata), so kubectl and helm validate them server-side instead of asking for an
OpenAPI v2 schema the emulator does not have.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from tests.support.k8s_wire import ApiError

_UNKNOWN = re.compile(r"^(?P<path>\S+): unknown field")


def _load_checker(models: Path) -> ModuleType | None:
    script = models / "validate_k8s_object.py"
    if not script.is_file():
        return None
    spec = importlib.util.spec_from_file_location("osm_l2net_shared_validate_k8s_object", script)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CrdSchemas:
    """The CRDs' openAPIV3Schema, keyed by (group, version, kind)."""

    def __init__(self, checker: ModuleType) -> None:
        self._checker = checker
        self.crds: dict[tuple[str, str, str], Any] = checker.load_crds(yaml)

    @classmethod
    def load(cls, models: Path) -> CrdSchemas | None:
        checker = _load_checker(models)
        return cls(checker) if checker is not None else None

    def knows(self, api_version: str, kind: str) -> bool:
        group, _, version = api_version.rpartition("/")
        return (group, version, kind) in self.crds

    def admit(self, obj: dict[str, Any], field_validation: str) -> tuple[dict[str, Any], list[str]]:
        """The object as stored (unknown fields pruned) and the warnings; ApiError when the server would refuse."""
        if not self.knows(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))):
            return obj, []
        errors, _, _ = self._checker.validate_object(obj, self.crds)
        unknown = [m.group("path") for e in errors if (m := _UNKNOWN.match(e))]
        invalid = [e for e in errors if not _UNKNOWN.match(e) and not e.startswith("metadata.name")]
        name = (obj.get("metadata") or {}).get("name")
        group = str(obj["apiVersion"]).rpartition("/")[0]
        if invalid:
            raise ApiError(422, "Invalid", f'{obj["kind"]}.{group} "{name}" is invalid: {"; ".join(invalid)}',
                           {"name": name, "group": group, "kind": obj["kind"]})
        if unknown and field_validation == "Strict":
            fields = ", ".join(f'unknown field "{p.split(".", 1)[1]}"' for p in unknown)
            raise ApiError(400, "BadRequest", f'{obj["kind"]} in version "{obj["apiVersion"]}" cannot be handled as '
                           f'a {obj["kind"]}: strict decoding error: {fields}')
        for path in unknown:
            _prune(obj, path.split(".")[1:])
        if field_validation == "Ignore":
            return obj, []
        return obj, [f'unknown field "{p.split(".", 1)[1]}"' for p in unknown]


def _prune(obj: Any, parts: list[str]) -> None:
    node = obj
    for part in parts[:-1]:
        key, *indexes = part.replace("]", "").split("[")
        node = node.get(key) if isinstance(node, Mapping) else None
        for index in indexes:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


# ---------------------------------------------------------------- OpenAPI v3 (only what clients check)

def _gvk_doc(group: str, version: str, kinds: list[tuple[str, str]]) -> dict[str, Any]:
    """An OpenAPI v3 document with one PATCH operation per kind that accepts ``fieldValidation``."""
    paths: dict[str, Any] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for kind, path in kinds:
        paths[f"{prefix}/{path}/{{name}}"] = {"patch": {
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes API test double", "version": "v1.32.0"},
            "paths": paths}


def openapi_documents(schemas: CrdSchemas | None, plurals: Mapping[tuple[str, str, str], str]) -> dict[str, Any]:
    """{"api/v1": doc, "apis/<group>/<version>": doc} for Namespaces and the validated CRDs."""
    docs: dict[str, Any] = {"api/v1": _gvk_doc("", "v1", [("Namespace", "namespaces")])}
    for group, version, kind in sorted(schemas.crds if schemas else ()):
        plural = plurals.get((group, version, kind))
        if plural:
            key = f"apis/{group}/{version}"
            doc = docs.setdefault(key, _gvk_doc(group, version, []))
            doc["paths"].update(_gvk_doc(group, version, [(kind, f"namespaces/{{namespace}}/{plural}")])["paths"])
    return docs


def openapi_root(docs: Mapping[str, Any]) -> dict[str, Any]:
    def digest(doc: Any) -> str:
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16].upper()

    return {"paths": {k: {"serverRelativeURL": f"/openapi/v3/{k}?hash={digest(d)}"} for k, d in docs.items()}}
