"""Autoscaling collector: a summed CPU/GPU target is explained in the finding (what is configured, what it means)."""

from __future__ import annotations

import boto3

from auditor.collect.autoscaling import policy_facts
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from tests.collect.test_errors_and_paging import REGION, run, seed_endpoint


def _custom(metric: str, target: float, math: bool = False) -> dict:  # type: ignore[type-arg]
    dims = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "main"}]
    if math:
        spec = {"Metrics": [
            {"Id": "m", "MetricStat": {"Metric": {"MetricName": metric, "Namespace": "/aws/sagemaker/Endpoints",
                                                  "Dimensions": dims}, "Stat": "Average"}, "ReturnData": False},
            {"Id": "e", "Expression": "m / 4", "ReturnData": True}]}
    else:
        spec = {"MetricName": metric, "Namespace": "/aws/sagemaker/Endpoints", "Dimensions": dims,
                "Statistic": "Average"}
    return {"PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": target, "CustomizedMetricSpecification": spec, "ScaleOutCooldown": 60, "ScaleInCooldown": 300}}


def test_summed_gpu_target_is_explained_per_gpu() -> None:
    facts = policy_facts(_custom("GPUUtilization", 70.0), {"is_gpu": True, "gpus": 4, "vcpus": 48})
    assert facts["target_per_unit"] == 17.5
    assert facts["explain"]["target_per_unit"] == (
        "target 70 on GPUUtilization summed over 4 GPUs = 17.5 % per GPU; the policy asks 70 % per GPU -> set 280 "
        "or use metric math dividing by 4")


def test_metric_math_is_explained_and_the_expected_metric_named() -> None:
    math = policy_facts(_custom("GPUUtilization", 70.0, math=True), {"is_gpu": True, "gpus": 4})
    assert math["target_per_unit"] == 70.0 and "divided per GPU by metric math = 70 % per GPU" in \
        math["explain"]["target_per_unit"]
    wrong = policy_facts(_custom("CPUUtilization", 280.0), {"is_gpu": True, "gpus": 4, "vcpus": 48})
    # the rule compares the two (its evidence reads "metric_name is 'CPUUtilization', expected eq 'GPUUtilization'")
    assert (wrong["metric_name"], wrong["expected_metric"]) == ("CPUUtilization", "GPUUtilization")


def test_target_70_on_a_two_vcpu_instance_fails_saying_35_percent_per_core(aws: None) -> None:
    seed_endpoint("ep")  # ml.m5.large: 2 vCPUs, tagged production
    aas = boto3.client("application-autoscaling", region_name=REGION)
    rid = "endpoint/ep/variant/main"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, MinCapacity=2, MaxCapacity=4,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    aas.put_scaling_policy(PolicyName="cpu70", ServiceNamespace="sagemaker", ResourceId=rid,
                           ScalableDimension="sagemaker:variant:DesiredInstanceCount", **_custom("CPUUtilization", 70.0))
    graph, _ = run()
    rule = [r for r in load_rules() if r.id == "SM-05-target-tracking"]
    (finding,) = evaluate_rules(graph, rule).findings
    assert finding.status.value == "fail"
    assert "has no target-tracking policy" not in finding.message
    assert ("target 70 on CPUUtilization summed over 2 vCPUs = 35 % per vCPU; the policy asks 70 % per vCPU -> "
            "set 140 or use metric math dividing by 2") in finding.message
