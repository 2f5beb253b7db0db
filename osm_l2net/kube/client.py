"""The connection to the Kubernetes API server: the only module importing ``kubernetes`` (and ``urllib3`` under it).

Access is resolved like kubectl's; the first contact (GET /version) fails fast, naming the server, the kubeconfig and
the context. Every request carries a timeout; 429 (honouring Retry-After), 5xx, connection errors and timeouts are
retried with exponential backoff and jitter, bounded in attempts and time; ``stats`` counts every request. A failure
the caller must judge (404, 409, ...) comes out as :class:`ApiFailure` (the parsed Status, chained to the client's
exception), so that the modules above (networks, waits, status) never see the client's types; :func:`to_error` makes
it the project's own error.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import urllib3
import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from osm_l2net.core.errors import ClusterAccessDenied, ClusterError, ConflictError, TemporaryClusterError
from osm_l2net.core.plan import NetworkPlan
from osm_l2net.kube import state as ks
from osm_l2net.kube.state import ResourceRef, RetryPolicy

log = logging.getLogger("osm_l2net.kube.cluster")  # one logger name for the adapter, whichever module logs

Notify = Callable[[str], None]
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
PODS = ResourceRef("", "v1", "pods", "Pod")


# ---------------------------------------------------------------- access


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach the cluster, resolved like kubectl: explicit kubeconfig > $KUBECONFIG (a colon list) >
    in-cluster service account (when $KUBERNETES_SERVICE_HOST is set) > ~/.kube/config."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class ResolvedAccess:
    source: str  # "--kubeconfig", "$KUBECONFIG", "in-cluster" or "~/.kube/config"
    kubeconfig: str | None  # path or colon list; None in-cluster
    context: str | None


def resolve_access(access: ClusterAccess, environ: Mapping[str, str] | None = None,
                   home: Path | None = None) -> ResolvedAccess:
    env = os.environ if environ is None else environ
    if access.kubeconfig:
        return ResolvedAccess("--kubeconfig", access.kubeconfig, access.context)
    if env.get("KUBECONFIG"):
        return ResolvedAccess("$KUBECONFIG", env["KUBECONFIG"], access.context)
    if env.get("KUBERNETES_SERVICE_HOST"):
        return ResolvedAccess("in-cluster", None, None)
    return ResolvedAccess("~/.kube/config", str((home or Path.home()) / ".kube" / "config"), access.context)


@dataclass(frozen=True)
class Endpoint:
    """Which API server, reached through which kubeconfig and context: named in every connection message."""

    source: str  # as ResolvedAccess.source
    kubeconfig: str | None
    context: str | None
    server: str

    def describe(self) -> str:
        if self.source == "in-cluster":
            return f"{self.server} (in-cluster service account)"
        if self.kubeconfig is None:  # a client the caller configured
            return self.server
        context = f"context {self.context!r} of " if self.context else ""
        return f"{self.server} ({context}kubeconfig {self.kubeconfig}, chosen by {self.source})"

    def kubectl(self) -> str:
        """The kubectl command line reaching the same server, for hints."""
        parts = ["kubectl"]
        if self.source == "--kubeconfig" and self.kubeconfig:
            parts += ["--kubeconfig", self.kubeconfig]
        if self.context:
            parts += ["--context", self.context]
        return " ".join(parts)


def connect(access: ClusterAccess, environ: Mapping[str, str] | None = None) -> tuple[Any, str]:
    """An ``ApiClient`` for ``access`` and the namespace to use (flag > kubeconfig context > service account)."""
    api_client, namespace, _ = _open(access, environ)
    return api_client, namespace


def _open(access: ClusterAccess, environ: Mapping[str, str] | None = None) -> tuple[Any, str, Endpoint]:
    resolved = resolve_access(access, environ)
    cfg = client.Configuration()
    where = f"{resolved.source} {resolved.kubeconfig or ''}".strip()
    context = resolved.context
    try:
        if resolved.kubeconfig is None:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            namespace = access.namespace or _service_account_namespace()
        else:
            paths = [p for p in resolved.kubeconfig.split(os.pathsep) if p]
            if not any(Path(p).expanduser().is_file() for p in paths):
                raise ClusterError(ks.missing_kubeconfig(resolved.source, resolved.kubeconfig))
            context = _check_context(resolved)
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=resolved.kubeconfig, context=resolved.context, client_configuration=cfg,
                persist_config=False)
            namespace = access.namespace or _context_namespace(resolved)
    except (ConfigException, yaml.YAMLError, OSError, ValueError, TypeError, KeyError) as e:
        raise ClusterError(f"cannot use the cluster credentials from {where}: {e}") from e
    cfg.retries = False  # retries are ours (counted, bounded, with backoff); urllib3 would hide them
    endpoint = Endpoint(resolved.source, resolved.kubeconfig, context, str(cfg.host))
    return client.ApiClient(cfg), namespace, endpoint


def _check_context(resolved: ResolvedAccess) -> str | None:
    """The context that will be used (the asked one, else the kubeconfig's current one); an unknown one is an error
    listing those the kubeconfig has (the client would only say it "expected an object with name ...")."""
    contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
        config_file=resolved.kubeconfig)
    names = [str(c.get("name")) for c in contexts or []]
    if resolved.context is None:
        return str(active["name"]) if active and active.get("name") else None
    if resolved.context not in names:
        raise ClusterError(ks.unknown_context(resolved.context, str(resolved.kubeconfig), resolved.source, names))
    return resolved.context


def _context_namespace(resolved: ResolvedAccess) -> str:
    contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
        config_file=resolved.kubeconfig)
    chosen = next((c for c in contexts if c["name"] == resolved.context), active) if resolved.context else active
    return str((chosen or {}).get("context", {}).get("namespace") or "default")


def _service_account_namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


# ---------------------------------------------------------------- errors and retries


def _status_of(e: ApiException) -> tuple[int, str, str, dict[str, Any]]:
    """(code, reason, message, details) from the Status body; plain-text bodies (e.g. '404 page not found') too."""
    try:
        body = json.loads(e.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return int(body.get("code") or e.status or 0), str(body.get("reason") or e.reason or ""), \
            str(body.get("message") or ""), dict(body.get("details") or {})
    return int(e.status or 0), str(e.reason or ""), str(e.body or "").strip()[:300], {}


def _retryable(e: ApiException) -> bool:
    return e.status == 429 or (e.status is not None and 500 <= e.status <= 599)


def _retry_after(e: ApiException) -> float | None:
    headers = e.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _transport_reason(e: BaseException, timeout: float) -> str:
    """A transport failure in words: refused, no answer within the timeout, or the exception itself."""
    text = str(e)
    if "Connection refused" in text:
        return "connection refused (nothing listens on that port)"
    if "Name or service not known" in text or "nodename nor servname" in text or "resolution" in text:
        return "the host name does not resolve"
    if isinstance(e, urllib3.exceptions.NewConnectionError):  # a subclass of ConnectTimeoutError: test it first
        return f"cannot connect: {text}"
    if isinstance(e, urllib3.exceptions.ConnectTimeoutError):
        return f"no connection within {timeout:g}s"
    if isinstance(e, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return f"connected, but no answer within {timeout:g}s"
    return f"{type(e).__name__}: {text}"


class ApiFailure(Exception):
    """An API answer the caller must judge (not retried, or retried in vain): the Status's code, reason, message and
    details (code 0: no answer at all, a transport failure while watching)."""

    def __init__(self, code: int, reason: str, message: str, details: Mapping[str, Any]) -> None:
        super().__init__(code, reason, message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    @classmethod
    def of(cls, e: ApiException) -> ApiFailure:
        return cls(*_status_of(e))

    @property
    def missing_namespace(self) -> bool:
        return self.code == 404 and self.details.get("kind") == "namespaces"

    def __str__(self) -> str:
        return f"HTTP {self.code} {self.reason}: {self.message}".rstrip(": ")


def to_error(e: ApiException | ApiFailure, what: str, ref: ResourceRef | None = None) -> ClusterError:
    """The project's error for an API failure, keeping the server's Status message. A 404 that is not a missing
    namespace means the kind is not served: ``ref`` names it and its CRD (the one place that hint is made)."""
    failure = ApiFailure.of(e) if isinstance(e, ApiException) else e
    code = failure.code
    if failure.missing_namespace:
        return ClusterError(f"{what}: namespace {failure.details.get('name')!r} does not exist")
    if code == 404 and ref is not None:
        return ClusterError(f"{what}: HTTP 404: {ks.missing_kind_hint(ref)}")
    text = f"{what}: {failure}"
    if code == 404:
        text += f" ({ks.missing_crd_hint()})"
    elif code in (401, 403):
        text += " (check the kubeconfig credentials and RBAC)"
    kind: type[ClusterError] = (ClusterAccessDenied if code in (401, 403) else ConflictError if code == 409
                                else TemporaryClusterError if code == 429 or code >= 500 else ClusterError)
    return kind(text)


class _Api:
    """Calls the client with timeouts, bounded retries and request counting."""

    def __init__(self, policy: RetryPolicy, rng: random.Random, sleep: Callable[[float], None],
                 notify: Notify | None = None) -> None:
        self.policy, self.rng, self.sleep = policy, rng, sleep
        self.notify = notify  # hears retries from the second on: one blip stays in the log, a streak is said
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()  # callers may share a Cluster across asyncio.to_thread workers

    def count(self, verb: str, *, apart: bool = False) -> None:
        """Count a request; ``apart`` ones (the first-contact check) stay out of "total", the NS's own cost."""
        with self._lock:
            self.stats[verb] += 1
            if not apart:
                self.stats["total"] += 1

    @property
    def timeout(self) -> tuple[float, float]:
        return self.policy.connect_timeout_s, self.policy.request_timeout_s

    def call(self, verb: str, what: str, fn: Callable[..., Any], *args: Any, retry_conflict: bool = False,
             **kwargs: Any) -> Any:
        """Retry 429/5xx/transport failures (and 409 when ``retry_conflict``: an update without resourceVersion
        conflicts only transiently); other ``ApiException`` propagate for the caller to judge."""
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            self.count(verb)
            retry_after: float | None = None
            try:
                return fn(*args, _request_timeout=self.timeout, **kwargs)
            except ApiException as e:
                if not (_retryable(e) or (retry_conflict and e.status == 409)):
                    raise
                failure: Exception = e
                retry_after = _retry_after(e)
                reason = f"HTTP {e.status} {_status_of(e)[2]}"
            except _TRANSPORT_ERRORS as e:
                failure, reason = e, f"{type(e).__name__}: {e}"
            delay = self.policy.delay(attempt, self.rng, retry_after)
            elapsed = time.monotonic() - started
            if attempt >= self.policy.attempts or elapsed + delay > self.policy.total_s:
                raise TemporaryClusterError(
                    f"{what}: {reason} (gave up after {attempt} attempts in {elapsed:.1f}s)") from failure
            with self._lock:
                self.stats["retries"] += 1
            log.info("%s: %s; retry %d in %.2fs", what, reason, attempt, delay)
            if self.notify is not None and attempt >= 2:
                self.notify(f"{what}: {reason}; retry {attempt}/{self.policy.attempts - 1} in {delay:.1f}s")
            self.sleep(delay)



# ---------------------------------------------------------------- the client


class Client:
    """One API server: the connection, the first-contact check and the verbs the adapter sends (each retried and
    counted by ``_Api``). A failure a caller must judge is raised as :class:`ApiFailure`."""

    def __init__(self, access: ClusterAccess | None = None, *, api_client: Any = None, namespace: str | None = None,
                 policy: RetryPolicy | None = None, seed: int | None = None,
                 sleep: Callable[[float], None] = time.sleep, progress: Notify | None = None) -> None:
        """From ``access``: connect, then check first contact (``policy.first_contact_*``) before anything else.
        ``progress`` gets the lines of slow steps (first-contact retries, waits); default: this module's log."""
        self.policy = policy or RetryPolicy()
        self.progress: Notify = progress or (lambda message: log.info("%s", message))
        self._api = _Api(self.policy, random.Random(seed), sleep, progress)  # noqa: S311 (jitter, not crypto)
        opened = api_client is None  # our own connection: check it; a given client is the caller's business
        if api_client is None:
            api_client, default_ns, self.endpoint = _open(access or ClusterAccess())
        else:
            default_ns = "default"
            self.endpoint = Endpoint("api_client", None, None, str(getattr(api_client.configuration, "host", "")))
        self.api_client = api_client
        self.namespace = namespace or (access.namespace if access else None) or default_ns
        self._co = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        if opened:
            try:
                self.first_contact()
            except BaseException:
                self.close()
                raise

    def first_contact(self) -> None:
        """GET /version with a short timeout and a few quick retries: a wrong address, a closed port or a server that
        never answers fails within seconds, naming the server, the kubeconfig and the context, before any write."""
        attempts, timeout = self.policy.first_contact_attempts, self.policy.first_contact_timeout_s
        if attempts <= 0:
            return
        versions = client.VersionApi(self.api_client)
        where = self.endpoint.describe()
        started, reason = time.monotonic(), ""
        for attempt in range(1, attempts + 1):
            self._api.count("probe", apart=True)
            try:
                versions.get_code(_request_timeout=(timeout, timeout), _preload_content=False)
                return
            except ApiException as e:
                if e.status == 404:
                    raise ClusterError(f"{where} answers HTTP 404 to GET /version: not a Kubernetes API server? "
                                       f"check the server address of the context") from e
                if not _retryable(e):
                    raise to_error(e, f"first contact with the Kubernetes API server {where}") from e
                reason = f"HTTP {e.status} {_status_of(e)[2]}".strip()
            except _TRANSPORT_ERRORS as e:
                reason = _transport_reason(e, timeout)
            if attempt < attempts:
                self.progress(f"Kubernetes API server {self.endpoint.server}: {reason}; trying again "
                              f"({attempt}/{attempts})")
                self.sleep(self.policy.delay(attempt, self.rng))
        raise TemporaryClusterError(
            f"cannot reach the Kubernetes API server {where}: {reason} (gave up after {attempts} attempts in "
            f"{time.monotonic() - started:.1f}s); is the cluster running and is this its address? "
            f"try: {self.endpoint.kubectl()} get --raw /version")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.api_client.close()

    @property
    def stats(self) -> Counter[str]:
        """Requests sent, by verb (create/get/list/patch/delete/watch), plus "total" and "retries"."""
        return self._api.stats

    @property
    def rng(self) -> random.Random:
        return self._api.rng

    def sleep(self, seconds: float) -> None:
        self._api.sleep(seconds)

    def count(self, verb: str) -> None:
        self._api.count(verb)

    def ns_of(self, net: NetworkPlan, namespace: str | None) -> str:
        """Explicit argument > the plan's ``metadata.namespace`` > the access's namespace."""
        planned = (net.manifest.get("metadata") or {}).get("namespace")
        return namespace or (str(planned) if planned else self.namespace)

    def groups(self, networks: Iterable[NetworkPlan],
               namespace: str | None) -> list[tuple[ResourceRef, str, list[NetworkPlan]]]:
        """Networks by (kind, namespace): one list/watch serves each group."""
        found: dict[tuple[ResourceRef, str], list[NetworkPlan]] = {}
        for net in networks:
            found.setdefault((ks.resource_of(net.manifest), self.ns_of(net, namespace)), []).append(net)
        return [(ref, ns, nets) for (ref, ns), nets in found.items()]

    # ------------------------------------------------------------ verbs

    def create(self, ref: ResourceRef, ns: str, body: Mapping[str, Any], what: str, *, dry_run: bool = False) -> None:
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        try:
            self._api.call("create", what, self._co.create_namespaced_custom_object,
                           ref.group, ref.version, ns, ref.plural, body, **extra)
        except ApiException as e:
            raise ApiFailure.of(e) from e

    def patch(self, ref: ResourceRef, ns: str, name: str, patch: Mapping[str, Any], what: str, *,
              dry_run: bool = False) -> None:
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        try:  # a merge patch without resourceVersion conflicts only transiently: 409 is retried
            self._api.call("patch", what, self._co.patch_namespaced_custom_object, ref.group, ref.version, ns,
                           ref.plural, name, patch, retry_conflict=True, **extra)
        except ApiException as e:
            raise ApiFailure.of(e) from e

    def delete(self, ref: ResourceRef, ns: str, name: str, uid: str, what: str) -> None:
        """Delete with a uid precondition: an object replaced meanwhile (same name, new uid) answers 409."""
        body = {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
        try:
            self._api.call("delete", what, self._co.delete_namespaced_custom_object,
                           ref.group, ref.version, ns, ref.plural, name, body=body)
        except ApiException as e:
            raise ApiFailure.of(e) from e

    def read(self, ref: ResourceRef, ns: str, name: str) -> dict[str, Any] | None:
        what = f"read {ref.kind} {ns}/{name}"
        try:
            return dict(self._api.call("get", what, self._co.get_namespaced_custom_object,
                                       ref.group, ref.version, ns, ref.plural, name))
        except ApiException as e:
            if e.status == 404:
                return None
            raise to_error(e, what) from e

    def create_namespace(self, name: str, labels: Mapping[str, str], what: str) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}
        try:
            self._api.call("create", what, self._core.create_namespace, body)
        except ApiException as e:
            raise ApiFailure.of(e) from e

    def list_objects(self, ref: ResourceRef, ns: str | None, selector: str) -> tuple[list[dict[str, Any]], str]:
        """Objects and the list's resourceVersion; a kind whose CRD is not installed lists as empty."""
        what = f"list {ref.plural} in {ns or 'all namespaces'}"
        try:
            body = self._list_body(ref, ns, selector, what)
        except ApiException as e:
            if e.status == 404 and ref is not PODS and _status_of(e)[3].get("kind") != "namespaces":
                return [], ""
            raise to_error(e, what) from e
        items = [dict(i, kind=i.get("kind") or ref.kind) for i in body.get("items") or []]
        return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

    def _list_body(self, ref: ResourceRef, ns: str | None, selector: str, what: str) -> Any:
        if ref is PODS:
            if ns is None:
                raw = self._api.call("list", what, self._core.list_pod_for_all_namespaces,
                                     label_selector=selector, _preload_content=False)
            else:
                raw = self._api.call("list", what, self._core.list_namespaced_pod, ns,
                                     label_selector=selector, _preload_content=False)
            return json.loads(raw.data)
        if ns is None:
            return self._api.call("list", what, self._co.list_cluster_custom_object,
                                  ref.group, ref.version, ref.plural, label_selector=selector)
        return self._api.call("list", what, self._co.list_namespaced_custom_object,
                              ref.group, ref.version, ns, ref.plural, label_selector=selector)

    def pods(self, ns: str | None, selector: str = "") -> list[dict[str, Any]]:
        return self.list_objects(PODS, ns, selector)[0]

    # ------------------------------------------------------------ the pre-flight's reads (kube/preflight.py)

    def served(self, group: str, version: str) -> frozenset[str]:
        """The resource plurals the API serves in ``group/version`` (discovery, which every authenticated identity may
        read); empty when the group/version is not served."""
        what = f"discover {group}/{version}"
        try:
            body = self._api.call("get", what, self._co.get_api_resources, group, version)
        except ApiException as e:
            if e.status == 404:
                return frozenset()
            raise to_error(e, what) from e
        return frozenset(str(r.name) for r in (body.resources or []) if "/" not in str(r.name))

    def read_builtin(self, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        """A Deployment or Service as the server sent it (plain JSON, no models); None when it does not exist."""
        fn = {"Deployment": client.AppsV1Api(self.api_client).read_namespaced_deployment,
              "Service": self._core.read_namespaced_service}[kind]
        what = f"read {kind} {ns}/{name}"
        try:
            raw = self._api.call("get", what, fn, name, ns, _preload_content=False)
        except ApiException as e:
            if e.status == 404:
                return None
            raise to_error(e, what) from e
        return dict(json.loads(raw.data))

    def endpoint_slices(self, ns: str, selector: str) -> list[dict[str, Any]]:
        """EndpointSlices (discovery.k8s.io/v1, which replaces the deprecated v1 Endpoints) matching ``selector``."""
        what = f"list endpointslices in {ns}"
        fn = client.DiscoveryV1Api(self.api_client).list_namespaced_endpoint_slice
        try:
            raw = self._api.call("list", what, fn, ns, label_selector=selector, _preload_content=False)
        except ApiException as e:
            raise to_error(e, what) from e
        return list(json.loads(raw.data).get("items") or [])

    def events(self, ref: ResourceRef, ns: str, selector: str, rv: str,
               seconds: int) -> Generator[tuple[str, dict[str, Any]], None, None]:
        """(type, object) of a watch from ``rv`` lasting at most ``seconds``; closing the iterator stops it. A failed
        or refused watch raises :class:`ApiFailure` (code 0: transport)."""
        if ref is PODS:
            fn: Callable[..., Any] = self._core.list_namespaced_pod
            args: tuple[Any, ...] = (ns,)
        else:
            fn, args = self._co.list_namespaced_custom_object, (ref.group, ref.version, ns, ref.plural)
        self._api.count("watch")
        # return_type "object": every client from 33.1 (LCM v19's pin) to the newest then hands back each event's
        # object as the plain dict the server sent, under "raw_object" too, without building V1Pod models; the
        # 'deserialize' keyword that would say the same exists only from 34.1 (on 33.1 it raises ApiTypeError)
        stream = watch.Watch(return_type="object")  # type: ignore[no-untyped-call]
        try:
            for event in stream.stream(  # type: ignore[no-untyped-call]
                    fn, *args, label_selector=selector, resource_version=rv or None, timeout_seconds=seconds,
                    _request_timeout=(self.policy.connect_timeout_s, seconds + 10)):
                yield str(event["type"]), event["raw_object"]
        except ApiException as e:
            raise ApiFailure.of(e) from e
        except _TRANSPORT_ERRORS as e:
            raise ApiFailure(0, type(e).__name__, str(e), {}) from e
        finally:
            stream.stop()  # type: ignore[no-untyped-call]
