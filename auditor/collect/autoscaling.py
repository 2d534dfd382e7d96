"""Application Auto Scaling collector: SageMaker variant scalable targets and their scaling policies."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, read_ahead

AAS = "application-autoscaling"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
UTILISATION = {"CPUUtilization": "vcpus", "GPUUtilization": "gpus"}


@collector("autoscaling", STAGE_RELATED, permissions=[
    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
], finds=["autoscaling.target", "autoscaling.policy"], fills=[("sagemaker.variant", "rel:scaled_by")])
def collect_autoscaling(ctx: Context) -> None:
    """Two paginated calls per region cover every variant (no per-endpoint calls)."""
    g = ctx.graph
    got = ctx.ahead(read_autoscaling)
    if isinstance(got, CollectError):
        ctx.listing_failed(got, ("autoscaling.target", "autoscaling.policy"))
        return
    targets, policies = got
    variant_of = _variant_index(ctx)
    target_ids: dict[str, str] = {}
    for t in targets:
        if t.get("ScalableDimension") != DIMENSION:
            continue
        rid = t["ResourceId"]
        tid = t.get("ScalableTargetARN") or f"arn:aws:application-autoscaling:{ctx.region}:{ctx.account}:{rid}"
        g.add_node(tid, "autoscaling.target", name=rid, account=ctx.account, region=ctx.region, data={
            "resource_id": rid,
            "min_capacity": t.get("MinCapacity"),
            "max_capacity": t.get("MaxCapacity"),
            "suspended": t.get("SuspendedState") or {},
        })
        target_ids[rid] = tid
        if rid in variant_of:
            g.add_edge(variant_of[rid], "scaled_by", tid)
    for p in policies:
        rid = p.get("ResourceId")
        if p.get("ScalableDimension") != DIMENSION or rid not in target_ids:
            continue
        pid = p["PolicyARN"]
        variant = g.attrs(variant_of[rid])["data"] if rid in variant_of else {}
        g.add_node(pid, "autoscaling.policy", name=p["PolicyName"], account=ctx.account, region=ctx.region,
                   data={"policy_type": p.get("PolicyType"), **policy_facts(p, variant)})
        g.add_edge(target_ids[rid], "has_policy", pid)


@read_ahead("autoscaling")
def read_autoscaling(ctx: Context) -> tuple[list[Any], list[Any]]:
    targets = ctx.paginate(AAS, "describe_scalable_targets", "ScalableTargets", ServiceNamespace="sagemaker")
    policies = ctx.paginate(AAS, "describe_scaling_policies", "ScalingPolicies", ServiceNamespace="sagemaker")
    return targets, policies


def _variant_index(ctx: Context) -> dict[str, str]:
    out = {}
    for vid in ctx.graph.nodes_of_type("sagemaker.variant"):
        d = ctx.graph.attrs(vid)["data"]
        if ctx.graph.attrs(vid)["region"] == ctx.region:
            out[f"endpoint/{d['endpoint_name']}/variant/{d['variant_name']}"] = vid
    return out


def policy_facts(p: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    """Which metric a target-tracking policy tracks, and its target per vCPU/GPU.

    SageMaker's CPUUtilization is summed over vCPUs (0-100 x vCPUs) and GPUUtilization over GPUs, so a target of
    70 on a 4-vCPU instance means 17.5 % per core. A metric-math policy that divides by the core count is taken
    as already normalised.
    """
    cfg = p.get("TargetTrackingScalingPolicyConfiguration") or {}
    custom = cfg.get("CustomizedMetricSpecification") or {}
    predefined = (cfg.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    metric = custom.get("MetricName")
    namespace = custom.get("Namespace")
    dims = {d.get("Name") for d in custom.get("Dimensions") or []}
    normalised_by_math = False
    if not metric and custom.get("Metrics"):  # metric math form
        for m in custom["Metrics"]:
            stat = (m.get("MetricStat") or {}).get("Metric") or {}
            if stat.get("MetricName") in UTILISATION:
                metric, namespace = stat["MetricName"], stat.get("Namespace")
                dims = {d.get("Name") for d in stat.get("Dimensions") or []}
            if m.get("Expression") and "/" in m["Expression"]:
                normalised_by_math = True
    target = cfg.get("TargetValue")
    per_unit = None
    units = variant.get(UTILISATION.get(metric or "", ""), None) if metric else None
    if target is not None and metric in UTILISATION:
        if normalised_by_math:
            per_unit = float(target)
        elif units:
            per_unit = round(float(target) / units, 2)
    expected_metric = "GPUUtilization" if variant.get("is_gpu") else "CPUUtilization"
    explain = _explain(metric, target, units, normalised_by_math, per_unit)
    return {
        "metric_name": metric or predefined,
        "metric_namespace": namespace,
        "metric_dimensions": sorted(x for x in dims if x),
        "expected_metric": expected_metric,
        "target_value": target,
        "target_per_unit": per_unit,
        "normalised_by_metric_math": normalised_by_math,
        "scale_out_cooldown": cfg.get("ScaleOutCooldown"),
        "scale_in_cooldown": cfg.get("ScaleInCooldown"),
        "disable_scale_in": cfg.get("DisableScaleIn", False),
        "explain": explain,
    }


POLICY_PER_UNIT = 70  # the policy's utilisation target, per vCPU (per GPU for GPUUtilization)


def _explain(metric: str | None, target: Any, units: Any, by_math: bool, per_unit: float | None) -> dict[str, str]:
    """What the configured target means, in words a finding can quote (the summed metric is the usual trap)."""
    out: dict[str, str] = {}
    if metric in UTILISATION and target is not None:
        unit = "vCPU" if metric == "CPUUtilization" else "GPU"
        if by_math:
            out["target_per_unit"] = (f"target {float(target):g} on {metric} divided per {unit} by metric math "
                                      f"= {float(target):g} % per {unit}")
        elif units and per_unit is not None:
            out["target_per_unit"] = (
                f"target {float(target):g} on {metric} summed over {units} {unit}s = {per_unit:g} % per {unit}; "
                f"the policy asks {POLICY_PER_UNIT} % per {unit} -> set {POLICY_PER_UNIT * units:g} or use metric "
                f"math dividing by {units}")
        else:
            out["target_per_unit"] = f"target {float(target):g} on {metric}, but the instance's {unit} count is unknown"
    return out
