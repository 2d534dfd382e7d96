"""What a failed read leaves unknown: attributes and existence from that read, and the resources behind it."""

from __future__ import annotations

import pytest

from auditor.engine.conditions import Unknown, read_attr
from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules, hiding_nodes
from auditor.engine.loader import load_rules
from auditor.graph import ResourceGraph
from tests.conftest import build_graph

BY_ID = {r.id: r for r in load_rules()}
EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
VAR = f"{EP}/variant/main"
MODEL = "arn:aws:sagemaker:us-east-1:123456789012:model/m"


def chain(model_errors: dict[str, str] | None = None, variant_errors: dict[str, str] | None = None,
          model_dangling: bool = False) -> ResourceGraph:
    return build_graph({
        "nodes": [
            {"id": EP, "type": "sagemaker.endpoint", "tags": {"environment": "production"}},
            {"id": VAR, "type": "sagemaker.variant", "data": {"initial_instance_count": 2},
             "errors": variant_errors},
            {"id": MODEL, "type": "sagemaker.model", "errors": model_errors, "dangling": model_dangling,
             "data": {"enable_network_isolation": True}},
        ],
        "edges": [[EP, "has_variant", VAR], [VAR, "serves_model", MODEL]],
    })


def statuses(graph: ResourceGraph, rule_id: str) -> dict[str, str]:
    return {f.resource.arn: f.status.value for f in evaluate_rules(graph, [BY_ID[rule_id]], Config()).findings}


def test_existence_of_a_node_whose_describe_was_denied_is_unknown_not_proven() -> None:
    graph = chain(model_errors={"describe": "sagemaker:DescribeModel failed: AccessDenied"})
    with pytest.raises(Unknown, match="whether it exists is unknown"):
        read_attr(graph, MODEL, "exists")
    with pytest.raises(Unknown):
        read_attr(graph, MODEL, "dangling")
    assert statuses(graph, "SM-03-model-exists") == {VAR: "error"}


def test_existence_is_decided_when_the_describe_answered_not_found_or_succeeded() -> None:
    assert statuses(chain(model_dangling=True), "SM-03-model-exists") == {VAR: "fail"}
    assert statuses(chain(), "SM-03-model-exists") == {VAR: "pass"}
    assert read_attr(chain(), MODEL, "name") == MODEL  # the reference itself needs no read


def test_an_attribute_from_another_successful_read_stays_known_when_the_describe_failed() -> None:
    graph = chain(model_errors={"describe": "denied"})
    graph.set_read(MODEL, "search", enable_network_isolation=False)
    assert read_attr(graph, MODEL, "enable_network_isolation") is False
    with pytest.raises(Unknown, match="could not be read"):
        read_attr(graph, MODEL, "vpc_config.Subnets")  # still from the failed describe


def test_an_attribute_from_a_failed_read_is_unknown_even_when_the_describe_succeeded() -> None:
    graph = chain(variant_errors={"config": "endpoint config c could not be read"})
    graph.set_read(VAR, "config", initial_instance_count=None)
    with pytest.raises(Unknown, match="initial_instance_count: config could not be read"):
        read_attr(graph, VAR, "initial_instance_count")
    assert read_attr(graph, VAR, "id") == VAR


def test_tags_of_a_node_that_could_not_be_described_are_unknown() -> None:
    graph = chain(model_errors={"describe": "denied"})
    graph.set_tags(MODEL, {"environment": "dev"})
    with pytest.raises(Unknown, match="could not be read: denied"):
        read_attr(graph, MODEL, "tags.environment")
    assert read_attr(chain(), EP, "tags.environment") == "production"


def test_where_attributes_came_from_survives_a_snapshot_and_a_merge() -> None:
    graph = chain(variant_errors={"config": "unread"})
    graph.set_read(VAR, "config", instance_type="ml.m5.large")
    again = ResourceGraph.from_dict(graph.to_dict())
    with pytest.raises(Unknown):
        read_attr(again, VAR, "instance_type")
    merged = ResourceGraph()
    merged.merge(again)
    assert merged.attrs(VAR)["origin"] == {"instance_type": "config"}


def test_a_failed_parent_read_makes_rules_about_hidden_children_error_on_the_known_node() -> None:
    graph = chain(variant_errors={"rel:serves_model": "endpoint config c could not be read"})
    graph.g.remove_node(MODEL)  # as collected: the model was never reached
    graph._by_type["sagemaker.model"].discard(MODEL)
    hidden = hiding_nodes(graph)
    assert [n for n, _ in hidden["sagemaker.model"]] == [VAR]
    assert [n for n, _ in hidden["sagemaker.container"]] == [VAR]
    assert "aws.region" not in hidden and "sagemaker.variant" not in hidden
    model_rules = [r for r in BY_ID.values() if r.resource == "sagemaker.model" and not r.manual]
    got = evaluate_rules(graph, model_rules, Config()).findings
    assert {(f.rule_id, f.resource.arn, f.status.value) for f in got} == {(r.id, VAR, "error") for r in model_rules}
    assert all("could not be read" in f.message for f in got)


def test_reads_that_hide_nothing_add_no_findings() -> None:
    graph = chain(model_errors={"tags": "denied"})
    assert hiding_nodes(graph) == {}


def test_a_failed_listing_reports_rules_about_the_listed_types_as_error_on_the_region() -> None:
    region = "aws:123456789012:us-east-1"
    graph = build_graph({
        "nodes": [{"id": region, "type": "aws.region", "name": "us-east-1"}],
        "listing_errors": [{"operation": "list_endpoints", "affects": ["sagemaker.endpoint", "sagemaker.model"]}],
    })
    hidden = hiding_nodes(graph)
    assert {n for hits in hidden.values() for n, _ in hits} == {region}
    assert {"sagemaker.endpoint", "sagemaker.variant", "sagemaker.model", "s3.bucket"} <= set(hidden)
    assert "aws.region" not in hidden
    got = evaluate_rules(graph, [BY_ID["SM-04-min-instances"], BY_ID["SM-03-model-exists"]], Config()).findings
    assert [(f.rule_id, f.resource.arn, f.status.value) for f in got] == [
        ("SM-03-model-exists", region, "error"), ("SM-04-min-instances", region, "error")]
    assert "list_endpoints failed: AccessDenied" in got[0].message
