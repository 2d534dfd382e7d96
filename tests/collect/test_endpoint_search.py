"""Endpoints from their Search records: DescribeEndpoint only where a selected rule reads its deployment
configuration, tags from the records, and every record that cannot stand in for the endpoint described."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.app import collect_options
from auditor.collect import collect
from auditor.collect.base import COLLECTORS
from auditor.collect.sagemaker_bulk import DESCRIBE_ONLY
from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import Rule, load_rules
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from tests.collect.faults import deny
from tests.collect.test_bulk_reads import REGION, seed

RULES = load_rules()
N = 9  # e0, e3, e6 are dev; the others production (see seed)
PRODUCTION = {f"e{i}" for i in range(N) if i % 3}


def run(options: dict[str, Any] | None, hooks: list[tuple[str, Any]] | None = None,
        workers: int = 4) -> tuple[ResourceGraph, Any]:
    factory = SessionFactory(region=REGION, hooks=hooks, max_attempts=1)
    return collect(factory, [REGION], options, workers=workers), factory.counter


def endpoints(graph: ResourceGraph) -> dict[str, dict[str, Any]]:
    return {graph.attrs(n)["name"]: graph.attrs(n) for n in graph.nodes_of_type("sagemaker.endpoint")}


def findings(graph: ResourceGraph, rules: list[Rule] = RULES) -> list[str]:
    return sorted(json.dumps(f.to_dict(), sort_keys=True, default=str) for f in evaluate_rules(graph, rules).findings)


def deployment_rule(tmp: Path) -> Rule:
    """A custom rule reading the deployment configuration of every endpoint, whatever its environment."""
    (tmp / "SM-06-any-deployment.yaml").write_text(
        "id: SM-06-any-deployment\npolicy: 6\ntitle: any deployment\nseverity: low\nrationale: a test rule\n"
        "resource: sagemaker.endpoint\nassert: {attr: deployment_config_present, op: 'true'}\n"
        "messages: {pass: ok, fail: not ok}\nremediation: {guidance: Do what the test says.}\n")
    [rule] = load_rules([tmp])
    return rule


@pytest.mark.parametrize("workers", [1, 4])
def test_only_endpoints_a_rule_reads_the_deployment_of_are_described(aws: None, workers: int) -> None:
    seed(N)
    options = collect_options(RULES, Config())
    lean, counter = run(options, workers=workers)
    full, full_counter = run({}, workers=workers)
    calls = counter.calls
    assert calls["sagemaker:DescribeEndpoint"] == len(PRODUCTION) and full_counter.calls["sagemaker:DescribeEndpoint"] == N
    assert calls["sagemaker:Search"] == 2  # one page of endpoints, one of models
    got = endpoints(lean)
    assert {n: a["tags"] for n, a in got.items()} == {n: a["tags"] for n, a in endpoints(full).items()}
    for name, node in got.items():
        if name in PRODUCTION:
            assert not node["errors"] and "last_deployment_config" in node["data"]
        else:  # read from its record: what only DescribeEndpoint answers is marked, not left looking absent
            assert set(node["errors"]) == DESCRIBE_ONLY and "last_deployment_config" not in node["data"]
            assert node["data"]["config_name"] == f"c{name[1:]}" and node["data"]["status"] == "InService"
    assert findings(lean) == findings(full)  # the built-in rules judge the same, with fewer calls


def test_a_rule_reading_every_endpoints_deployment_gets_every_endpoint_described(aws: None, tmp_path: Path) -> None:
    seed(N)
    rules = RULES + [deployment_rule(tmp_path)]
    graph, counter = run(collect_options(rules, Config()))
    assert counter.calls["sagemaker:DescribeEndpoint"] == N
    assert all(not a["errors"] for a in endpoints(graph).values())


def test_a_snapshot_evaluated_later_with_such_a_rule_says_it_cannot_tell(aws: None, tmp_path: Path) -> None:
    seed(N)
    graph, _ = run(collect_options(RULES, Config()))
    ev = evaluate_rules(ResourceGraph.from_dict(json.loads(json.dumps(graph.to_dict(), default=str))),
                        [deployment_rule(tmp_path)])
    status = {f.resource.name: f.status.value for f in ev.findings}
    assert {n for n, s in status.items() if s == "error"} == {f"e{i}" for i in range(N)} - PRODUCTION
    msg = next(f.message for f in ev.findings if f.resource.name == "e0")
    assert "not collected" in msg and "Search record" in msg


def _search_hook(change: Any) -> list[tuple[str, Any]]:
    def hook(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model.name == "Search":
            for rec in parsed.get("Results", []):
                if "Endpoint" in rec:
                    change(rec["Endpoint"])
    return [("after-call.sagemaker.Search", hook)]


def test_a_record_older_than_the_listing_is_not_trusted(aws: None) -> None:
    """The Search index may lag: a record whose modification time is not the listing's is described, and its
    tags (which may be as old) are read in bulk."""
    seed(N)

    def stale(rec: dict[str, Any]) -> None:
        if rec["EndpointName"] == "e0":
            rec["LastModifiedTime"] = rec["LastModifiedTime"] - dt.timedelta(minutes=5)
            rec["Tags"] = [{"Key": "environment", "Value": "stale"}]
    graph, counter = run(collect_options(RULES, Config()), _search_hook(stale))
    assert counter.calls["sagemaker:DescribeEndpoint"] == len(PRODUCTION) + 1
    assert counter.calls["resourcegroupstaggingapi:GetResources"] == 1
    got = endpoints(graph)
    assert got["e0"]["tags"] == {"environment": "dev"} and not got["e0"]["errors"]


def test_an_endpoint_missing_from_search_or_a_refused_search_is_described(aws: None) -> None:
    seed(N)
    options = collect_options(RULES, Config())
    full, _ = run({})

    def drop(rec: dict[str, Any]) -> None:
        if rec["EndpointName"] == "e6":
            rec["EndpointName"] = "someone-else"
    missing, counter = run(options, _search_hook(drop))
    assert counter.calls["sagemaker:DescribeEndpoint"] == len(PRODUCTION) + 1
    assert not endpoints(missing)["e6"]["errors"] and endpoints(missing)["e6"]["tags"] == {"environment": "dev"}
    refused, counter = run(options, deny("sagemaker.Search"))
    assert counter.calls["sagemaker:DescribeEndpoint"] == N
    assert endpoints(refused) == endpoints(full) and not refused.errors
    assert findings(missing) == findings(refused) == findings(full)


def test_without_a_rule_reading_the_deployment_no_endpoint_is_described(aws: None) -> None:
    seed(N)
    options = collect_options([r for r in RULES if r.policy == 7], Config())
    graph, counter = run(options)
    assert counter.calls["sagemaker:DescribeEndpoint"] == 0
    # besides the deployment, what the collectors left out would have filled in (access, schedules) is unread
    left = {f for c in COLLECTORS if c.name in options["left_out"] for t, f in c.fills if t == "sagemaker.endpoint"}
    assert left and not left & DESCRIBE_ONLY
    assert all(set(a["errors"]) == DESCRIBE_ONLY | left for a in endpoints(graph).values())


def test_with_the_clis_options_workers_1_and_the_default_give_the_same_snapshot(aws: None) -> None:
    seed(N)
    options = collect_options(RULES, Config())
    (one, c1), (many, c8) = run(options, workers=1), run(options, workers=8)
    a, b = one.to_dict(), many.to_dict()
    assert a["nodes"] == b["nodes"] and a["edges"] == b["edges"]
    assert c1.calls == c8.calls  # the same reads, only not one after another


def test_tags_changed_after_the_record_are_read_in_bulk_and_decide_again(aws: None) -> None:
    """A tag change does not move an endpoint's modification time: a record passing every freshness check may
    still carry old tags. The endpoint's tags are the bulk read's, and they decide again whether to describe."""
    seed(N)
    options = collect_options(RULES, Config())

    def old_tags(rec: dict[str, Any]) -> None:
        if rec["EndpointName"] == "e1":  # production now; the lagging record still says dev
            rec["Tags"] = [{"Key": "environment", "Value": "dev"}]
        if rec["EndpointName"] == "e2":  # a tag without its value: the record is not trusted at all
            rec["Tags"] = [{"Key": "environment"}]
    graph, counter = run(options, _search_hook(old_tags))
    got = endpoints(graph)
    assert got["e1"]["tags"] == {"environment": "production"} and not got["e1"]["errors"]
    assert "last_deployment_config" in got["e1"]["data"] and not got["e2"]["errors"]
    assert counter.calls["sagemaker:DescribeEndpoint"] == len(PRODUCTION)
    assert findings(graph) == findings(run(options)[0])
