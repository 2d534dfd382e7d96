"""Registry membership by content: image + artifact equal to a registered version's, with tag/digest and s3:// care."""

from __future__ import annotations

import boto3

from auditor.collect.registry_match import artifact_key, image_refs, package_index
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from tests.collect.faults import deny
from tests.collect.test_errors_and_paging import REGION, run

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
DIGEST = "sha256:" + "ab" * 32
ART = "s3://acme-models/models/fraud/v1.2.0/model.tar.gz"


def test_image_refs_name_a_tagged_image_by_tag_and_by_the_packages_digest() -> None:
    loc = IMAGE.split(":")[0] + ":" + IMAGE.split(":")[1]
    assert image_refs(IMAGE, DIGEST) == {IMAGE, f"{loc.rsplit(':', 1)[0]}@{DIGEST}"}
    repo = IMAGE.rsplit(":", 1)[0]
    assert image_refs(f"{repo}@{DIGEST}") == {f"{repo}@{DIGEST}"}
    assert image_refs(repo) == {f"{repo}:latest"}
    assert artifact_key("S3://Acme-Models/models/x/model.tar.gz") == "s3://acme-models/models/x/model.tar.gz"
    assert artifact_key("https://acme-models.s3.amazonaws.com/x") is None


def test_a_model_deployed_by_digest_matches_the_package_registered_by_tag_and_digest() -> None:
    repo = IMAGE.rsplit(":", 1)[0]
    index = package_index({"arn:pkg/1": {"ModelPackageVersion": 1, "InferenceSpecification": {"Containers": [
        {"Image": IMAGE, "ImageDigest": DIGEST, "ModelDataUrl": ART}]}}})
    assert index[(f"{repo}@{DIGEST}", ART)] == [(1, "arn:pkg/1")]
    assert index[(IMAGE, ART)] == [(1, "arn:pkg/1")]


def _seed(status: str = "Approved") -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName="fraud")
    sm.create_model_package(ModelPackageGroupName="fraud", ModelApprovalStatus=status, InferenceSpecification={
        "Containers": [{"Image": IMAGE, "ModelDataUrl": ART}], "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"]})
    for name, art in (("by-content", ART), ("other-artifact", ART.replace("v1.2.0", "v9.9.9"))):
        sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/none",
                        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": art})
        sm.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[
            {"VariantName": "main", "ModelName": f"{name}-model", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 2}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg",
                           Tags=[{"Key": "environment", "Value": "production"}])


def _registry_findings(graph):  # type: ignore[no-untyped-def]
    rules = [r for r in load_rules() if r.id in ("SM-03-registered", "SM-03-approved", "SM-03-rollback-target")]
    return {(f.rule_id, f.resource.name): f for f in evaluate_rules(graph, rules).findings}


def test_model_built_from_a_registered_versions_image_and_artifact_is_registered_by_inference(aws: None) -> None:
    _seed()
    graph, _ = run()
    got = _registry_findings(graph)
    reg = got[("SM-03-registered", "by-content")]
    assert reg.status.value == "pass" and reg.evidence["basis"] == "inferred"
    assert any(c.get("check") == "package_basis" and c.get("actual") == "inferred" for c in reg.evidence["checks"])
    # the other registry rules follow the matched package: Approved, and version 1 (nothing to roll back to)
    assert got[("SM-03-approved", "by-content")].status.value == "pass"
    assert got[("SM-03-rollback-target", "by-content")].status.value == "pass"
    assert got[("SM-03-registered", "other-artifact")].status.value == "fail"
    container = next(c for c in graph.nodes_of_type("sagemaker.container") if "by-content" in c)
    match = graph.attrs(container)["data"]["package_match"]
    assert match["version"] == 1 and match["artifact_uri"] == ART and match["package"].endswith("fraud/1")


def test_the_approval_rule_follows_an_inferred_package_that_is_not_approved(aws: None) -> None:
    _seed(status="PendingManualApproval")
    got = _registry_findings(run()[0])
    assert got[("SM-03-approved", "by-content")].status.value == "fail"


def test_unreadable_registry_makes_unmatched_models_error_never_fail(aws: None) -> None:
    _seed()
    graph, _ = run(deny("sagemaker.ListModelPackages"))
    got = _registry_findings(graph)
    assert {got[("SM-03-registered", n)].status.value for n in ("by-content", "other-artifact")} == {"error"}
    assert any(e.operation == "list_model_packages" for e in graph.errors)


def _more_versions() -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    for v in ("v2.0.0", "v3.0.0"):  # versions registered with other artifacts: read in bulk, never matched
        sm.create_model_package(ModelPackageGroupName="fraud", ModelApprovalStatus="Approved", InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": ART.replace("v1.2.0", v)}],
            "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]})


def test_the_registry_is_read_in_bulk_and_only_the_matched_version_is_described(aws: None) -> None:
    _seed()
    _more_versions()
    graph, factory = run()
    ops = factory.counter.to_dict()["by_operation"]
    assert ops["sagemaker:BatchDescribeModelPackage"] == 1 and ops["sagemaker:DescribeModelPackage"] == 1
    assert _registry_findings(graph)[("SM-03-registered", "by-content")].status.value == "pass"


def test_a_refused_bulk_read_falls_back_to_one_describe_per_version(aws: None) -> None:
    _seed()
    _more_versions()
    graph, factory = run(deny("sagemaker.BatchDescribeModelPackage"))
    assert factory.counter.to_dict()["by_operation"]["sagemaker:DescribeModelPackage"] == 3
    assert _registry_findings(graph)[("SM-03-registered", "by-content")].status.value == "pass"
