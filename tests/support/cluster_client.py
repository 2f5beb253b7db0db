"""Starts the Kubernetes API test double as a separate server process and drives its test hooks, stdlib only.

For test tiers whose interpreter cannot import the emulator (kmock needs Python >= 3.11; OSM LCM v19 runs 3.10):
``ServedCluster`` runs ``python -m tests.support.serve_cluster`` with the main ``.venv``'s Python (override:
``$OSM_L2NET_EMULATOR_PYTHON``), reads its one JSON line, and offers the hooks of ``EmulatedCluster`` that a test
needs, over the server's control endpoint. Everything the code under test does goes to ``url`` over real HTTP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def emulator_python() -> Path:
    return Path(os.environ.get("OSM_L2NET_EMULATOR_PYTHON") or REPO / ".venv" / "bin" / "python")


@dataclass(frozen=True)
class Entry:
    """One API request as the emulator answered it (``k8s_hooks.LogEntry`` over the wire)."""

    seq: int
    method: str
    path: str
    query: Mapping[str, str]
    status: int
    resource_version: int | None
    fault: str | None
    at: float = 0.0  # the server's time.monotonic() when it answered


class ServedCluster:
    """The emulator server process: ``url``, ``kubeconfig`` and the hooks (see the module docstring)."""

    def __init__(self, workdir: Path, startup_timeout: float = 60.0) -> None:
        self.workdir = workdir
        self.startup_timeout = startup_timeout
        self.url = ""
        self.kubeconfig = Path()
        self._control = ""
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: list[str] = []

    def __enter__(self) -> ServedCluster:
        python = emulator_python()
        if not python.is_file():
            raise RuntimeError(f"no Python for the emulator server at {python}: run ./scripts/setup "
                               "(or set OSM_L2NET_EMULATOR_PYTHON)")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._proc = subprocess.Popen([str(python), "-m", "tests.support.serve_cluster", "--workdir", str(self.workdir)],
                                      cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        line = self._first_line()
        info = json.loads(line)
        self.url, self.kubeconfig, self._control = info["url"], Path(info["kubeconfig"]), info["control"]
        return self

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        try:
            for line in self._proc.stderr:
                self._stderr.append(line)
        except ValueError:  # closed by close()
            pass

    def _first_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.startup_timeout)
        if not box or not box[0].strip():
            self._proc.kill()
            self._proc.wait(10)
            raise RuntimeError(f"the emulator server did not start: {''.join(self._stderr)[-2000:]}")
        return box[0]

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> int | None:
        """Stop the server (closing its stdin); its exit code (1: the emulator raised internally)."""
        if self._proc is None:
            return None
        proc, self._proc = self._proc, None
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            return proc.wait(10)
        finally:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    # ------------------------------------------------------------ control endpoint
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if method == "GET" else json.dumps(body).encode()
        request = urllib.request.Request(self._control + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def operator(self, **settings: Any) -> None:
        """Start (or reconfigure) the L2S-M operator double: ``ready_after``, ``release_finalizer``, ..."""
        self._call("POST", "/operator", settings)

    def stop_operator(self) -> None:
        self._call("POST", "/operator/stop")

    def workloads(self, **settings: Any) -> None:
        """Start the workload controller double: ``pods_ready``, ``port_exhaustion``."""
        self._call("POST", "/workloads", settings)

    def faults(self, plan: Mapping[str, Any] | None) -> None:
        """A seeded ``FaultPlan`` (its fields as JSON), or None for none."""
        self._call("POST", "/faults", None if plan is None else dict(plan))

    def log(self) -> list[Entry]:
        return [Entry(**e) for e in self._call("GET", "/log")]

    def select(self, method: str | None = None, path: str | re.Pattern[str] | None = None,
               since: int = 0) -> list[Entry]:
        """Requests by method and path (substring or regex) with ``seq`` > ``since``."""
        out = []
        for e in self.log():
            if e.seq <= since or (method and e.method != method.upper()):
                continue
            if (isinstance(path, str) and path not in e.path) or (isinstance(path, re.Pattern) and not path.search(e.path)):
                continue
            out.append(e)
        return out

    def last_seq(self) -> int:
        entries = self.log()
        return entries[-1].seq if entries else 0

    def violations(self) -> list[str]:
        return list(self._call("GET", "/violations"))

    def refusals(self) -> list[str]:
        """Pods the L2S-M webhook double refused: no address left in a network's range."""
        return list(self._call("GET", "/refusals"))

    def errors(self) -> list[str]:
        return list(self._call("GET", "/errors"))

    def objects(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        query = f"/objects?group={group}&version={version}&plural={plural}&namespace={namespace or ''}"
        return list(self._call("GET", query))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)


if __name__ == "__main__":  # a manual check: start, print where it is, stop
    import tempfile

    with tempfile.TemporaryDirectory() as d, ServedCluster(Path(d)) as served:
        print(served.url, served.kubeconfig, file=sys.stderr)
