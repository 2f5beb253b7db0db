"""``OsmNbiDouble``: a TEST DOUBLE of OSM's northbound interface (SOL005 REST under ``/osm``) over real HTTP on
127.0.0.1:<ephemeral port>, or HTTPS when given a server certificate (``tls=(cert file, key file)``).

What it serves, as NBI (Release NINETEEN) does: token auth (``POST /admin/v1/tokens`` → ``Authorization: Bearer``;
401 with NBI's error body otherwise), NSD and VNF package listings and their descriptor text (``.../nsd``,
``.../vnfd``, ``Accept: text/plain`` only), VIM accounts, NS instances (``ns_instances_content``: POST creates and
instantiates, DELETE terminates with autoremove: 202 + op id, or 204 when never instantiated), VNF instances
(``vnf_instances``, with each ``kdur``), and ``ns_lcm_op_occs/<id>`` whose ``operationState`` goes PROCESSING →
COMPLETED (or FAILED) after ``steps`` polls.

``POST ns_instances_content`` applies NBI's own rules, in NBI's order and with NBI's status codes and texts
(``NsrTopic.new`` then ``NsLcmOpTopic.new`` of osm_nbi/instance_topics.py): the ``ns_instantiate`` JSON schema
(shared/models/osm-nbi, validated as NBI's ``validate_input`` does: 422 "Format error at 'a:b' '<message>' while
'validating input parameters'"), the NSD lookup (404), the parameter-name rules of ``_format_additional_params``
(400 "Invalid param name at ..."), the VIM account (400), ``vnf[].member-vnf-index`` and its VDUs (400),
``vld[].name`` (400). What it stores is what NBI writes: ``nsr.instantiate_params`` without the additional params,
``nsr.additionalParamsForNs`` and ``vnfr.additionalParamsForVnf`` with dict/list values as ``"!!yaml <dump>"``,
``vnfr.kdur[].additionalParams`` as JSON text of that, each kdur's resolved ``k8s-namespace``, and the nslcmop's
``operationParams`` with ``additionalParamsForVnf`` as JSON text. An ``additionalParamsForVnf`` entry for a
member-vnf-index the NSD does not have is ignored, as NBI ignores it. tests/osm/test_nbi_double_rules.py holds these
rules against NBI's real code in shared/osm-v19.

Test hooks: ``log`` (method, path, status), ``bodies`` (accepted NS bodies, as sent), ``fail`` (path regex → status,
answered once each), ``fail_operations`` (instantiate ends FAILED), ``on_operation`` (called with (operation, nsr) when
an operation completes: the tests play LCM's effect on the cluster there), ``on_create`` (each accepted NS body).
"""

from __future__ import annotations

import copy
import json
import re
import ssl
import sys
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

from tests.support import nbi_source


