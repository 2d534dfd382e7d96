"""Our moto extension behaves as the AWS API reference says."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor_demo.moto_ext import percentile

R = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/r"


def _endpoint(sm, name: str = "e1", itype: str = "ml.g5.xlarge", deployment=None) -> None:  # type: ignore[no-untyped-def]
    sm.create_model(ModelName=f"{name}-m", ExecutionRoleArn=ROLE, EnableNetworkIsolation=True,
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-c1", ProductionVariants=[
        {"VariantName": "v", "ModelName": f"{name}-m", "InstanceType": itype, "InitialInstanceCount": 2}])
    kw = {"DeploymentConfig": deployment} if deployment else {}
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c1", **kw)


def test_modern_instance_types_and_network_isolation(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    for t in ("ml.g5.12xlarge", "ml.m6i.xlarge", "ml.g6.xlarge"):
        _endpoint(sm, name=t.replace(".", "-"), itype=t)
    assert sm.describe_model(ModelName="ml-g5-12xlarge-m")["EnableNetworkIsolation"] is True
    with pytest.raises(ClientError):
        sm.create_endpoint_config(EndpointConfigName="bad", ProductionVariants=[
            {"VariantName": "v", "ModelName": "ml-g5-12xlarge-m", "InstanceType": "ml.bogus.large",
             "InitialInstanceCount": 1}])


def test_deployment_config_is_returned_as_last_deployment_config(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    cfg = {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}}
    _endpoint(sm, deployment=cfg)
    assert sm.describe_endpoint(EndpointName="e1")["LastDeploymentConfig"] == cfg


def test_update_endpoint_switches_config_and_keeps_or_drops_properties(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    _endpoint(sm)
    sm.create_endpoint_config(EndpointConfigName="e1-c2", DataCaptureConfig={
        "EnableCapture": True, "InitialSamplingPercentage": 10, "DestinationS3Uri": "s3://b/c",
        "CaptureOptions": [{"CaptureMode": "Input"}]}, ProductionVariants=[
        {"VariantName": "v", "ModelName": "e1-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 3}])
    sm.update_endpoint_weights_and_capacities(EndpointName="e1", DesiredWeightsAndCapacities=[
        {"VariantName": "v", "DesiredInstanceCount": 5}])
    dep = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                     "WaitIntervalInSeconds": 60}}}
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="e1-c2", RetainAllVariantProperties=True,
                       DeploymentConfig=dep)
    d = sm.describe_endpoint(EndpointName="e1")
    assert d["EndpointConfigName"] == "e1-c2" and d["DataCaptureConfig"]["EnableCapture"] is True
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 5  # retained
    assert d["LastDeploymentConfig"] == dep
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="e1-c2")
    d = sm.describe_endpoint(EndpointName="e1")
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 3 and "LastDeploymentConfig" not in d
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        sm.update_endpoint(EndpointName="e1", EndpointConfigName="nope")
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sm.update_endpoint(EndpointName="nope", EndpointConfigName="e1-c2")


def test_monitoring_job_definitions_and_schedules(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    _endpoint(sm)
    arn = sm.create_model_quality_job_definition(
        JobDefinitionName="mq", ModelQualityAppSpecification={"ImageUri": "x", "ProblemType": "Regression"},
        ModelQualityBaselineConfig={"ConstraintsResource": {"S3Uri": "s3://b/c.json"}},
        ModelQualityJobInput={"EndpointInput": {"EndpointName": "e1", "LocalPath": "/in"},
                              "GroundTruthS3Input": {"S3Uri": "s3://b/gt"}},
        ModelQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/o", "LocalPath": "/o"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
        RoleArn=ROLE)["JobDefinitionArn"]
    assert arn.endswith(":model-quality-job-definition/mq")
    d = sm.describe_model_quality_job_definition(JobDefinitionName="mq")
    assert d["ModelQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"] == "s3://b/c.json"
    sm.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "mq",
        "MonitoringType": "ModelQuality"})
    s = sm.describe_monitoring_schedule(MonitoringScheduleName="s")
    assert (s["EndpointName"], s["MonitoringType"], s["MonitoringScheduleStatus"]) == ("e1", "ModelQuality", "Scheduled")
    assert [x["MonitoringScheduleName"] for x in sm.list_monitoring_schedules(EndpointName="e1")[
        "MonitoringScheduleSummaries"]] == ["s"]
    assert sm.list_monitoring_schedules(EndpointName="other")["MonitoringScheduleSummaries"] == []
    sm.stop_monitoring_schedule(MonitoringScheduleName="s")
    assert sm.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"] == "Stopped"
    with pytest.raises(ClientError):  # the named definition must exist with that type
        sm.create_monitoring_schedule(MonitoringScheduleName="t", MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "mq",
            "MonitoringType": "DataQuality"})
    sm.delete_monitoring_schedule(MonitoringScheduleName="s")
    with pytest.raises(ClientError):
        sm.describe_monitoring_schedule(MonitoringScheduleName="s")


def test_get_metric_data_percentiles_namespace_and_dimension_order(aws: None) -> None:
    cw = boto3.client("cloudwatch", region_name=R)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    dims = [{"Name": "VariantName", "Value": "v"}, {"Name": "EndpointName", "Value": "e"}]
    cw.put_metric_data(Namespace="/aws/sagemaker/Endpoints", MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": dims, "Value": float(i), "Timestamp": now - dt.timedelta(minutes=i)}
        for i in range(1, 101)])
    # same name and dimensions in another namespace must not leak into the result
    cw.put_metric_data(Namespace="Other", MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": dims, "Value": 1000.0, "Timestamp": now - dt.timedelta(minutes=5)}])

    def q(stat: str, ns: str = "/aws/sagemaker/Endpoints") -> list[float]:
        r = cw.get_metric_data(MetricDataQueries=[{"Id": "a", "MetricStat": {"Metric": {
            "Namespace": ns, "MetricName": "CPUUtilization",
            "Dimensions": list(reversed(dims))}, "Period": 86400, "Stat": stat}}],
            StartTime=now - dt.timedelta(days=1), EndTime=now + dt.timedelta(minutes=1))
        return r["MetricDataResults"][0]["Values"]

    assert q("p95") == [95.0] and q("p50") == [50.0] and q("p99.9") == [100.0]
    assert q("Maximum") == [100.0] and q("Sum") == [5050.0]
    assert q("Maximum", ns="Other") == [1000.0]


def test_percentile_nearest_rank() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(list(map(float, range(1, 21))), 95) == 19.0


def test_search_models_pages_and_carries_tags_and_endpoints(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    for i in range(25):
        _endpoint(sm, name=f"s{i:02d}", itype="ml.m5.large")
    sm.add_tags(ResourceArn=sm.describe_model(ModelName="s03-m")["ModelArn"], Tags=[{"Key": "team", "Value": "ml"}])
    pages = list(sm.get_paginator("search").paginate(Resource="Model", PaginationConfig={"PageSize": 10}))
    assert [len(p["Results"]) for p in pages] == [10, 10, 5]
    models = {r["Model"]["Model"]["ModelName"]: r["Model"] for p in pages for r in p["Results"]}
    assert len(models) == 25
    # newest first by default (SortOrder Descending)
    first = pages[0]["Results"][0]["Model"]["Model"]["CreationTime"]
    assert first >= pages[-1]["Results"][-1]["Model"]["Model"]["CreationTime"]
    rec = models["s03-m"]
    described = sm.describe_model(ModelName="s03-m")
    for key in ("ModelArn", "ExecutionRoleArn", "PrimaryContainer", "EnableNetworkIsolation"):
        assert rec["Model"][key] == described[key]
    assert rec["Model"]["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert [e["EndpointName"] for e in rec["Endpoints"]] == ["s03"]
    assert sm.search(Resource="Model", MaxResults=100)["Results"] and "NextToken" not in sm.search(
        Resource="Model", MaxResults=100)
    with pytest.raises(ClientError, match="SearchExpression"):
        sm.search(Resource="Model", SearchExpression={"Filters": [{"Name": "ModelName", "Operator": "Equals",
                                                                    "Value": "s03-m"}]})


def test_search_endpoints_pages_in_the_api_shape_with_tags(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    for i in range(25):
        _endpoint(sm, name=f"p{i:02d}", itype="ml.m5.large",
                  deployment={"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}} if i == 3 else None)
    arn = sm.describe_endpoint(EndpointName="p03")["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "environment", "Value": "production"}])
    pages = list(sm.get_paginator("search").paginate(Resource="Endpoint", PaginationConfig={"PageSize": 10}))
    assert [len(p["Results"]) for p in pages] == [10, 10, 5]
    records = {r["Endpoint"]["EndpointName"]: r["Endpoint"] for p in pages for r in p["Results"]}
    assert len(records) == 25
    # newest modification first by default (SortBy LastModifiedTime, SortOrder Descending)
    times = [r["Endpoint"]["LastModifiedTime"] for p in pages for r in p["Results"]]
    assert times == sorted(times, reverse=True)
    rec, described = records["p03"], sm.describe_endpoint(EndpointName="p03")
    for key in ("EndpointArn", "EndpointConfigName", "ProductionVariants", "EndpointStatus", "CreationTime",
                "LastModifiedTime"):
        assert rec[key] == described[key], key
    assert "LastDeploymentConfig" not in rec and "LastDeploymentConfig" in described  # DescribeEndpoint's alone
    assert rec["Tags"] == [{"Key": "environment", "Value": "production"}] and records["p04"]["Tags"] == []
    by_name = sm.search(Resource="Endpoint", SortBy="EndpointName", SortOrder="Ascending", MaxResults=100)
    assert [r["Endpoint"]["EndpointName"] for r in by_name["Results"]] == sorted(records) and \
        "NextToken" not in by_name
    with pytest.raises(ClientError, match="SortBy|sorts"):
        sm.search(Resource="Endpoint", SortBy="FailureReason")


def test_scalable_targets_page_to_the_end(aws: None) -> None:
    aas = boto3.client("application-autoscaling", region_name=R)
    for i in range(120):
        aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=f"endpoint/e{i}/variant/v",
                                     ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                     MinCapacity=1, MaxCapacity=4)
    pages = list(aas.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker"))
    assert [len(p["ScalableTargets"]) for p in pages] == [50, 50, 20]
    ids = [t["ResourceId"] for p in pages for t in p["ScalableTargets"]]
    assert len(set(ids)) == 120


def test_get_resources_answers_an_arn_list_in_full(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    arns = []
    for i in range(100):
        _endpoint(sm, name=f"t{i:03d}", itype="ml.m5.large")
        arn = sm.describe_endpoint_config(EndpointConfigName=f"t{i:03d}-c1")["EndpointConfigArn"]
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k1", "Value": "v"}, {"Key": "k2", "Value": str(i)}])
        arns.append(arn)
    tagging = boto3.client("resourcegroupstaggingapi", region_name=R)
    resp = tagging.get_resources(ResourceARNList=arns)
    assert len(resp["ResourceTagMappingList"]) == 100 and not resp.get("PaginationToken")
    got = {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]} for m in resp["ResourceTagMappingList"]}
    assert got[arns[42]] == {"k1": "v", "k2": "42"}
    with pytest.raises(ClientError, match="cannot be combined"):
        tagging.get_resources(ResourceARNList=arns[:2], ResourcesPerPage=10)


def test_s3_conditional_create_lets_exactly_one_of_many_concurrent_writers_win(aws: None) -> None:
    import threading

    s3 = boto3.client("s3", region_name=R)
    s3.create_bucket(Bucket="race-bucket")
    start = threading.Barrier(8)
    won: list[int] = []
    refused: list[str] = []

    def put(i: int) -> None:
        client = boto3.client("s3", region_name=R)
        start.wait(timeout=10)
        try:
            client.put_object(Bucket="race-bucket", Key="k", Body=str(i).encode(), IfNoneMatch="*")
            won.append(i)
        except ClientError as exc:
            refused.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and refused == ["PreconditionFailed"] * 7
    assert s3.get_object(Bucket="race-bucket", Key="k")["Body"].read() == str(won[0]).encode()


def test_batch_describe_model_package_maps_arns_to_summaries_and_errors(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    sm.create_model_package_group(ModelPackageGroupName="g")
    spec = {"Containers": [{"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1",
                            "ModelDataUrl": "s3://b/models/x/v1.0.0/model.tar.gz"}],
            "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]}
    arn = sm.create_model_package(ModelPackageGroupName="g", InferenceSpecification=spec,
                                  ModelApprovalStatus="Approved")["ModelPackageArn"]
    gone = arn.replace("/g/1", "/g/9")
    resp = sm.batch_describe_model_package(ModelPackageArnList=[arn, gone])
    summary = resp["ModelPackageSummaries"][arn]
    assert summary["ModelPackageVersion"] == 1 and summary["ModelApprovalStatus"] == "Approved"
    assert summary["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == spec["Containers"][0]["ModelDataUrl"]
    assert set(resp["BatchDescribeModelPackageErrorMap"]) == {gone}


def test_shadow_production_variants_are_kept_and_returned_at_runtime(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    _endpoint(sm)
    shadow = {"VariantName": "cand", "ModelName": "e1-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1,
              "InitialVariantWeight": 0.5}
    sm.create_endpoint_config(EndpointConfigName="e1-shadow", ProductionVariants=[
        {"VariantName": "v", "ModelName": "e1-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}],
        ShadowProductionVariants=[shadow])
    assert sm.describe_endpoint_config(EndpointConfigName="e1-shadow")["ShadowProductionVariants"] == [shadow]
    assert "ShadowProductionVariants" not in sm.describe_endpoint(EndpointName="e1")  # AWS omits it when none
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="e1-shadow")
    runtime = sm.describe_endpoint(EndpointName="e1")["ShadowProductionVariants"]
    assert [(v["VariantName"], v["CurrentInstanceCount"]) for v in runtime] == [("cand", 1)]
    # AWS: with shadow variants, exactly one production and one shadow variant
    with pytest.raises(ClientError, match="one variant"):
        sm.create_endpoint_config(EndpointConfigName="two", ProductionVariants=[
            {"VariantName": "a", "ModelName": "e1-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            {"VariantName": "b", "ModelName": "e1-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
            ShadowProductionVariants=[shadow])
    with pytest.raises(ClientError):  # validated like a production variant
        sm.create_endpoint_config(EndpointConfigName="bad", ProductionVariants=[
            {"VariantName": "a", "ModelName": "e1-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
            ShadowProductionVariants=[dict(shadow, InstanceType="ml.bogus.large")])


def test_another_accounts_model_package_is_denied_not_missing(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=R)
    arn = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-sentiment-v3"
    with pytest.raises(ClientError) as exc:
        sm.describe_model_package(ModelPackageName=arn)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as missing:  # our own account's unknown package is still "not found"
        sm.describe_model_package(ModelPackageName="arn:aws:sagemaker:us-east-1:123456789012:model-package/none")
    assert missing.value.response["Error"]["Code"] == "ValidationException"
