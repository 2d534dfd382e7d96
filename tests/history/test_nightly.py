"""Drift from the history: the last complete run of the same scope is the baseline, first_seen survives
undecided nights, incomplete baselines are never used silently, trends come from the recorded runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.history.nightly import prepare, record
from auditor.history.sqlite import SqliteHistory
from auditor.report.model import Report
from auditor.report.schema import validate_report
from tests.history.factories import finding, report


@pytest.fixture
def store(tmp_path: Path) -> SqliteHistory:
    return SqliteHistory(tmp_path / "h.sqlite3")


def night(store: SqliteHistory, doc: dict[str, Any], warnings: list[str] | None = None) -> dict[str, Any]:
    rep, prep = prepare(store, Report.from_json(doc), None, (warnings if warnings is not None else []).append)
    out = rep.to_json()
    record(prep, rep, "audit", "/reports/report.html")
    return out


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["resource"]["name"]: f for f in doc["findings"]}


def test_the_first_run_calls_every_violation_new_and_dates_it(store: SqliteHistory) -> None:
    doc = night(store, report([finding("a"), finding("b", "pass")], when="2026-11-20T02:00:00Z"))
    assert doc["drift"]["new"] == 1 and doc["drift"]["text"] == "1 new (no earlier run of this scope)"
    assert by_name(doc)["a"]["first_seen"] == "2026-11-20T02:00:00Z" and "first_seen" not in by_name(doc)["b"]
    assert doc["history"]["run_id"] == store.runs()[0].run_id


def test_second_run_has_new_still_failing_and_resolved_with_first_seen_carried(store: SqliteHistory) -> None:
    night(store, report([finding("a"), finding("b"), finding("c", "pass")], when="2026-11-20T02:00:00Z"))
    doc = night(store, report([finding("a"), finding("b", "pass"), finding("c")], when="2026-11-21T02:00:00Z"))
    f = by_name(doc)
    assert (f["a"]["drift"], f["b"]["drift"], f["c"]["drift"]) == ("still_failing", "resolved", "new")
    assert f["a"]["first_seen"] == "2026-11-20T02:00:00Z" and f["c"]["first_seen"] == "2026-11-21T02:00:00Z"
    assert [r["arn"].rsplit("/", 1)[1] for r in doc["drift"]["resolved_findings"]] == ["b"]
    assert doc["drift"]["text"] == "1 new since 2026-11-20T02:00:00Z"


def test_an_incomplete_last_run_is_not_the_baseline_and_says_so(store: SqliteHistory) -> None:
    night(store, report([finding("a"), finding("b")], when="2026-11-20T02:00:00Z"))
    # night two could not read b (error) and lost part of the account
    night(store, report([finding("a"), finding("b", "error")], when="2026-11-21T02:00:00Z", complete=False))
    warnings: list[str] = []
    doc = night(store, report([finding("a"), finding("b")], when="2026-11-22T02:00:00Z"), warnings)
    assert len(warnings) == 1 and "was incomplete" in warnings[0] and "last complete run" in warnings[0]
    assert doc["drift"]["baseline_run"] == store.runs()[0].run_id
    assert by_name(doc)["b"]["drift"] == "still_failing"  # not "new": the complete baseline had it failing
    assert by_name(doc)["b"]["first_seen"] == "2026-11-20T02:00:00Z"  # the undecided night kept the clock


def test_only_incomplete_runs_are_used_with_a_warning_never_silently(store: SqliteHistory) -> None:
    night(store, report([finding("a")], when="2026-11-20T02:00:00Z", complete=False))
    warnings: list[str] = []
    doc = night(store, report([finding("a")], when="2026-11-21T02:00:00Z", complete=False), warnings)
    assert warnings and "no run of this scope was ever complete" in warnings[0]
    assert doc["drift"]["baseline"].endswith("(incomplete)") and by_name(doc)["a"]["drift"] == "still_failing"


def test_runs_of_another_scope_are_not_a_baseline(store: SqliteHistory) -> None:
    night(store, report([finding("a", region="eu-west-1")], regions=["eu-west-1"]))
    doc = night(store, report([finding("a")]))
    assert doc["drift"]["baseline_run"] is None and by_name(doc)["a"]["drift"] == "new"


def test_trends_hold_scores_opened_closed_and_open_violation_ages(store: SqliteHistory) -> None:
    night(store, report([finding("a"), finding("b")], when="2026-11-01T02:00:00Z"))
    night(store, report([finding("a"), finding("b", "pass"), finding("c")], when="2026-11-02T02:00:00Z"))
    doc = night(store, report([finding("a"), finding("b", "pass"), finding("c")], when="2026-11-11T02:00:00Z"))
    runs = doc["trends"]["runs"]
    assert [(r["opened"], r["closed"]) for r in runs] == [(2, 0), (1, 1), (0, 0)]
    assert [r["policy_scores"]["4"] for r in runs] == [0.0, 33.3, 33.3]
    ages = {a["name"]: a["age_days"] for a in doc["trends"]["open_violations"]}
    assert ages == {"a": 10, "c": 9}
    assert validate_report(doc) == []  # drift, first_seen, trends and history are in the published schema


def test_an_explicit_incomplete_baseline_file_is_used_with_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    base = report([finding("a")], complete=False)
    doc = report([finding("a"), finding("b")])
    doc = prepare(None, Report.from_json(doc), (tmp_path / "old.json", Report.from_json(base)),
                  warnings.append)[0].to_json()
    assert warnings and "incomplete report" in warnings[0]
    assert doc["drift"]["new"] == 1 and "trends" not in doc and "history" not in doc


def test_the_stored_report_is_report_json_as_written_without_a_second_encoding(
        store: SqliteHistory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import auditor.history.nightly
    from auditor.report.writers import write_all

    rep, prep = prepare(store, Report.from_json(report([finding("a"), finding("b", "pass")])), None, [].append)
    assert prep.written is not None
    written = write_all(rep, [], tmp_path / "out", ["json", "csv"], prep.written.tee)

    def second_encoding(_: Report) -> bytes:
        raise AssertionError("the report was serialized again for the history")

    monkeypatch.setattr(auditor.history.nightly, "compress", second_encoding)
    summary = record(prep, rep, "audit", str(written[0]))
    assert summary is not None
    assert store.report(summary.run_id) == json.loads((tmp_path / "out" / "report.json").read_text())


def test_a_report_json_write_that_fails_halfway_leaves_the_history_to_encode_the_report(
        store: SqliteHistory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.report.writers
    from auditor.report.writers import OutputError, write_all

    rep, prep = prepare(store, Report.from_json(report([finding("a")])), None, [].append)
    assert prep.written is not None

    def disk_full(path: Path, text: Any) -> Path:
        next(iter(text))  # the first piece went through the tee, then the disk filled up
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(auditor.report.writers, "stage_text", disk_full)
    with pytest.raises(OutputError, match="No space left"):
        write_all(rep, [], tmp_path / "out", ["json"], prep.written.tee)
    assert prep.written.blob is None  # nothing half-teed is stored
    summary = record(prep, rep, "audit", None)
    assert summary is not None and store.report(summary.run_id) == rep.to_json()
