"""SARIF, OCSF and JUnit validate against their consumers' schemas; compliance references reach every format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.cli import main
from auditor.engine.loader import load_rules
from auditor.report import ocsf, sarif, tabular
from auditor.report.model import Report
from tests.report.test_formats import doc, finding

SCHEMAS = Path(__file__).parent / "schemas"
REFS = {"security_hub": ["SageMaker.4"], "policy_section": "Endpoint Configuration — Minimum: 2 instances"}


def sample(*more: dict[str, Any]) -> Report:
    fs = [finding(0), finding(1, "pass"), finding(2, "error", severity="low"), finding(3, "exempt"),
          finding(4, name="a/b c")]
    fs[0]["rule_id"], fs[0]["references"], fs[0]["endpoints"] = "SM-04-min-instances", REFS, [fs[0]["resource"]["arn"]]
    fs[2]["evidence"]["unknown"] = ["AccessDenied: sagemaker:DescribeEndpoint"]
    fs[3]["exemption"] = {"kind": "waiver", "reason": "accepted until Q3"}
    return doc([*fs, *more], collection_errors=[{"service": "sagemaker", "operation": "ListEndpoints", "code": "AccessDenied",
                                       "message": "denied", "account": "123456789012", "region": "us-east-1"}])


def test_sarif_validates_against_the_oasis_schema_and_has_what_github_needs() -> None:
    log = sarif.render(sample(), load_rules())
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    results = run["results"]
    assert [r["properties"]["status"] for r in results] == ["fail", "error", "exempt", "fail"]  # no passes
    undecided = results[1]
    assert (undecided["kind"], undecided["level"]) == ("open", "none")
    assert "could not read: AccessDenied" in undecided["message"]["text"]
    assert results[2]["suppressions"][0]["justification"] == "waiver: accepted until Q3"
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris[0] == "aws/123456789012/us-east-1/sagemaker.endpoint/e0" and uris[3].endswith("/a%2Fb%20c")
    prints = [r["partialFingerprints"][sarif.FINGERPRINT] for r in results]
    assert len(set(prints)) == 4 and sarif.render(sample(), load_rules())["runs"][0]["results"][0][
        "partialFingerprints"][sarif.FINGERPRINT] == prints[0]  # stable across runs, distinct per finding
    rules = {d["id"]: d for d in run["tool"]["driver"]["rules"]}
    ha = rules["SM-04-min-instances"]
    assert ha["properties"]["security-severity"] == "8.0" and "SageMaker.4" in ha["properties"]["tags"]
    assert ha["helpUri"].startswith("https://docs.aws.amazon.com/securityhub/") and ha["help"]["markdown"]
    assert ha["properties"]["rule_file"] == "rules/p04-high-availability/SM-04-min-instances.yaml"
    assert all(d["helpUri"].startswith("https://") for d in rules.values())
    assert results[0]["ruleIndex"] == list(rules).index("SM-04-min-instances")
    assert results[0]["properties"]["references"] == REFS
    assert run["invocations"][0]["toolExecutionNotifications"][0]["level"] == "error"


def test_ocsf_detection_findings_validate_with_py_ocsf_models() -> None:
    models = pytest.importorskip("py_ocsf_models.events.findings.detection_finding",
                                 reason="py-ocsf-models is in the dev extra")
    events = ocsf.render(sample())
    assert len(events) == 5
    for e in events:
        model = models.DetectionFinding.model_validate(e)
        dumped = json.loads(model.model_dump_json(exclude_none=True))
        assert set(dumped) == set(e)  # every field we emit is an OCSF field (nothing silently dropped)
    fail, passed, undecided, exempt = events[0], events[1], events[2], events[3]
    assert (fail["class_uid"], fail["type_uid"], fail["severity_id"], fail["status_code"]) == (2004, 200401, 4, "FAIL")
    assert passed["status_code"] == "PASS" and exempt["status_id"] == ocsf.STATUS_SUPPRESSED
    assert undecided["status_id"] == ocsf.STATUS_OTHER and "AccessDenied" in undecided["status_detail"]
    assert fail["unmapped"]["compliance"]["security_hub"] == ["SageMaker.4"]
    assert fail["cloud"]["account"]["uid"] == "123456789012" and fail["resources"][0]["region"] == "us-east-1"
    evaluated = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)  # doc()'s evaluated_at, in epoch milliseconds
    assert fail["time"] == int(evaluated.timestamp()) * 1000


def test_junit_validates_against_the_jenkins_gitlab_schema() -> None:
    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema is in the dev extra")
    schema = xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd"))
    d = sample(finding(5, "fail", name="bad\x1b[31mname\x00"))
    text = tabular.render_junit(d)
    schema.validate(text)
    assert "Security Hub SageMaker.4" in text  # the references reach the failure's text


def test_csv_carries_the_references() -> None:
    rows = list(csv.DictReader(io.StringIO(tabular.render_csv(sample()))))
    assert rows[0]["references"] == "Security Hub SageMaker.4; Policy: Endpoint Configuration — Minimum: 2 instances"
    assert rows[1]["references"] == ""


def test_rules_list_json_gives_severity_policy_remediator_and_references(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list", "--json", "--policy", "4"]) == 0
    rules = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in rules}
    assert {r["policy"] for r in rules} == {4}
    ha = by_id["SM-04-min-instances"]
    assert (ha["severity"], ha["remediator"], ha["references"]["security_hub"]) == ("high", "raise-min-instances",
                                                                                  ["SageMaker.4"])
