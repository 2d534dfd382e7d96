"""Security Hub lifecycle over three runs on moto, and ASFF within Security Hub's limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from auditor.report import asff
from auditor.report.securityhub import deliver
from auditor.session import SessionFactory
from tests.history.factories import finding, report, typed

R = "us-east-1"


def hub_state() -> dict[str, tuple[str, str, str]]:
    """Per resource name: (Compliance.Status, RecordState, Workflow.Status) as Security Hub holds it."""
    hub = boto3.client("securityhub", region_name=R)
    out = {}
    for page in hub.get_paginator("get_findings").paginate():
        for f in page["Findings"]:
            out[f["Resources"][0]["Details"]["Other"]["name"]] = (
                f["Compliance"]["Status"], f["RecordState"], f["Workflow"]["Status"])
    return out


def run(doc: dict[str, Any]) -> dict[str, Any]:
    result = deliver(SessionFactory(region=R), typed(doc), R)
    assert not result["failed"] and not result["failed_batches"]
    return result


def test_three_runs_give_the_full_lifecycle_per_finding(aws: None) -> None:
    exempt = finding("d", "exempt")
    exempt["exemption"] = {"kind": "waiver", "reason": "accepted until Q1"}
    run(report([finding("a"), finding("b"), finding("c", "error"), exempt, finding("e", "pass")],
               when="2026-11-20T02:00:00Z"))
    assert hub_state() == {"a": ("FAILED", "ACTIVE", "NEW"), "b": ("FAILED", "ACTIVE", "NEW"),
                           "c": ("NOT_AVAILABLE", "ACTIVE", "NEW"), "d": ("FAILED", "ACTIVE", "SUPPRESSED")}
    # night two: a fixed, b's endpoint deleted, f new; e passed all along and is never sent
    second = run(report([finding("a", "pass"), finding("c", "error"), exempt, finding("e", "pass"), finding("f")],
                        when="2026-11-21T02:00:00Z"))
    assert second["by_state"] == {"PASSED": 1, "ARCHIVED": 1, "NOT_AVAILABLE": 1, "SUPPRESSED": 1, "FAILED": 1}
    state = hub_state()
    assert state["a"] == ("PASSED", "ACTIVE", "RESOLVED") and state["b"][1] == "ARCHIVED"
    assert state["f"] == ("FAILED", "ACTIVE", "NEW") and "e" not in state
    # night three is incomplete: c is not in it, but an incomplete run never archives; a is not re-sent
    third = run(report([finding("a", "pass"), exempt, finding("f")], when="2026-11-22T02:00:00Z", complete=False))
    assert third["by_state"] == {"SUPPRESSED": 1, "FAILED": 1}
    assert hub_state() == {"a": ("PASSED", "ACTIVE", "RESOLVED"), "b": ("FAILED", "ARCHIVED", "NEW"),
                           "c": ("NOT_AVAILABLE", "ACTIVE", "NEW"), "d": ("FAILED", "ACTIVE", "SUPPRESSED"),
                           "f": ("FAILED", "ACTIVE", "NEW")}


def test_ids_are_stable_and_created_at_is_kept_across_runs(aws: None) -> None:
    run(report([finding("a")], when="2026-11-20T02:00:00Z"))
    run(report([finding("a")], when="2026-11-21T02:00:00Z"))
    [f] = boto3.client("securityhub", region_name=R).get_findings()["Findings"]
    assert (f["CreatedAt"], f["UpdatedAt"]) == ("2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z")


def test_every_length_limited_field_is_truncated_and_ids_stay_unique() -> None:
    long_arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + "x" * 3000
    a, b = finding("a"), finding("b")
    for i, f in enumerate((a, b)):
        f["resource"]["arn"] = f"{long_arn}{i}"
        f["resource"]["name"] = "n" * 5000
        f["title"] = "t" * 400
        f["message"] = "m" * 5000
        f["remediation"]["guidance"] = "g" * 2000
    out = asff.render(typed(report([a, b])))
    validator = jsonschema.Draft202012Validator(asff.ASFF_SCHEMA)
    for f in out:
        validator.validate(f)
        assert len(f["Title"]) == 256 and len(f["Description"]) == 1024
        assert len(f["Remediation"]["Recommendation"]["Text"]) == 512
        assert len(f["Resources"][0]["Id"]) == 512 and len(f["Resources"][0]["Details"]["Other"]["name"]) == 1024
        assert asff.size(f) <= asff.MAX_FINDING_BYTES
    assert out[0]["Resources"][0]["Id"] != out[1]["Resources"][0]["Id"]


def test_compliance_references_reach_asff_within_its_limits() -> None:
    f = finding("a")
    f["references"] = {"security_hub": ["SageMaker.4"], "config_rules": ["sagemaker-endpoint-config-prod-instance-count"],
                       "policy_section": "Endpoint Configuration — " + "x" * 300}
    [out] = asff.render(typed(report([f])))
    jsonschema.Draft202012Validator(asff.ASFF_SCHEMA).validate(out)
    related = out["Compliance"]["RelatedRequirements"]
    assert related[:2] == ["AWS Security Hub SageMaker.4", "AWS Config sagemaker-endpoint-config-prod-instance-count"]
    assert related[2].startswith("Deployment policy: Endpoint Configuration") and len(related[2]) == 128
    assert "RelatedRequirements" not in asff.render(typed(report([finding("b")])))[0]["Compliance"]


def test_an_oversized_finding_sheds_optional_detail_to_fit_240_kb() -> None:
    f = asff.render(typed(report([finding("a")])))[0]
    f["ProductFields"] = {f"k{i}": "v" * 2000 for i in range(200)}  # 400 KB of provider fields
    fitted = asff.fit(f)
    assert asff.size(fitted) <= asff.MAX_FINDING_BYTES and "ProductFields" not in fitted
    assert fitted["Title"] and fitted["Resources"][0]["Id"]


def test_batches_stay_within_100_findings_and_6_mb() -> None:
    big = [{"Id": str(i), "pad": "x" * 100_000} for i in range(250)]
    sizes = [(len(b), sum(asff.size(f) for f in b)) for b in asff.batches(big)]
    assert all(n <= 100 and total < asff.MAX_BATCH_BYTES for n, total in sizes)
    assert sum(n for n, _ in sizes) == 250 and len(sizes) == 5  # 59 x 100 KB fit in 6 MB
    assert [len(b) for b in asff.batches([{"Id": str(i)} for i in range(250)])] == [100, 100, 50]


class FlakyHub:
    """A Security Hub client whose second BatchImportFindings call fails."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3 name
        self.calls.append(len(Findings))
        if len(self.calls) == 2:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                              "BatchImportFindings")
        return {"SuccessCount": len(Findings), "FailedCount": 0, "FailedFindings": []}


