"""Remediators act only for the selected, non-waived findings, and re-check the configured always-on designation."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from auditor.engine.conditions import Designation
from auditor.engine.config import Config
from auditor.engine.loader import load_rules
from auditor.remediate.flow import RemediationOptions, plan_all, select
from tests.conftest import ACCOUNT, REGION, build_graph
from tests.history.factories import typed

ENDPOINT = "fraud-prod"
EP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"


def graph() -> Any:
    vid = f"{EP_ARN}/variant/main"
    return build_graph({"nodes": [
        {"id": EP_ARN, "type": "sagemaker.endpoint", "name": ENDPOINT},
        {"id": vid, "type": "sagemaker.variant", "name": f"{ENDPOINT}/main",
         "data": {"variant_name": "main", "endpoint_name": ENDPOINT}}],
        "edges": [(EP_ARN, "has_variant", vid)]})


def finding(rule_id: str, status: str, remediator: str, policy: int = 7) -> dict[str, Any]:
    return {"rule_id": rule_id, "status": status, "policy": policy, "severity": "medium",
            "remediation": {"remediator": remediator},
            "resource": {"arn": EP_ARN, "name": ENDPOINT, "type": "sagemaker.endpoint", "account": ACCOUNT,
                         "region": REGION}}


def planned(findings: list[dict[str, Any]], config: Config, **opts: Any) -> list[Any]:
    g = graph()
    changes, _ = select(typed({"findings": findings}), load_rules(), config, g, RemediationOptions(**opts))
    plan_all(changes, g, lambda s, r: boto3.client(s, region_name=r))
    return changes


@pytest.mark.parametrize("latency, only", [("exempt", []), ("fail", ["SM-07-error-alarms"])])
def test_alarms_are_created_only_for_selected_non_waived_rules(aws: None, latency: str, only: list[str]) -> None:
    changes = planned([finding("SM-07-latency-alarm", latency, "create-endpoint-alarms"),
                       finding("SM-07-error-alarms", "fail", "create-endpoint-alarms")], Config(), only=only)
    assert len(changes) == 1 and changes[0].plan is not None
    names = [c.params["AlarmName"] for c in changes[0].plan.calls]
    assert names == [f"{ENDPOINT}-main-Invocation5XXErrors", f"{ENDPOINT}-main-Invocation4XXErrors"]


def test_both_alarm_rules_selected_create_all_three(aws: None) -> None:
    changes = planned([finding("SM-07-latency-alarm", "fail", "create-endpoint-alarms"),
                       finding("SM-07-error-alarms", "fail", "create-endpoint-alarms")], Config())
    assert changes[0].plan is not None
    assert sorted(c.params["MetricName"] for c in changes[0].plan.calls) == [
        "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency"]


def _endpoint(tags: dict[str, str]) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
                    PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/m:1"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
        "VariantName": "main", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c",
                       Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def test_stop_idle_rechecks_the_configured_always_on_designation_at_apply_time(aws: None) -> None:
    # the audit saw no designation (the graph has no tags); by plan time the endpoint carries the configured one
    _endpoint({"Criticality": "Tier-1"})
    config = Config(designations={"always_on": Designation("criticality", ("tier-1",))})
    changes = planned([finding("SM-14-idle-endpoint", "fail", "stop-idle-endpoint", policy=14)], config)
    assert changes[0].plan is not None and changes[0].plan.calls == []
    assert changes[0].plan.skip_reason == "designated always-on (tag criticality)"


def test_stop_idle_ignores_the_default_tag_when_another_designation_is_configured(aws: None) -> None:
    _endpoint({"always-on": "true"})
    config = Config(designations={"always_on": Designation("criticality", ("tier-1",))})
    changes = planned([finding("SM-14-idle-endpoint", "fail", "stop-idle-endpoint", policy=14)], config)
    plan = changes[0].plan
    assert plan is not None and plan.skip_reason is None
    assert [c.operation for c in plan.calls][-1] == "delete_endpoint"
