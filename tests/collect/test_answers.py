"""An AWS answer without what its operation always returns is a collection error, never an empty account."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from auditor.collect.answers import check_answer, expectation
from auditor.collect.errors import MALFORMED, CollectError, ErrorKind
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report.model import build_report
from tests.collect.faults import empty, malformed
from tests.collect.test_errors_and_paging import REGION, run, seed_endpoint

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def problem(service: str, operation: str, answer: dict[str, Any]) -> str | None:
    try:
        check_answer(client(service), service, operation, answer)
    except CollectError as err:
        assert err.code == MALFORMED and err.kind is ErrorKind.MALFORMED
        return err.message
    return None


def test_required_keys_come_from_botocore_output_shapes() -> None:
    assert "Endpoints" in (problem("sagemaker", "list_endpoints", {}) or "")
    assert problem("sagemaker", "list_endpoints", {"Endpoints": []}) is None
    cfg = {"EndpointConfigName": "c", "EndpointConfigArn": "arn", "CreationTime": NOW}
    assert "ProductionVariants" in (problem("sagemaker", "describe_endpoint_config", cfg) or "")
    assert problem("sagemaker", "describe_endpoint_config", dict(cfg, ProductionVariants=[])) is None
    assert "ModelArn" in (problem("sagemaker", "describe_model", {"ModelName": "m", "CreationTime": NOW}) or "")


def test_the_paginator_result_key_is_required_where_the_shape_marks_nothing() -> None:
    assert expectation(client("application-autoscaling"), "describe_scalable_targets").result_keys == (
        "ScalableTargets",)
    assert "ScalableTargets" in (problem("application-autoscaling", "describe_scalable_targets", {}) or "")
    assert "ResourceTagMappingList" in (problem("resourcegroupstaggingapi", "get_resources", {}) or "")
    assert problem("resourcegroupstaggingapi", "get_resources", {"ResourceTagMappingList": []}) is None


def test_an_empty_xml_flattened_list_is_absent_and_that_is_not_malformed() -> None:
    # S3 omits <Contents> when a prefix holds nothing: absence is the valid "none" there
    assert problem("s3", "list_objects_v2", {"Name": "b", "KeyCount": 0}) is None


def test_wrong_types_and_nulls_are_malformed_at_any_depth() -> None:
    assert "Endpoints is null" in (problem("sagemaker", "list_endpoints", {"Endpoints": None}) or "")
    assert "expected list" in (problem("sagemaker", "list_endpoints", {"Endpoints": "ep"}) or "")
    summary = {"EndpointName": "e", "EndpointArn": "a", "CreationTime": NOW, "LastModifiedTime": NOW,
               "EndpointStatus": "InService"}
    assert problem("sagemaker", "list_endpoints", {"Endpoints": [summary]}) is None
    assert "Endpoints[0].EndpointArn" in (problem("sagemaker", "list_endpoints", {"Endpoints": [
        {k: v for k, v in summary.items() if k != "EndpointArn"}]}) or "")
    cfg = {"EndpointConfigName": "c", "EndpointConfigArn": "arn", "CreationTime": NOW,
           "ProductionVariants": [{"VariantName": "v", "InitialInstanceCount": "2"}]}
    assert "InitialInstanceCount is str" in (problem("sagemaker", "describe_endpoint_config", cfg) or "")


def test_policy_documents_botocore_decodes_are_accepted() -> None:
    role = {"Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLE", "Arn": "arn:aws:iam::1:role/r",
            "CreateDate": NOW, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}
    assert problem("iam", "get_role", {"Role": role}) is None


def test_a_malformed_list_endpoints_is_an_incomplete_audit_not_an_empty_one(aws: None) -> None:
    seed_endpoint()
    graph, _ = run(malformed("sagemaker.ListEndpoints"))
    err = next(e for e in graph.errors if e.operation == "list_endpoints")
    assert err.code == MALFORMED and "sagemaker.endpoint" in err.affects
    doc = build_report(evaluate_rules(graph, load_rules()), graph)
    assert doc["complete"] is False


@pytest.mark.parametrize("operation", ["sagemaker.DescribeEndpoint", "sagemaker.DescribeModel"])
def test_a_malformed_describe_makes_the_facet_an_error_and_its_findings_error(aws: None, operation: str) -> None:
    seed_endpoint()
    graph, _ = run(malformed(operation))
    errors = [e for e in graph.errors if e.code == MALFORMED]
    assert errors and all(e.resource for e in errors)
    ev = evaluate_rules(graph, load_rules())
    failed = {e.resource for e in errors}
    on_failed = [f for f in ev.findings if f.resource.arn in failed]
    assert on_failed and all(f.status.value == "error" for f in on_failed)


def test_a_malformed_organization_or_region_listing_is_a_failed_scope_not_an_empty_one(aws: None) -> None:
    from auditor.scope import enabled_regions, resolve_accounts
    from auditor.session import SessionFactory

    boto3.client("organizations", region_name=REGION).create_organization(FeatureSet="ALL")
    factory = SessionFactory(region=REGION, max_attempts=1, hooks=malformed("organizations.ListAccounts"))
    [target] = resolve_accounts(factory, "org", "AuditRole", None)
    assert target.status == "failed" and target.error is not None and target.error[2] == MALFORMED
    # an answer without Regions is valid by the model (nothing required), but no account has no region
    broken = SessionFactory(region=REGION, max_attempts=1, hooks=empty("ec2.DescribeRegions"))
    with pytest.raises(CollectError, match="no Regions"):
        enabled_regions(broken)
    assert REGION in enabled_regions(SessionFactory(region=REGION))
