"""Reading one attribute or tag for a condition: the value, or Unknown with a reason naming the resource."""

from __future__ import annotations

import pytest

from auditor.engine.conditions import Unknown, read_attr
from auditor.graph import ResourceGraph
from tests.conftest import build_graph

EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"


def endpoint(**node: object) -> ResourceGraph:
    return build_graph({"nodes": [{"id": EP, "type": "sagemaker.endpoint", "name": "", **node}]})


def reason(graph: ResourceGraph, path: str) -> str:
    with pytest.raises(Unknown) as exc:
        read_attr(graph, EP, path)
    return str(exc.value)


def test_existence_and_dangling_are_opposite_answers_of_the_describe() -> None:
    assert (read_attr(endpoint(), EP, "exists"), read_attr(endpoint(), EP, "dangling")) == (True, False)
    gone = endpoint(dangling=True)
    assert (read_attr(gone, EP, "exists"), read_attr(gone, EP, "dangling")) == (False, True)
    assert read_attr(gone, EP, "id") == EP
    denied = endpoint(errors={"describe": "AccessDenied"})
    assert reason(denied, "dangling") == (f"endpoint {EP}: whether it exists is unknown, it could not be read: "
                                          "AccessDenied")


def test_an_attribute_of_a_dangling_reference_is_unknown_naming_it() -> None:
    assert reason(endpoint(dangling=True), "status") == (f"endpoint {EP} is referenced but does not exist "
                                                         "(dangling reference)")
    assert reason(endpoint(dangling=True), "tags.env") == (f"endpoint {EP} is referenced but does not exist "
                                                           "(dangling reference)")


def test_a_failed_read_names_the_resource_and_the_error() -> None:
    assert reason(endpoint(errors={"describe": "Throttling"}), "status") == f"endpoint {EP} could not be read: Throttling"
    assert reason(endpoint(errors={"describe": "Throttling"}), "tags.env") == (f"endpoint {EP} could not be read: "
                                                                               "Throttling")


def test_tags_that_could_not_be_read_are_unknown_even_if_some_are_held() -> None:
    stale = endpoint(tags={"env": "prod"}, errors={"tags": "ListTags: AccessDenied"})
    assert reason(stale, "tags.env") == f"endpoint {EP}: tags could not be read: ListTags: AccessDenied"
    assert reason(endpoint(tags=None), "tags.env") == f"endpoint {EP}: tags could not be read: not collected"


def test_a_tag_path_is_case_sensitive() -> None:
    graph = endpoint(tags={"Env": "prod"})
    assert read_attr(graph, EP, "tags.Env") == "prod" and read_attr(graph, EP, "tags.env") is None