def _package_doc(package: Path) -> tuple[str, str, dict[str, Any]]:
    path = next(iter(sorted(package.glob("*.yaml"))))
    text = path.read_text()
    doc = yaml.safe_load(text)
    return ("nsd", text, doc["nsd"]["nsd"][0]) if "nsd" in doc else ("vnfd", text, doc["vnfd"])


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that refuses our certificate, or drops the connection, is what TLS tests do: not an error of the
        double (and the traceback would land in the stderr a CliRunner captures)."""
        if not isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            super().handle_error(request, client_address)


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
    tls: tuple[str, str] | None = None  # (certificate chain file, private key file): serve HTTPS
    project_id: str = "8c1d4f2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"  # NBI's default k8s-namespace for KDUs is the project id

    def __post_init__(self) -> None:
        # NBI's own dict from validation.py when shared/osm-v19 is there: the same schema as the JSON file (a test
        # holds them equal), but in NBI's key order, which decides which error jsonschema reports first
        schema = (nbi_source.validation().ns_instantiate if nbi_source.available()
                  else json.loads(self.schema_path.read_text()))
        self.validator = jsonschema.validators.validator_for(schema)(schema)
        self.nsds: dict[str, tuple[dict[str, Any], str]] = {}
        self.vnf_packages: dict[str, tuple[dict[str, Any], str]] = {}
        for package in self.packages:
            kind, text, body = _package_doc(Path(package))
            record_id = str(uuid.uuid4())
            record = {**body, "_id": record_id, "_admin": {"onboardingState": "ONBOARDED"},
                      "_links": {"self": {"href": f"/{kind}/{record_id}"}}}
            (self.nsds if kind == "nsd" else self.vnf_packages)[record_id] = (record, text)
        self.nsrs: dict[str, dict[str, Any]] = {}
        self.vnfrs: dict[str, dict[str, Any]] = {}
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

        self._server = _Server(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            # the handshake happens in each request's thread: a client that never handshakes cannot stall accept()
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
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
            ("GET", r"/nslcm/v1/vnf_instances", lambda: _Response(200, [
                v for v in self.vnfrs.values() if all(str(v.get(k)) in vals for k, vals in query.items())])),
            ("GET", r"/nslcm/v1/vnf_instances/([^/]+)", self._get_vnf),
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

    def _get_vnf(self, vnfr_id: str) -> _Response:
        vnfr = self.vnfrs.get(vnfr_id)
        return _Response(200, vnfr) if vnfr else _error(404, "NOT_FOUND", f"Not found vnfr '{vnfr_id}'")

    def _create(self, body: Any) -> _Response:
        """NsrTopic.new (nsr + vnfrs), then NsLcmOpTopic.new (instantiate): NBI's checks in NBI's order; a failure
        of the second leaves nothing behind, as NBI's rollback."""
        message = schema_error(self.validator, body)
        if message:
            return _error(422, "UNPROCESSABLE_ENTITY", f"{message} while 'validating input parameters'")
        sent = copy.deepcopy(body)
        request = body  # NBI formats KDU/VDU params in place in the request it then hands to the nslcmop
        step = f"getting nsd id='{request['nsdId']}' from database"
        if request["nsdId"] not in self.nsds:
            return _error(404, "NOT_FOUND", f"database exception Not found any nsds with filter='_id: "
                          f"{request['nsdId']}' while '{step}'")
        nsd = self.nsds[request["nsdId"]][0]
        nsr_id = str(uuid.uuid4())
        try:
            ns_params, _ = format_additional_params(request)
            ns_namespace = request.get("k8s-namespace") or self.project_id
            ns_namespace = (ns_params or {}).get("k8s-namespace") or ns_namespace
            vnfrs = []
            for profile in ((nsd.get("df") or [{}])[0].get("vnf-profile") or []):
                vnfd = next((r for r, _ in self.vnf_packages.values() if r.get("id") == profile.get("vnfd-id")), None)
                step = f"filling vnfr  vnfd-id='{profile.get('vnfd-id')}' constituent-vnfd='{profile.get('id')}'"
                if vnfd is None:
                    return _error(404, "NOT_FOUND", f"database exception Not found any vnfds with filter='id: "
                                  f"{profile.get('vnfd-id')}' while '{step}'")
                vnfrs.append(self._vnfr(request, nsr_id, str(profile["id"]), vnfd, ns_namespace))
        except ParamNameError as e:
            return _error(400, "BAD_REQUEST", f"{e} while '{step}'")
        refusal = instantiate_refusal(request, nsd, {v["member-vnf-index-ref"]: v["_vnfd"] for v in vnfrs},
                                      set(self.vim_accounts.values()))
        if refusal:
            return _error(400, "BAD_REQUEST", refusal)
        self.bodies.append(sent)
        if self.on_create is not None:
            self.on_create(sent)
        instantiate_params = {k: v for k, v in request.items() if k not in ("additionalParamsForNs",
                                                                             "additionalParamsForVnf")}
        self.nsrs[nsr_id] = {"_id": nsr_id, "id": nsr_id, "name": request["nsName"], "nsd-id": request["nsdId"],
                             "nsState": "BUILDING", "instantiate_params": instantiate_params,
                             "additionalParamsForNs": ns_params, "constituent-vnfr-ref": [v["_id"] for v in vnfrs]}
        for vnfr in vnfrs:
            del vnfr["_vnfd"]
            self.vnfrs[vnfr["_id"]] = vnfr
        params = {**request, "lcmOperationType": "instantiate", "nsInstanceId": nsr_id}
        if params.get("additionalParamsForVnf"):
            params["additionalParamsForVnf"] = json.dumps(params["additionalParamsForVnf"])
        op = self._op(nsr_id, "instantiate", params)
        return _Response(201, {"id": nsr_id, "nslcmop_id": op["_id"], "nsName": request["nsName"]})

    def _vnfr(self, request: dict[str, Any], nsr_id: str, member: str, vnfd: dict[str, Any],
              ns_namespace: str) -> dict[str, Any]:
        """A vnfr as _create_vnfr_descriptor_from_vnfd writes it (the keys LCM and osm-l2net read)."""
        vnf_params, vnf_entry = format_additional_params(request, member)
        namespace = (vnf_entry or {}).get("k8s-namespace") or ns_namespace
        kdurs = []
        for kdu in vnfd.get("kdu") or []:
            kdu_params, kdu_entry = format_additional_params(request, member, kdu_name=kdu["name"])
            kdurs.append({"additionalParams": kdu_params, "kdu-name": kdu["name"],
                          "k8s-namespace": (kdu_entry or {}).get("k8s-namespace") or namespace,
                          "kdu-deployment-name": (kdu_entry or {}).get("kdu-deployment-name") or "",
                          "helm-chart": (kdu_entry or {}).get("kdu_model") or kdu.get("helm-chart")})
        for vdu in vnfd.get("vdu") or []:
            format_additional_params(request, member, vdu_id=vdu["id"])
        vnfr_id = str(uuid.uuid4())
        return {"_id": vnfr_id, "id": vnfr_id, "nsr-id-ref": nsr_id, "member-vnf-index-ref": member,
                "additionalParamsForVnf": vnf_params, "vnfd-ref": vnfd.get("id"), "vnfd-id": vnfd.get("_id"),
                "kdur": kdurs, "_vnfd": vnfd}

    def _delete(self, nsr_id: str) -> _Response:
        nsr = self.nsrs.get(nsr_id)
        if nsr is None:
            return _error(404, "NOT_FOUND", f"Not found nsr '{nsr_id}'")
        if nsr["nsState"] == "NOT_INSTANTIATED":
            del self.nsrs[nsr_id]
            for vnfr_id in nsr.get("constituent-vnfr-ref") or []:
                self.vnfrs.pop(vnfr_id, None)
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
            del self.nsrs[nsr["_id"]]  # autoremove: the nsr and its vnfrs
            for vnfr_id in nsr.get("constituent-vnfr-ref") or []:
                self.vnfrs.pop(vnfr_id, None)


