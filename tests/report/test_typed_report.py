"""The typed report: to_json is the one serializer, from_json reads any report it wrote back unchanged, and the
severity order lives only in Severity.rank."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from auditor.app import exit_code
from auditor.history import compress
from auditor.model import Severity, Status
from auditor.report.drift import carry_first_seen, classify
from auditor.report.json_report import chunks
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


def test_history_blob_is_report_json_text() -> None:
    report = Report.from_json(hostile_doc())
    text = gzip.decompress(compress(report)).decode()
    assert text == "".join(chunks(report.to_json()))
    assert json.loads(text) == json.loads(json.dumps(hostile_doc(), default=str))


def test_severity_order_is_defined_once() -> None:
    """Severity.rank is the order; a second table of ranks drifts from it silently."""
    rank_table = re.compile(r"""["']?critical["']?\s*:\s*\d""")
    # OCSF's severity_id is that format's own code table (1 informational .. 5 critical), not an order we keep.
    allowed = {"auditor/model.py", "auditor/report/ocsf.py"}
    copies = [str(p.relative_to(ROOT)) for p in (ROOT / "auditor").rglob("*.py")
              if str(p.relative_to(ROOT)) not in allowed and rank_table.search(p.read_text())]
    assert copies == []
    assert [s.value for s in sorted(Severity, key=lambda s: -s.rank)] == ["critical", "high", "medium", "low", "info"]


def _every_format(report: Report, out: Path) -> dict[str, bytes]:
    from auditor.engine.loader import load_rules
    from auditor.report.writers import WRITERS, write_all

    return {p.name: p.read_bytes() for p in write_all(report, load_rules(), out, list(WRITERS))}


def test_every_format_renders_the_same_bytes_from_the_live_report_and_from_its_saved_report_json(
        tmp_path: Path) -> None:
    """A renderer that read anything the report.json does not carry (or read it differently) would make the file a
    run writes differ from the one `audit history show` re-renders from the stored document: every format, with
    every section a run may set (drift, first_seen, trends, history, remediation outcomes)."""
    base = Report.from_json(hostile_doc())
    f0 = base.findings[0]
    rem = {**f0.finding.remediation, "outcome": "applied and verified", "change_id": "abc123def456"}
    annotated = [ReportFinding(f0.finding._replace(remediation=rem), endpoints=("arn:ep/x",),
                               environment="production", drift="new", first_seen="2026-11-01T00:00:00Z"),
                 *base.findings[1:]]
    live = base.with_findings(annotated, drift={"text": "1 new", "new": 1, "still_failing": 0, "resolved": 0,
                                                "baseline": "run x", "since": "2026-11-01T00:00:00Z",
                                                "resolved_findings": []},
                              history={"location": "h.sqlite3", "run_id": "r"},
                              remediation={"mode": "apply", "refused": None, "over_cap": None, "counts": {},
                                           "plan": [], "skipped": [], "changes": []})
    first = _every_format(live, tmp_path / "live")
    saved = Report.from_json(json.loads((tmp_path / "live" / "report.json").read_text()))
    second = _every_format(saved, tmp_path / "saved")
    assert sorted(first) == sorted(["report.json", "report.html", "findings.csv", "junit.xml", "asff.json",
                                    "report.sarif", "findings.ocsf.json"])
    assert {k for k in first if first[k] != second[k]} == set()
    # and the annotations reached each format (the comparison is not between two empty renderings)
    for name in ("findings.csv", "findings.ocsf.json", "report.json"):
        assert b"arn:ep/x" in first[name] or b"new" in first[name], name
    assert b"2026-11-01T00:00:00Z" in first["asff.json"]  # first_seen is the ASFF CreatedAt


def test_a_renderer_or_remediation_handed_the_report_document_fails_the_type_check(tmp_path: Path) -> None:
    """The contract is in the signatures: passing report.json's dict where the typed report goes is a mypy error."""
    api = pytest.importorskip("mypy.api", reason="mypy is in the dev extra")
    snippet = tmp_path / "handed_a_dict.py"
    snippet.write_text(
        "from auditor.report.model import Report\n"
        "from auditor.report import asff, html, ocsf, sarif, tabular\n"
        "from auditor.report.writers import write_all\n"
        "from pathlib import Path\n"
        "from auditor.remediate.flow import RemediationOptions, select\n"
        "def check(report: Report) -> None:\n"
        "    doc = report.to_json()\n"
        "    tabular.render_csv(doc)\n"
        "    html.render(doc)\n"
        "    asff.render(doc)\n"
        "    ocsf.render(doc)\n"
        "    sarif.render(doc, [])\n"
        "    select(doc, [], None, None, RemediationOptions())\n"
        "    write_all(doc, [], Path('x'), [])\n"
        "    tabular.render_junit(report)\n")
    out, _, code = api.run(["--no-incremental", "--follow-imports=silent", "--cache-dir", str(tmp_path / "c"),
                            "--no-error-summary", str(snippet)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert code == 1
    assert [int(line.split(":")[1]) for line in errors] == [8, 9, 10, 11, 12, 13, 14], out  # not the typed call
    assert all('"dict[str, Any]"' in line and '"Report"' in line for line in errors), out
