"""Write a lab run's report: JSON (the data) or one self-contained HTML page (the data and the picture).

The form is ``--report-format`` when given, else the file's suffix (``.html``/``.htm`` → HTML, anything else → JSON).
The only I/O around :mod:`osm_l2net.lab.report_html`: Graphviz for the picture, the host name, the clock, the file.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from osm_l2net.core.errors import InputError, L2NetError, LabError
from osm_l2net.core.plan import Plan
from osm_l2net.core.render import plan_dot
from osm_l2net.lab.report_html import RunContext, report_html
from osm_l2net.local import graphviz

FORMATS = ("json", "html")


def report_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    return "html" if path.suffix.lower() in (".html", ".htm") else "json"


def _svg(plan: Plan) -> tuple[str | None, str | None]:
    """The picture, or why there is none: a missing or failing ``dot`` must not cost the run its report."""
    try:
        return graphviz.render(plan_dot(plan), "svg", timeout=30).decode("utf-8", errors="replace"), None
    except L2NetError as e:
        return None, f"no picture: {e}"


def check_writable(paths: Sequence[Path]) -> None:
    """Before the run: a report that cannot be written is a usage error now, not a lost result after minutes."""
    for path in paths:
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise InputError.single(str(path), "--report", f"the folder {parent} does not exist", "a file in a folder")


def write_report(path: Path, report: dict[str, Any], plan: Plan, fmt: str | None = None, command: str = "") -> None:
    if report_format(path, fmt) == "json":
        text = json.dumps(report, indent=1) + "\n"
    else:
        svg, why_not = _svg(plan)
        ctx = RunContext(machine=socket.gethostname(), command=command,
                         date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
        text = report_html(report, plan, ctx, svg, why_not)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise LabError(f"cannot write the report {path}: {e.strerror or e}") from e