# ------------------------------------------------------------ NBI's rules, in the double's own code

# outside KDUs a parameter name must be a Jinja2 identifier; '$' is never allowed (instance_topics.py)
PARAM_NAME_PATTERN = "^[a-zA-Z_][a-zA-Z0-9_]*$"
FORBIDDEN_IN_PARAM_NAMES = ("$",)


class ParamNameError(Exception):
    """What NBI raises as EngineException (400) from _format_additional_params."""


def schema_error(validator: Any, body: Any) -> str | None:
    """NBI's validate_input: jsonschema's best match among the errors, as ``jsonschema.validate`` raises it."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return None
    where = "at '" + ":".join(str(p) for p in error.path) + "'" if error.path else ""
    return f"Format error {where} '{error.message}' "


def format_additional_params(request: Mapping[str, Any], member_vnf_index: str | None = None, *,
                             vdu_id: str | None = None, kdu_name: str | None = None) -> tuple[Any, Any]:
    """One level's additional params as NBI reads, checks and stores them: (params or None, entry or None). The NS
    level without ``member_vnf_index``; else the FIRST additionalParamsForVnf entry of that index (NBI never reads
    the others), and in it the first entry of the VDU / KDU. A VDU's or KDU's params are encoded in place (NBI
    changes the request it later puts in the nslcmop); a KDU's come back as JSON text."""
    where, params, entry = _level_params(request, member_vnf_index, vdu_id, kdu_name)
    if not params:
        return None, entry or None
    for key in list(params):
        _check_param_name(key, where, kdu=bool(kdu_name))
        if isinstance(params[key], dict | tuple | list):
            params[key] = "!!yaml " + yaml.safe_dump(params[key])
    return (json.dumps(params) if kdu_name else params), entry or None


def _first(items: Any, key: str, value: str) -> Any:
    return next((x for x in items if x[key] == value), None) if items else None


