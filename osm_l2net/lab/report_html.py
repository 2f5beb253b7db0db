"""A lab run's report as one self-contained HTML page (pure: report data + plan + SVG text in, an HTML string out).

Everything is inline (no external CSS, JS or fonts) so the file opens offline, mailed or archived. Every value is
HTML-escaped; the picture is Graphviz's SVG of the same plan (``render.plan_dot``), embedded as is, from its
``<svg`` element on (no XML prolog inside HTML). The KDUs' values are left out on purpose: they may carry secrets.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from osm_l2net.core.plan import Plan


@dataclass(frozen=True)
class RunContext:
    """Where and how the run happened: shown at the foot of the page."""

    machine: str
    date: str  # ISO 8601, UTC
    command: str


_CSS = """
:root { --ok: #276749; --ok-bg: #f0fff4; --bad: #9b2c2c; --bad-bg: #fff5f5; --line: #e2e8f0; --ink: #1a202c;
        --muted: #4a5568; --bus: #2c5f8a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); background: #f7fafc; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; }
header { border-radius: 8px; padding: 18px 22px; color: #fff; margin-bottom: 20px; }
header.pass { background: var(--ok); } header.fail { background: var(--bad); }
header h1 { margin: 0 0 4px; font-size: 24px; }
header .verdict { font-size: 18px; font-weight: 600; }
header .sub { opacity: .9; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-bottom: 18px; }
h2 { margin: 0 0 12px; font-size: 17px; color: var(--bus); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #edf2f7; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.mono, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
tr.ok td { background: var(--ok-bg); } tr.mismatch td { background: var(--bad-bg); }
tr.ok td:first-child { border-left: 4px solid #68d391; } tr.mismatch td:first-child { border-left: 4px solid #e53e3e; }
tr.mismatch td.result, tr.mismatch td.observed { color: var(--bad); font-weight: 700; }
tr.ok td.result { color: var(--ok); font-weight: 600; }
header .failed { margin-top: 8px; padding: 6px 10px; background: rgba(255,255,255,.15); border-radius: 4px; }
.error { background: var(--bad-bg); color: var(--bad); border: 1px solid #feb2b2; border-radius: 6px; padding: 10px 12px;
         margin-bottom: 18px; white-space: pre-wrap; }
.picture { text-align: center; overflow-x: auto; }
.picture svg { max-width: 100%; height: auto; }
.muted { color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; margin-bottom: 18px; }
.cols section { margin-bottom: 0; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], mono: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    cell = ('<td class="mono">', "<td>")
    body = "".join("<tr>" + "".join(f"{cell[i not in mono]}{_e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def verdict(report: Mapping[str, Any]) -> str:
    """``PASS (9/9 checks, 12.3s)`` as the CLI's table ends, from the report's JSON form."""
    checks = report.get("checks") or []
    passed = sum(1 for c in checks if c.get("ok"))
    word = "PASS" if report.get("ok") else "FAIL"
    return f"{word} ({passed}/{len(checks)} checks, {float(report.get('seconds') or 0):.1f}s)"


def _checks(report: Mapping[str, Any]) -> str:
    rows = []
    for c in report.get("checks") or []:
        cls, result = ("ok", "✓ ok") if c.get("ok") else ("mismatch", "✗ MISMATCH")
        rows.append(f'<tr class="{cls}"><td>{_e(c.get("name", ""))}</td><td class="mono">{_e(c.get("expected", ""))}'
                    f'</td><td class="mono observed">{_e(c.get("observed", ""))}</td><td class="result">{result}</td></tr>')
    if not rows:
        rows.append('<tr class="mismatch"><td colspan="4">no check ran</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("Check", "Expected", "Observed", "Result"))
    return (f"<section><h2>Expected vs observed</h2><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _failed(report: Mapping[str, Any]) -> str:
    """Under a FAIL verdict, the names of the checks that did not match: what a reader looks for first."""
    bad = [str(c.get("name", "")) for c in report.get("checks") or [] if not c.get("ok")]
    if not bad:
        return ""
    return f'<div class="failed">Mismatch: {_e("; ".join(bad))}</div>'


def _picture(svg: str | None, why_not: str | None) -> str:
    if svg and "<svg" in svg:
        return f'<section><h2>Topology</h2><div class="picture">{svg[svg.index("<svg"):]}</div></section>'
    note = why_not or "no picture"
    return f'<section><h2>Topology</h2><p class="muted">{_e(note)}</p></section>'


def _networks(plan: Plan) -> str:
    rows = [(n.vld_id, n.name, n.kind, (n.cidr or "(L2 only)") + (f"\nreplica pool {n.pod_address_range} "
             f"({n.pod_address_capacity} addresses)" if n.pod_address_range else ""), n.gateway_ip or "-")
            for n in plan.networks]
    return ("<section><h2>Networks</h2>"
            + _table(["Virtual link", "Network", "Kind", "CIDR", "Gateway"], rows, mono=(1, 3, 4)).replace("\n", "<br>")
            + "</section>")


def _replicas(replicas: Sequence[Mapping[str, Any]]) -> list[str]:
    """A pool-addressed KDU's replicas as run: each one's addresses (given by the pool, so not in the plan)."""
    return [f"replica {r.get('replica')}: " + (" ".join(f"{k} {v}" for k, v in (r.get("addresses") or {}).items())
                                               or "-") for r in replicas]


def _kdus(plan: Plan, replicas: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    rows = [(k.member_vnf_index, k.kdu_name, k.namespace,
             "\n".join([*(f"{i.name} {i.ip or '-'} @ {i.vld_id}" for i in k.interfaces),
                        *_replicas(replicas.get(k.key, ()))]) or "-",
             "\n".join(f"{r.to} via {r.via} dev {r.dev}" for r in k.routes) or "-",
             "router" if k.forwarding else "-") for k in plan.kdus]
    table = _table(["Member-vnf-index", "KDU", "Namespace", "Interfaces", "Routes", "Forwarding"], rows, mono=(3, 4))
    return "<section><h2>KDUs: interfaces and routes</h2>" + table.replace("\n", "<br>") + "</section>"


def _mib(n: Any) -> str:
    return f"{n} bytes ({n / 2**20:.2f} MiB)" if isinstance(n, int) else str(n)


def _rate(bps: Any) -> str:  # 0 or none: no shaping (netlink.shape)
    return "unlimited" if not bps else f"{bps / 1000:g} kbit/s" if isinstance(bps, (int, float)) else str(bps)


# the scenario's measured numbers (Report.facts), named for a reader; an unknown key is shown as it is
_FACTS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "resume_seconds": ("transfer resumed after the router came back", lambda v: f"{v} s"),
    "download_seconds": ("download time", lambda v: f"{v} s"),
    "curl_runs": ("curl runs (1 + restarts)", str),
    "file_bytes": ("content file", _mib),
    "rate_bps": ("content server's rate", _rate),
    "sha256": ("content sha256", str),
}


def _facts(report: Mapping[str, Any]) -> str:
    facts = report.get("facts") or {}
    if not facts:
        return ""
    named = [(*_FACTS[k], v) if k in _FACTS else (k, str, v) for k, v in facts.items()]
    items = "".join(f"<dt>{_e(label)}</dt><dd class=\"mono\">{_e(show(v))}</dd>" for label, show, v in named)
    return f"<section><h2>Measured</h2><dl>{items}</dl></section>"


def _context(report: Mapping[str, Any], plan: Plan, ctx: RunContext) -> str:
    items = (("Machine", ctx.machine), ("Date (UTC)", ctx.date), ("Command", ctx.command), ("Lab", report.get("lab")),
             ("NS id", plan.ns_id), ("NSD", plan.nsd_id), ("Namespace", plan.namespace), ("Provider", plan.provider))
    rows = "".join(f'<dt>{_e(k)}</dt><dd class="mono">{_e(v)}</dd>' for k, v in items)
    return f"<section><h2>Run</h2><dl>{rows}</dl></section>"


def report_html(report: Mapping[str, Any], plan: Plan, ctx: RunContext, svg: str | None = None,
                svg_missing: str | None = None) -> str:
    """The page: a coloured header with the NS and the verdict, the picture, the checks, what was measured, the plan's
    networks and KDUs, and where/when/how it ran. ``report`` is ``Report.as_dict()``."""
    ok = bool(report.get("ok"))
    title = f"NS {plan.ns_name}: {verdict(report)}"
    error = report.get("error")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f'<header class="{"pass" if ok else "fail"}"><h1>NS {_e(plan.ns_name)}</h1>'
        f'<div class="verdict">{_e(verdict(report))}</div>{_failed(report)}'
        f'<div class="sub">lab run of NSD {_e(plan.nsd_id)} · lab {_e(report.get("lab", ""))} · {_e(ctx.date)}</div>'
        "</header>",
        f'<div class="error"><b>The run stopped:</b> {_e(error)}</div>' if error else "",
        _checks(report),
        _picture(svg, svg_missing),
        '<div class="cols">' + _facts(report) + _context(report, plan, ctx) + "</div>" if report.get("facts")
        else _context(report, plan, ctx),
        _networks(plan),
        _kdus(plan, report.get("replicas") or {}),
        '<p class="muted">Written by osm-l2net lab run.</p>',
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
