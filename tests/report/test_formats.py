"""Machine formats parse back; ASFF validates and imports in batches of 100; drift classes are exact."""

from __future__ import annotations

import csv
import io
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.report import asff, tabular
from auditor.report.drift import classify
from auditor.report.model import Report, ReportFinding
from auditor.report.writers import write_all
from auditor.session import SessionFactory
from tests.history.factories import typed


def finding(i: int, status: str = "fail", name: str | None = None, severity: str = "high") -> dict[str, Any]:
    return {
        "rule_id": f"SM-0{1 + i % 9}-rule", "policy": 1 + i % 9, "title": "A rule title", "severity": severity,
        "status": status, "message": f"finding {i}", "evidence": {"basis": "proven", "checks": [], "unknown": []},
        "remediation": {"remediator": None, "guidance": "fix it"},
        "resource": {"arn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/e{i}", "type": "sagemaker.endpoint",
                     "name": name or f"e{i}", "account": "123456789012", "region": "us-east-1"},
    }


def doc(findings: list[dict[str, Any]], **extra: Any) -> Report:
    return typed({"schema_version": "1.0", "complete": True, "findings": findings, **extra,
            "scope": {"accounts": ["123456789012"], "regions": ["us-east-1"], "collected_at": "2026-11-25T00:00:00Z",
                      "evaluated_at": "2026-11-25T00:00:00Z"}})


def test_csv_parses_back_and_defuses_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(tabular.render_csv(doc([finding(0, name="=HYPERLINK(\"http://x\")"),
                                                                    finding(1, "pass")])))))
    assert [r["status"] for r in rows] == ["fail", "pass"]
    assert rows[0]["resource_name"].startswith("'=")
    assert rows[1]["policy_title"] == "Artifacts in S3 with versioning"


def test_junit_parses_back_with_counts_and_no_control_characters() -> None:
    fs = [finding(0), finding(1, "error"), finding(2, "exempt"), finding(3, "pass", name="bad\x1b[31mname\x00")]
    fs[2]["exemption"] = {"kind": "waiver", "reason": "accepted"}
    root = ET.fromstring(tabular.render_junit(doc(fs)))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    assert sum(int(s.get("skipped", 0)) for s in root.findall("testsuite")) == 1
    assert len(root.findall(".//testcase")) == 4
    assert root.find(".//failure").get("type") == "high"  # type: ignore[union-attr]


def test_asff_findings_validate_and_have_stable_ids() -> None:
    out = asff.render(doc([finding(i, s) for i, s in enumerate(["fail", "pass", "error", "exempt"])]))
    validator = jsonschema.Draft202012Validator(asff.ASFF_SCHEMA)
    for f in out:
        validator.validate(f)
    # exempt: an accepted violation, FAILED and SUPPRESSED, never PASSED
    assert [f["Compliance"]["Status"] for f in out] == ["FAILED", "PASSED", "NOT_AVAILABLE", "FAILED"]
    assert [f["Workflow"]["Status"] for f in out] == ["NEW", "RESOLVED", "NEW", "SUPPRESSED"]
    assert asff.render(doc([finding(0)]))[0]["Id"] == out[0]["Id"]


def test_security_hub_import_is_batched_by_100(aws: None) -> None:
    n = 250
    out = asff.render(doc([finding(i) for i in range(n)]))
    result = asff.import_findings(SessionFactory(region="us-east-1"), out, "us-east-1")
    assert result == {"submitted": n, "imported": n, "failed": [], "calls": math.ceil(n / 100), "failed_batches": []}
    hub = boto3.client("securityhub", region_name="us-east-1")
    seen = sum(len(p["Findings"]) for p in hub.get_paginator("get_findings").paginate())
    assert seen == n


def test_all_formats_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.engine.loader import load_rules
    from auditor.report import writers

    d = doc([finding(0)], tool={"name": "x", "version": "0"}, summary={"by_policy": {}}, collection_errors=[])
    paths = write_all(d, load_rules(), tmp_path, ["csv", "junit", "asff", "sarif", "ocsf"])
    assert sorted(p.name for p in paths) == ["asff.json", "findings.csv", "findings.ocsf.json", "junit.xml",
                                             "report.sarif"]
    before = (tmp_path / "findings.csv").read_text()

    def boom(report: Report, rules: list[Any]) -> str:
        raise KeyboardInterrupt

    monkeypatch.setitem(writers.WRITERS, "csv", ("findings.csv", boom))
    with pytest.raises(KeyboardInterrupt):
        write_all(d, [], tmp_path, ["csv"])
    assert (tmp_path / "findings.csv").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


statuses = st.sampled_from(["pass", "fail", "error", "exempt"])


@settings(max_examples=200)
@given(st.dictionaries(st.integers(0, 30), statuses), st.dictionaries(st.integers(0, 30), statuses))
def test_drift_puts_each_violation_in_exactly_one_class(now: dict[int, str], before: dict[int, str]) -> None:
    baseline = [finding(i, s) for i, s in before.items()]
    marked, result = classify([ReportFinding.from_json(finding(i, s)) for i, s in now.items()], baseline)
    current = [f.to_json() for f in marked]
    failing_now = {i for i, s in now.items() if s == "fail"}
    failing_before = {i for i, s in before.items() if s == "fail"}
    classes: dict[int, list[str]] = {}
    for f in current:
        if f.get("drift") == "resolved":  # marked on the finding and listed: the list is the class
            assert before[int(f["resource"]["name"][1:])] == "fail" and f["status"] in ("pass", "exempt")
        elif "drift" in f:
            classes.setdefault(int(f["resource"]["name"][1:]), []).append(f["drift"])
    for r in result["resolved_findings"]:
        classes.setdefault(int(r["arn"].rsplit("/e", 1)[1]), []).append("resolved")
    assert set(classes) == failing_now | failing_before
    assert all(len(v) == 1 for v in classes.values())
    assert result["new"] + result["still_failing"] == len(failing_now)
    assert result["resolved"] == len(failing_before - failing_now)


def test_fail_on_new_uses_the_baseline(tmp_path: Path) -> None:
    from auditor.cli import main

    snap = tmp_path / "snap.json"
    assert main(["snapshot", "--demo", "--output", str(snap), "--quiet"]) == 0
    first = tmp_path / "first"
    # rules the demo decides everywhere (its Marketplace package leaves S3 artifact rules undecided: exit 3)
    base = ["--snapshot", str(snap), "--quiet", "--rules", "SM-06-*,SM-13-*"]
    assert main([*base, "--output", str(first)]) == 1
    again = tmp_path / "again"
    assert main([*base, "--output", str(again), "--baseline", str(first / "report.json"), "--fail-on-new"]) == 0
    report = json.loads((again / "report.json").read_text())
    assert report["drift"]["new"] == 0 and report["drift"]["still_failing"] > 0
    assert "Since the baseline" in (again / "report.html").read_text()
    assert main([*base, "--output", str(again), "--fail-on-new", "--no-history"]) == 2  # needs a baseline
