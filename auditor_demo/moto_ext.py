"""Our moto extension: the SageMaker and CloudWatch behaviour the auditor needs that moto lacks.

Added faithfully to the AWS API reference:
- SageMaker monitoring schedules (Create/Describe/List/Delete/Start/Stop MonitoringSchedule) with real paging;
- the four monitoring job definitions (Create/Describe/Delete {DataQuality,ModelQuality,ModelBias,
  ModelExplainability}JobDefinition);
- UpdateEndpoint, and CreateEndpoint's DeploymentConfig kept and returned as LastDeploymentConfig;
- CreateModel's EnableNetworkIsolation;
- CreateEndpointConfig's ShadowProductionVariants (validated and returned like ProductionVariants), and the
  endpoint's runtime ShadowProductionVariants (CreateEndpoint, UpdateEndpoint), which moto drops;
- Application Auto Scaling DescribeScalableTargets paging past the second page;
- endpoint-config ARNs as strings, so the Resource Groups Tagging API reports their tags;
- Resource Groups Tagging API GetResources with ResourceARNList answered in full, without paging, as AWS does;
- Search(Resource="Model") with the model's tags and real paging (moto has no Model search and pages none), and
  Search(Resource="Endpoint") in the API's Endpoint shape (DescribeEndpoint's answer less LastDeploymentConfig and
  the other members only DescribeEndpoint returns, with the endpoint's tags and monitoring schedules), sorted by
  LastModifiedTime by default and paged (moto's returns its internal shape, unpaged);
- BatchDescribeModelPackage (summaries with InferenceSpecification, unknown ARNs in the error map);
- DescribeModelPackage of another account's package denied, as AWS denies a cross-account read that no resource
  policy allows (moto looked the ARN up in the caller's own packages and answered "not found"), except for AWS
  Marketplace packages listed with `list_marketplace_package`, which subscribers may describe: the seller's image
  and ProductId, no artifact;
- modern hosting instance types (ml.g5.*, ml.m6i.*, ...) accepted by CreateEndpointConfig;
- CloudWatch GetMetricData: namespace honoured together with dimensions (matched as a set, in any order),
  percentile statistics (pNN, pNN.NN), and bucketing that is linear in the data;
- S3 object requests atomic with respect to each other, as S3's conditional writes (IfMatch / IfNoneMatch) are:
  moto checks the condition and then writes, so two threads could both pass the check (or one read a key's
  body while another replaced it).

`install()` is idempotent and patches classes, so it works for `mock_aws` and for `ThreadedMotoServer`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

_INSTALLED = False
SCHEDULE_PAGE_DEFAULT = 10  # ListMonitoringSchedules MaxResults default
SEARCH_PAGE_DEFAULT = 10  # Search MaxResults default
PACKAGE_SUMMARY = ("ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelPackageDescription",
                   "CreationTime", "InferenceSpecification", "ModelPackageStatus", "ModelApprovalStatus")
JOB_KINDS = {
    "DataQuality": "data-quality",
    "ModelQuality": "model-quality",
    "ModelBias": "model-bias",
    "ModelExplainability": "model-explainability",
}


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    _patch_sagemaker()
    _patch_cloudwatch()
    _patch_autoscaling()
    _patch_tagging()
    _patch_s3()
    _INSTALLED = True


# -- SageMaker ------------------------------------------------------------------------------------

def _patch(target: Any, name: str, value: Any) -> None:
    """Install one added or replaced method on a moto class."""
    setattr(target, name, value)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _state(backend: Any) -> dict[str, dict[Any, Any]]:
    st = backend.__dict__.get("_auditor_ext")
    if st is None:
        st = {"schedules": {}, "job_definitions": {}}
        backend.__dict__["_auditor_ext"] = st
    return st


def _validation(msg: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=msg)


def _not_found(msg: str) -> Exception:
    from moto.sagemaker.exceptions import ResourceNotFound

    return ResourceNotFound(message=msg)


def _patch_sagemaker() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker import models as sm_models
    from moto.sagemaker.responses import SageMakerResponse

    from auditor.collect.sagemaker import instance_types

    # Modern instance types: accept every type in our instance table in addition to moto's list.
    original_validate = sm_models.FakeEndpointConfig.validate_instance_type

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if instance_type in instance_types():
            return
        original_validate(self, instance_type)

    _patch(sm_models.FakeEndpointConfig, "validate_instance_type", validate_instance_type)

    # moto stores an endpoint config's ARN as a 1-tuple, so the Resource Groups Tagging API lists it as
    # "('arn:...',)" and never matches it in ResourceARNList: read it as the string it is.
    _patch(sm_models.FakeEndpointConfig, "arn", property(
        lambda self: self.endpoint_config_arn, lambda self, value: None))

    # CreateModel: EnableNetworkIsolation
    original_create_model = SageMakerResponse.create_model

    def create_model(self: Any) -> Any:
        result = original_create_model(self)
        model = self.sagemaker_backend._models[self._get_param("ModelName")]
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    _patch(SageMakerResponse, "create_model", create_model)

    # CreateEndpointConfig: ShadowProductionVariants (one shadow beside one production variant, as the API reference
    # says), validated like production variants
    original_create_config = SageMakerResponse.create_endpoint_config

    def create_endpoint_config(self: Any) -> Any:
        shadows = self._get_param("ShadowProductionVariants") or []
        if shadows and (len(shadows) != 1 or len(self._get_param("ProductionVariants") or []) != 1):
            raise _validation("With ShadowProductionVariants you can only specify one variant for "
                              "ProductionVariants and one variant for ShadowProductionVariants")
        result = original_create_config(self)
        if shadows:
            config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
            config.validate_production_variants(shadows)
            config.shadow_production_variants = shadows  # returned as ShadowProductionVariants
        return result

    _patch(SageMakerResponse, "create_endpoint_config", create_endpoint_config)

    # CreateEndpoint: keep DeploymentConfig, return it as LastDeploymentConfig; the runtime shadow variants
    original_create_endpoint = SageMakerResponse.create_endpoint

    def create_endpoint(self: Any) -> Any:
        result = original_create_endpoint(self)
        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        endpoint.last_deployment_config = self._get_param("DeploymentConfig")
        _set_shadow_runtime(endpoint, self.sagemaker_backend.endpoint_configs[endpoint.endpoint_config_name])
        return result

    _patch(SageMakerResponse, "create_endpoint", create_endpoint)

    def update_endpoint(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            arn = sm_models.FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
            raise _validation(f"Could not find endpoint '{arn}'.")
        config_name = self._get_param("EndpointConfigName")
        if config_name not in backend.endpoint_configs:
            arn = sm_models.FakeEndpointConfig.arn_formatter(config_name, backend.account_id, backend.region_name)
            raise _validation(f"Could not find endpoint configuration '{arn}'.")
        config = backend.endpoint_configs[config_name]
        new_variants = endpoint._process_production_variants(config.production_variants)
        if self._get_param("RetainAllVariantProperties"):
            excluded = {p["VariantPropertyType"] for p in self._get_param("ExcludeRetainedVariantProperties") or []}
            old = {v["VariantName"]: v for v in endpoint.production_variants}
            for v in new_variants:
                prev = old.get(v["VariantName"])
                if not prev:
                    continue
                if "DesiredInstanceCount" not in excluded:
                    for k in ("CurrentInstanceCount", "DesiredInstanceCount"):
                        if k in prev:
                            v[k] = prev[k]
                if "DesiredWeight" not in excluded:
                    for k in ("CurrentWeight", "DesiredWeight"):
                        if k in prev:
                            v[k] = prev[k]
        endpoint.production_variants = new_variants
        endpoint.endpoint_config_name = config_name
        _set_shadow_runtime(endpoint, config)
        endpoint.data_capture_config = config.data_capture_config
        deployment = self._get_param("DeploymentConfig")
        if deployment:
            endpoint.last_deployment_config = deployment
        elif not self._get_param("RetainDeploymentConfig"):
            endpoint.last_deployment_config = None
        endpoint.last_modified_time = _now()
        return ActionResult({"EndpointArn": endpoint.arn})

    _patch(SageMakerResponse, "update_endpoint", update_endpoint)

    # DescribeModelPackage: ModelPackageName is required in the answer; for a versioned package AWS returns the
    # group's name there (moto drops the key).
    original_package_response = sm_models.ModelPackage.gen_response_object

    def package_response(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = original_package_response(self)
        out.setdefault("ModelPackageName", self.model_package_group_name or self.model_package_name)
        return out

    _patch(sm_models.ModelPackage, "gen_response_object", package_response)

    original_describe_package = sm_models.SageMakerModelBackend.describe_model_package

    def describe_model_package(self: Any, model_package_name: str) -> Any:
        parts = model_package_name.split(":")
        if model_package_name in MARKETPLACE:
            return _MarketplacePackage(MARKETPLACE[model_package_name])
        if model_package_name.startswith("arn:") and len(parts) > 4 and parts[4] != self.account_id:
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError("AccessDeniedException", f"User: arn:aws:sts::{self.account_id}:assumed-role/auditor "
                                f"is not authorized to perform: sagemaker:DescribeModelPackage on resource: "
                                f"{model_package_name} because no resource-based policy allows it")
        return original_describe_package(self, model_package_name)

    _patch(sm_models.SageMakerModelBackend, "describe_model_package", describe_model_package)

    # Monitoring job definitions
    def _make_job_def_handlers(kind: str) -> None:
        slug = JOB_KINDS[kind]
        fields = [f"{kind}BaselineConfig", f"{kind}AppSpecification", f"{kind}JobInput", f"{kind}JobOutputConfig",
                  "JobResources", "NetworkConfig", "RoleArn", "StoppingCondition"]

        def create(self: Any) -> Any:
            backend = self.sagemaker_backend
            name = self._get_param("JobDefinitionName")
            defs = _state(backend)["job_definitions"]
            if (kind, name) in defs:
                raise _validation(f"Job definition {name} already exists")
            for required in (f"{kind}JobInput", f"{kind}JobOutputConfig", "JobResources", "RoleArn"):
                if self._get_param(required) is None:
                    raise _validation(f"1 validation error detected: Value null at '{required}' failed to satisfy "
                                      "constraint: Member must not be null")
            arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{slug}-job-definition/{name}"
            rec = {f: self._get_param(f) for f in fields if self._get_param(f) is not None}
            rec.update(JobDefinitionArn=arn, JobDefinitionName=name, CreationTime=_now(),
                       Tags=self._get_param("Tags") or [])
            defs[(kind, name)] = rec
            return ActionResult({"JobDefinitionArn": arn})

        def describe(self: Any) -> Any:
            name = self._get_param("JobDefinitionName")
            rec = _state(self.sagemaker_backend)["job_definitions"].get((kind, name))
            if rec is None:
                raise _not_found(f"Job definition {name} not found")
            return ActionResult({k: v for k, v in rec.items() if k != "Tags"})

        def delete(self: Any) -> Any:
            name = self._get_param("JobDefinitionName")
            if _state(self.sagemaker_backend)["job_definitions"].pop((kind, name), None) is None:
                raise _not_found(f"Job definition {name} not found")
            return EmptyResult()

        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
        setattr(SageMakerResponse, f"create_{snake}_job_definition", create)
        setattr(SageMakerResponse, f"describe_{snake}_job_definition", describe)
        setattr(SageMakerResponse, f"delete_{snake}_job_definition", delete)

    for kind in JOB_KINDS:
        _make_job_def_handlers(kind)

    def _schedule_endpoint(backend: Any, cfg: dict[str, Any]) -> str | None:
        mtype = cfg.get("MonitoringType") or "DataQuality"
        if cfg.get("MonitoringJobDefinitionName"):
            rec = _state(backend)["job_definitions"].get((mtype, cfg["MonitoringJobDefinitionName"]))
            if rec is None:
                raise _validation(f"Monitoring job definition {cfg['MonitoringJobDefinitionName']} of type {mtype} "
                                  "does not exist")
            return (rec.get(f"{mtype}JobInput", {}).get("EndpointInput") or {}).get("EndpointName")
        inline = cfg.get("MonitoringJobDefinition") or {}
        inputs = inline.get("MonitoringInputs") or [{}]
        return (inputs[0].get("EndpointInput") or {}).get("EndpointName")

    def create_monitoring_schedule(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("MonitoringScheduleName")
        cfg = self._get_param("MonitoringScheduleConfig") or {}
        schedules = _state(backend)["schedules"]
        if name in schedules:
            raise _validation(f"Monitoring schedule {name} already exists")
        if bool(cfg.get("MonitoringJobDefinitionName")) == bool(cfg.get("MonitoringJobDefinition")):
            raise _validation("Exactly one of MonitoringJobDefinition or MonitoringJobDefinitionName is required")
        endpoint_name = _schedule_endpoint(backend, cfg)
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:monitoring-schedule/{name}"
        now = _now()
        schedules[name] = {
            "MonitoringScheduleArn": arn, "MonitoringScheduleName": name, "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": cfg.get("MonitoringType") or "DataQuality", "CreationTime": now,
            "LastModifiedTime": now, "MonitoringScheduleConfig": cfg, "EndpointName": endpoint_name,
            "Tags": self._get_param("Tags") or [],
        }
        return ActionResult({"MonitoringScheduleArn": arn})

    def describe_monitoring_schedule(self: Any) -> Any:
        name = self._get_param("MonitoringScheduleName")
        rec = _state(self.sagemaker_backend)["schedules"].get(name)
        if rec is None:
            raise _not_found(f"Monitoring schedule {name} not found")
        return ActionResult({k: v for k, v in rec.items() if k != "Tags" and v is not None})

    def list_monitoring_schedules(self: Any) -> Any:
        recs = list(_state(self.sagemaker_backend)["schedules"].values())
        ep = self._get_param("EndpointName")
        if ep:
            recs = [r for r in recs if r["EndpointName"] == ep]
        if self._get_param("StatusEquals"):
            recs = [r for r in recs if r["MonitoringScheduleStatus"] == self._get_param("StatusEquals")]
        if self._get_param("MonitoringTypeEquals"):
            recs = [r for r in recs if r["MonitoringType"] == self._get_param("MonitoringTypeEquals")]
        if self._get_param("NameContains"):
            recs = [r for r in recs if self._get_param("NameContains") in r["MonitoringScheduleName"]]
        reverse = (self._get_param("SortOrder") or "Descending") == "Descending"
        sort_key = {"Name": "MonitoringScheduleName", "Status": "MonitoringScheduleStatus"}.get(
            self._get_param("SortBy") or "CreationTime", "CreationTime")
        recs.sort(key=lambda r: (r[sort_key], r["MonitoringScheduleName"]), reverse=reverse)
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or SCHEDULE_PAGE_DEFAULT)
        page = recs[start:start + size]
        summaries = [{
            "MonitoringScheduleName": r["MonitoringScheduleName"], "MonitoringScheduleArn": r["MonitoringScheduleArn"],
            "CreationTime": r["CreationTime"], "LastModifiedTime": r["LastModifiedTime"],
            "MonitoringScheduleStatus": r["MonitoringScheduleStatus"], "EndpointName": r["EndpointName"],
            "MonitoringJobDefinitionName": r["MonitoringScheduleConfig"].get("MonitoringJobDefinitionName"),
            "MonitoringType": r["MonitoringType"],
        } for r in page]
        out: dict[str, Any] = {"MonitoringScheduleSummaries": [{k: v for k, v in s.items() if v is not None}
                                                               for s in summaries]}
        if start + size < len(recs):
            out["NextToken"] = str(start + size)
        return ActionResult(out)

    def _set_status(status: str) -> Any:
        def handler(self: Any) -> Any:
            name = self._get_param("MonitoringScheduleName")
            rec = _state(self.sagemaker_backend)["schedules"].get(name)
            if rec is None:
                raise _not_found(f"Monitoring schedule {name} not found")
            rec["MonitoringScheduleStatus"] = status
            rec["LastModifiedTime"] = _now()
            return EmptyResult()
        return handler

    def delete_monitoring_schedule(self: Any) -> Any:
        name = self._get_param("MonitoringScheduleName")
        if _state(self.sagemaker_backend)["schedules"].pop(name, None) is None:
            raise _not_found(f"Monitoring schedule {name} not found")
        return EmptyResult()

    _patch(SageMakerResponse, "create_monitoring_schedule", create_monitoring_schedule)
    _patch(SageMakerResponse, "describe_monitoring_schedule", describe_monitoring_schedule)
    _patch(SageMakerResponse, "list_monitoring_schedules", list_monitoring_schedules)
    _patch(SageMakerResponse, "stop_monitoring_schedule", _set_status("Stopped"))
    _patch(SageMakerResponse, "start_monitoring_schedule", _set_status("Scheduled"))
    _patch(SageMakerResponse, "delete_monitoring_schedule", delete_monitoring_schedule)

    # Search(Resource="Model"): moto knows no Model search and pages no search at all.
    original_search = SageMakerResponse.search

    def search(self: Any) -> Any:
        resource = self._get_param("Resource")
        if resource not in ("Model", "Endpoint"):
            return original_search(self)
        if self._get_param("SearchExpression"):
            raise _validation(f"this moto extension implements Search(Resource={resource}) without a "
                              "SearchExpression")
        backend = self.sagemaker_backend
        size = int(self._get_param("MaxResults") or SEARCH_PAGE_DEFAULT)
        if not 1 <= size <= 100:
            raise _validation(f"Value '{size}' at 'maxResults' failed to satisfy constraint: "
                              "Member must have value less than or equal to 100")
        reverse = (self._get_param("SortOrder") or "Descending") == "Descending"
        start = int(self._get_param("NextToken") or 0)
        results: list[dict[str, Any]]
        if resource == "Model":
            models = sorted(backend._models.values(), key=lambda m: (m.creation_time, m.model_name), reverse=reverse)
            total = len(models)
            serving = _endpoints_by_model(backend)
            results = [{"Model": {"Model": _search_model(m), "Endpoints": serving.get(m.model_name, []),
                                  "MonitoringSchedules": []}} for m in models[start:start + size]]
        else:
            # SortBy defaults to LastModifiedTime (the API reference); CreationTime and the name are also accepted
            by = {"LastModifiedTime": "last_modified_time", "CreationTime": "creation_time",
                  "EndpointName": "endpoint_name"}.get(self._get_param("SortBy") or "LastModifiedTime")
            if by is None:
                raise _validation("this moto extension sorts Search(Resource=Endpoint) by LastModifiedTime, "
                                  "CreationTime or EndpointName")
            endpoints = sorted(backend.endpoints.values(), key=lambda e: (getattr(e, by), e.endpoint_name),
                               reverse=reverse)
            total = len(endpoints)
            schedules = list(_state(backend)["schedules"].values())
            results = [{"Endpoint": _search_endpoint(backend, e, schedules)} for e in endpoints[start:start + size]]
        out: dict[str, Any] = {"Results": results}
        if start + size < total:
            out["NextToken"] = str(start + size)
        return ActionResult(out)

    _patch(SageMakerResponse, "search", search)

    # BatchDescribeModelPackage (moto has none): 1 to 100 ARNs; the answer maps each ARN to its summary, and ARNs
    # that cannot be described go to BatchDescribeModelPackageErrorMap, as the API reference describes.
    def batch_describe_model_package(self: Any) -> Any:
        arns = self._get_param("ModelPackageArnList") or []
        if not 1 <= len(arns) <= 100:
            raise _validation("ModelPackageArnList must hold 1 to 100 ARNs")
        found: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for arn in arns:
            try:
                full = self.sagemaker_backend.describe_model_package(arn).gen_response_object()
            except Exception:  # noqa: BLE001 - moto's not-found error; reported per ARN as AWS does
                errors[arn] = {"ErrorCode": "ValidationException", "ErrorResponse": f"Model package {arn} not found"}
                continue
            found[arn] = {k: full[k] for k in PACKAGE_SUMMARY if full.get(k) is not None}
        return ActionResult({"ModelPackageSummaries": found, "BatchDescribeModelPackageErrorMap": errors})

    _patch(SageMakerResponse, "batch_describe_model_package", batch_describe_model_package)


# AWS Marketplace model packages (ARN -> what a subscriber's DescribeModelPackage returns); see list_marketplace_package.
MARKETPLACE: dict[str, dict[str, Any]] = {}


def list_marketplace_package(arn: str, image: str, product_id: str) -> None:
    """List a Marketplace model package that accounts may describe (as its subscribers): unversioned, with the
    seller's image and the listing's ProductId in its inference specification, no model artifact."""
    MARKETPLACE[arn] = {
        "ModelPackageName": arn.rsplit("/", 1)[-1], "ModelPackageArn": arn, "CreationTime": _now(),
        "ModelPackageStatus": "Completed", "CertifyForMarketplace": True,
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "InferenceSpecification": {"Containers": [{"Image": image, "ProductId": product_id}],
                                   "SupportedContentTypes": ["application/json"],
                                   "SupportedResponseMIMETypes": ["application/json"]},
    }


class _MarketplacePackage:
    def __init__(self, desc: dict[str, Any]) -> None:
        self.desc = desc

    def gen_response_object(self) -> dict[str, Any]:
        return dict(self.desc)


def _set_shadow_runtime(endpoint: Any, config: Any) -> None:
    """DescribeEndpoint's ShadowProductionVariants: the runtime summary of the config's shadow variants (absent
    when the config has none, as AWS omits it)."""
    shadows = getattr(config, "shadow_production_variants", None)
    if shadows:
        endpoint.shadow_production_variants = endpoint._process_production_variants(shadows)
    else:
        endpoint.__dict__.pop("shadow_production_variants", None)


def _search_model(model: Any) -> dict[str, Any]:
    """The Search API's Model shape: DescribeModel's fields plus the model's Tags."""
    out = {
        "ModelName": model.model_name, "PrimaryContainer": model.primary_container or None,
        "Containers": model.containers or None, "ExecutionRoleArn": model.execution_role_arn,
        "VpcConfig": model.vpc_config, "CreationTime": model.creation_time, "ModelArn": model.arn,
        "EnableNetworkIsolation": bool(getattr(model, "enable_network_isolation", False)),
        "Tags": list(model.tags or []),
    }
    return {k: v for k, v in out.items() if v is not None}


