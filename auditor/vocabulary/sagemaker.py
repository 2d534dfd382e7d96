"""Attribute declarations of the SageMaker node types (endpoints and what they deploy, registry, monitoring, jobs)."""

from __future__ import annotations

from auditor.vocabulary import (
    API,
    BOOLEAN,
    INTEGER,
    LIST,
    MAP,
    NUMBER,
    OBJECT,
    STRING,
    TIMESTAMP,
    Attr,
    derived,
    raw,
)

_SIZE = [raw("Type", STRING, "INSTANCE_COUNT or CAPACITY_PERCENT"), raw("Value", INTEGER, "the size")]
DEPLOYMENT_CONFIG = [
    raw("BlueGreenUpdatePolicy", API, "blue/green deployment", fields=[
        raw("TrafficRoutingConfiguration", API, "how traffic shifts", fields=[
            raw("Type", STRING, "ALL_AT_ONCE, CANARY or LINEAR"),
            raw("WaitIntervalInSeconds", INTEGER, "wait between shifts"),
            raw("CanarySize", API, "the canary's share", fields=_SIZE),
            raw("LinearStepSize", API, "each linear step's share", fields=_SIZE),
        ]),
        raw("TerminationWaitInSeconds", INTEGER, "wait before the old fleet is terminated"),
        raw("MaximumExecutionTimeoutInSeconds", INTEGER, "deployment timeout"),
    ]),
    raw("RollingUpdatePolicy", API, "rolling deployment", fields=[
        raw("MaximumBatchSize", API, "batch size", fields=_SIZE),
        raw("WaitIntervalInSeconds", INTEGER, "wait between batches"),
        raw("MaximumExecutionTimeoutInSeconds", INTEGER, "deployment timeout"),
        raw("RollbackMaximumBatchSize", API, "rollback batch size", fields=_SIZE),
    ]),
    raw("AutoRollbackConfiguration", API, "alarms that roll a deployment back", fields=[
        raw("Alarms", LIST, "the rollback alarms", fields=[raw("AlarmName", STRING, "alarm name")]),
    ]),
]
_CAPTURE = [
    raw("EnableCapture", BOOLEAN, "data capture is on"),
    raw("DestinationS3Uri", STRING, "where captured data goes"),
    raw("KmsKeyId", STRING, "key encrypting captured data"),
]

