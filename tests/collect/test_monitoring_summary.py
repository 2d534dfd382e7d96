"""Model Monitor schedules read from their list summaries, and described only where the summary cannot say enough."""

from __future__ import annotations

import boto3

from auditor.collect import collect
from auditor.engine.loader import load_rules
from auditor.engine.reads import rule_reads
from auditor.session import SessionFactory

RULES = load_rules()


def run(regions, options):  # type: ignore[no-untyped-def]
    factory = SessionFactory(region=regions[0])
    return collect(factory, regions, options), dict(factory.counter.calls)


def test_a_schedule_with_an_inline_job_definition_is_still_described(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    resources = {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}}
    sm.create_data_quality_job_definition(
        JobDefinitionName="named", DataQualityAppSpecification={"ImageUri": "i"},
        DataQualityJobInput={"EndpointInput": {"EndpointName": "e", "LocalPath": "/opt/ml/processing/input"}},
        DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://o/", "LocalPath": "/o"}}]},
        JobResources=resources, RoleArn="arn:aws:iam::123456789012:role/r")
    sm.create_monitoring_schedule(MonitoringScheduleName="by-name", MonitoringScheduleConfig={
        "MonitoringJobDefinitionName": "named", "MonitoringType": "DataQuality",
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}})
    sm.create_monitoring_schedule(MonitoringScheduleName="inline", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinition": {
            "BaselineConfig": {"ConstraintsResource": {"S3Uri": "s3://b/constraints.json"}},
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": "e", "LocalPath": "/in"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://o/", "LocalPath": "/o"}}]},
            "MonitoringResources": resources, "MonitoringAppSpecification": {"ImageUri": "i"},
            "RoleArn": "arn:aws:iam::123456789012:role/r"}})
    graph, calls = run(["us-east-1"], {"reads": rule_reads(RULES)})
    assert calls["sagemaker:DescribeMonitoringSchedule"] == 1  # the inline one: no summary names its definition
    by_name = {graph.attrs(s)["name"]: s for s in graph.nodes_of_type("sagemaker.monitoring_schedule")}
    inline = graph.attrs(by_name["inline"])
    assert inline["data"]["schedule_expression"] == "cron(0 * ? * * *)" and not inline["errors"]
    [jd] = graph.related(by_name["inline"], "uses_job_definition")
    assert graph.attrs(jd)["data"]["baseline_constraints_uri"] == "s3://b/constraints.json"
    [named] = graph.related(by_name["by-name"], "uses_job_definition")
    assert graph.attrs(named)["name"] == "named" and graph.attrs(by_name["by-name"])["data"]["status"] == "Scheduled"
    assert set(graph.attrs(by_name["by-name"])["errors"]) == {"schedule_expression", "last_execution_status"}