# The Search API's Endpoint shape: DescribeEndpoint's answer without LastDeploymentConfig, AsyncInferenceConfig,
# PendingDeploymentSummary, ExplainerConfig and the rest DescribeEndpoint alone returns, plus the endpoint's
# monitoring schedules and tags.
SEARCH_ENDPOINT = ("EndpointName", "EndpointArn", "EndpointConfigName", "ProductionVariants", "DataCaptureConfig",
                   "EndpointStatus", "FailureReason", "CreationTime", "LastModifiedTime", "ShadowProductionVariants")
SCHEDULE_MEMBERS = ("MonitoringScheduleArn", "MonitoringScheduleName", "MonitoringScheduleStatus", "MonitoringType",
                    "CreationTime", "LastModifiedTime", "MonitoringScheduleConfig", "EndpointName")


def _search_endpoint(backend: Any, endpoint: Any, schedules: list[dict[str, Any]]) -> dict[str, Any]:
    described = backend.describe_endpoint(endpoint.endpoint_name)
    out = {k: described[k] for k in SEARCH_ENDPOINT if described.get(k) is not None}
    mine = [{k: r[k] for k in SCHEDULE_MEMBERS if r.get(k) is not None} for r in schedules
            if r.get("EndpointName") == endpoint.endpoint_name]
    if mine:
        out["MonitoringSchedules"] = mine
    out["Tags"] = list(endpoint.tags or [])
    return out


