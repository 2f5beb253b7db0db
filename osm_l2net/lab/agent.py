"""The CDN cache's pull loop, run inside the cache's namespace: ``python -I -S osm_l2net/lab/agent.py …`` (stdlib only).

Like the PoC's cache, it pulls the file with curl; after any failure (the router vanished, the transfer stalled) it
starts a NEW ``curl -C -`` that resumes from the bytes already on disk (``curl --retry`` would restart from the
offset where that process began). When the file is complete and its sha256 matches, it is moved to the folder the
cache's web server serves. Progress goes to a small JSON status file that ``lab status`` and the scenario read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# hashlib (OpenSSL), json and subprocess are imported where used: the lab waits for this process to detach, and
# everything imported before ``_daemonize`` is start-up time of the cache


def _status(path: Path, **fields: object) -> None:
    import json

    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**fields, "time": time.time()}))
    tmp.replace(path)


def sha256_file(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks (videos can be large)."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _curl(args: argparse.Namespace, part: Path) -> int:
    import subprocess

    argv = ["curl", "--silent", "--show-error", "--fail", "--continue-at", "-", "--output", str(part),
            "--connect-timeout", "2", "--speed-limit", "1", "--speed-time", str(args.stall_seconds), args.url]
    with open(args.log, "ab") as log:
        return subprocess.run(argv, stdout=log, stderr=log, check=False).returncode


def pull(args: argparse.Namespace) -> int:
    part, final, status = Path(args.part), Path(args.final), Path(args.status)
    if args.start_file:
        _status(status, state="waiting", bytes=0, attempts=0)
        while not Path(args.start_file).exists():
            time.sleep(0.05)
    attempts, started = 0, time.time()
    while True:
        have = part.stat().st_size if part.exists() else 0
        if have >= args.size:
            digest = sha256_file(part)
            if digest == args.sha256:
                part.replace(final)
                _status(status, state="complete", bytes=have, attempts=attempts, sha256=digest,
                        seconds=round(time.time() - started, 3))
                return 0
            part.unlink()  # corrupt: start over
            _status(status, state="corrupt", bytes=have, attempts=attempts, sha256=digest)
            continue
        attempts += 1
        _status(status, state="downloading", bytes=have, attempts=attempts)
        if _curl(args, part) != 0:
            time.sleep(0.3)


def _daemonize(pidfile: str) -> None:
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    Path(pidfile).write_text(str(os.getpid()))  # ready: the lab's wait ends here


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osm_l2net.lab.agent")
    for name in ("url", "part", "final", "sha256", "status", "pidfile", "log"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--stall-seconds", type=int, default=3)
    parser.add_argument("--start-file", help="wait until this file exists before pulling")
    args = parser.parse_args(argv)
    _daemonize(args.pidfile)
    return pull(args)


if __name__ == "__main__":
    sys.exit(main())
