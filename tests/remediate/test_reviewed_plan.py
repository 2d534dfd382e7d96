"""Reviewed plans: `--plan-out` then `audit apply`, with content ids and per-change refusals; always-on endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor import exitcodes
from auditor.cli import main
from tests.remediate.test_remediation import REGION_ARGS, demo, state  # noqa: F401 - demo is a fixture

pytestmark = pytest.mark.usefixtures("demo")


def run(*args: str) -> tuple[int, dict[str, Any]]:
    out = Path(args[args.index("--output") + 1])
    code = main([*args, "--quiet", "--format", "json"])
    return code, json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}


def test_plan_out_then_apply_applies_the_reviewed_plan_and_refuses_what_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="sentinel-bucket")
    _, dry = run(*REGION_ARGS, "--remediate", "--dry-run", "--max-changes", "100", "--output", str(tmp_path / "d"))
    before = state()
    plan_file = tmp_path / "plan.json"
    code, planned = run(*REGION_ARGS, "--remediate", "--plan-out", str(plan_file), "--output", str(tmp_path / "p"))
    assert code == exitcodes.INCOMPLETE and state() == before  # writing a plan changes nothing, exits as an audit
    plan = json.loads(plan_file.read_text())
    ids = {c["change_id"] for c in plan["changes"]}
    assert len(ids) > 10  # the whole plan, whatever --max-changes says
    assert ids == {e["change_id"] for e in dry["remediation"]["plan"] if e["calls"] and not e["skip_reason"]}
    # between review and apply: a colleague suspends versioning on one bucket (still failing, but not as planned)
    s3.put_bucket_versioning(Bucket="acme-ml-models-dev", VersioningConfiguration={"Status": "Suspended"})
    # and the file is edited: extra calls are data, never run; an unknown change cannot be matched
    for c in plan["changes"]:
        if c["resource"]["name"] == "acme-ml-legacy" and c["remediator"] == "enable-bucket-versioning":
            c["calls"].append({"service": "s3", "operation": "delete_bucket", "params": {"Bucket": "sentinel-bucket"},
                               "region": "us-east-1", "api": "s3:DeleteBucket", "description": "evil"})
    plan["changes"].append({"change_id": "0123456789ab", "remediator": "stop-idle-endpoint", "rules": [],
                            "resource": {"arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-model-prod"}})
    plan_file.write_text(json.dumps(plan))
    code, applied = run("apply", str(plan_file), "--output", str(tmp_path / "a"))
    assert code == exitcodes.REFUSED
    outcomes = {c["change_id"]: c for c in applied["remediation"]["changes"]}
    changed = next(c for c in plan["changes"] if c["resource"]["name"] == "acme-ml-models-dev"
                  and c["remediator"] == "enable-bucket-versioning")
    assert outcomes[changed["change_id"]]["outcome"] == "refused"
    assert "the resource changed since the plan (versioning_status)" in outcomes[changed["change_id"]]["detail"]
    assert outcomes["0123456789ab"]["outcome"] == "refused"
    ok = ids - {changed["change_id"]}
    # the same ids as reviewed; a change made unnecessary by an earlier one (same variant) is verified as fixed
    done = {cid for cid in ok if outcomes[cid]["outcome"] == "applied and verified"
            or "verified compliant: fixed by an earlier change" in outcomes[cid]["detail"]}
    assert done == ok and len(done) > 10
    assert s3.get_bucket_versioning(Bucket="acme-ml-models-dev")["Status"] == "Suspended"  # left as the colleague set it
    assert "sentinel-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.describe_endpoint(EndpointName="churn-model-prod")["EndpointStatus"] == "InService"
    assert planned["summary"]["by_status"]["fail"] > applied["summary"]["by_status"]["fail"]


def test_apply_refuses_a_plan_for_another_account_or_a_file_that_is_not_a_plan(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    run(*REGION_ARGS, "--remediate", "--plan-out", str(plan_file), "--output", str(tmp_path / "p"))
    capsys.readouterr()
    plan = json.loads(plan_file.read_text())
    plan_file.write_text(json.dumps({**plan, "account": "999999999999"}))
    before = state()
    assert main(["apply", str(plan_file), "--quiet", "--output", str(tmp_path / "a")]) == exitcodes.INVALID_INPUT
    assert "the plan is for account 999999999999" in capsys.readouterr().err
    plan_file.write_text("[1, 2")
    assert main(["apply", str(plan_file), "--quiet", "--output", str(tmp_path / "b")]) == exitcodes.INVALID_INPUT
    err = capsys.readouterr().err
    assert "plan.json" in err and "not a plan file" in err and len(err.strip().splitlines()) == 1
    assert state() == before


def _tag_always_on(name: str) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    arn = sm.describe_endpoint(EndpointName=name)["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "always-on", "Value": "true"}])


def test_always_on_endpoints_get_additive_fixes_but_no_redeploy_or_resize_unless_included(tmp_path: Path) -> None:
    _tag_always_on("recommender-prod")
    _tag_always_on("nlp-playground-dev")
    _, doc = run(*REGION_ARGS, "--remediate", "--dry-run", "--max-changes", "100", "--output", str(tmp_path / "1"))
    plan = {(e["remediator"], e["resource"]["name"]): e for e in doc["remediation"]["plan"]}
    assert not plan[("create-endpoint-dashboard", "recommender-prod")]["skip_reason"]  # additive: applies
    for key in [("enable-data-capture", "recommender-prod"), ("raise-min-instances", "recommender-prod/main"),
                ("configure-autoscaling", "recommender-prod/main")]:
        why = plan[key]["skip_reason"]
        assert why.startswith("always-on endpoint: this change redeploys or resizes it (") and \
            "--include-always-on" in why, key
    assert "UpdateEndpoint" in plan[("enable-data-capture", "recommender-prod")]["skip_reason"]
    # never stopped; its alarms, dashboard and log retention are no longer skipped as "being stopped"
    assert ("stop-idle-endpoint", "nlp-playground-dev") not in plan
    assert all(not plan[(r, "nlp-playground-dev")]["skip_reason"] for r in (
        "create-endpoint-alarms", "create-endpoint-dashboard", "set-log-retention"))
    _, doc = run(*REGION_ARGS, "--remediate", "--dry-run", "--max-changes", "100", "--include-always-on",
                 "--output", str(tmp_path / "2"))
    plan = {(e["remediator"], e["resource"]["name"]): e for e in doc["remediation"]["plan"]}
    assert not plan[("enable-data-capture", "recommender-prod")]["skip_reason"]
    assert ("stop-idle-endpoint", "nlp-playground-dev") not in plan  # --include-always-on never means "stop it"


def test_the_same_change_applied_again_after_an_undo_can_be_undone_again(tmp_path: Path) -> None:
    # content-derived ids repeat when a resource is back where it was (acme-ml-legacy is Suspended before and after
    # an undo): the journal must treat the second application as new, or its undo finds "already undone"
    s3 = boto3.client("s3", region_name="us-east-1")
    journal = tmp_path / "j.jsonl"
    args = [*REGION_ARGS, "--remediate", "--yes", "--only", "SM-02-bucket-versioning", "--journal", str(journal)]

    def legacy_id(doc: dict[str, Any]) -> str:
        return next(c["change_id"] for c in doc["remediation"]["changes"] if c["resource"].endswith(":acme-ml-legacy")
                    and c["outcome"] == "applied and verified")

    _, first = run(*args, "--output", str(tmp_path / "1"))
    assert main(["undo", str(journal), "--yes"]) == 0
    assert s3.get_bucket_versioning(Bucket="acme-ml-legacy")["Status"] == "Suspended"
    _, second = run(*args, "--output", str(tmp_path / "2"))
    assert legacy_id(first) == legacy_id(second)
    assert s3.get_bucket_versioning(Bucket="acme-ml-legacy")["Status"] == "Enabled"
    assert main(["undo", str(journal), "--yes"]) == 0
    assert s3.get_bucket_versioning(Bucket="acme-ml-legacy")["Status"] == "Suspended"