def _endpoints_by_model(backend: Any) -> dict[str, list[dict[str, Any]]]:
    """The Search record's Endpoints (ModelDashboardEndpoint): the endpoints whose config serves each model."""
    out: dict[str, list[dict[str, Any]]] = {}
    for ep in backend.endpoints.values():
        cfg = backend.endpoint_configs.get(ep.endpoint_config_name)
        for model_name in {v.get("ModelName") for v in (cfg.production_variants if cfg else [])}:
            out.setdefault(model_name, []).append({
                "EndpointName": ep.endpoint_name, "EndpointArn": ep.arn, "CreationTime": ep.creation_time,
                "LastModifiedTime": ep.last_modified_time, "EndpointStatus": ep.endpoint_status})
    return out


# -- Application Auto Scaling -----------------------------------------------------------------------

# The service-linked role Application Auto Scaling uses when a target is registered without RoleARN.
SERVICE_LINKED_ROLES = {
    "sagemaker": "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
}


def _patch_autoscaling() -> None:
    """DescribeScalableTargets: moto's NextToken is the page's last index, not the list's, so a third page
    repeats the second forever (botocore stops with "the same next token was received twice"); and a target
    registered without RoleARN has AWS's service-linked role, which AWS always returns (RoleARN is required)."""
    import json

    from moto.applicationautoscaling import responses as aas_responses
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    def describe_scalable_targets(self: Any) -> str:
        self._validate_params()
        targets = self.applicationautoscaling_backend.describe_scalable_targets(
            self._get_param("ServiceNamespace"), self._get_param("ResourceIds"), self._get_param("ScalableDimension"))
        size = self._get_int_param("MaxResults") or 50
        start = int(self._get_param("NextToken") or 0)
        page = [aas_responses._build_target(t) for t in targets[start:start + size]]
        for t in page:
            if not t.get("RoleARN"):
                t["RoleARN"] = (f"arn:aws:iam::{self.current_account}:role/aws-service-role/"
                                f"{SERVICE_LINKED_ROLES.get(t['ServiceNamespace'], t['ServiceNamespace'])}")
        out: dict[str, Any] = {"ScalableTargets": page}
        if start + size < len(targets):
            out["NextToken"] = str(start + size)
        return json.dumps(out)

    _patch(ApplicationAutoScalingResponse, "describe_scalable_targets", describe_scalable_targets)


