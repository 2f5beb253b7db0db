"""The Kubernetes API test double as a SEPARATE SERVER PROCESS, for test tiers that cannot import it.

``python -m tests.support.serve_cluster [--workdir DIR]`` (from the repository root, with the main ``.venv``: the
emulator is built on kmock, which needs Python >= 3.11) starts an ``EmulatedCluster`` (the emulator, the L2S-M
operator double and the workload controller double, see ``k8s_harness.py``), prints ONE JSON line on stdout
(``{"url": ..., "kubeconfig": ..., "control": ...}``) and serves until it is terminated (SIGTERM/SIGINT) or its
stdin is closed (so that it never outlives the test process that started it).

Clients talk to ``url`` over real HTTP only, as to a kube-apiserver. ``control`` is the test hooks' own small JSON
endpoint, which is NOT part of the Kubernetes API and is never counted as API traffic (``tests/support/
cluster_client.py`` is its client, stdlib only, importable on Python 3.10):

- ``POST /operator`` ``{"ready_after": 0.2, ...}`` / ``POST /operator/stop``: ``L2SMOperatorDouble.start/stop``
- ``POST /workloads`` ``{"pods_ready": true, "port_exhaustion": false}`` / ``POST /workloads/stop``
- ``POST /faults`` ``{"seed": 1, "rate": 1.0, "kinds": [500], "match": "^POST .*/l2networks", "limit": 5}`` or ``null``
- ``GET /log`` (every API request: seq, method, path, query, status, resource_version, fault), ``GET /violations``, ``GET /refusals`` (pods the L2S-M IPAM double refused),
  ``GET /errors`` (the emulator's own internal errors), ``GET /objects?group=&version=&plural=&namespace=`` (store
  read, no API traffic)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.k8s_emulator import FaultPlan, Resource
from tests.support.k8s_harness import EmulatedCluster


def _faults(body: Any) -> FaultPlan | None:
    if body is None:
        return None
    allowed = {"seed", "rate", "kinds", "match", "delay", "retry_after", "limit"}
    unknown = set(body) - allowed
    if unknown:
        raise ValueError(f"unknown fault plan fields {sorted(unknown)}")
    return FaultPlan(**{**body, "kinds": tuple(body.get("kinds", (500,)))})


class _Control(BaseHTTPRequestHandler):
    cluster: EmulatedCluster  # set on the subclass made in serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the API request log is the record

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        c = self.cluster
        if url.path == "/log":
            self._reply(200, [dataclasses.asdict(e) | {"query": dict(e.query)} for e in c.log.entries()])
        elif url.path == "/violations":
            self._reply(200, list(c.workloads.violations))
        elif url.path == "/refusals":
            self._reply(200, list(c.workloads.refusals))
        elif url.path == "/errors":
            self._reply(200, [repr(e) for e in c.server_errors])
        elif url.path == "/objects":
            res = Resource(query.get("group", ""), query.get("version", "v1"), query["plural"])
            self._reply(200, c.list(res, query.get("namespace") or None))
        else:
            self._reply(404, {"error": f"no such control endpoint {url.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        c = self.cluster
        try:
            if self.path == "/operator":
                c.operator.start(**(body or {}))
            elif self.path == "/operator/stop":
                c.operator.stop()
            elif self.path == "/workloads":
                c.workloads.start(**(body or {}))
            elif self.path == "/workloads/stop":
                c.workloads.stop()
            elif self.path == "/faults":
                c.faults = _faults(body)
            else:
                self._reply(404, {"error": f"no such control endpoint {self.path}"})
                return
        except (TypeError, ValueError, KeyError) as e:
            self._reply(400, {"error": f"{type(e).__name__}: {e}"})
            return
        self._reply(200, {"ok": True})


def serve(workdir: Path | None) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin() -> None:  # the parent went away (or closed our stdin): stop
        sys.stdin.read()
        stop.set()

    with EmulatedCluster(workdir=workdir) as cluster:
        handler = type("Control", (_Control,), {"cluster": cluster})
        control = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=control.serve_forever, name="control", daemon=True).start()
        threading.Thread(target=watch_stdin, name="stdin", daemon=True).start()
        host, port = control.server_address[:2]
        print(json.dumps({"url": cluster.url, "kubeconfig": str(cluster.kubeconfig),
                          "control": f"http://{host!s}:{port}"}), flush=True)
        stop.wait()
        control.shutdown()
        errors = cluster.server_errors
    if errors:
        print(f"the Kubernetes API emulator raised internally: {errors!r}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.serve_cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="where the kubeconfig goes (0600, removed at exit)")
    args = parser.parse_args(argv)
    return serve(args.workdir)


if __name__ == "__main__":
    raise SystemExit(main())
