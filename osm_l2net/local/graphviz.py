"""Render DOT to SVG or PNG with Graphviz's ``dot`` (the only module that runs it)."""

from __future__ import annotations

import shutil
import subprocess

from osm_l2net.core.errors import L2NetError, ToolError


class MissingTool(L2NetError):
    exit_code = 2


def render(dot: str, fmt: str, timeout: float = 60) -> bytes:
    binary = shutil.which("dot")
    if binary is None:
        raise MissingTool("Graphviz 'dot' is not installed (Debian: apt-get install graphviz); use --format dot meanwhile")
    argv = [binary, f"-T{fmt}"]
    try:
        done = subprocess.run(argv, input=dot.encode(), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise ToolError(argv, -1, f"timed out after {timeout}s") from e
    if done.returncode != 0:
        raise ToolError(argv, done.returncode, done.stderr.decode(errors="replace"))
    return done.stdout
