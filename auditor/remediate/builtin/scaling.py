"""Capacity remediators: autoscaling (target + target tracking on CPU/GPU) and the production instance minimum."""

from __future__ import annotations

from typing import Any

from auditor.remediate.builtin.endpoints import (
    NEW_CONFIG_INVERSES,
    POLICY_BODY,
    new_config_calls,
    policy_key,
    scaling_key,
)
from auditor.remediate.registry import Call, Inverse, Plan, Target, UndoOp, remediator, wait_in_service, wait_op

NS = "sagemaker"
DIM = "sagemaker:variant:DesiredInstanceCount"


RESTORE_TARGET = UndoOp("application-autoscaling:register_scalable_target", scaling_key, ("MinCapacity", "MaxCapacity"))
# a new target is removed again, an existing one gets its previous capacity back
REGISTER = Inverse("application-autoscaling:register_scalable_target", (
    UndoOp("application-autoscaling:deregister_scalable_target", scaling_key), RESTORE_TARGET))
def _rid(v: dict[str, Any]) -> str:
    return f"endpoint/{v['endpoint_name']}/variant/{v['variant_name']}"


def _target(aas: Any, rid: str) -> dict[str, Any] | None:
    found = aas.describe_scalable_targets(ServiceNamespace=NS, ResourceIds=[rid], ScalableDimension=DIM)
    return (found.get("ScalableTargets") or [None])[0]


