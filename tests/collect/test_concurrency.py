"""Concurrent collection (call pool, read-aheads, streamed describes) gives the sequential run's snapshot and
findings; list calls ask for their largest page."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import boto3
import pytest

from auditor.collect import collect
from auditor.collect.base import READ_AHEAD, page_size
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from bench import scale
from tests.collect.faults import deny
from tests.conftest import cyclic_garbage

REGION = "us-east-1"
N = 12
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


@pytest.fixture
def estate(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's estate: endpoints with configs, models, artifacts, roles, autoscaling, alarms, dashboards,
    log groups and monitoring schedules; plus an EventBridge rule with a target and a trail (read ahead too)."""
    monkeypatch.setattr(scale, "FAKE", {})
    scale.seed(None, N, boto3.Session(region_name=REGION))
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="stop-idle", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="stop-idle", Targets=[
        {"Id": "1", "Arn": f"arn:aws:lambda:{REGION}:123456789012:function:stop"}])
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="trail-logs")
    boto3.client("cloudtrail", region_name=REGION).create_trail(Name="main", S3BucketName="trail-logs",
                                                                  IsMultiRegionTrail=True)


def run(workers: int, hooks: list[tuple[str, Any]] | None = None) -> tuple[ResourceGraph, SessionFactory]:
    factory = SessionFactory(region=REGION, hooks=hooks, max_attempts=1)
    return collect(factory, [REGION], now=NOW, workers=workers), factory


def findings(graph: ResourceGraph) -> list[str]:
    ev = evaluate_rules(graph, load_rules())
    return sorted(json.dumps(f.to_dict(), sort_keys=True, default=str) for f in ev.findings)


def same(one: ResourceGraph, many: ResourceGraph) -> None:
    a, b = one.to_dict(), many.to_dict()
    assert a["nodes"] == b["nodes"] and a["edges"] == b["edges"]
    assert [e.to_dict() for e in one.errors] == [e.to_dict() for e in many.errors]
    assert findings(one) == findings(many)


