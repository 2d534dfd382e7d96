"""Endpoint remediators: stop an idle endpoint (restorable exactly), enable data capture with auto-rollback."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from auditor.remediate.registry import WAIT, Call, Inverse, Plan, Target, UndoOp, remediator, wait_in_service, wait_op
from auditor.remediate.stopstate import encode, is_marker, restore_state, stop_calls

SM = "sagemaker"
AAS = "application-autoscaling"
DIM = "sagemaker:variant:DesiredInstanceCount"


def scaling_key(f: dict[str, Any], _b: dict[str, Any]) -> dict[str, Any]:
    """A scalable target's identity, as the forward call named it (the namespace and dimension are ours)."""
    return {"ServiceNamespace": SM, "ResourceId": f["ResourceId"], "ScalableDimension": DIM}


def policy_key(f: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {**scaling_key(f, b), "PolicyName": f["PolicyName"]}


POLICY_BODY = ("PolicyType", "TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")


# A new endpoint config deployed with UpdateEndpoint: undo switches back to the config recorded as the before-state.
NEW_CONFIG_INVERSES = (
    Inverse("sagemaker:create_endpoint_config"),  # kept: configs are never deleted
    Inverse("sagemaker:update_endpoint", (UndoOp("sagemaker:update_endpoint", lambda f, b: {
        "EndpointName": f["EndpointName"], "EndpointConfigName": b["endpoint_config"],
        "RetainAllVariantProperties": True}, ("DeploymentConfig",)), wait_op())),
    Inverse(f"sagemaker:{WAIT}"),
)


def new_config_calls(t: Target, desc: dict[str, Any], mutate: Callable[[dict[str, Any]], bool], suffix: str,
                     what: str, deployment: dict[str, Any] | None = None) -> list[Call]:
    """Copy the endpoint's config, change it, create it under a new name and UpdateEndpoint to it (keeping current
    counts and weights). Undo switches back to the original config; neither config is ever deleted."""
    sm = t.client(SM, t.region)
    name = desc["EndpointName"]
    cfg = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
    body = {k: cfg[k] for k in ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig")
            if cfg.get(k)}
    if not mutate(body):
        return []
    tags = sm.list_tags(ResourceArn=cfg["EndpointConfigArn"]).get("Tags", [])
    tags = [x for x in tags if not x["Key"].startswith("auditor:")] + [
        {"Key": "auditor:derived-from", "Value": desc["EndpointConfigName"]}]
    new_name = f"{desc['EndpointConfigName'][:48]}-{suffix}-{uuid.uuid4().hex[:6]}"
    previous = desc.get("LastDeploymentConfig")
    back: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": desc["EndpointConfigName"],
                            "RetainAllVariantProperties": True}
    if previous:
        back["DeploymentConfig"] = previous
    update: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": new_name, "RetainAllVariantProperties": True}
    if deployment or previous:
        update["DeploymentConfig"] = deployment or previous
    return [
        Call(SM, "create_endpoint_config", {"EndpointConfigName": new_name, **body, "Tags": tags}, t.region,
             f"new endpoint config {new_name} ({what})"),
        Call(SM, "update_endpoint", update, t.region, f"deploy {new_name} to {name}",
             (Call(SM, "update_endpoint", back, t.region, f"switch back to {desc['EndpointConfigName']}"),
              wait_in_service(name, t.region))),
        wait_in_service(name, t.region),
    ]


@remediator("enable-data-capture", [
    "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:CreateEndpointConfig",
    "sagemaker:UpdateEndpoint", "sagemaker:ListTags", "sagemaker:AddTags", "cloudwatch:DescribeAlarms"],
    params={"sampling_percentage": 20, "destination": None},
    example="rule SM-06-data-capture -> new config with DataCaptureConfig + UpdateEndpoint (blue/green, auto-rollback)",
    inverses=NEW_CONFIG_INVERSES)