def _register(rid: str, lo: int, hi: int, region: str, before: dict[str, Any] | None, why: str) -> Call:
    if before is None:
        undo: tuple[Call, ...] = (Call("application-autoscaling", "deregister_scalable_target", {
            "ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM}, region, "remove the target again"),)
    else:
        undo = (Call("application-autoscaling", "register_scalable_target", {
            "ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM,
            "MinCapacity": before["MinCapacity"], "MaxCapacity": before["MaxCapacity"]}, region,
            f"restore capacity {before['MinCapacity']}-{before['MaxCapacity']}"),)
    return Call("application-autoscaling", "register_scalable_target", {
        "ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM, "MinCapacity": lo, "MaxCapacity": hi},
        region, why, undo)


@remediator("configure-autoscaling", [
    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DeleteScalingPolicy",
    "iam:CreateServiceLinkedRole"],
    params={"min_capacity": 2, "max_capacity": 4, "target_percent": 70, "scale_out_cooldown": 60,
            "scale_in_cooldown": 300},
    example="rules SM-05-* -> register_scalable_target 2-4 + target tracking CPUUtilization at 70 x vCPUs",
    inverses=(REGISTER, Inverse("application-autoscaling:put_scaling_policy", (
        UndoOp("application-autoscaling:put_scaling_policy", policy_key, POLICY_BODY),
        UndoOp("application-autoscaling:delete_scaling_policy", policy_key)))))
def configure_autoscaling(t: Target) -> Plan:
    """Register the variant's scalable target and a target-tracking policy on CPU (GPU on GPU instances), with the
    target multiplied by the vCPU (GPU) count because SageMaker sums utilisation over cores."""
    v = t.data()
    p = t.plan("configure-autoscaling", f"autoscale {v['endpoint_name']}/{v['variant_name']}")
    if v.get("serverless"):
        p.skip_reason = "serverless variants scale by themselves"
        return p
    metric = "GPUUtilization" if v.get("is_gpu") else "CPUUtilization"
    units = v.get("gpus") if v.get("is_gpu") else v.get("vcpus")
    if not units:
        p.skip_reason = f"unknown core count for {v.get('instance_type')}: cannot normalise the {metric} target"
        return p
    aas = t.client("application-autoscaling", t.region)
    rid = _rid(v)
    target = _target(aas, rid)
    policies = aas.describe_scaling_policies(ServiceNamespace=NS, ResourceId=rid, ScalableDimension=DIM).get(
        "ScalingPolicies", [])
    p.before = {"target": target, "policies": policies}
    lo, hi = int(t.params["min_capacity"]), int(t.params["max_capacity"])
    if target is None or target["MinCapacity"] < lo or target["MaxCapacity"] < hi:
        new_lo = max(lo, target["MinCapacity"] if target else lo)
        new_hi = max(hi, target["MaxCapacity"] if target else hi, new_lo)
        p.calls.append(_register(rid, new_lo, new_hi, t.region, target, f"scalable target {new_lo}-{new_hi}"))
    want = float(t.params["target_percent"])
    good = [x for x in policies if x.get("PolicyType") == "TargetTrackingScaling" and _compliant(x, v, t.params)]
    if not good:
        name = f"auditor-{metric.lower()}-target-tracking"
        existing = next((x for x in policies if x["PolicyName"] == name), None)
        undo = (Call("application-autoscaling", "put_scaling_policy", _policy_args(existing, rid), t.region,
                     "restore the previous policy"),) if existing else (
            Call("application-autoscaling", "delete_scaling_policy", {
                "PolicyName": name, "ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM}, t.region,
                "remove the policy again"),)
        p.calls.append(Call("application-autoscaling", "put_scaling_policy", {
            "PolicyName": name, "ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": want * units,
                "CustomizedMetricSpecification": {
                    "MetricName": metric, "Namespace": "/aws/sagemaker/Endpoints", "Statistic": "Average",
                    "Dimensions": [{"Name": "EndpointName", "Value": v["endpoint_name"]},
                                   {"Name": "VariantName", "Value": v["variant_name"]}]},
                "ScaleOutCooldown": int(t.params["scale_out_cooldown"]),
                "ScaleInCooldown": int(t.params["scale_in_cooldown"])}},
            t.region, f"target tracking {metric} at {want:g} % per core ({want * units:g} for {units} cores)", undo))
    if not p.calls:
        p.skip_reason = "autoscaling is already configured as the policy asks"
    return p


def _compliant(policy: dict[str, Any], variant: dict[str, Any], params: dict[str, Any]) -> bool:
    from auditor.collect.autoscaling import policy_facts  # the collectors are not needed to list remediators

    f = policy_facts(policy, variant)
    want = float(params["target_percent"])
    # The same conditions as SM-05-target-tracking's first branch (its golden cases pin them).
    tracks = (f["metric_name"] == f["expected_metric"] and f["metric_namespace"] == "/aws/sagemaker/Endpoints"
              and {"EndpointName", "VariantName"} <= set(f["metric_dimensions"]))
    return bool(tracks and f["target_per_unit"] is not None
                and abs(f["target_per_unit"] - want) <= 5 and f["scale_out_cooldown"] == params["scale_out_cooldown"]
                and f["scale_in_cooldown"] == params["scale_in_cooldown"])


def _policy_args(policy: dict[str, Any] | None, rid: str) -> dict[str, Any]:
    assert policy is not None
    args = {"PolicyName": policy["PolicyName"], "ServiceNamespace": NS, "ResourceId": rid, "ScalableDimension": DIM,
            "PolicyType": policy["PolicyType"]}
    for k in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"):
        if policy.get(k):
            args[k] = policy[k]
    return args


@remediator("raise-min-instances", [
    "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:CreateEndpointConfig",
    "sagemaker:UpdateEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:ListTags",
    "sagemaker:AddTags", "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget"],
    params={"min_instances": 2},
    example="rule SM-04-min-instances -> autoscaling minimum 2, capacity 2, new config with InitialInstanceCount 2",
    inverses=(Inverse(REGISTER.forward, (RESTORE_TARGET,)),  # only ever raises an existing target's minimum
              *NEW_CONFIG_INVERSES, Inverse("sagemaker:update_endpoint_weights_and_capacities", (
        UndoOp("sagemaker:update_endpoint_weights_and_capacities", lambda f, _b: {"EndpointName": f["EndpointName"]},
               ("DesiredWeightsAndCapacities",)), wait_op()))))
def raise_min_instances(t: Target) -> Plan:
    """Bring a production variant to the minimum: the scalable target's MinCapacity when one exists, else the
    variant's capacity (UpdateEndpointWeightsAndCapacities); and a new endpoint config whose InitialInstanceCount
    meets the minimum, deployed with UpdateEndpoint keeping current counts and weights. No config is deleted."""
    v = t.data()
    want = int(t.params["min_instances"])
    p = t.plan("raise-min-instances", f"run {v['endpoint_name']}/{v['variant_name']} on at least {want} instances")
    sm = t.client("sagemaker", t.region)
    aas = t.client("application-autoscaling", t.region)
    desc = sm.describe_endpoint(EndpointName=v["endpoint_name"])
    live: dict[str, Any] = next((x for x in desc.get("ProductionVariants", [])
                                 if x["VariantName"] == v["variant_name"]), {})
    target = _target(aas, _rid(v))
    p.before = {"current_instance_count": live.get("CurrentInstanceCount"), "target": target,
                "endpoint_config": desc["EndpointConfigName"]}
    if target is not None and target["MinCapacity"] < want:
        p.calls.append(_register(_rid(v), want, max(want, target["MaxCapacity"]), t.region, target,
                                 f"autoscaling minimum {want}"))
    if (live.get("CurrentInstanceCount") or 0) < want:  # also with a target: scale out now, not on the next alarm
        p.calls.append(Call("sagemaker", "update_endpoint_weights_and_capacities", {
            "EndpointName": v["endpoint_name"], "DesiredWeightsAndCapacities": [
                {"VariantName": v["variant_name"], "DesiredInstanceCount": want}]}, t.region,
            f"capacity {want}", (Call("sagemaker", "update_endpoint_weights_and_capacities", {
                "EndpointName": v["endpoint_name"], "DesiredWeightsAndCapacities": [
                    {"VariantName": v["variant_name"], "DesiredInstanceCount": live.get("CurrentInstanceCount", 1)}]},
                t.region, "restore the previous capacity"), wait_in_service(v["endpoint_name"], t.region))))
        p.calls.append(wait_in_service(v["endpoint_name"], t.region))

    def raise_initial(cfg: dict[str, Any]) -> bool:
        changed = False
        for pv in cfg["ProductionVariants"]:
            ours = pv["VariantName"] == v["variant_name"] and "InstanceType" in pv
            if ours and pv.get("InitialInstanceCount", 0) < want:
                pv["InitialInstanceCount"] = want
                changed = True
        return changed

    p.calls += new_config_calls(t, desc, raise_initial, "ha", "initial instance count")
    if not p.calls:
        p.skip_reason = f"already at least {want} instances"
    return p
