"""Policy 3's custom DynamoDB registry: looked up by model name, tag or image + artifact; a missing table is error."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from auditor.app import collect_options
from auditor.collect import collect
from auditor.engine.config import Config, load_config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.session import SessionFactory
from auditor.yamlsafe import InputError
from tests.collect.test_errors_and_paging import REGION, seed_endpoint

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2"  # seed_endpoint's image


def _table(name: str, keys: list[tuple[str, str]], items: list[dict[str, Any]]) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
                     AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys])
    for item in items:
        ddb.put_item(TableName=name, Item={k: TypeSerializer().serialize(v) for k, v in item.items()})


def _entry(version: str, approval: str = "Approved", **extra: Any) -> dict[str, Any]:
    return {"version": version, "approval_status": approval, "training_metrics": {"auc": "0.9"},
            "deployment_config": {"instances": "2"}, **extra}


def _audit(spec: dict[str, Any]) -> tuple[Any, dict[tuple[str, str], str]]:
    """Collect as the CLI does for these rules and this registry (only the reads they need), then evaluate."""
    factory = SessionFactory(region=REGION, max_attempts=1)
    rules = [r for r in load_rules() if r.id in ("SM-03-registered", "SM-03-approved", "SM-03-custom-registry-metadata")]
    graph = collect(factory, [REGION], options=collect_options(rules, Config(registry_table=spec)))
    got = {(f.rule_id, f.resource.name.split("#")[0].removesuffix("-model")): f.status.value
           for f in evaluate_rules(graph, rules).findings}
    return factory, got


def test_model_name_key_is_read_with_batch_get_item_and_counts_as_registered(aws: None) -> None:
    seed_endpoint("churn", model="churn-model")
    seed_endpoint("bare", model="bare-model")
    _table("registry", [("model_name", "HASH")], [dict(_entry("3.4.0"), model_name="churn-model")])
    factory, got = _audit({"table": "registry", "key": {"kind": "model_name", "attribute": "model_name"}})
    assert got[("SM-03-registered", "churn")] == "pass" and got[("SM-03-registered", "bare")] == "fail"
    assert got[("SM-03-approved", "churn")] == "pass"
    assert got[("SM-03-custom-registry-metadata", "churn")] == "pass"
    ops = factory.counter.to_dict()["by_operation"]
    assert ops.get("dynamodb:BatchGetItem") == 1 and "dynamodb:Scan" not in ops


def test_versioned_table_is_scanned_and_the_newest_version_decides(aws: None) -> None:
    seed_endpoint("churn", model="churn-model")
    _table("registry", [("model_name", "HASH"), ("version", "RANGE")], [
        dict(_entry("1.0.0"), model_name="churn-model"),
        dict(_entry("2.0.0", approval="Rejected"), model_name="churn-model")])
    factory, got = _audit({"table": "registry", "key": {"kind": "model_name"}})
    assert got[("SM-03-registered", "churn")] == "pass" and got[("SM-03-approved", "churn")] == "fail"
    assert "dynamodb:Scan" in factory.counter.to_dict()["by_operation"]


def test_tag_key_reads_the_models_tag_value_case_insensitively(aws: None) -> None:
    seed_endpoint("churn", model="churn-model")
    boto3.client("sagemaker", region_name=REGION).add_tags(
        ResourceArn=f"arn:aws:sagemaker:{REGION}:123456789012:model/churn-model",
        Tags=[{"Key": "model-id", "Value": "churn-v3"}])
    _table("by-tag", [("model_id", "HASH")], [dict(_entry("3"), model_id="churn-v3")])
    _, got = _audit({"table": "by-tag", "key": {"kind": "tag", "tag": "Model-Id", "attribute": "model_id"}})
    assert got[("SM-03-registered", "churn")] == "pass"


def test_missing_table_is_a_collection_error_never_a_pass(aws: None) -> None:
    seed_endpoint("churn", model="churn-model")
    factory = SessionFactory(region=REGION, max_attempts=1)
    graph = collect(factory, [REGION], options={"registry_table": {"table": "gone", "key": {"kind": "model_name"}}})
    rules = [r for r in load_rules() if r.id in ("SM-03-registered", "SM-03-custom-registry-metadata")]
    statuses = {f.rule_id: f.status.value for f in evaluate_rules(graph, rules).findings}
    assert statuses == {"SM-03-registered": "error", "SM-03-custom-registry-metadata": "error"}
    assert any(e.operation == "describe_table" for e in graph.errors)


def test_registry_table_config_is_validated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "audit.yaml"
    good.write_text("registry_table: {table: ml-registry, region: eu-west-1, key: {kind: image_artifact}}\n")
    assert load_config(good).registry_table == {"table": "ml-registry", "region": "eu-west-1",
                                                "key": {"kind": "image_artifact"}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("registry_table:\n  table: ml-registry\n  key: {kind: tag}\n")
    with pytest.raises(InputError, match="kind tag needs the tag key"):
        load_config(bad)
    worse = tmp_path / "worse.yaml"
    worse.write_text("registry_table: {table: ml-registry, key: {kind: arn}}\n")
    with pytest.raises(InputError):
        load_config(worse)


def test_image_artifact_key_matches_by_content(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    art = "s3://acme-models/models/churn/v3.4.0/model.tar.gz"
    sm.create_model(ModelName="churn-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/none",
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": art})
    sm.create_endpoint_config(EndpointConfigName="churn-cfg", ProductionVariants=[
        {"VariantName": "main", "ModelName": "churn-model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn-cfg")
    # the table spells the scheme and bucket in capitals: S3 URIs compare case-insensitively there
    _table("by-content", [("id", "HASH")], [dict(_entry("3.4.0"), id="x", image=IMAGE,
                                                 artifact_uri=art.replace("s3://acme-models", "S3://Acme-Models"))])
    _, got = _audit({"table": "by-content", "key": {"kind": "image_artifact"}})
    assert got[("SM-03-registered", "churn")] == "pass"