def enable_data_capture(t: Target) -> Plan:
    """Deploy a copy of the endpoint config with data capture on (inputs and outputs), through a blue/green update
    that rolls back automatically on the endpoint's CloudWatch alarms. Capture lands beside the model artifacts
    (s3://ARTIFACT-BUCKET/data-capture/ENDPOINT/) unless `destination` is set."""
    p = t.plan("enable-data-capture", f"enable data capture on {t.name}")
    sm = t.client(SM, t.region)
    desc = sm.describe_endpoint(EndpointName=t.name)
    p.before = {"endpoint_config": desc["EndpointConfigName"], "last_deployment_config":
                desc.get("LastDeploymentConfig"), "data_capture": desc.get("DataCaptureConfig")}
    limit = (t.graph.attrs(t.arn)["data"].get("unsupported") or {}).get("data_capture") if t.arn in t.graph else None
    if limit:  # a hosting shape AWS gives no data capture (serverless): a new config would be refused
        p.skip_reason = limit
        return p
    destination = t.params.get("destination") or _artifact_bucket_uri(t)
    if not destination:
        p.skip_reason = "no destination: set remediation param `destination` (no artifact bucket to default to)"
        return p
    alarms = [t.graph.attrs(a)["name"] for a in t.graph.related(t.arn, "alarmed_by")]
    deployment: dict[str, Any] = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
        "TerminationWaitInSeconds": 300}}
    if alarms:
        deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms[:10]]}

    def capture(cfg: dict[str, Any]) -> bool:
        if (cfg.get("DataCaptureConfig") or {}).get("EnableCapture"):
            return False
        cfg["DataCaptureConfig"] = {
            "EnableCapture": True, "InitialSamplingPercentage": int(t.params["sampling_percentage"]),
            "DestinationS3Uri": f"{destination.rstrip('/')}/{t.name}" if not t.params.get("destination")
            else destination, "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
        return True

    p.calls = new_config_calls(t, desc, capture, "capture", "data capture on", deployment)
    if not p.calls:
        p.skip_reason = "data capture is already enabled"
    return p


def _artifact_bucket_uri(t: Target) -> str | None:
    g = t.graph
    for v in g.related(t.arn, "has_variant"):
        for m in g.related(v, "serves_model"):
            for c in g.related(m, "has_container"):
                for o in g.related(c, "artifact"):
                    bucket = g.attrs(o)["data"].get("bucket")
                    if bucket:
                        return f"s3://{bucket}/data-capture"
    return None


@remediator("stop-idle-endpoint", [
    "sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint", "sagemaker:CreateEndpoint", "sagemaker:ListTags",
    "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListMonitoringSchedules",
    "sagemaker:StopMonitoringSchedule", "sagemaker:StartMonitoringSchedule",
    "sagemaker:UpdateEndpointWeightsAndCapacities", "cloudwatch:GetMetricData",
    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:PutScalingPolicy"],
    params={"idle_window": "24h", "always_on": {"tag": "always-on", "values": ["true"]}},
    example="rule SM-14-idle-endpoint -> save state, stop schedules, remove scaling, delete the endpoint (restorable)",
    inverses=(
        Inverse("sagemaker:add_tags", (UndoOp("sagemaker:delete_tags", lambda f, _b: {
            "ResourceArn": f["ResourceArn"],
            "TagKeys": [x["Key"] for x in f["Tags"] if is_marker(x["Key"])]}),)),
        Inverse("sagemaker:stop_monitoring_schedule", (UndoOp("sagemaker:start_monitoring_schedule", lambda f, _b: {
            "MonitoringScheduleName": f["MonitoringScheduleName"]}),)),
        Inverse("application-autoscaling:delete_scaling_policy", (UndoOp(
            "application-autoscaling:put_scaling_policy", policy_key, POLICY_BODY),)),
        Inverse("application-autoscaling:deregister_scalable_target", (UndoOp(
            "application-autoscaling:register_scalable_target", scaling_key, ("MinCapacity", "MaxCapacity")),)),
        Inverse("sagemaker:delete_endpoint", (
            UndoOp("sagemaker:create_endpoint", lambda f, b: {
                "EndpointName": f["EndpointName"], "EndpointConfigName": b["endpoint"]["EndpointConfigName"]},
                ("Tags", "DeploymentConfig")),
            wait_op(),
            UndoOp("sagemaker:update_endpoint_weights_and_capacities", lambda f, _b: {
                "EndpointName": f["EndpointName"]}, ("DesiredWeightsAndCapacities",)))),
    ))
def stop_idle_endpoint(t: Target) -> Plan:
    """Stop an idle endpoint: re-check it is still idle, save everything needed to recreate it exactly (config,
    tags, deployment config, weights and counts, scaling targets and policies, monitoring schedules) in the journal
    and as tags on its endpoint config, then delete the endpoint. Its config, model and artifacts stay.
    `audit restore` (or undo) recreates it with the same name, config, tags, scaling and capacities."""
    from auditor.engine.operators import parse_duration

    p = t.plan("stop-idle-endpoint", f"stop idle endpoint {t.name}")
    sm = t.client(SM, t.region)
    aas = t.client(AAS, t.region)
    desc = sm.describe_endpoint(EndpointName=t.name)
    if desc.get("EndpointStatus") != "InService":
        p.skip_reason = f"endpoint is {desc.get('EndpointStatus')}, not InService"
        return p
    tags = sm.list_tags(ResourceArn=desc["EndpointArn"]).get("Tags", [])
    if designated(tags, t.params["always_on"]):  # the configured designation, as the audit evaluated it
        p.skip_reason = f"designated always-on (tag {t.params['always_on']['tag']})"
        return p
    window = parse_duration(t.params["idle_window"])
    recent = _invocations(t, desc, window)
    if recent > 0:
        p.skip_reason = f"received {recent:g} invocations since the audit window began: no longer idle"
        return p
    variants = desc.get("ProductionVariants", [])
    rids = [f"endpoint/{t.name}/variant/{v['VariantName']}" for v in variants]
    targets = aas.describe_scalable_targets(ServiceNamespace=SM, ResourceIds=rids, ScalableDimension=DIM).get(
        "ScalableTargets", []) if rids else []
    policies = [x for rid in rids for x in aas.describe_scaling_policies(
        ServiceNamespace=SM, ResourceId=rid, ScalableDimension=DIM).get("ScalingPolicies", [])]
    schedules = sm.list_monitoring_schedules(EndpointName=t.name).get("MonitoringScheduleSummaries", [])
    state = restore_state(desc, tags, targets, policies, schedules)
    p.before = {"endpoint": {k: desc.get(k) for k in ("EndpointName", "EndpointArn", "EndpointConfigName",
                                                        "LastDeploymentConfig", "ProductionVariants")},
                "tags": tags, "scalable_targets": targets, "scaling_policies": policies,
                "monitoring_schedules": [{"name": s["MonitoringScheduleName"], "status": s["MonitoringScheduleStatus"]}
                                         for s in schedules], "restore": state}
    cfg_arn = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])["EndpointConfigArn"]
    stopped_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    p.calls = stop_calls(t.name, t.region, cfg_arn, state, stopped_at, t.run_id)
    if not encode(state):
        p.notes.append("the saved state is too large for the config's tags: restore it with --journal")
    return p


def designated(tags: list[dict[str, str]], designation: dict[str, Any]) -> bool:
    """Tag key and value compared case-insensitively, as the rule engine's designation condition does."""
    values = {str(v).lower() for v in designation["values"]}
    return any(x["Key"].lower() == str(designation["tag"]).lower() and x["Value"].lower() in values for x in tags)


def _invocations(t: Target, desc: dict[str, Any], window: dt.timedelta) -> float:
    """Invocations per EndpointName+VariantName over the window, re-read now (both dimensions, as the rule does)."""
    cw = t.client("cloudwatch", t.region)
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    queries = [{"Id": f"q{i}", "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations",
                                                         "Dimensions": [{"Name": "EndpointName", "Value": t.name},
                                                                        {"Name": "VariantName",
                                                                         "Value": v["VariantName"]}]},
                                              "Period": 3600, "Stat": "Sum"}}
               for i, v in enumerate(desc.get("ProductionVariants", []))]
    if not queries:
        return 0.0
    res = cw.get_metric_data(MetricDataQueries=queries, StartTime=end - window, EndTime=end)
    return float(sum(sum(r.get("Values", [])) for r in res.get("MetricDataResults", [])))
