"""The declared vocabulary: every node type declares its attributes, collectors keep to it, the docs show it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import botocore.session
import pytest

from auditor import graph as graph_module
from auditor import vocabulary as v
from auditor.graph import NODE_TYPES, GraphError, ResourceGraph

ROOT = Path(__file__).resolve().parent.parent


def test_every_node_type_declares_its_attributes_and_nothing_else_is_declared() -> None:
    assert set(v.VOCABULARY) == set(NODE_TYPES)
    for type_, attrs in v.VOCABULARY.items():
        for a in attrs.values():
            assert a.doc and a.type in v.TYPES, (type_, a.name)


def test_derived_verdicts_are_marked_derived() -> None:
    verdicts = [("iam.role", "wildcard_grants"), ("ec2.security_group", "open_ingress_rules"),
                ("autoscaling.policy", "expected_metric"), ("autoscaling.policy", "metric_dimensions"),
                ("cloudtrail.trail", "captures_endpoint_data_events"), ("s3.bucket", "public_access_fully_blocked"),
                ("sagemaker.endpoint", "serverless")]
    assert all(v.VOCABULARY[t][a].derived for t, a in verdicts)
    assert not v.VOCABULARY["sagemaker.endpoint"]["status"].derived


def test_the_demo_snapshot_holds_only_declared_attributes_of_their_declared_types() -> None:
    doc = json.loads(gzip.decompress((ROOT / "tests/engine/fixtures/demo-snapshot.json.gz").read_bytes()))
    g = ResourceGraph.from_dict(doc)
    assert len(g.g) > 200
    assert g.vocabulary_problems() == []


def test_an_undeclared_attribute_is_refused_when_written() -> None:
    g = ResourceGraph()
    with pytest.raises(GraphError, match="has no attribute 'serverles'; did you mean 'serverless'"):
        g.add_node("v", "sagemaker.variant", data={"serverles": True})
    g.add_node("v", "sagemaker.variant", data={"serverless": True})
    with pytest.raises(GraphError, match="sagemaker.variant has no attribute 'vpc_config'"):
        g.set_data("v", vpc_config={})
    with pytest.raises(GraphError, match="no attribute 'metric' to mark unreadable"):
        g.set_error("v", "metric", "AccessDenied")
    with pytest.raises(GraphError, match="no such edge label"):
        g.set_error("v", "rel:scaled", "AccessDenied")
    g.set_error("v", "rel:scaled_by", "AccessDenied")
    assert g.attrs("v")["data"] == {"serverless": True}


def test_in_strict_mode_a_value_of_the_wrong_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module, "STRICT", True)
    g = ResourceGraph()
    with pytest.raises(GraphError, match="sagemaker.variant.current_instance_count is declared integer, got str"):
        g.add_node("v", "sagemaker.variant", data={"current_instance_count": "2"})
    with pytest.raises(GraphError, match=r"metrics\.cpu_p95_per_cpu is not declared"):
        g.add_node("v", "sagemaker.variant", data={"metrics": {"cpu_p95_per_cpu": 3.0}})
    g.add_node("v", "sagemaker.variant", data={"metrics": {"cpu_p95_per_vcpu": 3.0}, "serverless": None})


def test_data_changed_in_place_is_found_by_the_whole_graph_check() -> None:
    g = ResourceGraph()
    g.add_node("v", "sagemaker.variant", data={"metrics": {}})
    g.attrs("v")["data"]["metrics"]["cpu"] = 1.0  # bypasses set_data, as a collector filling a dict would
    assert g.vocabulary_problems() == ["node v: sagemaker.variant.metrics.cpu is not declared"]
    g.attrs("v")["data"]["metrics"] = {"cpu_p95": 1.0}


@pytest.mark.parametrize(("type_", "path", "problem"), [
    ("sagemaker.endpoint", "last_deployment_config.AutoRollbackConfiguration.Alarms.0.AlarmName", None),
    ("sagemaker.endpoint", "dashboard_metrics.ModelLatency", None),
    ("sagemaker.endpoint", "tags.environment", None),
    ("sagemaker.endpoint", "region", None),
    ("sagemaker.model_package_group", "versions.0.status", None),
    ("sagemaker.model_package_group", "versions.first", "is a list: the next part must be an index"),
    ("sagemaker.endpoint", "tags", "tags takes one key"),
    ("sagemaker.endpoint", "name.first", "pseudo attribute"),
    ("sagemaker.endpoint", "last_deployment_config.AutoRollback", "did you mean 'AutoRollbackConfiguration'"),
    ("sagemaker.endpoint", "instance_type", "is an attribute of sagemaker.variant"),
])
def test_paths_resolve_through_objects_maps_and_lists(type_: str, path: str, problem: str | None) -> None:
    got = v.resolve(type_, path)
    assert got is None if problem is None else (got is not None and problem in got), got


# Raw API structures we declare fields of, and the botocore output shape they are kept as.
API_SHAPES = {
    ("sagemaker.endpoint", "last_deployment_config"): ("sagemaker", "DeploymentConfig"),
    ("sagemaker.endpoint", "data_capture"): ("sagemaker", "DataCaptureConfigSummary"),
    ("sagemaker.endpoint_config", "data_capture_config"): ("sagemaker", "DataCaptureConfig"),
    ("sagemaker.endpoint_config", "async_inference_config"): ("sagemaker", "AsyncInferenceConfig"),
    ("sagemaker.variant", "serverless_config"): ("sagemaker", "ProductionVariantServerlessConfig"),
    ("sagemaker.model", "vpc_config"): ("sagemaker", "VpcConfig"),
    ("sagemaker.model_package", "model_metrics"): ("sagemaker", "ModelMetrics"),
    ("s3.bucket", "public_access_block"): ("s3", "PublicAccessBlockConfiguration"),
    ("autoscaling.target", "suspended"): ("application-autoscaling", "SuspendedState"),
}
_BOTO_TYPES = {v.STRING: {"string"}, v.INTEGER: {"integer", "long"}, v.NUMBER: {"integer", "long", "double", "float"},
               v.BOOLEAN: {"boolean"}, v.LIST: {"list"}, v.API: {"structure"}, v.TIMESTAMP: {"timestamp"}}


def _mismatches(decl: v.Attr, shape: object, where: str) -> list[str]:
    out = []
    members = getattr(shape, "members", {})
    for f in decl.fields:
        sub = members.get(f.name)
        if sub is None:
            out.append(f"{where}.{f.name}: not in {shape.name}")  # type: ignore[attr-defined]
            continue
        if sub.type_name not in _BOTO_TYPES[f.type]:
            out.append(f"{where}.{f.name}: declared {f.type}, botocore says {sub.type_name}")
        if f.type == v.LIST and f.fields:
            out += _mismatches(f, sub.member, f"{where}.{f.name}.N")
        elif f.fields:
            out += _mismatches(f, sub, f"{where}.{f.name}")
    return out


def test_declared_fields_of_api_structures_exist_in_the_botocore_output_shapes() -> None:
    session = botocore.session.get_session()
    declared = {(t, a.name) for t, attrs in v.VOCABULARY.items() for a in attrs.values() if a.type == v.API and a.fields}
    assert declared == set(API_SHAPES), "map every API structure with declared fields to its botocore shape"
    problems = []
    for (type_, name), (service, shape_name) in API_SHAPES.items():
        shape = session.get_service_model(service).shape_for(shape_name)
        problems += _mismatches(v.VOCABULARY[type_][name], shape, f"{type_}.{name}")
    assert problems == []


def test_the_rule_language_doc_shows_the_generated_vocabulary() -> None:
    from auditor.docs import vocabulary_markdown

    text = (ROOT / "docs" / "rule-language.md").read_text()
    assert vocabulary_markdown() in text, "run python -m auditor.docs"
    assert "| `wildcard_grants` | list | derived |" in text


def test_a_second_declaration_or_one_shadowing_a_pseudo_attribute_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.vocabulary import signals

    monkeypatch.setitem(signals.ATTRIBUTES, "aws.region", [v.raw("name", v.STRING, "the region's name")])
    with pytest.raises(ValueError, match="shadowing a pseudo attribute: {'name'}"):
        v.node_vocabulary()
    twice = [v.raw("endpoints", v.LIST, "a"), v.derived("endpoints", v.LIST, "b")]
    monkeypatch.setitem(signals.ATTRIBUTES, "cloudwatch.dashboard", twice)
    monkeypatch.setitem(signals.ATTRIBUTES, "aws.region", [])
    with pytest.raises(ValueError, match="declared twice"):
        v.node_vocabulary()
