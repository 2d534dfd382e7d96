"""The typed report: to_json is the one serializer, from_json reads any report it wrote back unchanged, and the
severity order lives only in Severity.rank."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.app import exit_code
from auditor.history import compact_json
from auditor.model import Severity, Status
from auditor.report.drift import carry_first_seen, classify
from auditor.report.model import Report, ReportError, ReportFinding
from tests.history.factories import finding, report
from tests.report.test_reports import hostile_doc

ROOT = Path(__file__).resolve().parents[2]


def test_a_report_read_back_serializes_to_the_same_document() -> None:
    doc = hostile_doc()
    assert Report.from_json(doc).to_json() == doc
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    assert json.dumps(Report.from_json(json.loads(text)).to_json(), indent=2, ensure_ascii=False) == text


def test_sections_and_unknown_keys_survive_a_round_trip_in_order() -> None:
    doc = report([finding("a"), finding("b", "pass")])
    doc["findings"][0].update(drift="new", first_seen="2026-11-20T02:00:00Z", future_field={"x": 1})
    doc.update(timings={"collect_seconds": 1.0}, drift={"new": 1, "text": "1 new"}, future_section=[1, 2])
    back = Report.from_json(doc).to_json()
    assert back == doc
    assert list(back) == list(doc)  # key order too: report.json is compared byte for byte
    assert list(back["findings"][0]) == list(doc["findings"][0])


def test_the_summary_is_derived_from_the_findings() -> None:
    doc = report([finding("a"), finding("b", "pass"), finding("c", "error")])
    doc["summary"]["by_status"]["fail"] = 99  # an edited summary is not believed: it is recomputed
    r = Report.from_json(doc)
    assert dict(r.summary.by_status) == {"pass": 1, "fail": 1, "error": 1, "exempt": 0}
    assert r.complete is False  # an undecided finding makes the audit incomplete


@pytest.mark.parametrize("bad", [[], {"schema_version": "2.0", "findings": []}, {"schema_version": "1.0"},
                                 {"schema_version": "1.0", "findings": [{"rule_id": "x"}]},
                                 {"schema_version": "1.0", "findings": [dict(finding("a"), status="maybe")]}])
def test_what_is_not_a_report_is_refused(bad: object) -> None:
    with pytest.raises(ReportError):
        Report.from_json(bad)


def test_exit_code_reads_the_typed_report() -> None:
    advisory = dict(finding("adv"), advisory=True)
    r = Report.from_json(report([finding("a", severity="low"), advisory, finding("b", "pass")]))
    assert exit_code(r, Severity.LOW) == 1
    assert exit_code(r, Severity.MEDIUM) == 0  # the only violation is low; the advisory one never counts
    marked, _ = classify(r.findings, [finding("a")])
    assert exit_code(r.with_findings(marked), Severity.LOW, only_new=True) == 0  # still failing, not new
    assert exit_code(Report.from_json(report([finding("a")], complete=False)), Severity.LOW) == 3


def test_drift_and_first_seen_return_new_findings_and_leave_the_old_unchanged() -> None:
    current = [ReportFinding.from_json(finding("a")), ReportFinding.from_json(finding("b", "error"))]
    marked, counts = classify(current, [finding("a"), finding("gone")])
    assert [f.drift for f in marked] == ["still_failing", None] and counts["resolved"] == 1
    assert current[0].drift is None  # frozen: classification made new objects
    dated = carry_first_seen(marked, [dict(finding("b", "error"), first_seen="2026-11-01T00:00:00Z")], "now")
    assert [f.first_seen for f in dated] == ["now", "2026-11-01T00:00:00Z"]
    assert dated[0].status is Status.FAIL


def test_history_blob_json_equals_one_compact_dumps() -> None:
    doc = hostile_doc()
    assert "".join(compact_json(doc)) == json.dumps(doc, separators=(",", ":"), default=str)
    assert "".join(compact_json({})) == "{}"


def test_severity_order_is_defined_once() -> None:
    """Severity.rank is the order; a second table of ranks drifts from it silently."""
    rank_table = re.compile(r"""["']?critical["']?\s*:\s*\d""")
    # OCSF's severity_id is that format's own code table (1 informational .. 5 critical), not an order we keep.
    allowed = {"auditor/model.py", "auditor/report/ocsf.py"}
    copies = [str(p.relative_to(ROOT)) for p in (ROOT / "auditor").rglob("*.py")
              if str(p.relative_to(ROOT)) not in allowed and rank_table.search(p.read_text())]
    assert copies == []
    assert [s.value for s in sorted(Severity, key=lambda s: -s.rank)] == ["critical", "high", "medium", "low", "info"]
