"""Remediation end to end on the demo account: plan, apply, verify, journal, undo, restore, faults."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine

from auditor.cli import main
from auditor.collect import collect
from auditor.remediate.journal import changes as journal_changes
from auditor.remediate.journal import read
from auditor.session import SessionFactory
from auditor_demo.fleet import REGIONS
from tests.collect.faults import deny

VOLATILE = {"metrics", "invocations_window", "creation_time", "last_modified_time", "last_modified", "version_id",
            "dashboard_metrics"}
REGION_ARGS = ["--region", ",".join(REGIONS)]
# The demo is seeded and audited from this instant, not the machine's clock: its idle windows, endpoint ages and
# metric hours are then the same on every run (a run near midnight or a month end cannot shift them). The clock
# ticks on from it, so each run's journal stamp stays distinct.
FIXED_NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from auditor_demo.seed import Seeder

    monkeypatch.setenv("AUDITOR_WAIT_DELAY", "0")
    with time_machine.travel(FIXED_NOW, tick=True):
        seeder = Seeder(boto3.Session(), dt.datetime.now(dt.UTC))
        assert seeder.now - FIXED_NOW < dt.timedelta(minutes=5)  # the fixed clock is the one in use
        seeder.run()
        seeder.backdate()
        yield


def state() -> dict[str, Any]:
    """Every collected node, minus what changes by itself (metrics, timestamps)."""
    g = collect(SessionFactory(region=REGIONS[0]), REGIONS)
    out = {}
    for nid in sorted(g.g.nodes):
        a = g.attrs(nid)
        out[nid] = {"type": a["type"], "name": a["name"], "dangling": a["dangling"], "tags": a["tags"],
                    "data": {k: v for k, v in a["data"].items() if k not in VOLATILE}}
    out["__edges__"] = sorted(map(list, g.edges()))  # type: ignore[assignment]
    return out


def remediate(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main([*REGION_ARGS, "--remediate", "--yes", "--max-changes", "100", "--quiet", "--format", "json",
                 "--output", str(tmp_path), *extra])
    return code, json.loads((tmp_path / "report.json").read_text())


def test_remediate_resolves_every_auto_remediable_violation_and_nothing_else(demo: None, tmp_path: Path) -> None:
    before = state()
    code, report = remediate(tmp_path)
    outcomes = {(c["remediator"], c["resource"]): c for c in report["remediation"]["changes"]}
    assert outcomes and not [c for c in outcomes.values() if c["outcome"] in ("failed", "applied but still failing")]
    applied = [c for c in outcomes.values() if c["outcome"] == "applied and verified"]
    assert len(applied) >= 15
    # every remediable failing finding is now fixed, or skipped with a stated reason
    for f in report["findings"]:
        if f["status"] == "fail" and f["remediation"]["remediator"]:
            assert f["remediation"]["outcome"].startswith(("applied and verified", "skipped")), f
    fresh = main([*REGION_ARGS, "--quiet", "--format", "json", "--output", str(tmp_path / "fresh")])
    again = json.loads((tmp_path / "fresh" / "report.json").read_text())
    fixed = {(c["rules"][0], c["resource"]) for c in applied}
    now = {(f["rule_id"], f["resource"]["arn"]): f["status"] for f in again["findings"]}
    assert all(now.get(k, "pass") == "pass" for k in fixed)
    assert fresh == 3  # still incomplete: the private-registry image and the deleted model are untouched
    # nothing else changed: every node that differs is a remediated resource, its owner, or reached from it
    after = state()
    touched = {c["resource"] for c in report["remediation"]["changes"] if c["outcome"] != "skipped"}
    edges = before["__edges__"] + after["__edges__"]
    near = set(touched) | {src for src, _label, dst in edges if dst in touched}
    frontier = set(touched)
    while frontier:  # what the remediated resources lead to (configs, models, targets and their policies...)
        frontier = {dst for src, _label, dst in edges if src in frontier} - near
        near |= frontier
    changed = {n for n in set(before) | set(after) if n != "__edges__" and before.get(n) != after.get(n)}
    assert changed - near == set(), sorted(changed - near)
    # the journal and the reports hold no credential (conftest's fake ones are in the environment)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "do-not-leak" not in text and "AKIATESTTESTTESTTEST" not in text, path


def test_remediation_is_idempotent(demo: None, tmp_path: Path) -> None:
    remediate(tmp_path / "one")
    _, second = remediate(tmp_path / "two")
    assert all(c["outcome"].startswith("skipped") or c["remediator"] == "stop-idle-endpoint"
               for c in second["remediation"]["changes"]), second["remediation"]["changes"]
    assert not [c for c in second["remediation"]["changes"] if c["calls"] and c["outcome"] != "skipped"]


def test_undo_restores_the_before_state(demo: None, tmp_path: Path) -> None:
    before = state()
    remediate(tmp_path)
    journal = tmp_path / "remediation-journal.jsonl"
    assert main(["undo", str(journal), "--yes"]) == 0
    after = state()
    differ = {n for n in set(before) | set(after) if before.get(n) != after.get(n) and n != "__edges__"}
    # S3 cannot return a bucket to "never versioned": undo suspends versioning; that is the only difference
    for n in differ:
        b, a = before.get(n), after.get(n)
        assert b and a and b["type"] == "s3.bucket", (n, b, a)
        assert (b["data"]["versioning_status"], a["data"]["versioning_status"]) == ("Disabled", "Suspended")
        assert {**b["data"], "versioning_status": None} == {**a["data"], "versioning_status": None}
    assert before["__edges__"] == after["__edges__"]
    assert main(["undo", str(journal), "--yes"]) == 0  # a second undo finds nothing left to reverse
    assert state() == after


def test_stop_then_restore_recreates_the_endpoint_exactly(demo: None, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    aas = boto3.client("application-autoscaling", region_name="us-east-1")
    rid = "endpoint/forecast-dev/variant/main"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, MinCapacity=1, MaxCapacity=3,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    aas.put_scaling_policy(PolicyName="cpu", ServiceNamespace="sagemaker", ResourceId=rid,
                           ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                           PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 280.0, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    sm.update_endpoint_weights_and_capacities(EndpointName="forecast-dev", DesiredWeightsAndCapacities=[
        {"VariantName": "main", "DesiredInstanceCount": 3, "DesiredWeight": 0.5}])
    def endpoint_state() -> dict[tuple[str, str], Any]:
        # keyed by type and name: AWS gives a re-created scaling policy a new ARN, nothing else differs
        return {(v["type"], v["name"]): v for k, v in state().items() if "forecast-dev" in k}

    before = endpoint_state()
    assert ("autoscaling.policy", "cpu") in before and ("sagemaker.endpoint", "forecast-dev") in before
    assert main([*REGION_ARGS, "--remediate", "--yes", "--only", "SM-14-idle-endpoint", "--quiet", "--format",
                 "json", "--output", str(tmp_path)]) in (1, 3)
    assert not [e for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"] == "forecast-dev"]
    cfg_tags = sm.list_tags(ResourceArn=sm.describe_endpoint_config(
        EndpointConfigName="forecast-dev-config-v3")["EndpointConfigArn"])["Tags"]
    assert {"Key": "auditor:stopped-endpoint", "Value": "forecast-dev"} in cfg_tags
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"] == []
    # which run stopped it: the id the history recorded the run under, on the config's tags (no local file read)
    run_id = json.loads((tmp_path / "report.json").read_text())["history"]["run_id"]
    planned = [r for r in read(tmp_path / "remediation-journal.jsonl") if r["event"] == "planned"]
    assert planned and {r["run_id"] for r in planned} == {run_id}  # both idle endpoints, one run
    (tmp_path / "remediation-journal.jsonl").unlink()
    capsys.readouterr()
    assert main(["restore", "--list", "--region", "us-east-1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["stopped"]
    assert [(s["endpoint"], s["stopped_by_run"], s["restorable"]) for s in listed
            if s["endpoint"] == "forecast-dev"] == [("forecast-dev", run_id, True)]
    assert main(["restore", "--list", "--region", "us-east-1"]) == 0
    table = capsys.readouterr().out
    assert "by run" in table and run_id in table.replace("\n", "")
    assert main(["restore", "forecast-dev", "--region", "us-east-1", "--yes"]) == 0
    assert endpoint_state() == before
    config = sm.describe_endpoint_config(EndpointConfigName="forecast-dev-config-v3")["EndpointConfigArn"]
    assert not [t for t in sm.list_tags(ResourceArn=config)["Tags"] if t["Key"].startswith("auditor:")]


def test_failure_mid_change_rolls_back_and_the_journal_says_exactly_what_happened(
        demo: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.app import AuditOptions, run_audit
    from auditor.remediate.flow import RemediationOptions

    # PutScalingPolicy fails after RegisterScalableTarget succeeded: the target must be rolled back
    hooks = deny("application-autoscaling.PutScalingPolicy", code="LimitExceededException")
    import auditor.session as session_mod

    real = session_mod.SessionFactory.__init__

    def with_hooks(self: Any, *a: Any, **kw: Any) -> None:
        real(self, *a, **{**kw, "hooks": hooks})

    monkeypatch.setattr(session_mod.SessionFactory, "__init__", with_hooks)
    journal = tmp_path / "j.jsonl"
    opts = AuditOptions(regions=list(REGIONS), rule_ids=["SM-05-scalable-target"], quiet=True, output=tmp_path,
                        formats=["json"], remediate=True,
                        remediation=RemediationOptions(yes=True, max_changes=50, journal=journal))
    from rich.console import Console

    with open(tmp_path / "out.txt", "w") as out:
        run_audit(opts, Console(file=out))
    monkeypatch.setattr(session_mod.SessionFactory, "__init__", real)
    report = json.loads((tmp_path / "report.json").read_text())
    failed = [c for c in report["remediation"]["changes"] if c["outcome"] == "failed"]
    assert failed and all("LimitExceededException" in c["detail"] and "rolled back" in c["detail"] for c in failed)
    states = journal_changes(read(journal))
    for c in failed:
        st = states[c["change_id"]]
        statuses = [s["status"] for _, s in sorted(st["steps"].items())]
        assert statuses[-1] == "failed" and all(s == "done" for s in statuses[:-1])
        assert all(st["undone"].get(i) == "done" for i, s in st["steps"].items() if s["status"] == "done")
    for c in failed:  # the target registered in step 1 was rolled back: the variant is as it was (no target)
        region = c["resource"].split(":")[3]
        rid = "endpoint/" + c["resource"].split(":endpoint/")[1]
        aas = boto3.client("application-autoscaling", region_name=region)
        assert aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"] == []
    assert main(["undo", str(journal), "--yes"]) == 0  # nothing is left to reverse, and saying so is not an error


def test_interrupted_change_is_journalled_and_undo_reverses_the_in_flight_step(demo: None, tmp_path: Path) -> None:
    from auditor.remediate.execute import apply_plan, undo_change
    from auditor.remediate.inverse import undo_steps
    from auditor.remediate.journal import Journal
    from tests.remediate.test_undo import versioning_plan

    s3 = boto3.client("s3", region_name="us-east-1")
    plan = versioning_plan("acme-ml-models-dev", steps=2)
    journal = Journal(tmp_path / "j.jsonl")
    made = []

    def client_for(service: str, region: str) -> Any:
        client = boto3.client(service, region_name=region)
        real = client.put_bucket_versioning

        def second_is_interrupted(**kw: Any) -> Any:
            made.append(kw)
            if len(made) == 2:
                raise KeyboardInterrupt
            return real(**kw)
        client.put_bucket_versioning = second_is_interrupted  # type: ignore[method-assign]
        return client

    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, journal, client_for)
    st = journal_changes(read(journal.path))[plan.change_id]
    assert "interrupted" in st["events"]
    assert [s["status"] for _, s in sorted(st["steps"].items())] == ["done", "pending"]
    assert s3.get_bucket_versioning(Bucket="acme-ml-models-dev")["Status"] == "Enabled"
    steps = undo_steps(st)
    assert [s.step for s in steps] == [1, 0]  # the in-flight step too, newest first
    assert undo_change(plan.change_id, steps, journal, lambda s, r: boto3.client(s, region_name=r)) == []
    assert s3.get_bucket_versioning(Bucket="acme-ml-models-dev")["Status"] == "Suspended"


def test_dry_run_changes_nothing_and_max_changes_refuses(demo: None, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = state()
    code = main([*REGION_ARGS, "--remediate", "--dry-run", "--max-changes", "100", "--format", "json",
                 "--output", str(tmp_path)])
    assert code == 3 and "Remediation plan" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert {c["outcome"] for c in report["remediation"]["changes"]} <= {"planned (dry run)", "skipped"}
    assert main([*REGION_ARGS, "--remediate", "--yes", "--output", str(tmp_path), "--max-changes", "3"]) == 5
    assert "--max-changes is 3" in capsys.readouterr().err
    assert not (tmp_path / "remediation-journal.jsonl").exists()
    assert state() == before


def test_every_remediator_declares_permissions_params_docs_and_is_used() -> None:
    from auditor.engine.loader import load_rules
    from auditor.remediate.registry import load_builtin

    specs = load_builtin()
    used = {r.remediation.get("remediator") for r in load_rules()}
    for name, spec in specs.items():
        assert spec.permissions and spec.doc and spec.example, name
        assert name in used, f"{name} is referenced by no rule"


# Actions in the generated policy that the demo cycle cannot call, each for a stated reason.
NOT_IN_THE_DEMO_CYCLE = {
    "iam:CreateServiceLinkedRole": "AWS calls it on the first RegisterScalableTarget; moto does not",
    "sts:AssumeRole": "only with --accounts (another account's role)",
    "organizations:ListAccounts": "only with --accounts org",
    "ec2:DescribeRegions": "only with --region all",
    "iam:GetPolicy": "the demo's execution roles have no customer managed policy attached",
    "iam:GetPolicyVersion": "the same",
    "sagemaker:StopMonitoringSchedule": "the demo's idle endpoint has no monitoring schedule to pause",
    "sagemaker:StartMonitoringSchedule": "the same",
    "dynamodb:DescribeTable": "only with a custom registry_table in audit.yaml (this cycle runs without a config)",
    "dynamodb:BatchGetItem": "the same",
    "dynamodb:Scan": "the same",
    # read only when a selected rule reads what they answer (the built-in rules do not; see Context.wants)
    "sagemaker:DescribeMonitoringSchedule": "only for a rule reading a schedule's expression or last execution, "
                                            "or for a schedule with an inline job definition",
    "s3:GetBucketTagging": "only for a rule reading bucket tags",
    "s3:GetBucketPublicAccessBlock": "only for a rule reading a bucket's public access block",
    # a role's own reads, only when GetAccountAuthorizationDetails is refused or does not list the role
    "iam:GetRole": "only for a role the authorization details do not list",
    "iam:ListAttachedRolePolicies": "the same",
    "iam:ListRolePolicies": "the same",
    "iam:GetRolePolicy": "the same",
}


def test_audit_remediate_restore_undo_calls_exactly_the_generated_policy(
        demo: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fnmatch

    import auditor.session as session_mod
    from auditor.permissions import action_for, policy_document

    made: set[str] = set()
    names: list[tuple[str, str]] = []  # (action, resource name) for the actions scoped by name

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        action = action_for(f"{model.service_model.service_name}:{model.name}")
        made.add(action)
        for key, kind in (("AlarmName", "alarm:"), ("AlarmNames", "alarm:"), ("DashboardName", "dashboard/"),
                          ("DashboardNames", "dashboard/"), ("logGroupName", "log-group:")):
            for value in ([params[key]] if isinstance(params.get(key), str) else params.get(key) or []):
                names.append((action, kind + value))

    real = session_mod.SessionFactory.__init__

    def with_recorder(self: Any, *a: Any, **kw: Any) -> None:
        real(self, *a, **{**kw, "hooks": [("provide-client-params", record)]})

    kms = boto3.client("kms", region_name=REGIONS[0])
    kms.disable_key_rotation(KeyId=kms.describe_key(KeyId="alias/ml-artifacts")["KeyMetadata"]["KeyId"])
    for region in REGIONS:  # the remediation creates the group again (CreateLogGroup)
        logs = boto3.client("logs", region_name=region)
        if logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/search-ranker-prod")["logGroups"]:
            logs.delete_log_group(logGroupName="/aws/sagemaker/Endpoints/search-ranker-prod")
    monkeypatch.setattr(session_mod.SessionFactory, "__init__", with_recorder)
    _, report = remediate(tmp_path)
    journal = str(tmp_path / "remediation-journal.jsonl")
    stopped = [c["resource"].split("/")[-1] for c in report["remediation"]["changes"]
               if c["remediator"] == "stop-idle-endpoint" and c["outcome"].startswith("applied")]
    assert stopped and main(["restore", stopped[0], "--journal", journal, "--yes"]) == 0
    assert main(["undo", journal, "--yes"]) == 0
    policy = policy_document(remediate=True)["Statement"]
    allowed = {a for s in policy for a in s["Action"]}
    assert len(made) > 40
    assert made - allowed == set()  # every action called is granted
    assert allowed - made == set(NOT_IN_THE_DEMO_CYCLE)  # and nothing is granted that the cycle does not need
    scoped = {a: s["Resource"] for s in policy if s["Resource"] != "*" for a in s["Action"]}
    for action, name in names:  # a name-scoped action was only called on a name its statement grants
        if action in scoped and not action.startswith("logs:Describe"):
            assert any(fnmatch.fnmatchcase(name, r.split(":", 5)[-1].split(":", 1)[-1]) or
                       fnmatch.fnmatchcase(name, r.rsplit(":", 1)[-1]) or
                       fnmatch.fnmatchcase(name, "alarm:" + r.rsplit(":", 1)[-1]) or
                       fnmatch.fnmatchcase(name, "log-group:" + r.rsplit("log-group:", 1)[-1])
                       for r in scoped[action]), (action, name)