ATTRIBUTES: dict[str, list[Attr]] = {
    "sagemaker.endpoint": [
        raw("status", STRING, "EndpointStatus (InService, Creating, Updating, Failed, ...; Deleted when gone)"),
        raw("creation_time", TIMESTAMP, "CreationTime"),
        raw("last_modified_time", TIMESTAMP, "LastModifiedTime"),
        raw("config_name", STRING, "EndpointConfigName in service"),
        raw("data_capture", API, "DataCaptureConfig summary of the endpoint", fields=[
            *_CAPTURE, raw("CaptureStatus", STRING, "Started or Stopped"),
            raw("CurrentSamplingPercentage", INTEGER, "sampled share of requests")]),
        raw("last_deployment_config", API, "LastDeploymentConfig (blue/green or rolling, rollback alarms)",
            fields=DEPLOYMENT_CONFIG),
        derived("deployment_config_present", BOOLEAN, "a LastDeploymentConfig is set"),
        derived("serverless", BOOLEAN, "every production variant is serverless"),
        derived("async_inference", BOOLEAN, "the endpoint config has an AsyncInferenceConfig (asynchronous endpoint)"),
        derived("multi_model", BOOLEAN, "a production variant's model has a MultiModel container"),
        derived("hosting_shapes", LIST, "real-time, serverless or asynchronous, plus multi-model, shadow, "
                "inference-pipeline"),
        derived("unsupported", MAP, "feature -> why AWS does not support it on this endpoint's shape "
                "(data_capture, model_monitor)", of=raw("reason", STRING, "the limit, in words")),
        derived("dashboard_metrics", MAP, "metric name -> statistics shown for this endpoint on any dashboard",
                of=raw("statistics", LIST, "statistics shown (Sum, p99, ...)")),
        derived("invocations_window", NUMBER, "invocations summed over the variants in the idle window"),
        derived("invoke_principals", LIST, "principals whose identity policies allow sagemaker:InvokeEndpoint on it"),
        derived("invoke_wildcard_grants", LIST, "grants of InvokeEndpoint through a wildcard resource (principal, "
                "policy, statement, action, resource, condition)"),
        derived("invoke_access_basis", STRING, "proven, or inferred when a wildcard grant carries a condition"),
        derived("explain", MAP, "attribute -> the collector's words for a derived value",
                of=raw("text", STRING, "explanation")),
    ],
    "sagemaker.endpoint_config": [
        raw("production_variants", LIST, "ProductionVariants as returned"),
        raw("data_capture_config", API, "DataCaptureConfig", fields=[
            *_CAPTURE, raw("InitialSamplingPercentage", INTEGER, "sampled share of requests"),
            raw("CaptureOptions", LIST, "Input and/or Output")]),
        raw("kms_key_id", STRING, "KmsKeyId encrypting the instances' storage volumes"),
        raw("async_inference_config", API, "AsyncInferenceConfig", fields=[
            raw("OutputConfig", API, "where results go", fields=[
                raw("S3OutputPath", STRING, "S3 prefix of the results"),
                raw("S3FailurePath", STRING, "S3 prefix of the failures"),
                raw("KmsKeyId", STRING, "key SageMaker encrypts the results with"),
                raw("NotificationConfig", API, "SNS topics for success and errors")]),
            raw("ClientConfig", API, "MaxConcurrentInvocationsPerInstance")]),
        raw("shadow_production_variants", LIST, "ShadowProductionVariants as returned"),
        raw("creation_time", TIMESTAMP, "CreationTime"),
    ],
    "sagemaker.variant": [
        raw("variant_name", STRING, "VariantName"),
        derived("shadow", BOOLEAN, "a shadow variant (ShadowProductionVariants): serves copies of production traffic"),
        derived("async_inference", BOOLEAN, "the variant's endpoint is asynchronous"),
        raw("endpoint_name", STRING, "the endpoint's name"),
        raw("instance_type", STRING, "InstanceType (none when serverless)"),
        derived("serverless", BOOLEAN, "the variant has a ServerlessConfig (configured or current)"),
        raw("serverless_config", API, "ServerlessConfig", fields=[
            raw("MemorySizeInMB", INTEGER, "memory"), raw("MaxConcurrency", INTEGER, "concurrency limit"),
            raw("ProvisionedConcurrency", INTEGER, "provisioned concurrency")]),
        raw("initial_instance_count", INTEGER, "InitialInstanceCount of the config"),
        raw("current_instance_count", INTEGER, "CurrentInstanceCount at runtime"),
        raw("desired_instance_count", INTEGER, "DesiredInstanceCount at runtime"),
        raw("initial_weight", NUMBER, "InitialVariantWeight"),
        raw("current_weight", NUMBER, "CurrentWeight (the initial weight when the endpoint does not say)"),
        derived("vcpus", INTEGER, "vCPUs of the instance type (from our instance table)"),
        derived("gpus", INTEGER, "GPUs of the instance type (from our instance table)"),
        derived("is_gpu", BOOLEAN, "the instance type has GPUs"),
        derived("instance_type_known", BOOLEAN, "the instance type is in our table (or the variant is serverless)"),
        raw("model_name", STRING, "ModelName"),
        raw("deployed_images", LIST, "DeployedImages at runtime"),
        derived("metrics", OBJECT, "CloudWatch statistics over the idle and sizing windows", fields=[
            derived("invocations_window", NUMBER, "invocations in the idle window"),
            derived("invocations_top4h_share", NUMBER, "share of the window's invocations in its busiest 4 hours"),
            derived("active_hours", INTEGER, "hours of the window with any invocation"),
            derived("cpu_p95", NUMBER, "p95 CPUUtilization over the sizing window (summed over vCPUs)"),
            derived("cpu_p95_per_vcpu", NUMBER, "cpu_p95 divided by the vCPUs"),
            derived("gpu_avg", NUMBER, "mean GPUUtilization over the sizing window (summed over GPUs)"),
            derived("gpu_avg_per_gpu", NUMBER, "gpu_avg divided by the GPUs"),
        ]),
    ],
    "sagemaker.model": [
        raw("execution_role_arn", STRING, "ExecutionRoleArn"),
        raw("vpc_config", API, "VpcConfig as returned (absent, or {} from moto, when none)", fields=[
            raw("Subnets", LIST, "subnet ids"), raw("SecurityGroupIds", LIST, "security group ids")]),
        raw("enable_network_isolation", BOOLEAN, "EnableNetworkIsolation"),
        raw("creation_time", TIMESTAMP, "CreationTime"),
        derived("container_count", INTEGER, "number of containers (Containers or PrimaryContainer)"),
        derived("unsupported", MAP, "feature -> why AWS does not support it for this model (vpc, network_isolation "
                "when a serverless variant serves it)", of=raw("reason", STRING, "the limit, in words")),
        derived("explain", MAP, "attribute -> the collector's words for a derived value",
                of=raw("text", STRING, "explanation")),
    ],
    "sagemaker.container": [
        raw("image", STRING, "Image URI (the package's when the model comes from a package)"),
        derived("image_registry_account", STRING, "ECR registry account parsed from the image URI"),
        derived("image_region", STRING, "ECR region parsed from the image URI"),
        derived("image_repository", STRING, "repository parsed from the image URI"),
        derived("image_tag", STRING, "tag parsed from the image URI"),
        derived("image_digest", STRING, "digest parsed from the image URI"),
        derived("image_is_ecr", BOOLEAN, "the image URI is an ECR URI"),
        derived("image_location", STRING, "the image URI without tag or digest"),
        raw("repository_access_mode", STRING, "ImageConfig.RepositoryAccessMode (Platform by default)"),
        raw("model_package_name", STRING, "ModelPackageName"),
        raw("artifact_uri", STRING, "ModelDataUrl or ModelDataSource S3 URI"),
        derived("has_artifact", BOOLEAN, "the container (or its package) names a model artifact"),
        raw("mode", STRING, "SingleModel or MultiModel"),
        derived("package_basis", STRING, "declared (ModelPackageName) or inferred (image + artifact match a package)"),
        derived("package_match", OBJECT, "the registered package version matched by image + artifact", fields=[
            raw("package", STRING, "package ARN"), raw("version", INTEGER, "ModelPackageVersion"),
            raw("image", STRING, "matched image"), raw("artifact_uri", STRING, "matched artifact"),
            derived("candidates", INTEGER, "versions registered with this image and artifact")]),
        derived("custom_registry_entry", OBJECT, "the entry of the configured DynamoDB registry table", fields=[
            raw("table", STRING, "table name"), raw("key", STRING, "what identified the model"),
            raw("version", STRING, "version attribute (as text)"), raw("approval_status", STRING, "approval"),
            derived("has_metrics", BOOLEAN, "training metrics recorded"),
            derived("has_deployment_config", BOOLEAN, "deployment configuration recorded")]),
    ],
    "sagemaker.model_package": [
        raw("group_name", STRING, "ModelPackageGroupName"),
        raw("version", INTEGER, "ModelPackageVersion"),
        raw("approval_status", STRING, "ModelApprovalStatus"),
        derived("has_model_metrics", BOOLEAN, "any ModelMetrics section is filled"),
        raw("model_metrics", API, "ModelMetrics", fields=[
            raw(k, API, f"{k} reports") for k in ("ModelQuality", "ModelDataQuality", "Bias", "Explainability")]),
        derived("has_inference_specification", BOOLEAN, "InferenceSpecification lists containers"),
        raw("customer_metadata", MAP, "CustomerMetadataProperties", of=raw("value", STRING, "a property value")),
        derived("images", LIST, "the inference specification's images"),
        derived("artifact_uris", LIST, "the inference specification's artifact URIs"),
        derived("containers", LIST, "the inference specification's containers, in order", fields=[
            raw("image", STRING, "Image"), raw("artifact_uri", STRING, "ModelDataUrl or ModelDataSource S3 URI"),
            derived("is_prefix", BOOLEAN, "the artifact is an S3 prefix"), raw("mode", STRING, "Mode")]),
        raw("creation_time", TIMESTAMP, "CreationTime"),
        derived("older_approved_versions", INTEGER, "Approved versions of the group older than this one"),
    ],
    "sagemaker.model_package_group": [
        derived("versions", LIST, "every package version of the group", fields=[
            raw("version", INTEGER, "ModelPackageVersion"), raw("status", STRING, "ModelApprovalStatus"),
            raw("arn", STRING, "ModelPackageArn")]),
        derived("approved_versions", LIST, "the Approved version numbers"),
    ],
    "sagemaker.monitoring_schedule": [
        raw("status", STRING, "MonitoringScheduleStatus"),
        raw("monitoring_type", STRING, "DataQuality, ModelQuality, ModelBias or ModelExplainability"),
        raw("endpoint_name", STRING, "EndpointName monitored"),
        raw("job_definition_name", STRING, "MonitoringJobDefinitionName"),
        raw("schedule_expression", STRING, "ScheduleExpression"),
        raw("last_execution_status", STRING, "LastMonitoringExecutionSummary.MonitoringExecutionStatus"),
    ],
    "sagemaker.monitoring_job_definition": [
        raw("monitoring_type", STRING, "the definition's monitoring type"),
        raw("baseline_constraints_uri", STRING, "baseline ConstraintsResource S3 URI"),
        raw("baseline_statistics_uri", STRING, "baseline StatisticsResource S3 URI"),
        raw("ground_truth_uri", STRING, "GroundTruthS3Input S3 URI (model quality)"),
        raw("endpoint_name", STRING, "EndpointInput.EndpointName"),
    ],
    "sagemaker.transform_job": [
        raw("status", STRING, "TransformJobStatus"),
        raw("creation_time", TIMESTAMP, "CreationTime"),
        raw("end_time", TIMESTAMP, "TransformEndTime"),
    ],
}
