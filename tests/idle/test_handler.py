"""The idle-stop Lambda handler, called directly against the moto demo account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.cli import main
from auditor.idle.handler import handler, settings
from tests.remediate.test_remediation import demo  # noqa: F401 - a fixture (the seeded demo account)

SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "region": "us-east-1",
             "detail": {}}


@pytest.fixture
def bucket(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    request.getfixturevalue("demo")
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="idle-journals")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("JOURNAL_BUCKET", "idle-journals")
    return "idle-journals"


def endpoints() -> set[str]:
    return {e["EndpointName"] for e in boto3.client("sagemaker", region_name="us-east-1").list_endpoints()["Endpoints"]}


def s3_text(bucket: str, uri: str) -> str:
    key = uri.removeprefix(f"s3://{bucket}/")
    return boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_the_handler_stops_idle_endpoints_but_never_always_on_and_journals_to_s3(bucket: str,
                                                                                 tmp_path: Path) -> None:
    result: dict[str, Any] = handler(SCHEDULED, None)
    gone = {"forecast-dev", "nlp-playground-dev"}
    assert {arn.rsplit("/", 1)[1] for arn in result["stopped"]} == gone
    assert not gone & endpoints() and "demo-always-on-dev" in endpoints()
    assert result["refused"] is None and result["failed"] == []
    records = [json.loads(line) for line in s3_text(bucket, result["journal"]).splitlines()]
    stopped = {r["resource"]["name"] for r in records if r["event"] == "planned"}
    assert stopped == gone
    # the run the journal is filed under is the one the stops name (restore --list shows it)
    assert {r["run_id"] for r in records if r["event"] == "planned"} == {result["run"]}
    report = json.loads(s3_text(bucket, result["journal"].replace("remediation-journal.jsonl", "report.json")))
    assert {f["rule_id"] for f in report["findings"]} == {"SM-14-idle-endpoint"}
    # what it stopped is brought back from the journal it left in S3
    local = tmp_path / "j.jsonl"
    local.write_text(s3_text(bucket, result["journal"]))
    assert main(["restore", "forecast-dev", "--journal", str(local), "--yes"]) == 0
    assert "forecast-dev" in endpoints()


def test_more_idle_endpoints_than_max_changes_or_a_dry_run_stops_nothing(
        bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = endpoints()
    monkeypatch.setenv("MAX_CHANGES", "1")
    result = handler(SCHEDULED, None)
    assert result["stopped"] == [] and "--max-changes is 1 (1 over)" in result["refused"]
    monkeypatch.setenv("MAX_CHANGES", "5")
    monkeypatch.setenv("DRY_RUN", "true")
    result = handler(SCHEDULED, None)
    assert len(result["planned"]) == 2 and result["stopped"] == [] and result["refused"] is None
    assert endpoints() == before


@pytest.mark.parametrize("env, problem", [({}, "JOURNAL_BUCKET"), ({"JOURNAL_BUCKET": "b", "MAX_CHANGES": "x"},
                                                                  "MAX_CHANGES"),
                                          ({"JOURNAL_BUCKET": "b", "DRY_RUN": "maybe"}, "DRY_RUN")])
def test_bad_settings_fail_with_the_setting_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        settings({"AWS_REGION": "us-east-1", **env})
