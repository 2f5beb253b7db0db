"""A small client of OSM's northbound interface (SOL005 REST, what osmclient calls): the only module importing
``requests``.

Connection settings follow osmclient's (its ``sol005`` client, Release 16+): ``OSM_HOSTNAME`` is ``host[:port]`` and
means HTTPS, port 443 when none is given (``https://<host>:<port>/osm``); a value starting with ``http://`` or
``https://`` is the base URL as given (osmclient takes it verbatim; here ``/osm`` is added when it has no path at
all). ``OSM_USER``, ``OSM_PASSWORD``, ``OSM_PROJECT``. TLS certificates are verified unless ``verify`` is False
(``--insecure``: urllib3's per-request warning is silenced, the CLI prints one line of its own) or a CA bundle path
(requests also honours ``REQUESTS_CA_BUNDLE``). Every request has a timeout. The password is sent only in the token
request body; it is never logged, never part of a URL or argv, and not shown by ``repr``.

Errors become the project's: ``NbiAuthError`` (401/403, exit code 5), ``NbiNotFound`` (404), ``NbiRejected``
(400/409/422: NBI refused the request, exit code 2), ``NbiTlsError`` (TLS failed: exit code 2, not retried; the
message says which cause and what to do: a server that speaks plain HTTP, a certificate for another name, a CA this
machine does not trust, an expired certificate), ``NbiServerError`` (5xx, temporary), ``NbiUnreachable`` (connection
failures and timeouts, temporary), each with NBI's own ``detail`` message.
"""

from __future__ import annotations

import logging
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from osm_l2net.core import yamlsafe
from osm_l2net.core.errors import AccessDenied, InputError, L2NetError

log = logging.getLogger(__name__)
DEFAULT_PORT = 443  # osmclient's sol005 Client(so_port=443): NBI behind its ingress
OK_STATES = ("COMPLETED", "PARTIALLY_COMPLETED")
FAILED_STATES = ("FAILED", "FAILED_TEMP")


