"""Trends in the HTML report: per-policy compliance sparklines, opened/closed per run and open-violation ages, from
the report's `trends` block; inline SVG only, names escaped; rendered by a real Chromium when one is installed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from auditor.history.nightly import prepare, record
from auditor.history.sqlite import SqliteHistory
from auditor.report import html
from auditor.report.model import Report
from tests.history.factories import finding, report, typed
from tests.report.test_browser import CHROMIUM, chromium

HOSTILE = '<img src=x onerror="document.title=\'PWNED\'">'


def three_nights(tmp_path: Path) -> dict[str, Any]:
    store = SqliteHistory(tmp_path / "h.sqlite3")
    rules = ["SM-04-min-instances", "SM-12-production-kms"]
    docs = [report([finding("a"), finding(HOSTILE)], when="2026-11-01T02:00:00Z", rules=rules),
            report([finding("a"), finding(HOSTILE, "pass"), finding("c", rule="SM-12-production-kms")],
                   when="2026-11-02T02:00:00Z", rules=rules),
            report([finding("a"), finding(HOSTILE, "pass"), finding("c", rule="SM-12-production-kms")],
                   when="2026-11-05T02:00:00Z", rules=rules)]
    out: dict[str, Any] = {}
    for d in docs:
        rep, prep = prepare(store, Report.from_json(d), None, lambda _: None)
        out = rep.to_json()
        record(prep, rep, "audit", None)
    return out


def test_trend_charts_are_inline_svg_built_from_the_history(tmp_path: Path) -> None:
    doc = three_nights(tmp_path)
    page = html.render(typed(doc))
    section = page[page.index('<section id="trends">'):]
    section = section[:section.index("</section>")]
    assert "Trends (last 3 runs of this scope)" in section
    blocks = section.split('class="kpi trend-policy"')[1:]
    assert len(blocks) == 15
    sparks = [(re.search(r'data-policy="(\d+)"', b).group(1), m.group(1))  # type: ignore[union-attr]
              for b in blocks if (m := re.search(r'<polyline points="([^"]+)"', b))]
    assert [n for n, _ in sparks] == ["4", "12"]  # policies without findings have no score: no line
    policy4 = dict(sparks)["4"].split()
    assert len(policy4) == 3 and policy4[0].endswith(",33.0") and policy4[1].endswith(",18.0")  # 0% then 50%
    bars = re.findall(r"<title>([^<]+): (\d+) (opened|closed)</title>", section)
    assert [(b[1], b[2]) for b in bars] == [("2", "opened"), ("0", "closed"), ("1", "opened"), ("1", "closed"),
                                            ("0", "opened"), ("0", "closed")]
    ages = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td>', section)
    assert ages == [("4", "2026-11-01T02:00:00Z"), ("3", "2026-11-02T02:00:00Z")]
    assert "<script" not in section and "http" not in section.replace("https://", "")  # nothing external
    assert HOSTILE not in page


def test_no_trends_section_without_a_history(tmp_path: Path) -> None:
    doc = report([finding("a")])
    assert 'id="trends"' not in html.render(typed(doc))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine")
def test_trend_charts_render_in_chromium(tmp_path: Path) -> None:
    doc = three_nights(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(html.render(typed(doc)))
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count('class="kpi trend-policy"') == 15 and "PWNED" not in dom.split("</title>")[0]
    assert re.search(r'id="f-count"[^>]*>\d+ of \d+ findings<', dom)  # the CSP still lets our script run
    shot = tmp_path / "trends.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1300,2400", page.as_uri() + "#trends")
    assert shot.stat().st_size > 10_000
