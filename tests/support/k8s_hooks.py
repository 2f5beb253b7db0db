"""Test hooks of the Kubernetes API test double: the request log and seeded fault injection."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from tests.support import k8s_wire as wire
from tests.support.k8s_wire import ApiError


@dataclass(frozen=True)
class LogEntry:
    """One API request as the emulator answered it."""

    seq: int
    method: str
    path: str
    query: Mapping[str, str]
    status: int
    resource_version: int | None  # of the object (or list) after the call
    fault: str | None = None  # the injected fault, if any
    at: float = field(default_factory=time.monotonic, compare=False)  # when answered: orders two clusters' logs

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


class RequestLog:
    """Thread-safe list of ``LogEntry``: appended by the server thread, read by tests."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self.entries())

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self.entries())

    def select(self, method: str | None = None, path: str | re.Pattern[str] | None = None,
               watch: bool | None = None) -> list[LogEntry]:
        """Entries by method and path (substring or regex); ``watch`` splits watch streams from plain GETs."""
        out = []
        for e in self.entries():
            if method and e.method != method.upper():
                continue
            if isinstance(path, str) and path not in e.path:
                continue
            if isinstance(path, re.Pattern) and not path.search(e.path):
                continue
            if watch is not None and wire.query_bool(e.query.get("watch")) != watch:
                continue
            out.append(e)
        return out

    def writes(self) -> list[LogEntry]:
        return [e for e in self.entries() if e.is_write]


@dataclass
class FaultPlan:
    """Seeded fault injection: each matching request fails with probability ``rate`` with one of ``kinds``.

    ``kinds``: HTTP codes (500, 503, 429, 409, ...) answered with a proper ``Status`` body instead of applying the
    request, or ``"timeout"``: the request IS applied but the answer is held back ``delay`` seconds (past the client's
    timeout), as when a response is lost: the client cannot know whether its write happened.
    ``match`` is a regex searched in ``"METHOD /path"`` or a predicate on (method, path).
    Same seed + same request sequence = same faults (``injected`` records them).
    """

    seed: int
    rate: float
    kinds: tuple[int | str, ...] = (500, 429, 409, "timeout")
    match: str | Callable[[str, str], bool] | None = None
    delay: float = 1.0
    retry_after: int = 1
    limit: int | None = None
    injected: list[tuple[str, str, int | str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, method: str, path: str) -> int | str | None:
        if isinstance(self.match, str) and not re.search(self.match, f"{method} {path}"):
            return None
        if callable(self.match) and not self.match(method, path):
            return None
        with self._lock:
            if self.limit is not None and len(self.injected) >= self.limit:
                return None
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected.append((method, path, kind))
            return kind


def fault_error(kind: int, method: str, retry_after: int) -> ApiError:
    if kind == 429:
        return ApiError(429, "TooManyRequests", "injected fault: too many requests, please try again later",
                        {"retryAfterSeconds": retry_after}, {"Retry-After": str(retry_after)})
    if kind == 409:
        reason = "AlreadyExists" if method == "POST" else "Conflict"
        return ApiError(409, reason, "injected fault: operation cannot be fulfilled (conflict)")
    if kind == 401:  # as kube-apiserver answers a token it does not accept
        return ApiError(401, "Unauthorized", "Unauthorized")
    if kind == 403:  # RBAC's wording, which clients (helm) pass on
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "get")
        return ApiError(403, "Forbidden", f'injected fault: the resource is forbidden: User "emulator" cannot {verb} it')
    if kind == 503:
        return ApiError(503, "ServiceUnavailable", "injected fault: the server is unable to handle the request")
    return ApiError(kind, "InternalError", f"injected fault: internal error ({kind})")


