"""The lab run's HTML report: from made-up report data (pure) and through the writer (Graphviz for the picture)."""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from osm_l2net.core.errors import InputError, LabError
from osm_l2net.lab.report_file import check_writable, report_format, write_report
from osm_l2net.lab.report_html import RunContext, report_html, verdict
from tests.lab.plans import cdn_plan
from tests.support.tools import in_ci

VOID = {"meta", "br", "link", "img", "hr", "input", "col", "area", "base", "source", "wbr"}
EVIL = "<script>alert('x')</script>"
SVG = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n'
       '<svg width="100pt" height="50pt" xmlns="http://www.w3.org/2000/svg"><g id="graph0"><title>ns</title>'
       '<text x="1" y="2">my-first-osm-net</text><path d="M0,0L1,1"/></g></svg>\n')
CTX = RunContext(machine="host&1", date="2026-12-03 15:00:00 UTC", command="osm-l2net lab run --report r.html")


class Strict(HTMLParser):
    """Records every element's nesting; any unbalanced or misnested end tag is an error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []  # (class of <tr>, its cells' text) in <tbody>
        self.scripts = 0
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.scripts += tag == "script"
        self.external += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "tr" and "tbody" in self.stack:
            self.rows.append((a.get("class") or "", []))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.external += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack and self.stack[-1] in ("td", "b") and self.rows and "tbody" in self.stack:
            self.rows[-1][1].append(data)


def _report(**over: Any) -> dict[str, Any]:
    checks = [{"name": "ping 10.0.2.10 from cdn-server", "expected": "3/3 received, 0% loss, ttl=63",
               "observed": "3/3 received, 0% loss, ttl=63", "ok": True},
              {"name": "tcp/8081 10.0.1.10 -> 10.0.2.10 (firewall)", "expected": "blocked", "observed": EVIL,
               "ok": False}]
    return {"lab": "t1", "ns_id": "0a1b2c3d-cdn", "ok": False, "seconds": 12.34, "error": None,
            "facts": {"resume_seconds": 1.5}, "checks": checks, **over}


def _parse(page: str) -> Strict:
    p = Strict()
    p.feed(page)
    p.close()
    assert p.errors == [] and p.stack == [], (p.errors, p.stack)
    return p


def test_values_are_escaped_the_mismatch_is_marked_the_svg_embedded() -> None:
    plan = cdn_plan()
    plan = replace(plan, ns_name="ns <b>&</b>", kdus=(replace(plan.kdus[0], member_vnf_index=EVIL), *plan.kdus[1:]))
    page = report_html(_report(), plan, CTX, SVG)
    p = _parse(page)
    assert EVIL not in page and p.scripts == 0  # every value escaped, and the page has no script of its own
    assert page.count("&lt;script&gt;") == 2  # the observed value and the member-vnf-index
    assert "ns &lt;b&gt;&amp;&lt;/b&gt;" in page and "host&amp;1" in page
    classes = {cells[0]: cls for cls, cells in p.rows if cells}
    assert classes["tcp/8081 10.0.1.10 -> 10.0.2.10 (firewall)"] == "mismatch"
    assert classes["ping 10.0.2.10 from cdn-server"] == "ok"
    assert "<svg" in page and "<?xml" not in page and "<!DOCTYPE svg" not in page  # inline, no prolog
    assert p.external == []  # self-contained: no stylesheet, script, font or image fetched
    text = "".join(p.text)
    for want in ("FAIL (1/2 checks, 12.3s)", "my-first-osm-net", "10.0.2.0/24", "10.0.1.10/24",
                 "10.0.2.0/24 via 10.0.1.1 dev net1", "osm-l2net lab run --report r.html", "transfer resumed after"):
        assert want in text, want


def test_a_pass_an_error_and_no_picture() -> None:
    ok = _report(ok=True, checks=[{**_report()["checks"][0]}])
    assert verdict(ok) == "PASS (1/1 checks, 12.3s)"
    assert 'class="pass"' in report_html(ok, cdn_plan(), CTX, SVG)
    failed = report_html(_report(error="timed out after 60s <waiting>", checks=[]), cdn_plan(), CTX, None,
                         "no picture: Graphviz 'dot' is not installed")
    p = _parse(failed)
    assert "FAIL (0/0 checks" in failed and "timed out after 60s &lt;waiting&gt;" in failed
    assert "no check ran" in "".join(p.text) and "dot&#x27; is not installed" in failed and "<svg" not in failed


def test_the_form_follows_the_suffix_unless_given(tmp_path: Path) -> None:
    assert report_format(tmp_path / "r.HTML") == "html" and report_format(tmp_path / "r.htm") == "html"
    assert report_format(tmp_path / "r.json") == "json" and report_format(tmp_path / "r") == "json"
    assert report_format(tmp_path / "r.json", "html") == "html"
    write_report(tmp_path / "r.json", _report(), cdn_plan())
    assert json.loads((tmp_path / "r.json").read_text())["checks"][1]["observed"] == EVIL
    write_report(tmp_path / "r.out", _report(), cdn_plan(), "html")
    assert (tmp_path / "r.out").read_text().startswith("<!DOCTYPE html>")


def test_the_writer_draws_the_plan_or_says_why_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.html"
    if shutil.which("dot") is None:
        assert not in_ci(), "graphviz's dot is missing under CI: ./scripts/setup installs it (Debian package graphviz)"
    else:
        write_report(out, _report(), cdn_plan(), command="osm-l2net lab run")
        page = out.read_text()
        _parse(page)
        svg = html.unescape(page[page.index("<svg"):page.index("</svg>")])  # Graphviz writes - as &#45;
        assert "router-firewall" in svg and "10.0.2.0/24" in svg  # the picture of this plan, from render.plan_dot
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: the report is still written, with the reason
    write_report(out, _report(), cdn_plan())
    page = out.read_text()
    assert "<svg" not in page and "apt-get install graphviz" in page and "tcp/8081" in page


def test_a_report_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"the folder .*missing does not exist"):
        check_writable([tmp_path / "r.json", tmp_path / "missing" / "r.html"])
    check_writable([tmp_path / "r.html", Path("r.html")])  # a folder that exists, and the current one
    with pytest.raises(LabError, match="cannot write the report"):
        write_report(tmp_path, _report(), cdn_plan())  # a folder where the file should go