# -- S3 ------------------------------------------------------------------------------------------------

def _patch_s3() -> None:
    """One object request at a time: S3 evaluates a conditional write and applies it as one step."""
    import threading

    from moto.s3.responses import S3Response

    lock = threading.RLock()
    original = S3Response.key_response

    def key_response(self: Any, request: Any, full_url: str, headers: dict[str, Any]) -> Any:
        with lock:
            return original(self, request, full_url, headers)

    _patch(S3Response, "key_response", key_response)


# -- Resource Groups Tagging API ----------------------------------------------------------------------

def _patch_tagging() -> None:
    """GetResources with ResourceARNList: AWS answers for all (1-100) ARNs at once and allows no paging
    parameters with it; moto paged the answer at 50 resources / 100 tags, so the rest silently had no tags."""
    from moto.core.responses import ActionResult
    from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError
    from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse

    original = ResourceGroupsTaggingAPIResponse.get_resources

    def get_resources(self: Any) -> Any:
        arns = self._get_param("ResourceARNList") or []
        if not arns:
            return original(self)
        if not 1 <= len(arns) <= 100:
            raise ResourceGroupsTaggingAPIError("InvalidParameterException",
                                                "ResourceARNList must contain between 1 and 100 ARNs")
        if any(self._get_param(p) for p in ("PaginationToken", "ResourcesPerPage", "TagsPerPage")):
            raise ResourceGroupsTaggingAPIError(
                "InvalidParameterException",
                "ResourceARNList cannot be combined with PaginationToken, ResourcesPerPage or TagsPerPage")
        wanted = set(arns)
        found = [r for r in self.backend._get_resources_generator(
            tag_filters=self._get_param("TagFilters", []),
            resource_type_filters=self._get_param("ResourceTypeFilters", [])) if r.arn in wanted]
        return ActionResult({"ResourceTagMappingList": [
            {"ResourceARN": r.arn, "Tags": [{"Key": k, "Value": v} for k, v in r.tags.items()]} for r in found],
            "PaginationToken": ""})

    _patch(ResourceGroupsTaggingAPIResponse, "get_resources", get_resources)


