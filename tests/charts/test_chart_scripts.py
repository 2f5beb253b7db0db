"""The scripts the charts render, run for real: content generation, the cache's resuming fetch, nginx configs.

Each test renders a chart with `helm template`, takes the script or config out of the parsed YAML and runs it with
the host's tools (sh, curl, nginx), pointed at temporary folders and local ports instead of the pod's paths.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytestmark = pytest.mark.helm

PAYLOAD = hashlib.sha256(b"osm-l2net").digest() * (256 * 1024 // 32)  # 256 KiB, deterministic


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package: {tool})")
    return path


def _run_script(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", script, "sh", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


# ---- content-server: the generate init container ------------------------------------------------------------------

def test_generate_writes_the_file_and_its_md5_once(render, tmp_path):
    tmp_path = tmp_path / "content"
    tmp_path.mkdir()
    out = render("content-server", {"content": {"dir": str(tmp_path), "sizeMiB": 1, "fileName": "clip.avi"}})
    script = out.script(out.init_container("generate"))
    first = _run_script(script)
    assert first.returncode == 0, first.stderr
    data = (tmp_path / "clip.avi").read_bytes()
    assert len(data) == 1024 * 1024
    assert (tmp_path / "clip.avi.md5").read_text() == f"{hashlib.md5(data).hexdigest()}  clip.avi\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi", "clip.avi.md5"]  # no temporary file left
    again = _run_script(script)
    assert again.returncode == 0 and "already present" in again.stdout
    assert (tmp_path / "clip.avi").read_bytes() == data  # a restarted init container keeps the content


# ---- cdn-server: the fetch loop --------------------------------------------------------------------------------------

class _Origin(BaseHTTPRequestHandler):
    """An origin whose successive answers follow `script`: ok (honours Range), cut (half, then close),
    stall (half, then silence), norange (ignores Range, 200 with everything)."""

    script: ClassVar[list[str]] = []
    ranges: ClassVar[list[str | None]] = []
    release: ClassVar[threading.Event] = threading.Event()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log on the test's stderr

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        type(self).ranges.append(rng)
        mode = type(self).script.pop(0) if type(self).script else "ok"
        start = int(rng.removeprefix("bytes=").split("-")[0]) if rng and mode != "norange" else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.end_headers()
        if mode in ("cut", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                type(self).release.wait(30)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def origin() -> Iterator[tuple[str, type[_Origin]]]:
    handler = type("Origin", (_Origin,), {"script": [], "ranges": [], "release": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/media/video-content-file.avi", handler
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _fetch_script(render, url: str, cache: Path) -> str:  # type: ignore[no-untyped-def]
    out = render("cdn-server", {"cdn": {"origin": url, "cacheDir": str(cache), "retryInterval": 0, "stallTimeout": 1}})
    return str(out.get("ConfigMap")["data"]["fetch.sh"])


@pytest.mark.parametrize(("answers", "expected_ranges"), [
    (["cut", "ok"], [None, f"bytes={len(PAYLOAD) // 2}-"]),
    (["stall", "ok"], [None, f"bytes={len(PAYLOAD) // 2}-"]),  # the router scaled to 0: no byte moves
    (["cut", "norange", "ok"], [None, f"bytes={len(PAYLOAD) // 2}-", None]),  # cannot resume: start over
], ids=["cut", "stall", "no-range-support"])
def test_fetch_resumes_until_complete(render, origin, tmp_path, answers, expected_ranges):
    _need("curl")
    url, handler = origin
    handler.script.extend(answers)
    proc = _run_script(_fetch_script(render, url, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "video-content-file.avi").read_bytes() == PAYLOAD
    assert not (tmp_path / "video-content-file.avi.part").exists()
    assert handler.ranges == expected_ranges  # resumed from the partial file, not downloaded again
    assert proc.stderr.count("cdn: attempt") == len(answers) - 1
    assert f"attempt {len(answers)})" in proc.stdout


def test_fetch_keeps_a_cached_file(render, origin, tmp_path):
    url, handler = origin
    (tmp_path / "video-content-file.avi").write_bytes(b"cached")
    proc = _run_script(_fetch_script(render, url, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert handler.ranges == []  # nothing fetched
    assert (tmp_path / "video-content-file.avi").read_bytes() == b"cached"


# ---- both nginx configs, with the real nginx: origin → fetch → cache → user ------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Any]:
    binary = _need("nginx")
    procs: list[subprocess.Popen[bytes]] = []

    def _start(name: str, server_conf: str, port: int) -> None:
        prefix = tmp_path / f"nginx-{name}"
        prefix.mkdir()
        (prefix / "default.conf").write_text(server_conf)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the 0700 pytest folders
        (prefix / "nginx.conf").write_text(
            f"{user}daemon off;\npid {prefix}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
            f"http {{\n access_log off;\n client_body_temp_path {prefix}/body;\n proxy_temp_path {prefix}/proxy;\n"
            f" fastcgi_temp_path {prefix}/fcgi;\n uwsgi_temp_path {prefix}/uwsgi;\n scgi_temp_path {prefix}/scgi;\n"
            f" include {prefix}/default.conf;\n}}\n")
        check = subprocess.run([binary, "-t", "-p", str(prefix), "-e", "stderr", "-c", str(prefix / "nginx.conf")],
                               capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr
        procs.append(subprocess.Popen([binary, "-p", str(prefix), "-e", "stderr", "-c", str(prefix / "nginx.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        pytest.fail(f"nginx {name} did not listen on {port}")

    try:
        yield _start
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "--silent", "--max-time", "10", *args], capture_output=True, timeout=20, check=False)


def test_origin_to_cache_to_user_with_the_rendered_nginx(render, nginx, tmp_path):
    _need("curl")
    content_dir, cache_dir = tmp_path / "content", tmp_path / "cache"
    content_dir.mkdir()
    cache_dir.mkdir()
    origin_port, cache_port = _free_port(), _free_port()
    content = render("content-server", {"content": {"dir": str(content_dir), "sizeMiB": 2, "port": origin_port}})
    assert _run_script(content.script(content.init_container("generate"))).returncode == 0
    nginx("origin", content.get("ConfigMap")["data"]["default.conf"], origin_port)
    url = f"http://127.0.0.1:{origin_port}/video-content-file.avi"

    ranged = _curl("--range", "100-199", "--write-out", "%{http_code}", "--output", str(tmp_path / "r"), url)
    assert ranged.stdout == b"206"  # the cache can only resume against an origin that honours Range
    assert (tmp_path / "r").read_bytes() == (content_dir / "video-content-file.avi").read_bytes()[100:200]

    cdn = render("cdn-server", {"cdn": {"origin": url, "cacheDir": str(cache_dir), "listenPort": cache_port}})
    (cache_dir / "other.avi.part").write_bytes(b"in progress")
    fetched = _run_script(cdn.get("ConfigMap")["data"]["fetch.sh"])
    assert fetched.returncode == 0, fetched.stderr
    nginx("cache", cdn.get("ConfigMap")["data"]["default.conf"], cache_port)

    served = _curl(f"http://127.0.0.1:{cache_port}/video-content-file.avi")
    expected_md5 = (content_dir / "video-content-file.avi.md5").read_text().split()[0]
    assert hashlib.md5(served.stdout).hexdigest() == expected_md5
    assert len(served.stdout) == 2 * 1024 * 1024
    hidden = _curl("--write-out", "%{http_code}", "--output", "/dev/null",
                   f"http://127.0.0.1:{cache_port}/other.avi.part")
    assert hidden.stdout == b"404"  # a download in progress is never served
    health = _curl(f"http://127.0.0.1:{cache_port}/healthz")
    assert health.stdout == b"ok\n"
