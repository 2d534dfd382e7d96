"""Fewest calls: tags in bulk, models from Search pages, fallbacks that cost calls but never correctness."""

from __future__ import annotations

import boto3

from auditor.collect import collect
from auditor.session import SessionFactory
from tests.collect.faults import deny

REGION = "us-east-1"


def seed(n: int, undeployed: int = 0) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="models")
    for i in range(n):
        s3.put_object(Bucket="models", Key=f"m{i}.tar.gz", Body=b"x")
        sm.create_model(ModelName=f"m{i}", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1",
                                          "ModelDataUrl": f"s3://models/m{i}.tar.gz"},
                        Tags=[{"Key": "model-owner", "Value": f"team-{i}"}])
        sm.create_endpoint_config(EndpointConfigName=f"c{i}", ProductionVariants=[
            {"VariantName": "v", "ModelName": f"m{i}", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}],
            Tags=[{"Key": "config", "Value": str(i)}] if i % 2 else [])
        sm.create_endpoint(EndpointName=f"e{i}", EndpointConfigName=f"c{i}",
                           Tags=[{"Key": "environment", "Value": "production" if i % 3 else "dev"}])
    for j in range(undeployed):  # newer than every deployed model: Search (newest first) meets them first
        sm.create_model(ModelName=f"training-{j}", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"})


def run(hooks=None):  # type: ignore[no-untyped-def]
    factory = SessionFactory(region=REGION, hooks=hooks, max_attempts=1)
    return collect(factory, [REGION], workers=4), factory.counter


def tags_by_name(graph) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    return {graph.attrs(n)["name"]: graph.attrs(n)["tags"] for t in
            ("sagemaker.endpoint", "sagemaker.endpoint_config", "sagemaker.model") for n in graph.nodes_of_type(t)}


def test_tags_and_models_are_read_in_bulk(aws: None) -> None:
    seed(30)
    graph, counter = run()
    calls = counter.calls
    assert calls["sagemaker:ListTags"] == 0 and calls["sagemaker:DescribeModel"] == 0
    assert calls["resourcegroupstaggingapi:GetResources"] == 1  # 60 endpoint and config ARNs in one call
    assert calls["sagemaker:Search"] == 1
    tags = tags_by_name(graph)
    assert tags["e0"] == {"environment": "dev"} and tags["e1"] == {"environment": "production"}
    assert tags["c1"] == {"config": "1"} and tags["c2"] == {}  # untagged: absent from GetResources, so none
    assert tags["m7"] == {"model-owner": "team-7"}
    # per endpoint: DescribeEndpoint, DescribeEndpointConfig, HeadObject; everything else is bulk or fixed
    per_endpoint = {op: n for op, n in calls.items() if n >= 30}
    assert per_endpoint == {"sagemaker:DescribeEndpoint": 30, "sagemaker:DescribeEndpointConfig": 30,
                            "s3:HeadObject": 30}
    assert not graph.errors


def test_without_bulk_permissions_the_same_graph_costs_more_calls(aws: None) -> None:
    seed(12)
    bulk, _ = run()
    fallback, counter = run(deny("resourcegroupstaggingapi.GetResources", "sagemaker.Search"))
    assert bulk.to_dict()["nodes"] == fallback.to_dict()["nodes"]
    assert bulk.to_dict()["edges"] == fallback.to_dict()["edges"]
    # one ListTags per endpoint, config and model, one DescribeModel per model
    assert counter.calls["sagemaker:ListTags"] == 36 and counter.calls["sagemaker:DescribeModel"] == 12
    assert not fallback.errors  # a denied bulk read is not a gap: the per-resource reads covered it


def test_search_stops_when_paging_costs_more_than_it_saves(aws: None) -> None:
    seed(5, undeployed=1000)
    graph, counter = run()
    # 5 models wanted, none on the newest pages: at most 5 Search pages, then one DescribeModel each
    assert counter.calls["sagemaker:Search"] <= 5
    assert counter.calls["sagemaker:Search"] + counter.calls["sagemaker:DescribeModel"] <= 10
    assert len(graph.nodes_of_type("sagemaker.model")) == 5
    assert tags_by_name(graph)["m4"] == {"model-owner": "team-4"}


def test_a_tag_read_failure_marks_only_the_tags(aws: None) -> None:
    seed(4)
    graph, _ = run(deny("resourcegroupstaggingapi.GetResources", "sagemaker.ListTags"))
    endpoint = next(n for n in graph.nodes_of_type("sagemaker.endpoint"))
    assert "AccessDenied" in graph.attrs(endpoint)["errors"]["tags"]
    assert graph.attrs(endpoint)["data"]["status"] == "InService"  # the rest of the endpoint was read
    model = next(n for n in graph.nodes_of_type("sagemaker.model"))
    assert graph.attrs(model)["tags"] == {"model-owner": f"team-{model[-1]}"}  # Search brought these


def test_a_truncated_tag_answer_is_never_read_as_no_tags(aws: None) -> None:
    """If GetResources ever paged an ARN-list answer, the ARNs it left out are read one by one."""
    import json

    seed(6)

    def truncate(http_response, **_):  # type: ignore[no-untyped-def]
        body = json.loads(http_response.content)
        body["ResourceTagMappingList"] = body["ResourceTagMappingList"][:2]
        body["PaginationToken"] = "more"
        http_response._content = json.dumps(body).encode()

    graph, counter = run([("before-parse.resource-groups-tagging-api.GetResources", truncate)])
    assert counter.calls["sagemaker:ListTags"] == 12  # every endpoint and config, since the answer was cut
    tags = tags_by_name(graph)
    assert all(tags[f"e{i}"] == {"environment": "production" if i % 3 else "dev"} for i in range(6))