# -- CloudWatch -----------------------------------------------------------------------------------

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as CloudWatch computes it for raw (non-aggregated) datapoints."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _statistic(stat: str, values: list[float]) -> float | None:
    if not values:
        return None
    m = PERCENTILE.match(stat)
    if m:
        return percentile(values, float(m.group(1)))
    return {
        "Sum": lambda: sum(values), "Average": lambda: sum(values) / len(values), "Minimum": lambda: min(values),
        "Maximum": lambda: max(values), "SampleCount": lambda: float(len(values)),
    }.get(stat, lambda: None)()


def _patch_cloudwatch() -> None:
    from moto.cloudwatch import models as cw_models

    original = cw_models.CloudWatchBackend.get_metric_data

    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: dt.datetime, end_time: dt.datetime,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        if any("MetricStat" not in q for q in queries):
            return original(self, queries, start_time, end_time, scan_by)
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            return original(self, queries, start_time, end_time, scan_by)
        # Index raw datapoints once by (namespace, name, dimension set): linear, not queries x data x periods.
        index: dict[tuple[str, str, frozenset[tuple[Any, Any]]], list[Any]] = {}
        for md in self.get_all_metrics():
            if start_time <= md.timestamp < end_time and isinstance(md, cw_models.MetricDatum):
                dims = frozenset((d.name, d.value) for d in md.dimensions)
                index.setdefault((md.namespace, md.name, dims), []).append(md)
        results = []
        for q in queries:
            stat = q["MetricStat"]
            metric = stat["Metric"]
            key = (metric["Namespace"], metric["MetricName"],
                   frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            period = int(stat["Period"])
            unit = stat.get("Unit")
            buckets: dict[int, list[float]] = {}
            for md in index.get(key, []):
                if unit and md.unit != unit:
                    continue
                slot = int((md.timestamp - start_time).total_seconds()) // period
                buckets.setdefault(slot, []).append(float(md.value))
            slots = sorted(buckets, reverse=scan_by == "TimestampDescending")
            values, stamps = [], []
            for s in slots:
                v = _statistic(stat["Stat"], buckets[s])
                if v is not None:
                    values.append(v)
                    stamps.append(start_time + dt.timedelta(seconds=s * period))
            results.append({"id": q["Id"], "label": q.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                            "values": values, "timestamps": stamps, "status_code": "Complete"})
        return results

    _patch(cw_models.CloudWatchBackend, "get_metric_data", get_metric_data)
