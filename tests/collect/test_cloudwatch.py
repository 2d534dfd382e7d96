"""CloudWatch collector: which statistic each ModelLatency alarm applies, per endpoint, decides SM-07-latency-alarm."""

from __future__ import annotations

from typing import Any

import boto3

from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from tests.collect.test_errors_and_paging import REGION, run, seed_endpoint

DIMS = ("EndpointName", "VariantName")


def _dims(endpoint: str, which: tuple[str, ...] = DIMS) -> list[dict[str, str]]:
    values = {"EndpointName": endpoint, "VariantName": "main"}
    return [{"Name": d, "Value": values[d]} for d in which]


def _alarm(name: str, endpoint: str, dims: tuple[str, ...] = DIMS, **stat: Any) -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName=name, Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=_dims(endpoint, dims),
        Period=300, EvaluationPeriods=3, Threshold=500000.0, ComparisonOperator="GreaterThanThreshold", **stat)


def _math_alarm(name: str, endpoint: str, stat: str) -> None:
    query = {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": _dims(endpoint)},
             "Period": 300, "Stat": stat}
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName=name, EvaluationPeriods=3, Threshold=500000.0, ComparisonOperator="GreaterThanThreshold",
        Metrics=[{"Id": "m1", "MetricStat": query, "ReturnData": False},
                 {"Id": "e1", "Expression": "m1 / 1000", "Label": "latency ms", "ReturnData": True}])


def _latency_findings(graph: Any) -> dict[str, Any]:
    rule = [r for r in load_rules() if r.id == "SM-07-latency-alarm"]
    return {f.resource.name: f for f in evaluate_rules(graph, rule).findings}


def test_only_a_tail_statistic_on_both_dimensions_satisfies_the_latency_alarm_rule(aws: None) -> None:
    for name in ("ep-p50", "ep-avg", "ep-one-dim", "ep-p99", "ep-max", "ep-math"):
        seed_endpoint(name, model=f"{name}-model")
    _alarm("p50", "ep-p50", ExtendedStatistic="p50")
    _alarm("avg", "ep-avg", Statistic="Average")
    _alarm("one-dim", "ep-one-dim", dims=("EndpointName",), ExtendedStatistic="p99")  # matches no data
    _alarm("p99", "ep-p99", ExtendedStatistic="p99")
    _alarm("max", "ep-max", Statistic="Maximum")
    _math_alarm("math", "ep-math", "p95")
    graph, _ = run()
    got = _latency_findings(graph)
    assert {n: f.status.value for n, f in got.items()} == {
        "ep-p50": "fail", "ep-avg": "fail", "ep-one-dim": "fail", "ep-p99": "pass", "ep-max": "pass",
        "ep-math": "pass"}
    # the evidence names the statistic each alarm uses
    stats = [c.get("actual") for c in got["ep-p50"].evidence["checks"] if c.get("check") == "latency_statistic"]
    assert stats == ["p50"]
    assert any(c.get("actual") == "p95" for c in got["ep-math"].evidence["checks"])
    alarms = {graph.attrs(a)["name"]: graph.attrs(a)["data"] for a in graph.nodes_of_type("cloudwatch.alarm")}
    assert alarms["avg"]["latency_statistics"] == ["Average"]
    assert alarms["one-dim"]["latency_statistics"] == [] and alarms["one-dim"]["latency_statistic"] is None
