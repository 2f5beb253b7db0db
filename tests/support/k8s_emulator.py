"""``KubernetesAPIEmulator``: a TEST DOUBLE of kube-apiserver, speaking its HTTP/JSON wire protocol on 127.0.0.1.

No real API server can run on the project's machines (see docs on the test environment), so the adapters are tested
against this emulator over real HTTP with the real clients (the official ``kubernetes`` client, helm, kubectl).
It subclasses kmock's ``KubernetesEmulator`` (aiohttp server, bundled discovery data, object store with history) and
replaces its request handling where kmock differs from kube-apiserver: 201 on create, label/field selectors, PUT,
merge/JSON/strategic patches, deletecollection, namespaces, resourceVersion/uid/creationTimestamp/generation,
finalizers and deletionTimestamp, typed list bodies, watch with resourceVersion and timeoutSeconds, protobuf bodies,
discovery with trailing slashes and ``groupVersion: v1``.

Test hooks: ``log`` (every request with its status and the resourceVersion after it), ``faults`` (a seeded
``FaultPlan``), ``add_listener`` (called on every stored change; the L2S-M operator double uses it) and direct
store access (``get_object``/``put_object``/``patch_object``/``delete_object``) that does not count as API traffic.
CRD objects (L2Network, NetworkAttachmentDefinition) are validated against the real CRDs of the shared models
(``k8s_schema.py``), and ``/openapi/v3`` says so, so kubectl/helm validate them (and Namespaces) server-side.
Services get a ``spec.clusterIP`` on create, as from the API server's allocator.
It is not a cluster: no controllers, admission webhooks, built-in kinds' schemas or OpenAPI v2.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import gzip
import importlib.resources
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import references, rendering

from tests.support import k8s_wire as wire
from tests.support.k8s_hooks import FaultPlan, LogEntry, RequestLog, fault_error
from tests.support.k8s_schema import CrdSchemas, openapi_documents, openapi_root
from tests.support.k8s_wire import ApiError
from tests.support.tools import models_dir

__all__ = ["FaultPlan", "KubernetesAPIEmulator", "LogEntry", "RequestLog"]

Resource = references.resource
ObjKey = tuple[Resource, str | None, str]
Listener = Callable[[str, Resource, dict[str, Any]], None]

L2NETWORKS = Resource("l2sm.l2sm.k8s.local", "v1", "l2networks")
NADS = Resource("k8s.cni.cncf.io", "v1", "network-attachment-definitions")
# L2S-M's other two kinds (config/crd/bases/l2sm.l2sm.k8s.local_{overlays,networkedgedevices}.yaml: namespaced, v1,
# status subresource); an L2S-M 2.8+ install serves all three
OVERLAYS = Resource("l2sm.l2sm.k8s.local", "v1", "overlays")
NEDS = Resource("l2sm.l2sm.k8s.local", "v1", "networkedgedevices")
DEPLOYMENTS = Resource("apps", "v1", "deployments")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices")
PODS = Resource("", "v1", "pods")
NAMESPACES = Resource("", "v1", "namespaces")
SECRETS = Resource("", "v1", "secrets")
CONFIGMAPS = Resource("", "v1", "configmaps")
SERVICES = Resource("", "v1", "services")

_CRDS: dict[Resource, dict[str, Any]] = {
    L2NETWORKS: {"kind": "L2Network", "singular": "l2network", "shortnames": {"l2net"}, "subresources": {"status"}},
    NADS: {"kind": "NetworkAttachmentDefinition", "singular": "network-attachment-definition",
           "shortnames": {"net-attach-def"}, "subresources": set()},
    OVERLAYS: {"kind": "Overlay", "singular": "overlay", "shortnames": set(), "subresources": {"status"}},
    NEDS: {"kind": "NetworkEdgeDevice", "singular": "networkedgedevice", "shortnames": set(),
           "subresources": {"status"}},
}
_VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
_EVENT_HISTORY = 5000


def _now() -> str:
    return datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- paths

@dataclass(frozen=True)
class Target:
    group: str
    version: str
    namespace: str | None = None
    plural: str | None = None
    name: str | None = None
    subresource: str | None = None

    @property
    def resource(self) -> Resource:
        return Resource(self.group, self.version, self.plural)


def parse_target(path: str) -> Target | None:
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest and rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return Target(group, version)
    return Target(group, version, namespace, rest[0], rest[1] if len(rest) > 1 else None,
                  "/".join(rest[2:]) or None)


# ---------------------------------------------------------------- the emulator

@attrs.define(kw_only=True)
class KubernetesAPIEmulator(kmock.KubernetesEmulator):
    """Test double of kube-apiserver (see the module docstring). Create it inside a running event loop."""

    faults: FaultPlan | None = None
    log: RequestLog = attrs.field(factory=RequestLog)
    # CRD schema validation (None when the shared models are not there: then nothing is validated)
    schemas: CrdSchemas | None = attrs.field(factory=lambda: CrdSchemas.load(models_dir()))
    _warnings: list[str] = attrs.field(factory=list, init=False)
    _rv: int = attrs.field(default=0, init=False)
    _seq: int = attrs.field(default=0, init=False)
    _service_ips: int = attrs.field(default=0, init=False)
    _watchers: list[_Watch] = attrs.field(factory=list, init=False)
    _history: collections.deque[tuple[int, Resource, str, dict[str, Any]]] = attrs.field(
        factory=lambda: collections.deque(maxlen=_EVENT_HISTORY), init=False)
    _listeners: list[Listener] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # kmock's load_bundled() uses the deprecated importlib.resources.read_binary (a warning = an error here)
        bundled = importlib.resources.files("kmock._internal").joinpath("resources.json.gz").read_bytes()
        self.resources.load_data(gzip.decompress(bundled))
        for res, info in _CRDS.items():
            self.resources[res] = kmock.ResourceInfo(namespaced=True, verbs=_VERBS, **info)
        for ns in ("default", "kube-system", "kube-public"):
            self.put_object(NAMESPACES, None, {"metadata": {"name": ns}})

    # ------------------------------------------------------------ store (also the test-side API, no HTTP)

    @property
    def resource_version(self) -> int:
        return self._rv

    def close_watches(self) -> None:
        """End every open watch stream (at shutdown, so that the server stops promptly)."""
        for watch in list(self._watchers):
            watch.queue.put_nowait(("", {}))

    def add_listener(self, listener: Listener) -> None:
        """``listener(event_type, resource, object)`` after every stored change (runs on the server's loop)."""
        self._listeners.append(listener)

    def info(self, res: Resource) -> kmock.ResourceInfo:
        if res not in self.resources:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({res.plural})")
        return self.resources[res]

    def get_object(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = (res, namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    def list_objects(self, res: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        out = [copy.deepcopy(obj.raw) for (r, ns, _), obj in self.objects.items()
               if r == res and not obj.deleted and (namespace is None or ns == namespace)]
        return sorted(out, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def put_object(self, res: Resource, namespace: str | None, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an object directly (as a controller would), with full metadata and a watch event."""
        new = copy.deepcopy(dict(obj))
        meta = new.setdefault("metadata", {})
        if namespace is not None:
            meta["namespace"] = namespace
        old = self.get_object(res, namespace, meta["name"])
        if old is None:
            return self._create(res, namespace, new, direct=True)
        return self._store_update(res, old, new, "*")

    def patch_object(self, res: Resource, namespace: str | None, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """Merge-patch an object directly (status included), e.g. to play a controller."""
        old = self._require(res, namespace, name)
        return self._store_update(res, old, wire.merge_patch(old, patch), "*")

    def delete_object(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._delete(res, self._require(res, namespace, name))

    def _require(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.get_object(res, namespace, name)
        if obj is None:
            kind = (self.resources[res].kind or res.plural or "").lower() if res in self.resources else res.plural
            raise ApiError(404, "NotFound", f'{res.plural} "{name}" not found',
                           {"name": name, "group": res.group, "kind": kind})
        return obj

    def _commit(self, res: Resource, event: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        key = (res, meta.get("namespace"), meta["name"])
        if event == "DELETED":
            self.objects[key].delete()
        elif key not in self.objects:
            self.objects[key] = obj
        elif self.objects[key].deleted:
            self.objects[key].create(obj)
        else:
            self.objects[key].history.append(obj)
        self._history.append((self._rv, res, event, copy.deepcopy(obj)))
        for watch in list(self._watchers):
            watch.offer(res, event, obj)
        for listener in list(self._listeners):
            listener(event, res, copy.deepcopy(obj))
        return copy.deepcopy(obj)

    def _complete(self, res: Resource, obj: dict[str, Any]) -> None:
        info = self.info(res)
        obj.setdefault("apiVersion", f"{res.group}/{res.version}" if res.group else res.version)
        obj.setdefault("kind", info.kind)

    def _create(self, res: Resource, namespace: str | None, obj: dict[str, Any],
                direct: bool = False, dry_run: bool = False) -> dict[str, Any]:
        info = self.info(res)
        if not direct and "status" in info.subresources:
            obj.pop("status", None)  # as kube-apiserver: status is written through the status subresource only
        self._complete(res, obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not meta.get("name"):
            raise ApiError(422, "Invalid", "metadata.name: Required value: name or generateName is required")
        _validate(res, meta)
        if info.namespaced:
            meta["namespace"] = meta.get("namespace") or namespace
            if meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the request")
            if self.get_object(NAMESPACES, None, str(namespace)) is None:
                raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                               {"name": namespace, "kind": "namespaces"})
        else:
            meta.pop("namespace", None)
        if self.get_object(res, meta.get("namespace"), meta["name"]) is not None:
            raise ApiError(409, "AlreadyExists", f'{res.plural}{"." + res.group if res.group else ""} '
                           f'"{meta["name"]}" already exists', {"name": meta["name"], "group": res.group,
                                                                 "kind": res.plural})
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        for key in ("deletionTimestamp", "resourceVersion"):
            meta.pop(key, None)
        if res == NAMESPACES:
            obj.setdefault("status", {})["phase"] = "Active"
        if res == SERVICES:
            self._allocate_cluster_ip(obj)
        if dry_run:  # as kube-apiserver's dryRun=All: every check above ran, nothing is stored
            return copy.deepcopy(obj)
        return self._commit(res, "ADDED", obj)

    def _allocate_cluster_ip(self, service: dict[str, Any]) -> None:
        """As kube-apiserver's service IP allocator: a Service without ``spec.clusterIP`` (and not ExternalName)
        gets one from the service CIDR (10.96.0.0/12) on create; ``None`` (headless) and a requested IP are kept."""
        spec = service.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] == "ExternalName" or spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]] if spec.get("clusterIP") else [])
            return
        self._service_ips += 1
        ip = f"10.96.{self._service_ips // 250}.{10 + self._service_ips % 250}"
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]

    def _store_update(self, res: Resource, old: dict[str, Any], new: dict[str, Any],
                      subresource: str | None = None) -> dict[str, Any]:
        """Apply a new state: immutable metadata is kept, status follows the subresource rules, finalizers too.

        ``subresource``: None for the main resource, "status" for /status, "*" for direct store writes (no rules).
        """
        self._complete(res, new)
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        has_status = "status" in self.info(res).subresources and subresource != "*"
        if subresource == "status":
            new = {**old, "status": new.get("status"), "metadata": old["metadata"] | {}}
            meta = new["metadata"]
        elif has_status and subresource is None and "status" in old:
            new["status"] = old["status"]
        elif has_status and subresource is None:
            new.pop("status", None)
        if old.get("spec") != new.get("spec"):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        _validate(res, meta)
        added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
        if old_meta.get("deletionTimestamp") and added:
            raise ApiError(422, "Invalid", f"metadata.finalizers: Forbidden: no new finalizers can be added if the "
                           f"object is being deleted, found new finalizers {sorted(added)}")
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._commit(res, "DELETED", new)
        return self._commit(res, "MODIFIED", new)

    def _delete(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Objects with finalizers get a deletionTimestamp and stay; others go at once (namespaces cascade)."""
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta.update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
                return self._commit(res, "MODIFIED", obj)
            return obj
        if res == NAMESPACES:
            for (r, ns, _), stored in list(self.objects.items()):
                if ns == meta["name"] and not stored.deleted:
                    self._delete(r, copy.deepcopy(stored.raw))
        self._commit(res, "DELETED", obj)
        return None

    # ------------------------------------------------------------ HTTP

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """kmock's entry point, without its path parser (it fails on ``/api/v1/namespaces``)."""
        body = await raw_request.read()
        request = rendering.Request(
            id=len(self._requests), raw_request=raw_request, url=raw_request.url, method=raw_request.method,
            params=dict(raw_request.query), headers=dict(raw_request.headers), body=body,
        )
        self._requests.append(request)
        try:
            return await self._handle(request)
        except Exception as e:  # the emulator's own bug: answer 500 and keep it for the fixture to report
            if self._errors:
                self._errors[-1].append(e)
            return await self._render_error(e)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        self._seq += 1
        seq, method, path = self._seq, str(request.method.value).upper(), request.url.path
        query = dict(request.params)
        target = parse_target(path)
        fault: int | str | None = None
        rv: int | None = None
        logged: list[bool] = []

        def record(status: int, rv: int | None) -> None:  # watches record when they open, not when they end
            if not logged:
                logged.append(True)
                self.log.append(LogEntry(seq, method, path, query, status, rv, None if fault is None else str(fault)))

        try:
            if target is not None and target.plural and self.faults is not None:
                fault = self.faults.draw(method, path)
                if fault is not None and fault != "timeout":
                    raise fault_error(int(fault), method, self.faults.retry_after)
            response, rv = await self._route(request, target, method, query, record)
            if fault == "timeout" and self.faults is not None:
                await asyncio.sleep(self.faults.delay)  # applied, but the answer comes after the client gave up
        except ApiError as e:
            response = aiohttp.web.json_response(e.status(), status=e.code, headers=e.headers)
        record(response.status, rv)
        return response

    async def _route(self, request: rendering.Request, target: Target | None, method: str, query: dict[str, str],
                     record: Callable[[int, int | None], None]) -> tuple[aiohttp.web.StreamResponse, int | None]:
        if target is None or target.plural is None:
            return await self._discovery(request, target, method), None
        res = target.resource
        self.info(res)
        if method == "GET" and wire.query_bool(query.get("watch")):
            return await self._watch(request, target, query, record), self._rv
        if target.subresource not in (None, "status"):
            raise ApiError(404, "NotFound", f"the emulator does not serve subresource {target.subresource!r}")
        handlers = {
            ("GET", False): self._http_list, ("GET", True): self._http_get, ("POST", False): self._http_create,
            ("PUT", True): self._http_replace, ("PATCH", True): self._http_patch,
            ("DELETE", True): self._http_delete, ("DELETE", False): self._http_delete_collection,
        }
        handler = handlers.get((method, target.name is not None))
        if handler is None:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {request.url.path}")
        self._warnings.clear()
        code, body = handler(request, target, query)
        rv = int(body["metadata"]["resourceVersion"]) if body.get("metadata", {}).get("resourceVersion") else None
        response = aiohttp.web.json_response(body, status=code)
        for text in self._warnings:  # one header per warning, as kube-apiserver sends them
            response.headers.add("Warning", f'299 - "{text}"')
        return response, rv

    def _body(self, request: rendering.Request) -> Any:
        ctype = _content_type(request)
        if "protobuf" in ctype:
            return wire.decode_protobuf(request.body)
        if "yaml" in ctype:
            raise ApiError(415, "UnsupportedMediaType", "the emulator has no server-side apply (apply-patch+yaml)")
        try:
            return json.loads(request.body or b"null")
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"request body is not JSON: {e}") from e

    def _ns(self, res: Resource, target: Target) -> str | None:
        namespaced = bool(self.info(res).namespaced)
        if not namespaced and target.namespace is not None:
            raise ApiError(404, "NotFound", f"{res.plural} is not namespaced")
        return target.namespace

    def _matching(self, res: Resource, namespace: str | None, query: Mapping[str, str]) -> list[dict[str, Any]]:
        labels = wire.parse_label_selector(query.get("labelSelector"))
        fields = wire.parse_field_selector(query.get("fieldSelector"))
        return [o for o in self.list_objects(res, namespace)
                if wire.labels_match(labels, o) and wire.fields_match(fields, o)]

    def _list_body(self, res: Resource, items: list[dict[str, Any]]) -> dict[str, Any]:
        api_version = f"{res.group}/{res.version}" if res.group else res.version
        return {"kind": f"{self.info(res).kind}List", "apiVersion": api_version,
                "metadata": {"resourceVersion": str(self._rv)}, "items": items}

    def _http_list(self, request: rendering.Request, t: Target, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res = t.resource
        return 200, self._list_body(res, self._matching(res, self._ns(res, t), q))

    def _http_get(self, request: rendering.Request, t: Target, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return 200, self._require(t.resource, self._ns(t.resource, t), str(t.name))

    def _http_create(self, request: rendering.Request, t: Target, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res, body = t.resource, self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        expected_kind = self.info(res).kind
        if body.get("kind") not in (None, expected_kind):
            raise ApiError(400, "BadRequest", f"kind {body.get('kind')!r} does not match {expected_kind!r}")
        namespace = self._ns(res, t)
        if self.info(res).namespaced and namespace is None:
            raise ApiError(404, "NotFound", f"{res.plural} is namespaced: create it under /namespaces/<ns>/")
        self._complete(res, body)
        body = self._admit(body, q)
        return 201, self._create(res, namespace, body, dry_run=_dry_run(q))

    def _admit(self, obj: dict[str, Any], q: Mapping[str, str]) -> dict[str, Any]:
        """CRD schema validation of an object written over HTTP (direct store writes are not validated)."""
        if self.schemas is None:
            return obj
        admitted, warnings = self.schemas.admit(copy.deepcopy(obj), q.get("fieldValidation", "Warn"))
        self._warnings.extend(warnings)
        return admitted

    def _check_rv(self, old: dict[str, Any], new: Any) -> None:
        sent = new.get("metadata", {}).get("resourceVersion") if isinstance(new, dict) else None
        if sent and sent != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on "{old["metadata"]["name"]}": the object '
                           "has been modified; please apply your changes to the latest version and try again")

    def _http_replace(self, request: rendering.Request, t: Target, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res, body = t.resource, self._body(request)
        old = self._require(res, self._ns(res, t), str(t.name))
        if not isinstance(body, dict) or body.get("metadata", {}).get("name") not in (None, t.name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name in the URL")
        self._check_rv(old, body)
        self._complete(res, body)
        return 200, self._store_update(res, old, self._admit(body, q), t.subresource)

    def _http_patch(self, request: rendering.Request, t: Target, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res, body = t.resource, self._body(request)
        old = self._require(res, self._ns(res, t), str(t.name))
        ctype = _content_type(request)
        if "json-patch" in ctype:
            new = wire.json_patch(old, body)
        elif "merge-patch" in ctype:  # merge-patch+json and strategic-merge-patch+json
            self._check_rv(old, body)
            new = wire.merge_patch(old, body)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"unsupported patch content type {ctype!r}")
        admitted = self._admit(new, q)
        if _dry_run(q):  # validated and admitted, not stored (kube-apiserver's dryRun=All)
            return 200, admitted
        return 200, self._store_update(res, old, admitted, t.subresource)

    def _http_delete(self, request: rendering.Request, t: Target, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res = t.resource
        obj = self._require(res, self._ns(res, t), str(t.name))
        options = self._body(request) if request.body else {}
        precondition = (options or {}).get("preconditions", {}).get("uid")
        if precondition and precondition != obj["metadata"]["uid"]:
            raise ApiError(409, "Conflict", f"precondition failed: UID in precondition: {precondition}, "
                           f"UID in object meta: {obj['metadata']['uid']}")
        pending = self._delete(res, obj)
        if pending is not None:
            return 200, pending
        details = {"name": t.name, "group": res.group, "kind": res.plural, "uid": obj["metadata"]["uid"]}
        return 200, wire.status_body(200, "", "", details) | {"metadata": {"resourceVersion": str(self._rv)}}

    def _http_delete_collection(self, request: rendering.Request, t: Target,
                                q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res = t.resource
        items = self._matching(res, self._ns(res, t), q)
        for obj in items:
            self._delete(res, obj)
        return 200, self._list_body(res, items)

    # ------------------------------------------------------------ watch

    async def _watch(self, request: rendering.Request, t: Target, q: dict[str, str],
                     record: Callable[[int, int | None], None]) -> aiohttp.web.StreamResponse:
        res = t.resource
        watch = _Watch(res, self._ns(res, t), t.name, wire.parse_label_selector(q.get("labelSelector")),
                       wire.parse_field_selector(q.get("fieldSelector")))
        since = q.get("resourceVersion", "")
        if since in ("", "0"):
            for obj in self.list_objects(res, watch.namespace):
                watch.offer(res, "ADDED", obj)
        else:
            if self._history and int(since) < self._history[0][0] - 1:
                raise ApiError(410, "Expired", f"too old resource version: {since} ({self._history[0][0]})")
            for rv, r, event, obj in self._history:
                if rv > int(since):
                    watch.offer(r, event, obj)
        self._watchers.append(watch)
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        assert request._raw_request is not None
        try:
            await response.prepare(request._raw_request)
            record(200, self._rv)
            await watch.pump(response, None if timeout is None else time.monotonic() + timeout)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._watchers.remove(watch)
        return response

    # ------------------------------------------------------------ discovery

    async def _discovery(self, request: rendering.Request, target: Target | None,
                         method: str) -> aiohttp.web.StreamResponse:
        path = request.url.path.rstrip("/") or "/"
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} {path}")
        served: Any
        if path == "/version":
            served = await self._serve_server_version(request)
            served |= {"major": "1", "minor": "32", "gitVersion": "v1.32.0-osm-l2net-emulator"}
        elif path == "/api":
            served = await self._serve_api(request)
        elif path == "/apis":
            served = await self._serve_apis(request)
        elif path == "/":
            served = await self._serve_root(request)
        elif path == "/openapi/v3" or path.startswith("/openapi/v3/"):
            served = self._openapi(path.removeprefix("/openapi/v3").strip("/"))
        elif target is not None:
            gv = Resource(group=target.group, version=target.version)
            served = await self._serve_version(rendering.Request(resource=gv))
            if target.group == "":
                served["groupVersion"] = target.version
        elif m := re.fullmatch(r"/apis/([^/]+)", path):
            served = await self._serve_group(rendering.Request(resource=Resource(group=m.group(1))))
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
        return aiohttp.web.json_response(served)

    def _openapi(self, key: str) -> Any:
        plurals = {(str(r.group), str(r.version), str(self.resources[r].kind)): str(r.plural) for r in self.resources}
        docs = openapi_documents(self.schemas, plurals)
        if not key:
            return openapi_root(docs)
        if key not in docs:
            raise ApiError(404, "NotFound", f"no OpenAPI v3 document for {key} in the emulator")
        return docs[key]

    async def _serve_version(self, request: rendering.Request) -> Any:
        try:
            served: Any = await super()._serve_version(request)
        except kmock.KubernetesNotFoundError as e:
            raise ApiError(404, "NotFound", "the server could not find the requested resource") from e
        for entry in served["resources"]:
            if "/" in entry["name"]:  # subresources have no short names (kubectl warns about ambiguity otherwise)
                entry.update(shortNames=[], categories=[])
        return served

    async def _serve_group(self, request: rendering.Request) -> Any:
        try:
            return await super()._serve_group(request)
        except kmock.KubernetesNotFoundError as e:
            raise ApiError(404, "NotFound", "the server could not find the requested resource") from e


def _validate(res: Resource, meta: Mapping[str, Any]) -> None:
    problems = wire.metadata_problems(meta)
    if problems:
        raise ApiError(422, "Invalid", f'{res.plural} "{meta.get("name")}" is invalid: {"; ".join(problems)}',
                       {"name": meta.get("name"), "group": res.group, "kind": res.plural})


def _dry_run(q: Mapping[str, str]) -> bool:
    """kube-apiserver accepts dryRun=All only (and no dryRun)."""
    value = q.get("dryRun")
    if value not in (None, "All"):
        raise ApiError(400, "BadRequest", f"Invalid dry run value {value!r}: supported values: All")
    return value == "All"


def _content_type(request: rendering.Request) -> str:
    raw = request._raw_request
    return raw.headers.get("Content-Type", "") if raw is not None else ""


@dataclass
class _Watch:
    resource: Resource
    namespace: str | None
    name: str | None
    labels: tuple[wire.Requirement, ...]
    fields: tuple[tuple[str, str, str], ...]
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    def offer(self, res: Resource, event: str, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata", {})
        if res != self.resource or (self.namespace is not None and meta.get("namespace") != self.namespace):
            return
        if self.name is not None and meta.get("name") != self.name:
            return
        if wire.labels_match(self.labels, obj) and wire.fields_match(self.fields, obj):
            self.queue.put_nowait((event, copy.deepcopy(dict(obj))))

    async def pump(self, response: aiohttp.web.StreamResponse, deadline: float | None) -> None:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            try:
                event, obj = await asyncio.wait_for(self.queue.get(), remaining)
            except TimeoutError:
                return
            if not event:
                return
            await response.write(json.dumps({"type": event, "object": obj}).encode() + b"\n")
