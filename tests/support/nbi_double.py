"""``OsmNbiDouble``: a TEST DOUBLE of OSM's northbound interface (SOL005 REST under ``/osm``) over real HTTP on
127.0.0.1:<ephemeral port> (plain HTTP: the client's TLS verification is tested apart; it defaults to verify=True).

What it serves, as NBI (Release NINETEEN) does: token auth (``POST /admin/v1/tokens`` → ``Authorization: Bearer``;
401 with NBI's error body otherwise), NSD and VNF package listings and their descriptor text (``.../nsd``,
``.../vnfd``, ``Accept: text/plain`` only), VIM accounts, NS instances (``ns_instances_content``: POST creates and
instantiates, DELETE terminates with autoremove: 202 + op id, or 204 when never instantiated), and
``ns_lcm_op_occs/<id>`` whose ``operationState`` goes PROCESSING → COMPLETED (or FAILED) after ``steps`` polls.
Request bodies of ``POST ns_instances_content`` are validated against NBI's own ``ns_instantiate`` JSON schema
(shared/models/osm-nbi), answered 422 as NBI would.

Test hooks: ``log`` (method, path, status), ``bodies`` (accepted NS bodies; the nsr keeps them split as NBI does), ``fail`` (path regex → status, answered
once each), ``fail_operations`` (instantiate ends FAILED), ``on_operation`` (called with (operation, nsr) when an
operation completes: the tests play LCM's effect on the cluster there), ``on_create`` (each accepted NS body).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import yaml


def _package_doc(package: Path) -> tuple[str, str, dict[str, Any]]:
    path = next(iter(sorted(package.glob("*.yaml"))))
    text = path.read_text()
    doc = yaml.safe_load(text)
    return ("nsd", text, doc["nsd"]["nsd"][0]) if "nsd" in doc else ("vnfd", text, doc["vnfd"])


@dataclass
class _Response:
    status: int
    body: Any = None
    content_type: str = "application/json"


@dataclass
class OsmNbiDouble:
    packages: Sequence[str | Path]
    schema_path: Path
    users: Mapping[str, str] = field(default_factory=lambda: {"admin": "s3cret-pw"})
    vim_accounts: Mapping[str, str] = field(default_factory=lambda: {"openstack-site": str(uuid.uuid4())})
    steps: int = 2  # polls of an operation before it ends
    log: list[tuple[str, str, int]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    fail_operations: bool = False
    on_operation: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
    on_create: Callable[[dict[str, Any]], None] | None = None  # called with each accepted NS body, before answering

    def __post_init__(self) -> None:
        self.validator = jsonschema.Draft4Validator(json.loads(self.schema_path.read_text()))
        self.nsds: dict[str, tuple[dict[str, Any], str]] = {}
        self.vnf_packages: dict[str, tuple[dict[str, Any], str]] = {}
        for package in self.packages:
            kind, text, body = _package_doc(Path(package))
            record_id = str(uuid.uuid4())
            record = {**body, "_id": record_id, "_admin": {"onboardingState": "ONBOARDED"},
                      "_links": {"self": {"href": f"/{kind}/{record_id}"}}}
            (self.nsds if kind == "nsd" else self.vnf_packages)[record_id] = (record, text)
        self.nsrs: dict[str, dict[str, Any]] = {}
        self.ops: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> OsmNbiDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                response = double.handle(self.command, self.path, dict(self.headers.items()), raw)
                payload = b""
                if response.body is not None:
                    payload = (response.body if isinstance(response.body, str) else json.dumps(response.body)).encode()
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="osm-nbi-double", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    # ------------------------------------------------------------ dispatch
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], raw: bytes) -> _Response:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        with self._lock:
            response = self._dispatch(method, path, query, headers, raw)
            self.log.append((method, path, response.status))
        return response

    def _dispatch(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
                  raw: bytes) -> _Response:
        for pattern, status in list(self.fail.items()):
            if re.search(pattern, f"{method} {path}"):
                del self.fail[pattern]
                return _error(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "INJECTED", "injected fault")
        if not path.startswith("/osm/"):
            return _error(404, "NOT_FOUND", f"Unexpected URL {path}")
        path = path[len("/osm"):]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "BAD_REQUEST", "Invalid JSON body")
        if (method, path) == ("POST", "/admin/v1/tokens"):
            return self._token(body)
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return _error(401, "UNAUTHORIZED", "Needed a token or Authorization http header")
        return self._route(method, path, query, headers, body)

    def _route(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: Any) -> _Response:
        routes: list[tuple[str, str, Callable[..., _Response]]] = [
            ("GET", r"/nsd/v1/ns_descriptors", lambda: _Response(200, [r for r, _ in self.nsds.values()])),
            ("GET", r"/nsd/v1/ns_descriptors/([^/]+)/nsd", lambda i: self._file(self.nsds, i, headers)),
            ("GET", r"/vnfpkgm/v1/vnf_packages", lambda: _Response(200, [r for r, _ in self.vnf_packages.values()])),
            ("GET", r"/vnfpkgm/v1/vnf_packages/([^/]+)/vnfd", lambda i: self._file(self.vnf_packages, i, headers)),
            ("GET", r"/admin/v1/vim_accounts", lambda: _Response(200, [
                {"_id": i, "name": n, "vim_type": "openstack"} for n, i in self.vim_accounts.items()])),
            ("GET", r"/nslcm/v1/ns_instances_content", lambda: _Response(200, list(self.nsrs.values()))),
            ("GET", r"/nslcm/v1/ns_instances_content/([^/]+)", self._get_ns),
            ("POST", r"/nslcm/v1/ns_instances_content", lambda: self._create(body)),
            ("DELETE", r"/nslcm/v1/ns_instances_content/([^/]+)", self._delete),
            ("GET", r"/nslcm/v1/ns_lcm_op_occs/([^/]+)", self._poll),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path.rstrip("/"))
            if match and verb == method:
                return handler(*match.groups())
        known = any(re.fullmatch(pattern, path.rstrip("/")) for _, pattern, _ in routes)
        return _error(405 if known else 404, "METHOD_NOT_ALLOWED" if known else "NOT_FOUND",
                      f"Method {method} not allowed for {path}" if known else f"Unexpected URL {path}")

    # ------------------------------------------------------------ resources
    def _token(self, body: Any) -> _Response:
        if not isinstance(body, dict) or self.users.get(str(body.get("username"))) != body.get("password"):
            return _error(401, "UNAUTHORIZED", "Invalid username or password")
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return _Response(200, {"_id": token, "id": token, "project_id": body.get("project_id", "admin"),
                               "username": body["username"], "expires": 3600})

    def _file(self, store: Mapping[str, tuple[dict[str, Any], str]], record_id: str,
              headers: Mapping[str, str]) -> _Response:
        if record_id not in store:
            return _error(404, "NOT_FOUND", f"Not found any descriptor with _id '{record_id}'")
        accept = headers.get("Accept", "")
        if "text/plain" not in accept and "*/*" not in accept:
            return _error(406, "NOT_ACCEPTABLE", "Only allowed 'text/plain' Accept header for this descriptor")
        return _Response(200, store[record_id][1], "text/plain")

    def _get_ns(self, nsr_id: str) -> _Response:
        nsr = self.nsrs.get(nsr_id)
        return _Response(200, nsr) if nsr else _error(404, "NOT_FOUND", f"Not found nsr '{nsr_id}'")

    def _create(self, body: Any) -> _Response:
        errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.absolute_path)
            return _error(422, "UNPROCESSABLE_ENTITY", f"Format error at '{where}' '{first.message}'")
        if body["nsdId"] not in self.nsds:
            return _error(404, "NOT_FOUND", f"Not found nsd with _id '{body['nsdId']}'")
        if body["vimAccountId"] not in self.vim_accounts.values():
            return _error(409, "CONFLICT", f"Invalid vimAccountId '{body['vimAccountId']}' not present for the project")
        nsr_id = str(uuid.uuid4())  # as NBI: a fresh id whatever the body says
        self.bodies.append(body)
        if self.on_create is not None:
            self.on_create(body)
        # as NBI (_format_ns_request): the NS and VNF additional params are kept apart from instantiate_params
        request = {k: v for k, v in body.items() if k not in ("additionalParamsForNs", "additionalParamsForVnf")}
        self.nsrs[nsr_id] = {"_id": nsr_id, "id": nsr_id, "name": body["nsName"], "nsd-id": body["nsdId"],
                             "nsState": "BUILDING", "instantiate_params": request,
                             "additionalParamsForNs": _encode(body.get("additionalParamsForNs") or {}) or None}
        op = self._op(nsr_id, "instantiate", body)
        return _Response(201, {"id": nsr_id, "nslcmop_id": op["_id"], "nsName": body["nsName"]})

    def _delete(self, nsr_id: str) -> _Response:
        nsr = self.nsrs.get(nsr_id)
        if nsr is None:
            return _error(404, "NOT_FOUND", f"Not found nsr '{nsr_id}'")
        if nsr["nsState"] == "NOT_INSTANTIATED":
            del self.nsrs[nsr_id]
            return _Response(204)
        op = self._op(nsr_id, "terminate", {"autoremove": True})
        return _Response(202, {"_id": op["_id"]})

    def _op(self, nsr_id: str, kind: str, params: Any) -> dict[str, Any]:
        op_id = str(uuid.uuid4())
        op = {"_id": op_id, "id": op_id, "nsInstanceId": nsr_id, "lcmOperationType": kind, "operationState": "PROCESSING",
              "detailed-status": "In progress", "operationParams": params, "polls": 0}
        self.ops[op_id] = op
        return op

    def _poll(self, op_id: str) -> _Response:
        op = self.ops.get(op_id)
        if op is None:
            return _error(404, "NOT_FOUND", f"Not found nslcmop '{op_id}'")
        op["polls"] += 1
        if op["operationState"] == "PROCESSING" and op["polls"] >= self.steps:
            self._finish(op)
        return _Response(200, {k: v for k, v in op.items() if k != "polls"})

    def _finish(self, op: dict[str, Any]) -> None:
        nsr = self.nsrs[op["nsInstanceId"]]
        if op["lcmOperationType"] == "instantiate" and self.fail_operations:
            op.update(operationState="FAILED", errorMessage="Deploying KDUs: helm install failed: injected",
                      **{"detailed-status": "Deploying KDUs: ERROR"})
            nsr["nsState"] = "BROKEN"
        else:
            op.update(operationState="COMPLETED", **{"detailed-status": "Done"})
            nsr["nsState"] = "READY" if op["lcmOperationType"] == "instantiate" else "NOT_INSTANTIATED"
        if self.on_operation is not None:
            self.on_operation(op, nsr)
        if op["lcmOperationType"] == "terminate":
            del self.nsrs[nsr["_id"]]  # autoremove


def _encode(params: Mapping[str, Any]) -> dict[str, Any]:
    """NBI's _format_additional_params: dict/list values stored as "!!yaml <dump>" strings."""
    return {k: f"!!yaml {yaml.safe_dump(v)}" if isinstance(v, dict | list) else v for k, v in params.items()}


def _error(status: int, code: str, detail: str) -> _Response:
    return _Response(status, {"code": code, "status": status, "detail": detail})
