"""`audit restore NAME` from what AWS holds (the stop's tags on the endpoint config), and `audit restore --list`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor import exitcodes
from auditor.cli import main
from auditor.engine.config import Config
from auditor.engine.loader import load_rules
from auditor.remediate.execute import apply_plan
from auditor.remediate.flow import RemediationOptions
from auditor.remediate.inverse import Refused
from auditor.remediate.journal import Journal
from auditor.remediate.registry import Call
from auditor.remediate.stopstate import STATE, decode, encode
from tests.conftest import REGION
from tests.history.factories import typed
from tests.remediate.test_selection import ENDPOINT, _endpoint, finding, planned

RID = f"endpoint/{ENDPOINT}/variant/main"
DIM = "sagemaker:variant:DesiredInstanceCount"


def endpoint_state() -> dict[str, Any]:
    sm = boto3.client("sagemaker", region_name=REGION)
    aas = boto3.client("application-autoscaling", region_name=REGION)
    desc = sm.describe_endpoint(EndpointName=ENDPOINT)
    return {"config": desc["EndpointConfigName"], "status": desc["EndpointStatus"],
            "tags": sm.list_tags(ResourceArn=desc["EndpointArn"])["Tags"],
            "targets": [(t["MinCapacity"], t["MaxCapacity"]) for t in aas.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=[RID])["ScalableTargets"]],
            "policies": [(p["PolicyName"], p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
                         for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker",
                                                                ResourceId=RID)["ScalingPolicies"]]}


@pytest.fixture
def stopped(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An endpoint with scaling, stopped by the idle remediator; the journal is then deleted."""
    monkeypatch.setenv("AUDITOR_WAIT_DELAY", "0")
    _endpoint({"team": "fraud"})
    aas = boto3.client("application-autoscaling", region_name=REGION)
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RID, ScalableDimension=DIM,
                                 MinCapacity=1, MaxCapacity=3)
    aas.put_scaling_policy(PolicyName="cpu", ServiceNamespace="sagemaker", ResourceId=RID, ScalableDimension=DIM,
                           PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 140.0, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    before = endpoint_state()
    change = planned([finding("SM-14-idle-endpoint", "fail", "stop-idle-endpoint", policy=14)], Config())[0]
    journal = tmp_path / "journal.jsonl"
    assert apply_plan(change.plan, Journal(journal), lambda s, r: boto3.client(s, region_name=r))[0] == "applied"
    journal.unlink()
    assert boto3.client("sagemaker", region_name=REGION).list_endpoints()["Endpoints"] == []
    return before


def config_tags() -> dict[str, str]:
    sm = boto3.client("sagemaker", region_name=REGION)
    arn = sm.describe_endpoint_config(EndpointConfigName="c")["EndpointConfigArn"]
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def test_restore_with_no_journal_recreates_the_endpoint_from_the_config_tags(
        stopped: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore", "--list", "--region", REGION]) == exitcodes.OK
    listing = capsys.readouterr().out
    assert ENDPOINT in listing and REGION in listing and "yes" in listing
    assert main(["restore", ENDPOINT, "--region", REGION, "--dry-run"]) == exitcodes.OK
    assert "dry run: 7 call(s) in 1 change(s)" in capsys.readouterr().out  # create, wait, counts, wait, target,
    # policy, markers
    assert boto3.client("sagemaker", region_name=REGION).list_endpoints()["Endpoints"] == []
    assert main(["restore", ENDPOINT, "--region", REGION, "--yes"]) == exitcodes.OK
    assert endpoint_state() == stopped
    assert not [k for k in config_tags() if k.startswith("auditor:")]  # the markers are gone
    capsys.readouterr()
    assert main(["restore", "--list", "--region", REGION]) == exitcodes.OK
    assert ENDPOINT not in capsys.readouterr().out
    assert main(["restore", ENDPOINT, "--region", REGION, "--yes"]) == exitcodes.INVALID_INPUT
    assert "already restored" in capsys.readouterr().err


def test_a_tag_state_naming_another_config_is_not_restored(stopped: dict[str, Any],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    tags = config_tags()
    state = decode(tags)
    assert state is not None and state["config"] == "c"
    arn = sm.describe_endpoint_config(EndpointConfigName="c")["EndpointConfigArn"]
    sm.delete_tags(ResourceArn=arn, TagKeys=[k for k in tags if k.startswith(STATE)])
    sm.add_tags(ResourceArn=arn, Tags=encode({**state, "config": "attacker-config"}))
    assert main(["restore", ENDPOINT, "--region", REGION, "--yes"]) == exitcodes.INVALID_INPUT
    assert "no readable restore state" in capsys.readouterr().err
    assert sm.list_endpoints()["Endpoints"] == []


def test_the_state_codec_round_trips_and_refuses_garbage() -> None:
    state = {"config": "c", "tags": [{"Key": "k", "Value": "v" * 500}], "capacities": [], "policies": [],
             "targets": [], "schedules": ["s"], "deployment": None}
    tags = {t["Key"]: t["Value"] for t in encode(state)}
    assert all(len(v) <= 256 for v in tags.values()) and decode(tags) == state
    assert decode({f"{STATE}00": "not base64!"}) is None
    assert decode({}) is None


def test_unreadable_configs_are_an_incomplete_restore_never_none_stopped(
        stopped: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import auditor.session as session_mod
    from tests.collect.faults import deny

    real = session_mod.SessionFactory.__init__

    def denied(self: Any, *a: Any, **kw: Any) -> None:
        real(self, *a, **{**kw, "hooks": deny("sagemaker.ListTags")})

    monkeypatch.setattr(session_mod.SessionFactory, "__init__", denied)
    assert main(["restore", "--list", "--region", REGION]) == exitcodes.INCOMPLETE
    assert main(["restore", ENDPOINT, "--region", REGION, "--yes"]) == exitcodes.INCOMPLETE
    err = capsys.readouterr().err
    assert err.count("cannot read the endpoint configs' tags") == 2 and "AccessDenied" in err
    assert "Traceback" not in err


def test_the_run_tag_leaves_the_change_id_alone_and_undo_removes_exactly_the_markers(aws: None) -> None:
    from auditor.remediate.flow import plan_all, select
    from auditor.remediate.inverse import inverse_calls
    from auditor.remediate.registry import load_builtin
    from auditor.remediate.stopstate import STOPPED_BY, is_marker
    from tests.remediate.test_selection import graph

    _endpoint({"team": "fraud"})
    found = [finding("SM-14-idle-endpoint", "fail", "stop-idle-endpoint", policy=14)]
    plans = []
    for run in ("20260101T000000Z-aaaaaa", "20260102T000000Z-bbbbbb"):  # the dry run, then the real one
        g = graph()
        changes, _ = select(typed({"findings": found}), load_rules(), Config(), g, RemediationOptions(run_id=run))
        plan_all(changes, g, lambda s, r: boto3.client(s, region_name=r), run)
        plans.append(changes[0].plan)
    dry, real = plans
    assert dry.change_id == real.change_id and dry.run_id != real.run_id
    tags = {t["Key"]: t["Value"] for t in real.calls[0].params["Tags"]}
    assert real.calls[0].operation == "add_tags" and tags[STOPPED_BY] == "20260102T000000Z-bbbbbb"
    assert all(is_marker(k) for k in tags)
    undo = real.calls[0].undo[0]
    assert sorted(undo.params["TagKeys"]) == sorted(tags)  # the run tag goes with the others
    # a journal whose AddTags claims a tag of the user's: its undo may not delete it
    forward = Call(**{**real.calls[0].to_dict(), "undo": (), "params": {
        **real.calls[0].params, "Tags": [*real.calls[0].params["Tags"], {"Key": "team", "Value": "fraud"}]}})
    spec = load_builtin()["stop-idle-endpoint"]
    bad = {**undo.to_dict(), "params": {**undo.params, "TagKeys": [*undo.params["TagKeys"], "team"]}}
    with pytest.raises(Refused, match="TagKeys"):
        inverse_calls(spec, real.resource, real.before, forward, [bad])
    assert inverse_calls(spec, real.resource, real.before, forward, [undo.to_dict()])[0].params == undo.params
    assert not is_marker("auditor:restore-state-x1") and not is_marker("auditor:other") and not is_marker(3)


def test_list_json_without_list_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore", "--json", "--region", REGION]) == exitcodes.INVALID_INPUT
    assert "--json goes with --list" in capsys.readouterr().err
