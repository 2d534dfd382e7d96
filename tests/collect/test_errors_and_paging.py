"""Errors are data: a failed call marks what it affects and collection goes on; list calls follow every page."""

from __future__ import annotations

from typing import Any

import boto3

from auditor.collect import collect
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.session import SessionFactory
from tests.collect.faults import deny

REGION = "us-east-1"


def seed_endpoint(name: str = "ep-a", model: str = "model-a", tags: dict[str, str] | None = None) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName=model, ExecutionRoleArn="arn:aws:iam::123456789012:role/none",
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2"})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[
        {"VariantName": "main", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg",
                       Tags=[{"Key": k, "Value": v} for k, v in (tags or {"environment": "production"}).items()])


def run(hooks: list[tuple[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    factory = SessionFactory(region=REGION, hooks=hooks, max_attempts=1)
    return collect(factory, [REGION]), factory


def test_access_denied_on_one_describe_marks_that_node_only(aws: None) -> None:
    seed_endpoint()
    graph, _ = run(deny("sagemaker.DescribeModel"))
    model = next(iter(graph.nodes_of_type("sagemaker.model")))
    assert "AccessDenied" in graph.attrs(model)["errors"]["describe"]
    assert len(graph.nodes_of_type("sagemaker.endpoint")) == 1 and len(graph.nodes_of_type("sagemaker.variant")) == 1
    assert [e.operation for e in graph.errors] == ["describe_model"]
    findings = evaluate_rules(graph, load_rules())
    model_rules = [f for f in findings.findings if f.resource.arn == model]
    assert model_rules and all(f.status.value == "error" for f in model_rules)
    # rules that do not need the model are decided normally
    min_inst = [f for f in findings.findings if f.rule_id == "SM-04-min-instances"]
    assert [f.status.value for f in min_inst] == ["fail"]


def test_access_denied_on_a_whole_service_makes_dependent_findings_error(aws: None) -> None:
    seed_endpoint()
    graph, _ = run(deny("application-autoscaling.DescribeScalableTargets"))
    assert any("autoscaling.target" in e.affects for e in graph.errors)
    ev = evaluate_rules(graph, load_rules())
    by_rule = {f.rule_id: f.status.value for f in ev.findings if f.resource.type == "sagemaker.variant"}
    assert by_rule["SM-05-scalable-target"] == "error"
    assert by_rule["SM-04-min-instances"] == "fail"  # 1 instance: decisive even without the targets
    assert by_rule["SM-13-instance-tier"] == "pass"  # unrelated to autoscaling


def test_throttling_that_outlasts_retries_is_recorded_never_read_as_empty(aws: None) -> None:
    seed_endpoint()
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "ListEndpoints")

    factory = SessionFactory(region=REGION, hooks=[("before-call.sagemaker.ListEndpoints", flaky)])
    graph = collect(factory, [REGION])
    # before-call raising is not retried by botocore, so the failure is recorded, never silently empty
    assert any(e.code == "ThrottlingException" for e in graph.errors)
    assert any("sagemaker.endpoint" in e.affects for e in graph.errors)


def test_no_identity_means_an_incomplete_graph_not_a_crash(aws: None) -> None:
    graph, _ = run(deny("sts.GetCallerIdentity", code="ExpiredToken"))
    assert graph.meta["account"] == "unknown"
    assert graph.errors[0].code == "ExpiredToken" and graph.errors[0].affects == ("*",)


def test_monitoring_schedules_follow_every_page(aws: None) -> None:
    seed_endpoint()
    sm = boto3.client("sagemaker", region_name=REGION)
    for i in range(203):  # asked at its maximum page size, 100, ListMonitoringSchedules needs three pages
        sm.create_monitoring_schedule(MonitoringScheduleName=f"s{i:03d}", MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringType": "DataQuality",
            "MonitoringJobDefinition": {
                "MonitoringInputs": [{"EndpointInput": {"EndpointName": "ep-a", "LocalPath": "/opt/ml/input"}}],
                "MonitoringOutputConfig": {"MonitoringOutputs": [
                    {"S3Output": {"S3Uri": "s3://b/o", "LocalPath": "/opt/ml/output"}}]},
                "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                          "VolumeSizeInGB": 1}},
                "MonitoringAppSpecification": {"ImageUri": "x"}, "RoleArn": "arn:aws:iam::123456789012:role/r"}})
    graph, factory = run()
    assert len(graph.nodes_of_type("sagemaker.monitoring_schedule")) == 203
    assert factory.counter.calls["sagemaker:ListMonitoringSchedules"] == 3
    endpoint = graph.nodes_of_type("sagemaker.endpoint")[0]
    assert len(graph.related(endpoint, "monitored_by")) == 203


def test_log_groups_follow_every_page(aws: None) -> None:
    seed_endpoint()
    logs = boto3.client("logs", region_name=REGION)
    for i in range(120):
        logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/other-{i:03d}")
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/ep-a")
    graph, factory = run()
    assert len(graph.nodes_of_type("logs.log_group")) == 121
    assert factory.counter.calls["logs:DescribeLogGroups"] >= 3  # moto pages at 50
    assert len(graph.related(graph.nodes_of_type("sagemaker.endpoint")[0], "logs_to")) == 1


def test_api_calls_are_counted_per_operation(aws: None) -> None:
    seed_endpoint()
    graph, factory = run()
    calls = graph.meta["api_calls"]
    assert calls["by_operation"]["sagemaker:DescribeEndpoint"] == 1
    assert calls["total"] == sum(calls["by_operation"].values()) == factory.counter.total