def _level_params(request: Mapping[str, Any], member: str | None, vdu_id: str | None,
                  kdu_name: str | None) -> tuple[str, Any, Any]:
    if not member:
        return "additionalParamsForNs", copy.copy(request.get("additionalParamsForNs")), None
    where = f"additionalParamsForVnf[member-vnf-index={member}]"
    vnf = _first(request.get("additionalParamsForVnf"), "member-vnf-index", member)
    if not vnf:
        return where, None, None
    if kdu_name:
        return _kdu_params(vnf, where, kdu_name)
    vnf_params = copy.copy(vnf.get("additionalParams")) or {}
    if not vdu_id:
        return where, vnf_params, vnf
    vdu = _first(vnf.get("additionalParamsForVdu"), "vdu_id", vdu_id)
    if vdu and vdu.get("additionalParams"):  # a VDU without params of its own gets the VNF's
        return f"{where}.additionalParamsForVdu[vdu_id={vdu_id}]", vdu["additionalParams"], vdu
    return where, vnf_params, vdu


def _kdu_params(vnf: Mapping[str, Any], where: str, kdu_name: str) -> tuple[str, Any, Any]:
    """A KDU gets its own params only, never the VNF's."""
    kdu = _first(vnf.get("additionalParamsForKdu"), "kdu_name", kdu_name)
    if kdu and kdu.get("additionalParams"):
        return f"{where}.additionalParamsForKdu[kdu_name={kdu_name}]", kdu["additionalParams"], kdu
    return where, {}, kdu


def _check_param_name(key: Any, where: str, *, kdu: bool) -> None:
    if not kdu and not (isinstance(key, str) and re.match(PARAM_NAME_PATTERN, key)):
        raise ParamNameError(f"Invalid param name at {where}:{key}. Must contain only alphanumeric characters and "
                             "underscores, and cannot start with a digit")
    if not isinstance(key, str):
        raise ParamNameError(f"Invalid param at {where}:{key}. Only string keys are allowed")
    if any(s in key for s in FORBIDDEN_IN_PARAM_NAMES):
        raise ParamNameError(f"Invalid param at {where}:{key}. Keys must not contain $ symbol")


def instantiate_refusal(request: Mapping[str, Any], nsd: Mapping[str, Any], vnfds: Mapping[str, Mapping[str, Any]],
                        vim_ids: set[str]) -> str | None:
    """NsLcmOpTopic._check_instantiate_ns_operation: the VIM account, vnf[] member indexes and VDUs, vld names."""
    if request["vimAccountId"] not in vim_ids:
        return f"Invalid vimAccountId='{request['vimAccountId']}' not present for the project"
    for vnf in request.get("vnf") or []:
        refusal = _vnf_refusal(vnf, vnfds, vim_ids)
        if refusal:
            return refusal
    vld_ids = {v.get("id") for v in nsd.get("virtual-link-desc") or []}
    unknown = next((v["name"] for v in request.get("vld") or [] if v["name"] not in vld_ids), None)
    return None if unknown is None else f"Invalid parameter vld:name='{unknown}' is not present at nsd:vld"


def _vnf_refusal(vnf: Mapping[str, Any], vnfds: Mapping[str, Mapping[str, Any]], vim_ids: set[str]) -> str | None:
    member = vnf["member-vnf-index"]
    if member not in vnfds:
        return f"Invalid parameter member_vnf_index='{member}' is not one of the nsd:constituent-vnfd"
    if vnf.get("vimAccountId") and vnf["vimAccountId"] not in vim_ids:
        return f"Invalid vimAccountId='{vnf['vimAccountId']}' not present for the project"
    vdu_ids = {v.get("id") for v in vnfds[member].get("vdu") or []}
    vdu = next((v["id"] for v in vnf.get("vdu") or [] if v["id"] not in vdu_ids), None)
    if vdu is not None:
        return f"Invalid parameter vnf[member-vnf-index='{member}']:vdu[id='{vdu}'] is not present at vnfd:vdu"
    ivlds = {v.get("id") for v in vnfds[member].get("int-virtual-link-desc") or []}
    ivld = next((v.get("name") for v in vnf.get("internal-vld") or [] if v.get("name") not in ivlds), None)
    if ivld is not None:
        return (f"Invalid parameter vnf[member-vnf-index='{member}']:internal-vld:name='{ivld}' is not present at "
                f"vnfd '{vnfds[member].get('id')}'")
    return None


def _error(status: int, code: str, detail: str) -> _Response:
    return _Response(status, {"code": code, "status": status, "detail": detail})
