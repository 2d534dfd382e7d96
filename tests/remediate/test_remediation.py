"""Remediation end to end on the demo account: plan, apply, verify, journal, undo, restore, faults."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

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


@pytest.fixture
def demo(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from auditor_demo.seed import Seeder

    monkeypatch.setenv("AUDITOR_WAIT_DELAY", "0")
    seeder = Seeder(boto3.Session(), dt.datetime.now(dt.UTC))
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
    assert main(["undo", str(journal)]) == 0
    after = state()
    differ = {n for n in set(before) | set(after) if before.get(n) != after.get(n) and n != "__edges__"}
    # S3 cannot return a bucket to "never versioned": undo suspends versioning; that is the only difference
    for n in differ:
        b, a = before.get(n), after.get(n)
        assert b and a and b["type"] == "s3.bucket", (n, b, a)
        assert (b["data"]["versioning_status"], a["data"]["versioning_status"]) == ("Disabled", "Suspended")
        assert {**b["data"], "versioning_status": None} == {**a["data"], "versioning_status": None}
    assert before["__edges__"] == after["__edges__"]
    assert main(["undo", str(journal)]) == 0  # a second undo finds nothing left to reverse
    assert state() == after


def test_stop_then_restore_recreates_the_endpoint_exactly(demo: None, tmp_path: Path) -> None:
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
    assert main(["restore", "forecast-dev", "--journal", str(tmp_path / "remediation-journal.jsonl")]) == 0
    assert endpoint_state() == before


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
    assert main(["undo", str(journal)]) == 0  # nothing is left to reverse, and saying so is not an error


def test_interrupted_change_is_journalled_and_undo_reverses_the_in_flight_step(demo: None, tmp_path: Path) -> None:
    from auditor.remediate.execute import apply_plan, undo_change
    from auditor.remediate.journal import Journal
    from auditor.remediate.registry import Call, Plan

    s3 = boto3.client("s3", region_name="us-east-1")
    calls = [Call("s3", "put_bucket_versioning", {"Bucket": "acme-ml-models-dev", "VersioningConfiguration": {
        "Status": "Enabled"}}, "us-east-1", "enable", (Call("s3", "put_bucket_versioning", {
            "Bucket": "acme-ml-models-dev", "VersioningConfiguration": {"Status": "Suspended"}}, "us-east-1", "undo"),)),
        Call("s3", "put_bucket_tagging", {"Bucket": "acme-ml-models-dev", "Tagging": {"TagSet": []}}, "us-east-1",
             "second step")]
    plan = Plan("SM-02-bucket-versioning", {"arn": "arn:aws:s3:::acme-ml-models-dev", "name": "acme-ml-models-dev"},
                "enable-bucket-versioning", "test", calls)
    journal = Journal(tmp_path / "j.jsonl")

    def client_for(service: str, region: str) -> Any:
        client = boto3.client(service, region_name=region)
        if service == "s3":
            real = client.put_bucket_tagging

            def interrupted(**kw: Any) -> Any:
                raise KeyboardInterrupt
            client.put_bucket_tagging = interrupted  # type: ignore[method-assign]
            del real
        return client

    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, journal, client_for)
    st = journal_changes(read(journal.path))[plan.change_id]
    assert "interrupted" in st["events"]
    assert [s["status"] for _, s in sorted(st["steps"].items())] == ["done", "pending"]
    assert s3.get_bucket_versioning(Bucket="acme-ml-models-dev")["Status"] == "Enabled"
    n, failed = undo_change(st, journal, lambda s, r: boto3.client(s, region_name=r))
    assert (n, failed) == (2, 0)
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


def test_every_call_of_audit_remediate_and_undo_is_in_the_generated_policy(
        demo: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.session as session_mod
    from auditor.permissions import action_for, policy_document

    made: set[str] = set()

    def record(model: Any = None, **_: Any) -> None:
        made.add(f"{model.service_model.service_name}:{model.name}")

    real = session_mod.SessionFactory.__init__

    def with_recorder(self: Any, *a: Any, **kw: Any) -> None:
        real(self, *a, **{**kw, "hooks": [("before-call", record)]})

    monkeypatch.setattr(session_mod.SessionFactory, "__init__", with_recorder)
    remediate(tmp_path)
    assert main(["undo", str(tmp_path / "remediation-journal.jsonl")]) == 0
    allowed = {a for s in policy_document(remediate=True)["Statement"] for a in s["Action"]}
    missing = {action_for(op) for op in made} - allowed
    assert len(made) > 40 and not missing, missing