def threads_of(log: list[tuple[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for op, thread in log:
        out.setdefault(op, set()).add(thread.rstrip("_0123456789"))
    return out


def recorder(log: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    def hook(model: Any = None, **_: Any) -> None:
        log.append((f"{model.service_model.service_name}:{model.name}", threading.current_thread().name))

    return [("before-call", hook)]


def test_workers_1_and_the_default_give_the_same_snapshot_and_findings(estate: None) -> None:
    log: list[tuple[str, str]] = []
    one, _ = run(1)
    many, factory = run(8, recorder(log))
    assert len(one.nodes_of_type("sagemaker.endpoint")) == N
    for kind in ("autoscaling.policy", "cloudwatch.alarm", "cloudwatch.dashboard", "logs.log_group",
                 "sagemaker.monitoring_schedule", "events.rule", "cloudtrail.trail", "iam.role", "s3.object"):
        assert one.nodes_of_type(kind), kind  # every read-ahead had something to read
    same(one, many)
    # the concurrent run really overlapped: listings on the read-ahead threads, describes on the call pool
    where = threads_of(log)
    for op in ("application-autoscaling:DescribeScalableTargets", "cloudwatch:DescribeAlarms",
               "logs:DescribeLogGroups", "events:ListRules", "sagemaker:ListMonitoringSchedules",
               "iam:GetAccountAuthorizationDetails", "cloudtrail:DescribeTrails", "sagemaker:ListTransformJobs"):
        assert where[op] == {"read-ahead"}, op
    assert where["sagemaker:DescribeEndpoint"] == where["sagemaker:DescribeEndpointConfig"] == {"aws-call"}
    assert len(READ_AHEAD) == 9


@pytest.mark.parametrize("failing", [
    "application-autoscaling.DescribeScalingPolicies",  # a read-ahead failing after its first call succeeded
    "sagemaker.DescribeMonitoringSchedule",  # a per-schedule describe inside a read-ahead
    "events.ListTargetsByRule",
    "sagemaker.DescribeEndpointConfig",  # in the streamed endpoint -> config chain
    "sagemaker.ListEndpoints",  # the listing itself: the region has no endpoint to read ahead for
])
def test_a_failing_call_gives_the_same_errors_and_findings_either_way(estate: None, failing: str) -> None:
    one, _ = run(1, deny(failing))
    many, _ = run(8, deny(failing))
    assert one.errors, failing
    same(one, many)


def test_every_list_call_asks_for_its_largest_page(estate: None) -> None:
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def hook(model: Any = None, params: Any = None, **_: Any) -> None:
        sent.append((model.service_model.service_name, model.name, dict(params or {})))

    _, factory = run(8, [("before-parameter-build", hook)])
    # a role's own policy lists are read only when the authorization details do not list it (here: refused)
    run(8, [("before-parameter-build", hook)] + deny("iam.GetAccountAuthorizationDetails"))
    asked = {f"{s}:{op}": p for s, op, p in sent}
    # from botocore's models (the MaxResults member's max) and the API references where the model has none
    expected = {
        "sagemaker:ListEndpoints": ("MaxResults", 100), "sagemaker:ListMonitoringSchedules": ("MaxResults", 100),
        "sagemaker:ListTransformJobs": ("MaxResults", 100), "sagemaker:ListModelPackages": ("MaxResults", 100),
        "sagemaker:Search": ("MaxResults", 100), "cloudwatch:DescribeAlarms": ("MaxRecords", 100),
        "logs:DescribeLogGroups": ("limit", 50), "events:ListRules": ("Limit", 100),
        "events:ListTargetsByRule": ("Limit", 100), "iam:ListAttachedRolePolicies": ("MaxItems", 1000),
        "iam:ListRolePolicies": ("MaxItems", 1000), "iam:GetAccountAuthorizationDetails": ("MaxItems", 1000),
        "application-autoscaling:DescribeScalableTargets": ("MaxResults", 50),
        "application-autoscaling:DescribeScalingPolicies": ("MaxResults", 50),
    }
    for op, (param, top) in expected.items():
        assert asked[op].get(param) == top, op
    # and every call made that has a page size in the model asked for its maximum
    for service, op, params in sent:
        client = factory.client(service, region=REGION)
        method = next(m for m, api in client.meta.method_to_api_mapping.items() if api == op)
        size = page_size(client, method, {})
        if size and service != "s3":  # S3 prefix sampling asks for a sample, not a page
            assert params.get(size[0]) == size[1], f"{service}:{op}"


def test_each_unit_releases_what_it_read_once_its_graph_holds_it(estate: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit's context holds the raw answers and the reads' futures, whose closures hold the context: a cycle
    that kept every answer of the run alive until a full garbage collection (the run freezes its heap, so until
    the end). The unit releases them as it ends, also when a collector fails."""
    from auditor.collect import COLLECTORS
    from auditor.collect.base import Context

    released: list[tuple[int, int, int]] = []
    real = Context.release

    def spy(self: Context) -> None:
        real(self)
        released.append((len(self.cache), len(self._ahead), len(self._started)))

    monkeypatch.setattr(Context, "release", spy)
    with cyclic_garbage() as found:
        graph, _ = run(8)
        assert len(graph.nodes_of_type("sagemaker.endpoint")) == N
        assert released == [(0, 0, 0)]
        # Nothing the unit read is left for the cyclic collector: no answer, no node of the unit's own graph.
        leftovers = [o for o in found() if type(o) is dict and ("EndpointName" in o or "dangling" in o)]
        assert leftovers == []

    def boom(ctx: Context) -> None:
        raise RuntimeError("collector bug")

    import dataclasses

    last = COLLECTORS[-1]
    COLLECTORS[-1] = dataclasses.replace(last, func=boom)
    try:
        released.clear()
        graph, _ = run(8)
    finally:
        COLLECTORS[-1] = last
    assert released == [(0, 0, 0)] and graph.errors  # the failure is recorded, and the unit still released
