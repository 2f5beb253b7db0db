"""The Kubernetes adapter: creates, waits for, inspects and deletes the plan's network objects (the only module
importing ``kubernetes``).

Built on the official client's synchronous API (async callers use ``asyncio.to_thread``). Every request carries a
timeout; 429 (honouring Retry-After), 5xx, connection errors and timeouts are retried with exponential backoff and
jitter, bounded in attempts and time; every failure becomes the project's own error chained to the client's.
Objects are only modified or deleted when they carry our ownership labels (and deletes carry a uid precondition, so
an object replaced meanwhile is never touched). Creating a network costs exactly one write and no read when the name
is free; ``stats`` counts every request for benchmarks.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import urllib3
import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from osm_l2net.core.errors import ClusterAccessDenied, ClusterError, ConflictError, TemporaryClusterError, WaitTimeout
from osm_l2net.core.plan import LABEL_NS_ID, MANAGED_BY, NetworkPlan
from osm_l2net.kube import state as ks
from osm_l2net.kube.state import (
    DeleteResult,
    GcResult,
    NetworkStatus,
    OwnedNetwork,
    Readiness,
    ResourceRef,
    RetryPolicy,
)

__all__ = [
    "Cluster", "ClusterAccess", "DeleteResult", "Endpoint", "EnsureOutcome", "GcResult", "NetworkStatus", "OwnedNetwork",
    "Readiness", "ResolvedAccess", "RetryPolicy", "connect", "resolve_access",
]

log = logging.getLogger(__name__)

EnsureOutcome = Literal["created", "adopted", "unchanged"]
Progress = Callable[[Readiness], None]
Notify = Callable[[str], None]
Missing = Callable[[dict[str, dict[str, Any]], float], list[str]]  # (objects by name, elapsed s) -> progress lines
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
_PODS = ResourceRef("", "v1", "pods", "Pod")


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


def to_error(e: ApiException, what: str) -> ClusterError:
    """The project's error for an API failure, keeping the server's Status message."""
    code, reason, message, details = _status_of(e)
    if code == 404 and details.get("kind") == "namespaces":
        return ClusterError(f"{what}: namespace {details.get('name')!r} does not exist")
    text = f"{what}: HTTP {code} {reason}: {message}".rstrip(": ")
    if code == 404:
        return ClusterError(f"{text} ({ks.missing_crd_hint()})")
    if code in (401, 403):
        return ClusterAccessDenied(f"{text} (check the kubeconfig credentials and RBAC)")
    if code == 409:
        return ConflictError(text)
    if code == 429 or code >= 500:
        return TemporaryClusterError(text)
    return ClusterError(text)


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


class _Ticker:
    """Calls ``tick(elapsed seconds)`` every ``interval`` seconds from a daemon thread until the block ends (interval
    0: never). A progress line must never break a wait: its failures are logged and skipped."""

    def __init__(self, interval: float, tick: Callable[[float], None]) -> None:
        self.interval, self.tick = interval, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Ticker:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="osm-l2net-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.interval))

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                self.tick(time.monotonic() - started)
            except (RuntimeError, ValueError, OSError) as e:  # a dict changing under the copy, a closed stderr
                log.debug("progress line skipped: %s", e)


# ---------------------------------------------------------------- the adapter


class Cluster:
    """Network objects of NS instances in one cluster (see the module docstring)."""

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
                self._api.sleep(self.policy.delay(attempt, self._api.rng))
        raise TemporaryClusterError(
            f"cannot reach the Kubernetes API server {where}: {reason} (gave up after {attempts} attempts in "
            f"{time.monotonic() - started:.1f}s); is the cluster running and is this its address? "
            f"try: {self.endpoint.kubectl()} get --raw /version")

    def __enter__(self) -> Cluster:
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

    def _ns(self, net: NetworkPlan, namespace: str | None) -> str:
        """Explicit argument > the plan's ``metadata.namespace`` > the access's namespace."""
        planned = (net.manifest.get("metadata") or {}).get("namespace")
        return namespace or (str(planned) if planned else self.namespace)

    def _groups(self, networks: Iterable[NetworkPlan],
                namespace: str | None) -> list[tuple[ResourceRef, str, list[NetworkPlan]]]:
        """Networks by (kind, namespace): one list/watch serves each group."""
        groups: dict[tuple[ResourceRef, str], list[NetworkPlan]] = {}
        for net in networks:
            groups.setdefault((ks.resource_of(net.manifest), self._ns(net, namespace)), []).append(net)
        return [(ref, ns, nets) for (ref, ns), nets in groups.items()]

    # ------------------------------------------------------------ create

    def ensure_namespace(self, name: str) -> bool:
        """Create the namespace the NS's networks go into when it is missing (True when this call created it).

        Networks are created before helm would create the KDUs' namespace (``--create-namespace``), so a fresh
        namespace must exist first. One write, no read: 409 means it exists; 403 means we may not create namespaces,
        which is fine when it exists (the network create then says clearly if it does not). Never modified, never
        deleted: a namespace may hold more than this NS.
        """
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"osm-l2net.etsi.org/created-by": MANAGED_BY}))
        what = f"create Namespace {name}"
        try:
            self._api.call("create", what, self._core.create_namespace, body)
        except ApiException as e:
            if e.status in (403, 409):
                return False
            if e.status == 404:  # namespaces are built in: a 404 is the address, never a missing CRD
                raise ClusterError(f"{what}: HTTP 404 from {self.endpoint.describe()}: the server does not serve "
                                   f"/api/v1/namespaces; is the server address a Kubernetes API server (a proxy or "
                                   f"path prefix in front of it?)") from e
            raise to_error(e, what) from e
        return True

    def ensure_network(self, net: NetworkPlan, namespace: str | None = None) -> EnsureOutcome:
        """Create the network; if the name is taken by our own object, bring its spec in line ("adopted") or leave it
        ("unchanged"); if taken by anything else, raise ``ConflictError`` and touch nothing."""
        ref, ns = ks.resource_of(net.manifest), self._ns(net, namespace)
        body = ks.with_namespace(net.manifest, ns)
        what = f"create {ref.kind} {ns}/{net.name}"
        for _ in range(self.policy.attempts):
            try:
                self._api.call("create", what, self._co.create_namespaced_custom_object,
                               ref.group, ref.version, ns, ref.plural, body)
                return "created"
            except ApiException as e:
                if e.status == 404 and _status_of(e)[3].get("kind") != "namespaces":
                    raise ClusterError(f"{what}: HTTP 404: {ks.missing_kind_hint(ref)}") from e
                if e.status != 409:
                    raise to_error(e, what) from e
            live = self._read(ref, ns, net.name)
            if live is None:
                continue  # deleted meanwhile (or the 409 was spurious): create again
            if not ks.same_owner(live, body):
                raise ConflictError(
                    f"{ref.kind} {ns}/{net.name} already exists and is not this NS instance's "
                    f"({ks.describe_owner(live)}; expected {ks.describe_owner(body)}): left untouched; remove it or "
                    f"choose another network name")
            if live["metadata"].get("deletionTimestamp"):
                self._wait_absent(ref, ns, [net.name], self.policy.total_s)
                continue
            return self._align(ref, ns, live, body)
        raise TemporaryClusterError(f"{what}: the name kept being taken and released; gave up")

    def dry_run_network(self, net: NetworkPlan, namespace: str | None = None) -> str:
        """What ensure_network would do ("create", "update", "unchanged"), its write sent with dryRun=All: the API
        server runs its schema, admission and RBAC checks and stores nothing (kubectl's --dry-run=server)."""
        ref, ns = ks.resource_of(net.manifest), self._ns(net, namespace)
        body = ks.with_namespace(net.manifest, ns)
        live = self._read(ref, ns, net.name)
        if live is not None and not ks.same_owner(live, body):
            raise ConflictError(f"{ref.kind} {ns}/{net.name} already exists and is not this NS instance's "
                                f"({ks.describe_owner(live)}; expected {ks.describe_owner(body)}): apply would leave it "
                                f"untouched and fail; remove it or choose another network name")
        if live is None:
            what = f"create {ref.kind} {ns}/{net.name} (server dry run)"
            try:
                self._api.call("create", what, self._co.create_namespaced_custom_object,
                               ref.group, ref.version, ns, ref.plural, body, dry_run="All")
            except ApiException as e:
                if e.status == 404 and _status_of(e)[3].get("kind") == "namespaces":
                    raise ClusterError(f"{what}: namespace {ns} does not exist: apply would create it, but the server "
                                       f"can check the networks only in an existing namespace (use --dry-run=client, "
                                       f"or create the namespace first)") from e
                if e.status == 404:
                    raise ClusterError(f"{what}: HTTP 404: {ks.missing_kind_hint(ref)}") from e
                raise to_error(e, what) from e
            return "create"
        drift = ks.spec_drift(live, body)
        labels = {k: v for k, v in ks.labels_of(body).items() if ks.labels_of(live).get(k) != v}
        if not drift and not labels:
            return "unchanged"
        patch: dict[str, Any] = {"spec": drift} if drift else {}
        if labels:
            patch["metadata"] = {"labels": labels}
        what = f"update {ref.kind} {ns}/{net.name} (server dry run)"
        try:
            self._api.call("patch", what, self._co.patch_namespaced_custom_object, ref.group, ref.version, ns,
                           ref.plural, net.name, patch, dry_run="All", retry_conflict=True)
        except ApiException as e:
            raise to_error(e, what) from e
        return "update"

    def _align(self, ref: ResourceRef, ns: str, live: Mapping[str, Any], body: Mapping[str, Any]) -> EnsureOutcome:
        drift = ks.spec_drift(live, body)
        missing_labels = {k: v for k, v in ks.labels_of(body).items() if ks.labels_of(live).get(k) != v}
        if not drift and not missing_labels:
            return "unchanged"
        patch: dict[str, Any] = {}
        if drift:
            patch["spec"] = drift
        if missing_labels:
            patch["metadata"] = {"labels": missing_labels}
        name = live["metadata"]["name"]
        what = f"update {ref.kind} {ns}/{name}"
        try:
            self._api.call("patch", what, self._co.patch_namespaced_custom_object,
                           ref.group, ref.version, ns, ref.plural, name, patch, retry_conflict=True)
        except ApiException as e:
            raise to_error(e, what) from e
        log.info("%s: adopted, changed %s", what, sorted(drift) + sorted(missing_labels))
        return "adopted"

    def _read(self, ref: ResourceRef, ns: str, name: str) -> dict[str, Any] | None:
        what = f"read {ref.kind} {ns}/{name}"
        try:
            return dict(self._api.call("get", what, self._co.get_namespaced_custom_object,
                                       ref.group, ref.version, ns, ref.plural, name))
        except ApiException as e:
            if e.status == 404:
                return None
            raise to_error(e, what) from e

    # ------------------------------------------------------------ listing

    def _list(self, ref: ResourceRef, ns: str | None, selector: str) -> tuple[list[dict[str, Any]], str]:
        """Objects and the list's resourceVersion; a kind whose CRD is not installed lists as empty."""
        what = f"list {ref.plural} in {ns or 'all namespaces'}"
        try:
            if ref is _PODS:
                if ns is None:
                    raw = self._api.call("list", what, self._core.list_pod_for_all_namespaces,
                                         label_selector=selector, _preload_content=False)
                else:
                    raw = self._api.call("list", what, self._core.list_namespaced_pod, ns,
                                         label_selector=selector, _preload_content=False)
                body = json.loads(raw.data)
            elif ns is None:
                body = self._api.call("list", what, self._co.list_cluster_custom_object,
                                      ref.group, ref.version, ref.plural, label_selector=selector)
            else:
                body = self._api.call("list", what, self._co.list_namespaced_custom_object,
                                      ref.group, ref.version, ns, ref.plural, label_selector=selector)
        except ApiException as e:
            if e.status == 404 and ref is not _PODS and _status_of(e)[3].get("kind") != "namespaces":
                return [], ""
            raise to_error(e, what) from e
        items = [dict(i, kind=i.get("kind") or ref.kind) for i in body.get("items") or []]
        return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

    def _pods(self, ns: str | None, selector: str = "") -> list[dict[str, Any]]:
        return self._list(_PODS, ns, selector)[0]

    def list_owned(self, ns_id: str | None = None, namespace: str | None = None) -> list[OwnedNetwork]:
        """Our network objects (of one NS instance, or all), in one namespace or cluster-wide; one list per kind."""
        found: list[OwnedNetwork] = []
        for ref in ks.network_kinds():
            items, _ = self._list(ref, namespace, ks.owner_selector(ns_id))
            found.extend(OwnedNetwork.from_object(o) for o in items if ks.is_ours(o))
        return sorted(found, key=lambda o: (o.namespace, o.name, o.kind))

    # ------------------------------------------------------------ waiting

    def _await(self, ref: ResourceRef, ns: str, selector: str, done: Callable[[dict[str, dict[str, Any]]], bool],
               deadline: float, missing: Missing | None = None,
               notify: Notify | None = None) -> tuple[dict[str, dict[str, Any]], bool]:
        """List, then watch from the list's resourceVersion until ``done(objects by name)`` or the deadline;
        a failed or expired watch is followed by a fresh list after a backoff. Returns (objects, done?).

        Every ``policy.progress_interval_s`` meanwhile, ``notify`` gets the lines ``missing(objects, elapsed)`` says
        (from a ticker thread: a watch on which nothing happens blocks this one)."""
        latest: list[dict[str, dict[str, Any]]] = [{}]

        def tick(elapsed: float) -> None:
            if missing is not None:
                for line in missing(dict(latest[0]), elapsed):  # dict(): one atomic copy of the watched dict
                    (notify or self.progress)(line)

        with _Ticker(self.policy.progress_interval_s if missing is not None else 0.0, tick):
            return self._await_loop(ref, ns, selector, done, deadline, latest)

    def _await_loop(self, ref: ResourceRef, ns: str, selector: str,
                    done: Callable[[dict[str, dict[str, Any]]], bool], deadline: float,
                    latest: list[dict[str, dict[str, Any]]]) -> tuple[dict[str, dict[str, Any]], bool]:
        failures = 0
        while True:
            items, rv = self._list(ref, ns, selector)
            objs = {o["metadata"]["name"]: o for o in items}
            latest[0] = objs  # the watch updates it in place
            if done(objs):
                return objs, True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return objs, False
            started = time.monotonic()
            try:
                if self._watch(ref, ns, selector=selector, rv=rv, objs=objs, done=done, deadline=deadline):
                    return objs, True
                if time.monotonic() - started >= 0.5:
                    continue  # the stream ran its course: list again at once
                reason = "the watch ended at once"
            except (ApiException, *_TRANSPORT_ERRORS) as e:
                reason = f"the watch failed: {e}"
            failures += 1  # back off, so that a server ending every watch cannot turn this into a busy loop
            log.info("%s (%s in %s); listing again", reason, ref.plural, ns)
            self._api.sleep(min(self.policy.delay(failures, self._api.rng), max(0.0, deadline - time.monotonic())))

    def _watch(self, ref: ResourceRef, ns: str, *, selector: str, rv: str, objs: dict[str, dict[str, Any]],
               done: Callable[[dict[str, dict[str, Any]]], bool], deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        seconds = max(1, math.ceil(min(remaining, 60)))
        if ref is _PODS:
            fn: Callable[..., Any] = self._core.list_namespaced_pod
            args: tuple[Any, ...] = (ns,)
        else:
            fn, args = self._co.list_namespaced_custom_object, (ref.group, ref.version, ns, ref.plural)
        self._api.count("watch")
        # return_type "object": every client from 33.1 (LCM v19's pin) to the newest then hands back each event's
        # object as the plain dict the server sent, under "raw_object" too, without building V1Pod models; the
        # 'deserialize' keyword that would say the same exists only from 34.1 (on 33.1 it raises ApiTypeError)
        stream = watch.Watch(return_type="object")  # type: ignore[no-untyped-call]
        events = stream.stream(  # type: ignore[no-untyped-call]
            fn, *args, label_selector=selector, resource_version=rv or None, timeout_seconds=seconds,
            _request_timeout=(self.policy.connect_timeout_s, seconds + 10))
        for event in events:
            obj = event["raw_object"]
            name = obj.get("metadata", {}).get("name")
            if event["type"] == "DELETED":
                objs.pop(name, None)
            elif name:
                objs[name] = dict(obj, kind=obj.get("kind") or ref.kind)
            if done(objs):
                stream.stop()  # type: ignore[no-untyped-call]
                return True
            if time.monotonic() > deadline:
                stream.stop()  # type: ignore[no-untyped-call]
                return False
        return False

    def wait_ready(self, networks: Sequence[NetworkPlan], namespace: str | None = None, deadline_s: float = 120.0,
                   progress: Progress | None = None, notify: Notify | None = None) -> list[Readiness]:
        """Until every network is ready (L2Network: status.internalConnectivity == Available; NAD: present), or
        ``WaitTimeout`` naming those that are not and why. ``progress`` gets every change of a network's state;
        ``notify`` (default: the cluster's ``progress``) every few seconds what is still missing, with a hint."""
        started = time.monotonic()
        deadline = started + deadline_s
        seen: dict[str, str] = {}
        final: dict[str, Readiness] = {}
        for ref, ns, nets in self._groups(networks, namespace):
            names = [n.name for n in nets]

            def done(objs: dict[str, dict[str, Any]], ref: ResourceRef = ref, names: list[str] = names) -> bool:
                states = [ks.readiness(ref.kind, name, objs.get(name)) for name in names]
                for state in states:
                    final[state.name] = state
                    if progress is not None and seen.get(state.name) != state.detail:
                        progress(state)
                    seen[state.name] = state.detail
                return all(s.ready for s in states)

            def missing(objs: dict[str, dict[str, Any]], _: float, ref: ResourceRef = ref, ns: str = ns,
                        names: list[str] = names) -> list[str]:
                states = [ks.readiness(ref.kind, name, objs.get(name)) for name in names]
                return ks.not_ready_summary(ref.kind, ns, states, time.monotonic() - started)

            _, ok = self._await(ref, ns, ks.selector_for(nets), done, deadline, missing, notify)
            if not ok:
                stuck = [final[n.name] for n in nets if not final[n.name].ready]
                listed = "; ".join(f"{ref.kind} {ns}/{s.name}: {s.explained}" for s in stuck)
                raise WaitTimeout(f"networks not ready after {deadline_s:g}s: {listed}")
        return [final[n.name] for n in networks]

    def _wait_absent(self, ref: ResourceRef, ns: str, names: Sequence[str], deadline_s: float,
                     notify: Notify | None = None) -> None:
        deadline = time.monotonic() + deadline_s

        def missing(objs: dict[str, dict[str, Any]], elapsed: float) -> list[str]:
            return ks.still_present_summary(ref.kind, ns, objs, names, elapsed)

        objs, ok = self._await(ref, ns, "", lambda o: not any(n in o for n in names), deadline, missing, notify)
        if not ok:
            pods = self._pods(ns)
            stuck = [f"{ref.kind} {ns}/{n}: {ks.stuck_reason(objs[n], ks.attached_pods(pods, n))}"
                     for n in names if n in objs]
            raise WaitTimeout(f"networks still present {deadline_s:g}s after deletion: {'; '.join(stuck)}")

    # ------------------------------------------------------------ delete

    def delete_networks(self, networks: Sequence[NetworkPlan], namespace: str | None = None, *,
                        force: bool = False) -> DeleteResult:
        """Delete the planned networks that carry our labels (uid precondition: a replaced object is left alone).

        Pods must be gone first (L2S-M does not check, attached pods keep dead interfaces): unless ``force``,
        ``ClusterError`` names the pods still attached and nothing is deleted."""
        groups = self._groups(networks, namespace)
        if not force:
            for ns in sorted({ns for _, ns, _ in groups}):
                pods = self._pods(ns)
                attached = {n.name: ks.attached_pods(pods, n.name) for _, n_ns, nets in groups if n_ns == ns
                            for n in nets}
                busy = "; ".join(f"{name}: {', '.join(p)}" for name, p in attached.items() if p)
                if busy:
                    raise ClusterError(f"pods are still attached to networks in {ns} ({busy}): remove the KNFs first")
        deleted: list[str] = []
        absent: list[str] = []
        skipped: list[str] = []
        for ref, ns, nets in groups:
            owned = {o["metadata"]["name"]: o for o in self._list(ref, ns, ks.selector_for(nets))[0] if ks.is_ours(o)}
            for net in nets:
                obj = owned.get(net.name)
                outcome = "absent" if obj is None else self._delete(ref, ns, obj)
                if outcome == "deleted":
                    deleted.append(net.name)
                elif outcome == "absent":
                    absent.append(net.name)
                else:
                    skipped.append(f"{net.name}: {outcome}")
        return DeleteResult(tuple(deleted), tuple(absent), tuple(skipped))

    def _delete(self, ref: ResourceRef, ns: str, obj: Mapping[str, Any]) -> str:
        meta = obj["metadata"]
        what = f"delete {ref.kind} {ns}/{meta['name']}"
        options = client.V1DeleteOptions(propagation_policy="Background",
                                         preconditions=client.V1Preconditions(uid=meta["uid"]))
        for _ in range(self.policy.attempts):
            try:
                self._api.call("delete", what, self._co.delete_namespaced_custom_object,
                               ref.group, ref.version, ns, ref.plural, meta["name"], body=options)
                return "deleted"
            except ApiException as e:
                if e.status == 404:
                    return "absent"
                if e.status != 409:
                    raise to_error(e, what) from e
            # 409: the uid precondition failed, or a transient conflict; only the object can tell which
            live = self._read(ref, ns, meta["name"])
            if live is None:
                return "absent"
            if live["metadata"].get("uid") != meta["uid"]:
                return "replaced meanwhile by another object (uid differs): left alone"
        raise TemporaryClusterError(f"{what}: kept conflicting; gave up")

    def wait_gone(self, networks: Sequence[NetworkPlan], namespace: str | None = None,
                  deadline_s: float = 120.0, notify: Notify | None = None) -> None:
        """Until the networks are gone, or ``WaitTimeout`` naming each one still there and why (finalizers, pods);
        ``notify`` (default: the cluster's ``progress``) hears every few seconds which are still there and why."""
        for ref, ns, nets in self._groups(networks, namespace):
            self._wait_absent(ref, ns, [n.name for n in nets], deadline_s, notify)

    def wait_pods_gone(self, ns_id: str, namespace: str | None = None, deadline_s: float = 300.0,
                       notify: Notify | None = None) -> None:
        """Until no pod labelled ``osm.etsi.org/ns-id=<ns_id>`` is left (teardown order: pods, then networks)."""
        ns = namespace or self.namespace
        selector = f"{LABEL_NS_ID}={ns_id}"

        def missing(objs: dict[str, dict[str, Any]], elapsed: float) -> list[str]:
            return ks.pods_left_summary(ns_id, ns, objs, selector, elapsed)

        objs, ok = self._await(_PODS, ns, selector, lambda o: not o, time.monotonic() + deadline_s, missing, notify)
        if not ok:
            left = [f"{name} ({ks.pod_state(p)})" for name, p in sorted(objs.items())]
            raise WaitTimeout(f"pods of NS {ns_id} still present in {ns} after {deadline_s:g}s: {', '.join(left)} "
                              f"(kubectl -n {ns} get pods -l {selector})")

    # ------------------------------------------------------------ status and gc

    def network_status(self, networks: Sequence[NetworkPlan], namespace: str | None = None) -> list[NetworkStatus]:
        """Each planned network (ours only) with its readiness and the pods attached (interface, IPs, problems)."""
        result: dict[str, NetworkStatus] = {}
        pods_by_ns: dict[str, list[dict[str, Any]]] = {}
        for ref, ns, nets in self._groups(networks, namespace):
            if ns not in pods_by_ns:
                pods_by_ns[ns] = self._pods(ns)
            pods = pods_by_ns[ns]
            owned = {o["metadata"]["name"]: o for o in self._list(ref, ns, ks.selector_for(nets))[0] if ks.is_ours(o)}
            for net in nets:
                obj = owned.get(net.name)
                state = ks.readiness(ref.kind, net.name, obj)
                attachments = tuple(a for p in pods if (a := ks.attachment(p, net.name)) is not None)
                finalizers = tuple((obj or {}).get("metadata", {}).get("finalizers") or ())
                result[net.name] = NetworkStatus(net.name, ref.kind, ns, obj is not None, state.ready, state.explained,
                                                 finalizers, attachments)
        return [result[n.name] for n in networks]

    def gc(self, existing_ns_ids: Collection[str] | None, ns_id: str | None = None,
           namespace: str | None = None) -> GcResult:
        """Delete our networks whose NS instance no longer exists: those of ``ns_id`` (when its NS is gone), or,
        cluster-wide / in ``namespace``, every one whose ns-id is not in ``existing_ns_ids``. Networks with pods
        still attached or already being deleted are kept and reported; objects without our labels are never listed."""
        if existing_ns_ids is None and ns_id is None:
            raise ValueError("gc needs the NS instances that still exist, or the ns_id of one that is gone")
        if ns_id is not None and existing_ns_ids is not None and ns_id in existing_ns_ids:
            return GcResult((), ())
        candidates = [o for o in self.list_owned(ns_id, namespace)
                      if existing_ns_ids is None or o.ns_id not in existing_ns_ids]
        pods_by_ns = {ns: self._pods(ns) for ns in sorted({o.namespace for o in candidates})}
        deleted: list[OwnedNetwork] = []
        skipped: list[tuple[OwnedNetwork, str]] = []
        for net in candidates:
            attached = ks.attached_pods(pods_by_ns[net.namespace], net.name)
            if attached:
                skipped.append((net, f"pods still attached: {', '.join(attached)}"))
                continue
            if net.deleting:
                skipped.append((net, f"already being deleted (finalizers {list(net.finalizers)})"))
                continue
            ref = ks.resource_of_kind(net.kind)
            outcome = self._delete(ref, net.namespace, {"metadata": {"name": net.name, "uid": net.uid}})
            if outcome == "deleted":
                deleted.append(net)
            elif outcome != "absent":
                skipped.append((net, outcome))
        return GcResult(tuple(deleted), tuple(skipped))
