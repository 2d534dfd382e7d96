"""Seed a moto account with the demo fleet: every resource created through the real AWS API shapes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from auditor.collect.base import parse_s3_uri
from auditor.collect.sagemaker import instance_types
from auditor_demo.fleet import (
    ACCOUNT,
    MARKETPLACE,
    MARKETPLACE_IMAGE,
    PRIMARY,
    REGIONS,
    REGISTRY_ITEMS,
    REGISTRY_TABLE,
    Endpoint,
    Variant,
    fleet,
)

LEAST_PRIVILEGE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::acme-ml-models-prod/models/*"},
    {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
]}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
BUCKETS = {
    # name: (region, versioning, default encryption)
    "acme-ml-models-prod": (PRIMARY, "Enabled", "aws:kms"),
    "acme-ml-models-dev": (PRIMARY, None, "AES256"),
    "acme-ml-legacy": (PRIMARY, "Suspended", None),
    "acme-ml-models-eu": ("eu-west-1", "Enabled", "AES256"),
    "acme-ml-monitoring": (PRIMARY, "Enabled", "AES256"),
    "acme-cloudtrail-logs": (PRIMARY, "Enabled", "AES256"),
    "acme-ml-async": (PRIMARY, "Enabled", "aws:kms"),
}
# Objects under a prefix artifact: a multi-model endpoint's archives, an uncompressed model's files.
PREFIX_OBJECTS = {True: ("catalog-a.tar.gz", "catalog-b.tar.gz", "catalog-c.tar.gz"),
                  False: ("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")}


class Seeder:
    def __init__(self, session: Any, now: dt.datetime) -> None:
        self.s = session
        self.now = now
        self.kms_keys: dict[str, str] = {}
        self.vpc: dict[str, dict[str, Any]] = {}
        self.package_arns: dict[str, list[str]] = {}

    def c(self, service: str, region: str = PRIMARY) -> Any:
        return self.s.client(service, region_name=region)

    def run(self) -> None:
        from auditor_demo.moto_ext import list_marketplace_package

        list_marketplace_package(MARKETPLACE, MARKETPLACE_IMAGE, "prod-4f1bvendorsent")
        self.iam()
        for region in REGIONS:
            self.network(region)
        self.kms()
        self.buckets()
        self.trail()
        self.events()
        self.registry_table()
        for ep in fleet():
            self.endpoint(ep)

    def registry_table(self) -> None:
        """Policy 3's custom registry: a DynamoDB table with one registered model."""
        ddb = self.c("dynamodb", REGISTRY_TABLE["region"])
        key = REGISTRY_TABLE["key"]["attribute"]
        ddb.create_table(TableName=REGISTRY_TABLE["table"], BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}])
        from boto3.dynamodb.types import TypeSerializer

        for item in REGISTRY_ITEMS:
            ddb.put_item(TableName=REGISTRY_TABLE["table"], Item={k: TypeSerializer().serialize(v)
                                                                   for k, v in item.items()})

    # -- shared infrastructure ------------------------------------------------------------------
    def iam(self) -> None:
        iam = self.c("iam")
        for role, doc in (("sagemaker-exec-fraud", LEAST_PRIVILEGE), ("sagemaker-exec-admin", ADMIN)):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST),
                            Tags=[{"Key": "team", "Value": "ml-platform"}])
            iam.put_role_policy(RoleName=role, PolicyName="inference", PolicyDocument=json.dumps(doc))

    def network(self, region: str) -> None:
        ec2 = self.c("ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=f"{region}a")["Subnet"]["SubnetId"]
        b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24", AvailabilityZone=f"{region}b")["Subnet"]["SubnetId"]
        a2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.3.0/24", AvailabilityZone=f"{region}a")["Subnet"]["SubnetId"]
        private = ec2.create_security_group(GroupName="inference-private", Description="VPC only", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=private, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
        public = ec2.create_security_group(GroupName="inference-open", Description="open", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=public, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        if region == PRIMARY:  # the EU VPC has no PrivateLink endpoint for the runtime
            ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{region}.sagemaker.runtime",
                                    VpcEndpointType="Interface", SubnetIds=[a, b], SecurityGroupIds=[private])
        self.vpc[region] = {"multi-az": ([a, b], [private]), "single-az-open": ([a, a2], [public])}

    def kms(self) -> None:
        kms = self.c("kms")
        key = kms.create_key(Description="ML production artifacts", Tags=[{"TagKey": "team", "TagValue": "security"}])
        kid = key["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=kid)
        kms.create_alias(AliasName="alias/ml-artifacts", TargetKeyId=kid)
        self.kms_keys[PRIMARY] = key["KeyMetadata"]["Arn"]

    def buckets(self) -> None:
        for name, (region, versioning, enc) in BUCKETS.items():
            s3 = self.c("s3", region)
            args: dict[str, Any] = {"Bucket": name}
            if region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**args)
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data-class", "Value": "model"}]})
            if versioning:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
            if enc:
                rule: dict[str, Any] = {"SSEAlgorithm": enc}
                if enc == "aws:kms":
                    rule["KMSMasterKeyID"] = "alias/ml-artifacts"
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": enc == "aws:kms"}]})
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})

    def trail(self) -> None:
        ct = self.c("cloudtrail")
        ct.create_trail(Name="org-audit-trail", S3BucketName="acme-cloudtrail-logs", IsMultiRegionTrail=True,
                        EnableLogFileValidation=True)
        ct.put_event_selectors(TrailName="org-audit-trail", AdvancedEventSelectors=[
            {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {"Name": "SageMaker endpoint invocations", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::SageMaker::Endpoint"]}]},
        ])
        ct.start_logging(Name="org-audit-trail")

    def events(self) -> None:
        ev = self.c("events")
        ev.put_rule(Name="stop-idle-sagemaker-endpoints", ScheduleExpression="rate(1 hour)", State="ENABLED",
                    Description="Stops endpoints with no invocations for 24 hours unless tagged always-on")
        ev.put_targets(Rule="stop-idle-sagemaker-endpoints", Targets=[
            {"Id": "stop-idle", "Arn": f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:stop-idle-endpoints"}])

    # -- one endpoint and everything around it ----------------------------------------------------
    def artifact(self, ep: Endpoint, model: str) -> str:
        uri = ep.artifact.format(model=ep.name.removesuffix("-prod").removesuffix("-dev"))
        bucket, key = parse_s3_uri(uri) or ("", "")
        region = BUCKETS[bucket][0]
        keys = [key + name for name in PREFIX_OBJECTS[ep.multi_model]] if key.endswith("/") else [key]
        for k in keys:
            args: dict[str, Any] = {"Bucket": bucket, "Key": k, "Body": f"weights of {model}".encode()}
            if ep.artifact_sse == "aws:kms":
                args.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_keys[PRIMARY])
            elif ep.artifact_sse:
                args["ServerSideEncryption"] = ep.artifact_sse
            self.c("s3", region).put_object(**args)
        return uri

    def package(self, ep: Endpoint, image: str, uri: str) -> str:
        sm = self.c("sagemaker", ep.region)
        group = ep.package or ""
        if group not in self.package_arns:
            sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription=f"{group} models")
            self.package_arns[group] = []
            # an earlier approved version: the rollback target
            if group in ("fraud-detector", "pricing", "nightly-scoring"):
                self.package_arns[group].append(self._version(sm, group, image, uri, "Approved", True))
            # an earlier version that was rejected: no rollback target (recommender is a first version: none needed)
            if group == "search-ranker":
                self.package_arns[group].append(self._version(sm, group, image, uri, "Rejected", False))
        arn = self._version(sm, group, image, uri, ep.package_status, ep.package_metrics)
        self.package_arns[group].append(arn)
        return arn

    def _version(self, sm: Any, group: str, image: str, uri: str, status: str, metrics: bool) -> str:
        args: dict[str, Any] = {
            "ModelPackageGroupName": group, "ModelApprovalStatus": status,
            "InferenceSpecification": {"Containers": [{"Image": image, "ModelDataUrl": uri}],
                                       "SupportedContentTypes": ["application/json"],
                                       "SupportedResponseMIMETypes": ["application/json"]},
            "CustomerMetadataProperties": {"semantic_version": "1.2.0"},
        }
        if metrics:
            args["ModelMetrics"] = {"ModelQuality": {"Statistics": {
                "ContentType": "application/json", "S3Uri": f"s3://acme-ml-monitoring/{group}/evaluation.json"}}}
        return str(sm.create_model_package(**args)["ModelPackageArn"])

    def endpoint(self, ep: Endpoint) -> None:
        sm = self.c("sagemaker", ep.region)
        image = ep.image.format(region=ep.region)
        model = f"{ep.name}-model"
        uri = self.artifact(ep, model) if not ep.marketplace_package else ""
        container = self._container(ep, image, uri)
        self._model(ep, model, [*({"Image": p.format(region=ep.region)} for p in ep.pipeline), container])
        variants = [self._variant_spec(v, model) for v in ep.variants]
        cfg: dict[str, Any] = {"EndpointConfigName": f"{ep.name}-config-v3", "ProductionVariants": variants,
                               "Tags": [{"Key": k, "Value": v} for k, v in ep.tags.items()]}
        if ep.shadow:
            candidate = f"{ep.name}-candidate-model"
            self._model(ep, candidate, [{"Image": ep.shadow_image or image, "ModelDataUrl": uri}],
                        role="sagemaker-exec-admin")
            cfg["ShadowProductionVariants"] = [self._variant_spec(ep.shadow, candidate)]
        if ep.async_output:
            cfg["AsyncInferenceConfig"] = {"OutputConfig": dict(ep.async_output),
                                           "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}}
        if ep.data_capture:
            cfg["DataCaptureConfig"] = {
                "EnableCapture": True, "InitialSamplingPercentage": 20,
                "DestinationS3Uri": f"s3://acme-ml-monitoring/capture/{ep.name}",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
        if ep.region == PRIMARY and ep.artifact_sse == "aws:kms":
            cfg["KmsKeyId"] = self.kms_keys[PRIMARY]
        sm.create_endpoint_config(**cfg)
        alarm_names = self.alarms(ep)
        deployment = dict(ep.deployment or {})
        if ep.rollback:
            deployment.setdefault("BlueGreenUpdatePolicy", {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                                            "WaitIntervalInSeconds": 300}})
            deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarm_names]}
        create: dict[str, Any] = {"EndpointName": ep.name, "EndpointConfigName": cfg["EndpointConfigName"],
                                  "Tags": [{"Key": k, "Value": v} for k, v in ep.tags.items()]}
        if deployment:
            create["DeploymentConfig"] = deployment
        sm.create_endpoint(**create)
        self.scaling(ep)
        self.monitoring(ep)
        self.dashboard(ep)
        self.logs(ep)
        self.metrics(ep)
        if ep.delete_rollback_alarm:
            self.c("cloudwatch", ep.region).delete_alarms(AlarmNames=alarm_names)
        if ep.delete_model:
            sm.delete_model(ModelName=model)

    def _container(self, ep: Endpoint, image: str, uri: str) -> dict[str, Any]:
        """The serving container: from a package (ours or a Marketplace one), or from image and artifact."""
        if ep.marketplace_package:
            return {"ModelPackageName": ep.marketplace_package}
        container: dict[str, Any] = {"Image": image, "ModelDataUrl": uri}
        if ep.data_source:  # an uncompressed model: ModelDataSource instead of ModelDataUrl
            container = {"Image": image, "ModelDataSource": {"S3DataSource": {
                "S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}}}
        if ep.multi_model:
            container["Mode"] = "MultiModel"
        if ep.package:
            arn = self.package(ep, image, uri)
            if not ep.deploy_by_content:  # else: in the registry by image + artifact only (an inferred match)
                container = {"ModelPackageName": arn}
        if ep.private_registry:
            container["ImageConfig"] = {"RepositoryAccessMode": "Vpc"}
        return container

    def _model(self, ep: Endpoint, name: str, containers: list[dict[str, Any]], role: str | None = None) -> None:
        args: dict[str, Any] = {
            "ModelName": name, "EnableNetworkIsolation": ep.network_isolation,
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role or ep.role}",
            "Tags": [{"Key": k, "Value": v} for k, v in ep.tags.items()],
        }
        if len(containers) > 1:
            args["Containers"] = containers
        else:
            args["PrimaryContainer"] = containers[0]
        if ep.vpc:
            subnets, groups = self.vpc[ep.region][ep.vpc]
            args["VpcConfig"] = {"Subnets": subnets, "SecurityGroupIds": groups}
        self.c("sagemaker", ep.region).create_model(**args)

    def _variant_spec(self, v: Variant, model: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"VariantName": v.name, "ModelName": model, "InitialVariantWeight": v.weight}
        if v.serverless:
            spec["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
            if v.provisioned_concurrency:
                spec["ServerlessConfig"]["ProvisionedConcurrency"] = v.provisioned_concurrency
        else:
            spec.update(InstanceType=v.instance_type, InitialInstanceCount=v.count)
        return spec

    def alarms(self, ep: Endpoint) -> list[str]:
        cw = self.c("cloudwatch", ep.region)
        names = []
        for metric in ep.alarms:
            name = f"{ep.name}-{metric}"
            stat = {"ExtendedStatistic": "p99"} if metric == "ModelLatency" else {"Statistic": "Sum"}
            cw.put_metric_alarm(AlarmName=name, Namespace="AWS/SageMaker", MetricName=metric, Period=300,
                                EvaluationPeriods=3, Threshold=500000.0 if metric == "ModelLatency" else 5.0,
                                ComparisonOperator="GreaterThanThreshold", **stat,
                                Dimensions=[{"Name": "EndpointName", "Value": ep.name},
                                            {"Name": "VariantName", "Value": ep.variants[0].name}],
                                AlarmActions=[f"arn:aws:sns:{ep.region}:{ACCOUNT}:ml-oncall"])
            names.append(name)
        if ep.monitor_alarm:
            name = f"{ep.name}-data-drift"
            cw.put_metric_alarm(AlarmName=name, Namespace="/aws/sagemaker/Endpoints/data-metrics",
                                MetricName="feature_baseline_drift_total", Statistic="Maximum", Period=3600,
                                EvaluationPeriods=1, Threshold=0.2, ComparisonOperator="GreaterThanThreshold",
                                Dimensions=[{"Name": "Endpoint", "Value": ep.name},
                                            {"Name": "MonitoringSchedule", "Value": f"{ep.name}-dataquality"}])
            names.append(name)
        return names

    def scaling(self, ep: Endpoint) -> None:
        aas = self.c("application-autoscaling", ep.region)
        for v in ep.variants:
            if not v.scaling:
                continue
            lo, hi, metric, target, out_cd, in_cd = v.scaling
            rid = f"endpoint/{ep.name}/variant/{v.name}"
            dim = "sagemaker:variant:DesiredInstanceCount"
            aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim,
                                         MinCapacity=lo, MaxCapacity=hi)
            if not metric:
                continue
            dims = [{"Name": "EndpointName", "Value": ep.name}]
            if metric == "ApproximateBacklogSizePerInstance":  # async: the queue, per endpoint, in AWS/SageMaker
                namespace, name = "AWS/SageMaker", f"{ep.name}-{v.name}-backlog"
            else:
                namespace, name = "/aws/sagemaker/Endpoints", f"{ep.name}-{v.name}-{metric.lower()}"
                dims.append({"Name": "VariantName", "Value": v.name})
            aas.put_scaling_policy(
                PolicyName=name, ServiceNamespace="sagemaker", ResourceId=rid,
                ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": target, "ScaleOutCooldown": out_cd, "ScaleInCooldown": in_cd,
                    "CustomizedMetricSpecification": {
                        "MetricName": metric, "Namespace": namespace, "Statistic": "Average", "Dimensions": dims}})

    def monitoring(self, ep: Endpoint) -> None:
        sm = self.c("sagemaker", ep.region)
        for kind in ep.monitors:
            name = f"{ep.name}-{kind.lower()}"
            base = f"s3://acme-ml-monitoring/baselines/{ep.name}/{kind.lower()}"
            job_input: dict[str, Any] = {"EndpointInput": {"EndpointName": ep.name, "LocalPath": "/opt/ml/processing/input"}}
            baseline: dict[str, Any] = {"ConstraintsResource": {"S3Uri": f"{base}/constraints.json"}}
            if kind == "DataQuality":
                baseline["StatisticsResource"] = {"S3Uri": f"{base}/statistics.json"}
            if kind in ("ModelQuality", "ModelBias"):
                job_input["GroundTruthS3Input"] = {"S3Uri": f"s3://acme-ml-monitoring/ground-truth/{ep.name}"}
            app: dict[str, Any] = {"ImageUri": f"156813124566.dkr.ecr.{ep.region}.amazonaws.com/"
                                               "sagemaker-model-monitor-analyzer"}
            if kind in ("ModelBias", "ModelExplainability"):
                app["ConfigUri"] = f"{base}/analysis_config.json"
            if kind == "ModelQuality":
                app["ProblemType"] = "BinaryClassification"
            getattr(sm, f"create_{_snake(kind)}_job_definition")(**{
                "JobDefinitionName": name,
                f"{kind}BaselineConfig": baseline,
                f"{kind}AppSpecification": app,
                f"{kind}JobInput": job_input,
                f"{kind}JobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                    "S3Uri": f"s3://acme-ml-monitoring/reports/{ep.name}", "LocalPath": "/opt/ml/processing/output"}}]},
                "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                   "VolumeSizeInGB": 20}},
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec-fraud",
            })
            sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": name, "MonitoringType": kind})

    def dashboard(self, ep: Endpoint) -> None:
        if not ep.dashboard:
            return
        dims = ["EndpointName", ep.name, "VariantName", ep.variants[0].name]
        body = {"widgets": [
            {"type": "metric", "properties": {"title": "Latency", "region": ep.region, "metrics": [
                ["AWS/SageMaker", "ModelLatency", *dims, {"stat": "p50"}],
                [".", ".", ".", ".", ".", ".", {"stat": "p95"}],
                [".", ".", ".", ".", ".", ".", {"stat": "p99"}]]}},
            {"type": "metric", "properties": {"title": "Traffic and errors", "stat": "Sum", "region": ep.region,
                                              "metrics": [["AWS/SageMaker", "Invocations", *dims],
                                                          [".", "Invocation5XXErrors", *dims],
                                                          [".", "Invocation4XXErrors", *dims]]}},
        ]}
        self.c("cloudwatch", ep.region).put_dashboard(DashboardName=f"{ep.name}-overview",
                                                      DashboardBody=json.dumps(body))

    def logs(self, ep: Endpoint) -> None:
        logs = self.c("logs", ep.region)
        group = f"/aws/sagemaker/Endpoints/{ep.name}"
        logs.create_log_group(logGroupName=group)
        if ep.log_retention:
            logs.put_retention_policy(logGroupName=group, retentionInDays=ep.log_retention)

    def metrics(self, ep: Endpoint) -> None:
        cw = self.c("cloudwatch", ep.region)
        data: list[tuple[str, dict[str, Any]]] = []
        for v in [*ep.variants, *([ep.shadow] if ep.shadow else [])]:
            dims = [{"Name": "EndpointName", "Value": ep.name}, {"Name": "VariantName", "Value": v.name}]
            for h, n in enumerate(v.hourly_invocations):
                if n:  # asynchronous endpoints publish InvocationsProcessed per endpoint instead of Invocations
                    data.append(("AWS/SageMaker", {
                        "MetricName": "InvocationsProcessed" if ep.async_output else "Invocations",
                        "Dimensions": dims[:1] if ep.async_output else dims, "Value": float(n),
                        "Timestamp": self.now - dt.timedelta(hours=24 - h, minutes=-30), "Unit": "None"}))
            if v.serverless:
                continue
            spec = instance_types().get(v.instance_type or "", {"vcpus": 2, "gpus": 0})
            for h in range(14 * 24):
                wobble = 0.6 + 0.4 * ((h * 37) % 100) / 100  # deterministic load curve
                stamp = self.now - dt.timedelta(hours=h + 1)
                data.append(("/aws/sagemaker/Endpoints", {
                    "MetricName": "CPUUtilization", "Dimensions": dims, "Timestamp": stamp, "Unit": "Percent",
                    "Value": round(v.cpu_load * spec["vcpus"] * wobble, 2)}))
                if spec["gpus"]:
                    data.append(("/aws/sagemaker/Endpoints", {
                        "MetricName": "GPUUtilization", "Dimensions": dims, "Timestamp": stamp, "Unit": "Percent",
                        "Value": round(v.gpu_load * spec["gpus"] * wobble, 2)}))
        by_ns: dict[str, list[dict[str, Any]]] = {}
        for ns, d in data:
            by_ns.setdefault(ns, []).append(d)
        for ns, items in by_ns.items():
            for i in range(0, len(items), 500):
                cw.put_metric_data(Namespace=ns, MetricData=items[i:i + 500])

    def backdate(self) -> None:
        """The demo endpoints have history: move their creation times into the past (moto stamps 'now')."""
        from moto.sagemaker.models import sagemaker_backends

        ages = {ep.name: ep.age_days for ep in fleet()}
        for region in REGIONS:
            for name, endpoint in sagemaker_backends[ACCOUNT][region].endpoints.items():
                # moto keeps naive UTC datetimes (and sorts by them): match it
                endpoint.creation_time = (self.now - dt.timedelta(days=ages.get(name, 30))).replace(tzinfo=None)


def _snake(kind: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in kind).lstrip("_")
