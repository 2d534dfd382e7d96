"""What the demo account contains: endpoints across production and development, each a story for some policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
PRIMARY = "us-east-1"
SECONDARY = "eu-west-1"
REGIONS = [PRIMARY, SECONDARY]
DLC = "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
DLC_GPU = "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-inference:2.1.0-transformers4.37-gpu-py310"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CUSTOM = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn/serving:3.4"


@dataclass
class Variant:
    name: str
    instance_type: str | None = "ml.m5.large"
    count: int = 2
    weight: float = 1.0
    serverless: bool = False
    # autoscaling: None = no target; else (min, max, metric, target, out_cd, in_cd) — metric None = no policy
    scaling: tuple[int, int, str | None, float, int, int] | None = None
    cpu_load: float = 35.0  # per vCPU, percent (p95 band)
    gpu_load: float = 40.0  # per GPU, percent
    hourly_invocations: list[int] = field(default_factory=lambda: [1200] * 24)
    provisioned_concurrency: int | None = None  # serverless only


@dataclass
class Endpoint:
    name: str
    region: str
    tags: dict[str, str]
    variants: list[Variant]
    image: str = DLC
    artifact: str = "s3://acme-ml-models-prod/models/{model}/v1.2.0/model.tar.gz"
    artifact_sse: str | None = "aws:kms"
    package: str | None = None  # model package group to register in
    deploy_by_content: bool = False  # registered, but the model is built from the image and artifact, not the package
    package_status: str = "Approved"
    package_metrics: bool = True
    vpc: str | None = "multi-az"  # multi-az | single-az | open-sg | None
    network_isolation: bool = True
    role: str = "sagemaker-exec-fraud"
    data_capture: bool = True
    monitors: tuple[str, ...] = ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
    monitor_alarm: bool = True
    alarms: tuple[str, ...] = ("ModelLatency", "Invocation5XXErrors", "Invocation4XXErrors")
    dashboard: bool = True
    log_retention: int | None = 90
    deployment: dict[str, Any] | None = None
    rollback: bool = True
    age_days: int = 30
    private_registry: bool = False
    delete_model: bool = False
    delete_rollback_alarm: bool = False
    # Hosting shapes (issue 19)
    async_output: dict[str, Any] | None = None  # AsyncInferenceConfig.OutputConfig: an asynchronous endpoint
    shadow: Variant | None = None  # a shadow variant, serving a model of its own built from shadow_image
    shadow_image: str | None = None
    multi_model: bool = False  # container Mode MultiModel, artifact = an S3 prefix holding several models
    data_source: bool = False  # ModelDataSource S3Prefix (uncompressed) instead of ModelDataUrl
    pipeline: tuple[str, ...] = ()  # images of the containers before the serving one (an inference pipeline)
    marketplace_package: str | None = None  # a model package ARN in another account (AWS Marketplace)


PROD = {"environment": "production", "team": "risk", "cost-center": "cc-1042"}
# Policy 3 allows a custom DynamoDB registry: the demo keeps one (keyed by model name) holding churn-model-prod.
REGISTRY_TABLE: dict[str, Any] = {"table": "ml-model-registry", "region": PRIMARY, "key": {"kind": "model_name", "attribute": "model_name"}}
REGISTRY_ITEMS: list[dict[str, Any]] = [{"model_name": "churn-model-prod-model", "version": "3.4.0", "approval_status": "Approved",
                   "training_metrics": {"auc": "0.91", "f1": "0.84"},
                   "deployment_config": {"instance_type": "ml.m5.xlarge", "instances": "2"}}]
DEV = {"environment": "development", "team": "ml-platform"}
CANARY = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
    "Type": "CANARY", "WaitIntervalInSeconds": 600, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}}}
IDLE = [0] * 24
NIGHTLY = [0] * 22 + [40000, 38000]
GOOD_SCALING = (2, 4, "CPUUtilization", 140.0, 60, 300)  # ml.m5.large: 2 vCPUs x 70 %
BACKLOG_SCALING = (0, 4, "ApproximateBacklogSizePerInstance", 5.0, 60, 300)  # the documented async pattern
MARKETPLACE = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-sentiment-v3-4f1b"
MARKETPLACE_IMAGE = "865070037744.dkr.ecr.us-east-1.amazonaws.com/vendor-sentiment-v3-4f1b:3.0"
UNAPPROVED = "quay.io/acme-labs/ranker-candidate:0.9"


def fleet() -> list[Endpoint]:
    return [
        # The reference endpoint: compliant with every policy, A/B test across two variants.
        Endpoint("fraud-detector-prod", PRIMARY, dict(PROD), [
            Variant("blue", weight=0.9, scaling=GOOD_SCALING),
            Variant("green", weight=0.1, scaling=GOOD_SCALING),
        ], package="fraud-detector", deployment=CANARY),
        # GPU recommender: one instance, no autoscaling, idle GPUs, no data capture, no VPC.
        Endpoint("recommender-prod", PRIMARY, {**PROD, "team": "growth"}, [
            Variant("main", "ml.g5.xlarge", count=1, gpu_load=2.0),
        ], image=DLC_GPU, package="recommender", vpc=None, network_isolation=False, data_capture=False,
            monitors=("DataQuality",), monitor_alarm=False, rollback=False, dashboard=False),
        # Large GPU ranker: autoscaling on raw CPU (not GPU, not normalised), single-AZ subnets, open SG,
        # admin role, legacy unencrypted artifact in an unversioned bucket, package pending approval.
        Endpoint("search-ranker-prod", PRIMARY, {**PROD, "team": "search"}, [
            Variant("main", "ml.g5.12xlarge", count=2, scaling=(2, 6, "CPUUtilization", 70.0, 300, 300)),
        ], image=DLC_GPU, artifact="s3://acme-ml-legacy/ranker/model.tar.gz", artifact_sse=None,
            package="search-ranker", package_status="PendingManualApproval", package_metrics=False,
            vpc="single-az-open", role="sagemaker-exec-admin", monitors=("DataQuality", "ModelQuality"),
            log_retention=None),
        # Churn model: mixed-case tag key, custom image from our own ECR, canary deployment whose rollback
        # alarm was deleted, artifact outside the models/NAME/vX.Y.Z layout.
        Endpoint("churn-model-prod", PRIMARY, {"Environment": "Prod", "team": "crm"}, [
            Variant("main", "ml.m5.xlarge", count=2, scaling=(1, 4, "CPUUtilization", 280.0, 60, 300)),
        ], image=CUSTOM, artifact="s3://acme-ml-models-prod/churn/latest/model.tar.gz", deployment=CANARY,
            delete_rollback_alarm=True, alarms=("ModelLatency",)),
        # Serverless pricing endpoint: instance rules are not applicable.
        Endpoint("pricing-prod", PRIMARY, dict(PROD), [
            Variant("main", None, count=0, serverless=True),
        ], image=SKLEARN, package="pricing"),
        # Nightly batch scoring hosted on a real-time endpoint.
        Endpoint("nightly-scoring-prod", PRIMARY, {**PROD, "workload": "batch"}, [
            Variant("main", "ml.m5.large", count=2, scaling=GOOD_SCALING, hourly_invocations=NIGHTLY),
        ], package="nightly-scoring"),
        Endpoint("fraud-detector-staging", PRIMARY, {"environment": "staging", "team": "risk"}, [
            Variant("main", "ml.m5.large", count=1),
        ], package="fraud-detector", deploy_by_content=True, monitors=(), monitor_alarm=False),
        # Development endpoints: idle ones, an always-on one, a private-registry image, a deleted model.
        Endpoint("nlp-playground-dev", PRIMARY, dict(DEV), [
            Variant("main", "ml.g5.2xlarge", count=1, hourly_invocations=IDLE, gpu_load=0.5),
        ], image=DLC_GPU, artifact="s3://acme-ml-models-dev/models/nlp-playground/v0.3.1/model.tar.gz",
            artifact_sse="AES256", vpc=None, network_isolation=False, data_capture=False, monitors=(),
            monitor_alarm=False, alarms=(), dashboard=False, rollback=False, log_retention=None),
        Endpoint("demo-always-on-dev", PRIMARY, {**DEV, "always-on": "true"}, [
            Variant("main", "ml.m5.large", count=1, hourly_invocations=IDLE, cpu_load=2.0),
        ], artifact="s3://acme-ml-models-dev/models/demo/v1.0.0/model.tar.gz", artifact_sse="AES256",
            monitors=(), monitor_alarm=False, rollback=False),
        Endpoint("forecast-dev", PRIMARY, {**DEV, "owner": "<script>alert('tag')</script>"}, [
            Variant("main", "ml.m6i.xlarge", count=1, hourly_invocations=IDLE, cpu_load=1.0),
        ], artifact="s3://acme-ml-models-dev/models/forecast/v2.0.0-rc.1/model.tar.gz", artifact_sse="AES256",
            monitors=(), monitor_alarm=False, rollback=False, role="sagemaker-exec-admin"),
        Endpoint("image-classifier-dev", PRIMARY, dict(DEV), [
            Variant("main", "ml.m5.large", count=1),
        ], image="registry.internal.example:5000/vision/classifier:7", private_registry=True,
            artifact="s3://acme-ml-models-dev/models/image-classifier/v1.0.0/model.tar.gz", artifact_sse="AES256",
            monitors=(), monitor_alarm=False, rollback=False),
        Endpoint("legacy-scoring-dev", PRIMARY, dict(DEV), [
            Variant("main", "ml.m5.large", count=1),
        ], delete_model=True, monitors=(), monitor_alarm=False, rollback=False),
        # Second region: a production endpoint with no autoscaling, and a development one.
        Endpoint("fraud-detector-prod-eu", SECONDARY, dict(PROD), [
            Variant("main", "ml.m5.large", count=2),
        ], image=DLC, artifact="s3://acme-ml-models-eu/models/fraud-detector/v1.2.0/model.tar.gz",
            monitors=("DataQuality",), monitor_alarm=False, rollback=False, dashboard=False),
        Endpoint("translation-dev-eu", SECONDARY, dict(DEV), [
            Variant("main", "ml.m5.large", count=1, hourly_invocations=[30] * 24),
        ], artifact="s3://acme-ml-models-eu/models/translation/v0.9.0/model.tar.gz", monitors=(),
            monitor_alarm=False, rollback=False),
        *shapes(),
    ]


def shapes() -> list[Endpoint]:
    """One production endpoint per hosting shape other than plain real-time (issue 19)."""
    return [
        # Asynchronous, batch-designated, large GPU, scaling to zero on its backlog; results without a KMS key.
        Endpoint("doc-summariser-async-prod", PRIMARY, {**PROD, "workload": "batch"}, [
            Variant("main", "ml.p4d.24xlarge", count=1, scaling=BACKLOG_SCALING, gpu_load=55.0),
        ], image=DLC_GPU, package="doc-summariser", async_output={
            "S3OutputPath": "s3://acme-ml-async/doc-summariser/out/",
            "S3FailurePath": "s3://acme-ml-async/doc-summariser/failed/"}),
        # Multi-model endpoint: the artifact is a prefix of model archives; Model Monitor unsupported.
        Endpoint("catalog-mme-prod", PRIMARY, dict(PROD), [
            Variant("main", "ml.m5.large", count=2, scaling=GOOD_SCALING),
        ], multi_model=True, artifact="s3://acme-ml-models-prod/models/catalog-mme/v1.0.0/", deployment=CANARY,
            monitors=(), monitor_alarm=False),
        # A shadow variant testing a candidate from an unapproved registry with an admin role.
        Endpoint("ranker-shadow-prod", PRIMARY, dict(PROD), [
            Variant("main", "ml.m5.large", count=2, scaling=GOOD_SCALING),
        ], package="ranker-shadow", deployment=CANARY, shadow=Variant("candidate", "ml.m5.large", count=1),
            shadow_image=UNAPPROVED),
        # Serverless with provisioned concurrency: no VPC, network isolation, capture or Model Monitor possible.
        Endpoint("quote-serverless-prod", PRIMARY, dict(PROD), [
            Variant("main", None, count=0, serverless=True, provisioned_concurrency=2),
        ], image=SKLEARN, package="quote", vpc=None, network_isolation=False, data_capture=False, monitors=(),
            monitor_alarm=False),
        # Inference pipeline: a scikit-learn pre-processing container before the serving one.
        Endpoint("claims-pipeline-prod", PRIMARY, dict(PROD), [
            Variant("main", "ml.m5.large", count=2, scaling=GOOD_SCALING),
        ], pipeline=(SKLEARN,), deployment=CANARY),
        # An uncompressed model (ModelDataSource S3Prefix) on a large GPU instance.
        Endpoint("llm-assist-prod", PRIMARY, dict(PROD), [
            Variant("main", "ml.g5.48xlarge", count=2, gpu_load=45.0,
                    scaling=(2, 4, "GPUUtilization", 560.0, 60, 300)),
        ], image=DLC_GPU, data_source=True, artifact="s3://acme-ml-models-prod/models/llm-assist/v2.1.0/",
            deployment=CANARY),
        # An AWS Marketplace model package (another account): the seller's image, an artifact not ours to read.
        Endpoint("vendor-sentiment-prod", PRIMARY, dict(PROD), [
            Variant("main", "ml.m5.large", count=2, scaling=GOOD_SCALING),
        ], marketplace_package=MARKETPLACE, deployment=CANARY),
    ]
