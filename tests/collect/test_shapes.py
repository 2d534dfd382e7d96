"""Hosting shapes are collected as what they are: shadow variants, pipelines from packages, prefixes read in full."""

from __future__ import annotations

import boto3
import pytest

from auditor.collect import collect, s3
from auditor.collect.base import Context
from auditor.collect.sagemaker_shapes import undisclosed
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from tests.collect.faults import deny

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/r"
DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _run(hooks=None):  # type: ignore[no-untyped-def]
    return collect(SessionFactory(region=REGION, hooks=hooks, max_attempts=1), [REGION])


def _shadowed_endpoint(sm) -> None:  # type: ignore[no-untyped-def]
    for name, image in (("prod-m", DLC), ("cand-m", "quay.io/acme/candidate:1")):
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "main", "ModelName": "prod-m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}],
        ShadowProductionVariants=[{"VariantName": "cand", "ModelName": "cand-m", "InstanceType": "ml.m5.large",
                                   "InitialInstanceCount": 1, "InitialVariantWeight": 0.5}])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c", Tags=[{"Key": "environment", "Value": "production"},
                                                                     {"Key": "workload", "Value": "batch"}])


def test_a_shadow_model_from_an_unapproved_registry_fails_policy_1(aws: None) -> None:
    _shadowed_endpoint(boto3.client("sagemaker", region_name=REGION))
    graph = _run()
    shadow = [v for v in graph.nodes_of_type("sagemaker.variant") if graph.attrs(v)["data"]["shadow"]]
    assert [graph.attrs(v)["name"] for v in shadow] == ["e/cand (shadow)"]
    findings = evaluate_rules(graph, load_rules()).findings
    official = {f.resource.name: f.status.value for f in findings if f.rule_id == "SM-01-official-image"}
    assert official == {"prod-m#0": "pass", "cand-m#0": "fail"}
    # exempt by design: the shadow answers no caller, so it is not held to the instance minimum
    assert {f.resource.name for f in findings if f.rule_id == "SM-04-min-instances"} == {"e/main"}


def test_shadow_variants_of_an_unreadable_config_are_unknown_not_absent(aws: None) -> None:
    _shadowed_endpoint(boto3.client("sagemaker", region_name=REGION))
    graph = _run(deny("sagemaker.DescribeEndpointConfig"))
    shadow = next(v for v in graph.nodes_of_type("sagemaker.variant") if graph.attrs(v)["data"]["shadow"])
    assert "rel:serves_model" in graph.attrs(shadow)["errors"]  # named by DescribeEndpoint, its model unknown
    endpoint = next(iter(graph.nodes_of_type("sagemaker.endpoint")))
    findings = evaluate_rules(graph, load_rules()).findings
    # whether the endpoint is asynchronous (the non-real-time form policy 15 asks for) is unknown too
    batch = [f for f in findings if f.rule_id == "SM-15-batch-workload" and f.resource.arn == endpoint]
    assert [f.status.value for f in batch] == ["error"]


def test_every_container_of_a_multi_container_package_is_judged(aws: None) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName="g")
    arn = sm.create_model_package(ModelPackageGroupName="g", ModelApprovalStatus="Approved", InferenceSpecification={
        "Containers": [{"Image": SKLEARN, "ModelDataUrl": "s3://b/models/pre/v1.0.0/model.tar.gz"},
                       {"Image": "quay.io/acme/serve:1", "ModelDataSource": {"S3DataSource": {
                           "S3Uri": "s3://b/models/llm/v1.0.0/", "S3DataType": "S3Prefix",
                           "CompressionType": "None"}}}],
        "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]},
    )["ModelPackageArn"]
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "main", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    graph = _run()
    containers = {graph.attrs(c)["name"]: graph.attrs(c)["data"] for c in graph.nodes_of_type("sagemaker.container")}
    assert {n: d["image_location"] for n, d in containers.items()} == {
        "m#0": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn", "m#0.1": "quay.io/acme/serve"}
    assert containers["m#0.1"]["artifact_uri"] == "s3://b/models/llm/v1.0.0/"
    prefix = next(o for o in graph.nodes_of_type("s3.object") if graph.attrs(o)["data"]["key"] == "models/llm/v1.0.0/")
    assert graph.attrs(prefix)["data"]["is_prefix"] is True
    official = {f.resource.name: f.status.value for f in evaluate_rules(graph, load_rules()).findings
                if f.rule_id == "SM-01-official-image"}
    assert official == {"m#0": "pass", "m#0.1": "fail"}


@pytest.mark.parametrize(("objects", "checked", "truncated"), [(3, 4, False), (7, 5, True)])
def test_a_prefix_is_listed_page_by_page_up_to_the_bound(aws: None, monkeypatch: pytest.MonkeyPatch, objects: int,
                                                          checked: int, truncated: bool) -> None:
    monkeypatch.setattr(s3, "PREFIX_PAGE", 2)
    monkeypatch.setattr(s3, "PREFIX_BOUND", 5)
    b3 = boto3.client("s3", region_name=REGION)
    b3.create_bucket(Bucket="acme-mme-artifacts")
    for i in range(objects):
        b3.put_object(Bucket="acme-mme-artifacts", Key=f"models/mme/v1.0.0/m{i}.tar.gz", Body=b"x", ServerSideEncryption="AES256")
    b3.put_object(Bucket="acme-mme-artifacts", Key="models/mme/v1.0.0/m9-plain.tar.gz", Body=b"x")  # listed last: past the bound?
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": DLC, "Mode": "MultiModel", "ModelDataUrl": "s3://acme-mme-artifacts/models/mme/v1.0.0/"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "main", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    graph = _run()
    obj = graph.attrs(next(iter(graph.nodes_of_type("s3.object"))))["data"]
    assert obj["is_prefix"] is True and obj["objects_checked"] == checked and obj["objects_truncated"] is truncated
    # within the bound every object is read, so the plaintext one decides; past it, the evidence says so
    assert obj["sse"] == (None if not truncated else "AES256")
    assert ("the first 5 objects (the bound)" in obj["explain"]["sse"]) is truncated


def test_a_readable_foreign_package_that_discloses_nothing_leaves_image_and_artifact_unknown() -> None:
    graph = ResourceGraph()
    ctx = Context(factory=None, account="123456789012", region=REGION, graph=graph)  # type: ignore[arg-type]
    graph.add_node("c", "sagemaker.container", data={"has_artifact": False})
    pid = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor"
    undisclosed(ctx, "c", pid, pid, image_known=False, artifact_known=False)
    errors = graph.attrs("c")["errors"]
    assert "865070037744" in errors["package"] and "does not disclose" in errors["has_artifact"]
    assert "rel:artifact" in errors
    own = "arn:aws:sagemaker:us-east-1:123456789012:model-package/ours"
    graph.add_node("d", "sagemaker.container", data={"has_artifact": False})
    undisclosed(ctx, "d", own, own, image_known=True, artifact_known=False)
    assert graph.attrs("d")["errors"] == {}  # our own package without an artifact: truly none (image-only model)
