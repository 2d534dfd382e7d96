"""Remediation is handed the typed report and returns one: no serialization inside the process, no terminal import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.engine.config import Config
from auditor.engine.loader import load_rules
from auditor.model import Status
from auditor.remediate.flow import RemediationOptions, annotate, remediate, verify
from auditor.report.model import Report, ReportFinding
from tests.history.factories import typed
from tests.remediate.test_selection import EP_ARN, finding, graph


def _no_serialization(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("remediation serialized or parsed the report")

    for cls, name in ((Report, "to_json"), (ReportFinding, "to_json")):
        monkeypatch.setattr(cls, name, refuse)
    monkeypatch.setattr(Report, "from_json", classmethod(refuse))
    monkeypatch.setattr(ReportFinding, "from_json", classmethod(refuse))


def test_remediation_plans_applies_verifies_and_annotates_the_typed_report_without_serializing_it(
        aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = typed({"findings": [finding("SM-07-error-alarms", "fail", "create-endpoint-alarms"),
                                 finding("SM-07-latency-alarm", "pass", "create-endpoint-alarms")]})
    g = graph()
    _no_serialization(monkeypatch)
    opts = RemediationOptions(yes=True, journal=tmp_path / "j.jsonl")
    result = remediate(report, load_rules(), Config(), g, opts, lambda s, r: boto3.client(s, region_name=r), None,
                       quiet=True)
    [change] = result.changes
    assert change.outcome == "applied" and change.findings == [report.findings[0]]
    # the fresh audit: the alarms now exist, so the targeted finding passes
    fresh = report.with_findings([dataclasses.replace(f, finding=f.finding._replace(status=Status.PASS))
                                  for f in report.findings])
    verify(result.changes, fresh)
    assert change.outcome == "applied and verified"
    out = annotate(fresh, result, before=report)
    assert isinstance(out, Report) and out is not fresh
    assert out.findings[0].finding.remediation["outcome"] == "applied and verified"
    assert out.findings[0].finding.remediation["change_id"] == change.plan.change_id  # type: ignore[union-attr]
    assert "outcome" not in out.findings[1].finding.remediation  # untouched finding
    assert "outcome" not in fresh.findings[0].finding.remediation  # the input is not mutated
    assert out.remediation is not None and out.remediation["mode"] == "apply"
    assert out.remediation["before"]["findings"] == [{"rule_id": "SM-07-error-alarms", "resource": EP_ARN,
                                                      "status": "fail"}]
    alarms = boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"]
    assert len(alarms) == 2


def test_the_remediation_package_imports_neither_the_terminal_reporter_nor_the_renderers() -> None:
    code = ("import sys, auditor.remediate.flow, auditor.remediate.undo, auditor.remediate.restore; "
            "print(sorted(m for m in sys.modules if m.startswith('auditor.report.') and m != 'auditor.report.model'"
            " and m != 'auditor.report.context'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