class NbiError(L2NetError):
    """OSM NBI answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NbiAuthError(NbiError, AccessDenied):
    """401/403: exit code 5, as the same refusal from the Kubernetes API or helm."""


class NbiNotFound(NbiError):
    pass


class NbiRejected(NbiError):
    exit_code = 2


class NbiTlsError(NbiError):
    """The TLS handshake failed: a setting to fix (URL scheme, host name, CA bundle), not a fault to retry."""

    exit_code = 2


class NbiServerError(NbiError):
    temporary = True


class NbiUnreachable(NbiError):
    temporary = True


class NsOperationFailed(NbiError):
    """An NS LCM operation ended FAILED / FAILED_TEMP; ``operation`` is NBI's ns_lcm_op_occs record."""

    def __init__(self, message: str, operation: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.operation = dict(operation)


@dataclass(frozen=True)
class NbiSettings:
    hostname: str
    user: str = "admin"
    password: str = field(default="", repr=False)
    project: str = "admin"
    verify: bool | str = True  # False: --insecure; a path: a CA bundle
    timeout: float = 30.0  # seconds, per request
    poll_interval: float = 5.0  # seconds between operation polls (osmclient's)

    @property
    def base_url(self) -> str:
        host = self.hostname.strip()
        if host.startswith(("http://", "https://")):
            url = host.rstrip("/")
            return url if urlsplit(url).path else f"{url}/osm"
        if host.startswith("["):  # an IPv6 literal, [addr] or [addr]:port
            address, _, rest = host[1:].partition("]")
            return f"https://[{address}]:{rest.lstrip(':') or DEFAULT_PORT}/osm"
        name, _, port = host.partition(":")
        return f"https://{name}:{port or DEFAULT_PORT}/osm"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> NbiSettings:
        """osmclient's variables; ``overrides`` (flags) win when not None."""
        given = {k: v for k, v in overrides.items() if v is not None}
        hostname = given.pop("hostname", None) or environ.get("OSM_HOSTNAME")
        if not hostname:
            raise InputError.single("$OSM_HOSTNAME", "", "is not set", "the OSM NBI host[:port] (or --hostname)")
        return cls(hostname=hostname, user=given.pop("user", None) or environ.get("OSM_USER") or "admin",
                   password=environ.get("OSM_PASSWORD", ""),
                   project=given.pop("project", None) or environ.get("OSM_PROJECT") or "admin", **given)


class NbiClient:
    """SOL005 calls the workflow needs. A ``requests.Session`` may be passed (tests, proxies)."""

    def __init__(self, settings: NbiSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session or requests.Session()
        self._token: str | None = None

    def __enter__(self) -> NbiClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------ transport

    def _send(self, method: str, path: str, *, body: Any = None, accept: str = "application/json",
              auth: bool = True) -> requests.Response:
        url = self.settings.base_url + path
        headers = {"Accept": accept}
        if auth:
            headers["Authorization"] = f"Bearer {self._login()}"
        try:
            with warnings.catch_warnings():
                if self.settings.verify is False:  # asked for: one line from the CLI, not one warning per request
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                return self._session.request(method, url, json=body, headers=headers, timeout=self.settings.timeout,
                                             verify=self.settings.verify)
        except requests.exceptions.SSLError as e:
            raise NbiTlsError(tls_help(self.settings, e)) from e
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            hint = ""
            if url.startswith("http://") and _caused_by(e, ConnectionResetError):
                hint = (" (the server reset the connection, as a TLS server does to plain HTTP: if NBI serves HTTPS, "
                        "give OSM_HOSTNAME as host:port or https://...)")
            raise NbiUnreachable(f"cannot reach OSM NBI at {self.settings.base_url}: {_short(e)}{hint}") from e
        except requests.exceptions.RequestException as e:
            raise NbiError(f"request to OSM NBI failed: {method} {path}: {_short(e)}") from e

    def request(self, method: str, path: str, *, body: Any = None, accept: str = "application/json",
                ok: tuple[int, ...] = (200,)) -> requests.Response:
        """One call with the session token; a token NBI forgot (401) is renewed once; GETs retry 5xx/unreachable."""
        attempts = 3 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(method, path, body=body, accept=accept)
                if response.status_code == 401 and self._token is not None:
                    self._token = None  # expired or revoked: log in again once
                    response = self._send(method, path, body=body, accept=accept)
                if response.status_code in ok:
                    return response
                raise _error(response, f"{method} {path}")
            except (NbiServerError, NbiUnreachable) as e:
                if attempt == attempts:
                    raise
                log.info("%s %s: %s; retrying", method, path, e)
                time.sleep(0.5 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _login(self) -> str:
        if self._token is None:
            body = {"username": self.settings.user, "password": self.settings.password, "project_id": self.settings.project}
            response = self._send("POST", "/admin/v1/tokens", body=body, auth=False)
            if response.status_code != 200:
                raise _error(response, f"log in to OSM as '{self.settings.user}' (project '{self.settings.project}')")
            token = _json(response).get("id")
            if not token:
                raise NbiError("OSM NBI answered the token request without a token id")
            self._token = str(token)
        return self._token

    def get_json(self, path: str) -> Any:
        return _json(self.request("GET", path))

    # ------------------------------------------------------------ catalogue

    def nsd(self, name_or_id: str) -> dict[str, Any]:
        """The NSD record whose ``name``, ``id`` or ``_id`` is ``name_or_id``."""
        return _one(self.get_json("/nsd/v1/ns_descriptors"), name_or_id, ("_id", "id", "name"), "--nsd_name",
                    "the name or id of an NSD onboarded in OSM")

    def nsd_content(self, nsd_id: str) -> dict[str, Any]:
        return _yaml(self.request("GET", f"/nsd/v1/ns_descriptors/{quote(nsd_id)}/nsd", accept="text/plain"),
                     f"NSD {nsd_id}")

    def vnf_packages(self) -> list[dict[str, Any]]:
        packages = self.get_json("/vnfpkgm/v1/vnf_packages")
        return [p for p in packages if isinstance(p, dict)] if isinstance(packages, list) else []

    def vnfd_content(self, package_id: str) -> dict[str, Any]:
        return _yaml(self.request("GET", f"/vnfpkgm/v1/vnf_packages/{quote(package_id)}/vnfd", accept="text/plain"),
                     f"VNF package {package_id}")

    def vim_account_id(self, name_or_id: str) -> str:
        record = _one(self.get_json("/admin/v1/vim_accounts"), name_or_id, ("_id", "name"), "--vim_account",
                      "the name or id of a VIM account registered in OSM")
        return str(record["_id"])

    # ------------------------------------------------------------ NS instances

    def ns_instances(self) -> list[dict[str, Any]]:
        found = self.get_json("/nslcm/v1/ns_instances_content")
        return [n for n in found if isinstance(n, dict)] if isinstance(found, list) else []

    def ns(self, name_or_id: str) -> dict[str, Any]:
        return _one(self.ns_instances(), name_or_id, ("_id", "name"), "NAME", "the name or id of an NS instance in OSM")

    def create_ns(self, body: Mapping[str, Any]) -> tuple[str, str]:
        """``POST /nslcm/v1/ns_instances_content`` (create + instantiate): (nsr id, nslcmop id)."""
        data = _json(self.request("POST", "/nslcm/v1/ns_instances_content", body=dict(body), ok=(200, 201, 202)))
        if not data.get("id") or not data.get("nslcmop_id"):
            raise NbiError(f"OSM NBI accepted the NS but returned no ids: {data}")
        return str(data["id"]), str(data["nslcmop_id"])

    def delete_ns(self, ns_id: str, force: bool = False) -> str | None:
        """Terminate with autoremove: the nslcmop id (202), or None when the NS was never instantiated (204)."""
        path = f"/nslcm/v1/ns_instances_content/{quote(ns_id)}" + ("?FORCE=True" if force else "")
        response = self.request("DELETE", path, ok=(202, 204))
        if response.status_code == 204:
            return None
        op = _json(response).get("_id") or _json(response).get("id")
        return str(op) if op else None

    def operation(self, op_id: str) -> dict[str, Any]:
        data = self.get_json(f"/nslcm/v1/ns_lcm_op_occs/{quote(op_id)}")
        return data if isinstance(data, dict) else {}

    def wait_operation(self, op_id: str, timeout: float, progress: Callable[[str], None] | None = None,
                       sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
        """Poll until COMPLETED / PARTIALLY_COMPLETED (returned) or FAILED / FAILED_TEMP (``NsOperationFailed``)."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            op = self.operation(op_id)
            state = str(op.get("operationState") or "")
            detail = str(op.get("detailed-status") or op.get("detailedStatus") or op.get("stage") or "")
            if progress is not None and f"{state} {detail}" != last:
                progress(f"{op.get('lcmOperationType', 'operation')} {op_id}: {state}" + (f" ({detail})" if detail else ""))
                last = f"{state} {detail}"
            if state in OK_STATES:
                return op
            if state in FAILED_STATES:
                reason = op.get("errorMessage") or detail or "no detail given"
                raise NsOperationFailed(f"OSM {op.get('lcmOperationType', 'operation')} {op_id} ended {state}: {reason}",
                                        op)
            if time.monotonic() + self.settings.poll_interval > deadline:
                raise NbiError(f"OSM operation {op_id} still {state or 'unknown'} after {timeout:g}s")
            sleep(self.settings.poll_interval)


# ---------------------------------------------------------------- helpers


def _causes(e: BaseException) -> list[BaseException]:
    """``e`` and what it wraps (requests → urllib3 MaxRetryError.reason → urllib3 SSLError → ssl's error)."""
    found: list[BaseException] = []
    stack = [e]
    while stack and len(found) < 32:
        x = stack.pop()
        if any(x is f for f in found):
            continue
        found.append(x)
        nested = [x.__cause__, x.__context__, getattr(x, "reason", None), *getattr(x, "args", ())]
        stack.extend(n for n in nested if isinstance(n, BaseException))
    return found


def _caused_by(e: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(c, kind) for c in _causes(e))


# OpenSSL's verify codes (X509_V_ERR_*) for "no trusted CA signed this"
_UNTRUSTED = {18, 19, 20, 21, 27}
_EXPIRED, _NOT_YET_VALID, _HOSTNAME_MISMATCH, _IP_MISMATCH = 10, 9, 62, 64


def tls_help(settings: NbiSettings, e: BaseException) -> str:
    """What failed in the TLS handshake with NBI, and what to do about that cause."""
    where = f"TLS with OSM NBI at {settings.base_url} failed"
    host = urlsplit(settings.base_url).hostname or "?"
    verify = next((c for c in _causes(e) if isinstance(c, ssl.SSLCertVerificationError)), None)
    plain = next((c for c in _causes(e) if isinstance(c, ssl.SSLError)
                  and getattr(c, "reason", "") in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE")),
                 None)
    if verify is None and plain is not None:
        return (f"{where}: the server answered in plain HTTP, not TLS. If this NBI serves HTTP, give its URL: "
                f"OSM_HOSTNAME=http://{urlsplit(settings.base_url).netloc} (osmclient: a bare host[:port] means HTTPS)")
    code = getattr(verify, "verify_code", None)
    detail = getattr(verify, "verify_message", None) or _short(e)
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
        return (f"{where}: its certificate is not valid for '{host}' ({detail}). Reach NBI by a name its certificate "
                "lists (its subjectAltName) in OSM_HOSTNAME / --hostname; --insecure skips the check")
    if code in _UNTRUSTED:
        bundle = (f"the CA bundle {settings.verify} does not hold the CA that signed it" if isinstance(settings.verify, str)
                  else "no CA this machine trusts signed it")
        return (f"{where}: {bundle} ({detail}). Give the CA that signed NBI's certificate with --ca-cert FILE (or "
                "$REQUESTS_CA_BUNDLE), or --insecure to skip verification")
    if code in (_EXPIRED, _NOT_YET_VALID):
        return f"{where}: {detail} (check this machine's clock, or renew NBI's certificate); --insecure skips the check"
    return f"{where}: {detail}; --ca-cert FILE gives a CA bundle, --insecure skips verification"


def _short(e: BaseException) -> str:
    text = str(e)
    return text if len(text) <= 300 else text[:300] + "…"


def _detail(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason or ""
    if isinstance(data, dict):
        return str(data.get("detail") or data.get("message") or data.get("code") or data)[:500]
    return str(data)[:300]


def _error(response: requests.Response, what: str) -> NbiError:
    code, detail = response.status_code, _detail(response)
    text = f"{what}: HTTP {code}" + (f": {detail}" if detail else "")
    if code in (401, 403):
        hint = "check OSM_USER / OSM_PASSWORD / OSM_PROJECT" if code == 401 else "the user lacks the permission"
        return NbiAuthError(f"{text} ({hint})", code)
    if code == 404:
        return NbiNotFound(text, code)
    if code in (400, 409, 422):
        return NbiRejected(text, code)
    if code >= 500:
        return NbiServerError(text, code)
    return NbiError(text, code)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as e:
        raise NbiError(f"OSM NBI answered {response.request.method} {response.url} with non-JSON content") from e


def _yaml(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = yamlsafe.load(response.text)
    except yamlsafe.YamlInputError as e:
        raise NbiError(f"the descriptor of {what} returned by OSM NBI is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise NbiError(f"the descriptor of {what} returned by OSM NBI is not a mapping")
    return data


def _one(items: Any, name_or_id: str, keys: tuple[str, ...], flag: str, expected: str) -> dict[str, Any]:
    records = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    for key in keys:  # ids first: a name that looks like another record's id must not win
        hits = [r for r in records if str(r.get(key)) == name_or_id]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            ids = ", ".join(str(h.get("_id")) for h in hits)
            raise InputError.single(flag, "", f"'{name_or_id}' matches {len(hits)} records ({ids})", "a unique name, or an _id")
    known = ", ".join(sorted({str(r.get("name") or r.get("id") or r.get("_id")) for r in records})[:10]) or "none"
    raise InputError.single(flag, "", f"no record named '{name_or_id}' in OSM (found: {known})", expected)
