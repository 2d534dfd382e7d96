"""Reports: the JSON contract validates against its schema; HTML and terminal render hostile text safely."""

from __future__ import annotations

import io
import json
import re

import jsonschema

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report import html, terminal
from auditor.report.json_report import render
from auditor.report.model import Report, build_report
from auditor.report.schema import report_schema
from tests.conftest import build_graph

HOSTILE_NAME = '<img src=x onerror="alert(1)">'
HOSTILE_TAG = '"><script>alert(2)</script>'
ANSI = "\x1b[2J\x1b]0;pwned\x07evil"


def hostile_doc() -> dict:  # type: ignore[type-arg]
    graph = build_graph({"nodes": [
        {"id": "arn:aws:s3:::evil", "type": "s3.bucket", "name": HOSTILE_NAME, "tags": {"owner": HOSTILE_TAG},
         "data": {"versioning_status": HOSTILE_TAG}},
        {"id": "arn:aws:s3:::ansi", "type": "s3.bucket", "name": ANSI, "data": {"versioning_status": "Suspended"}},
    ]})
    ev = evaluate_rules(graph, load_rules(), Config())
    return build_report(ev, graph)


def test_json_report_validates_against_published_schema() -> None:
    doc = json.loads(render(hostile_doc()))
    jsonschema.Draft202012Validator(report_schema()).validate(doc)
    assert doc["schema_version"] == "1.0"
    assert {f["status"] for f in doc["findings"]} <= {"pass", "fail", "error", "exempt"}
    assert set(doc["summary"]["by_policy"]) == {str(i) for i in range(1, 16)}


def test_html_escapes_attacker_controlled_text_and_has_a_strict_csp() -> None:
    page = html.render(Report.from_json(hostile_doc()))
    assert HOSTILE_NAME not in page and "<script>alert" not in page
    # two script elements: our own code and the findings as inert data (base64: no byte of it can close the element)
    assert page.count("<script") == 2
    data = re.search(r'<script type="application/json" id="report-data">([^<]*)</script>', page)
    assert data and re.fullmatch(r"[A-Za-z0-9+/=]+", data.group(1))
    assert HOSTILE_NAME in [r[2] for r in html.embedded(page)["resources"]]  # carried as data, rendered by textContent
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src 'none'" in csp.group(1) and "'sha256-" in csp.group(1)
    body = page.split("<body>")[1]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", body)  # nothing loaded from elsewhere
    assert "http://" not in body


def test_terminal_output_strips_control_sequences() -> None:
    from rich.console import Console

    buf = io.StringIO()
    terminal.print_summary(Report.from_json(hostile_doc()), Console(file=buf, width=200, force_terminal=False, color_system=None))
    out = buf.getvalue()
    assert "\x1b" not in out and "\x07" not in out
    # both failing buckets are listed, names shown as inert text: escapes replaced, markup-like text kept as is
    assert "\ufffd[2J\ufffd]0;pwned\ufffdevil" in out
    assert HOSTILE_NAME in out
    assert out.count("SM-02-bucket-versioning") == 2


def test_score_excludes_exempt_and_counts_errors_against() -> None:
    from auditor.report.model import score

    assert score({"pass": 3, "fail": 1, "error": 0, "exempt": 5}) == 75.0
    assert score({"pass": 1, "fail": 0, "error": 1}) == 50.0
    assert score({"exempt": 2}) is None