def test_a_failed_batch_is_reported_and_the_remaining_batches_are_still_sent() -> None:
    hub = FlakyHub()
    factory = type("F", (), {"client": lambda self, service, region=None: hub})()
    findings = asff.render(typed(report([finding(f"e{i}") for i in range(250)])))
    result = asff.import_findings(factory, findings, R)
    assert hub.calls == [100, 100, 50] and result["imported"] == 150
    [failed] = result["failed_batches"]
    assert failed["count"] == 100 and failed["error"].startswith("ThrottlingException")
    assert failed["first_id"] == findings[100]["Id"] and failed["last_id"] == findings[199]["Id"]


def test_a_compliant_audit_whose_delivery_fails_exits_4(aws: None, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.securityhub.exceptions import InvalidInputException
    from moto.securityhub.models import SecurityHubBackend

    from auditor.cli import main

    snap = tmp_path / "snap.json"
    assert main(["snapshot", "--demo", "--output", str(snap), "--quiet"]) == 0
    args = ["--snapshot", str(snap), "--quiet", "--rules", "SM-01-image-region", "--format", "json",
            "--output", str(tmp_path / "out"), "--security-hub", "--no-history"]
    assert main(args) == 0
    # a violation sent earlier, now passing: the next run must send its PASSED update
    prior = asff.render(typed(json.loads((tmp_path / "out" / "report.json").read_text())))[0]
    prior["Compliance"] = {"Status": "FAILED"}
    boto3.client("securityhub", region_name=R).batch_import_findings(Findings=[prior])

    def refuse(self: Any, findings: list[dict[str, Any]]) -> Any:
        raise InvalidInputException(op="BatchImportFindings", msg="injected failure")

    monkeypatch.setattr(SecurityHubBackend, "batch_import_findings", refuse)
    assert main(args) == 4
    report_doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report_doc["complete"] and report_doc["summary"]["by_status"]["fail"] == 0
