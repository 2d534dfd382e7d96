"""Every AWS error family is classified for what it says: only "not found" means gone, nothing else does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError as BotoClientError
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from auditor.collect.base import Context
from auditor.collect.errors import CollectError, ErrorKind, classify
from auditor.graph import ResourceGraph

ACCOUNT, REGION = "123456789012", "us-east-1"


def client_error(code: str | None, message: str = "", status: int = 400) -> BotoClientError:
    err: dict[str, Any] = {"Message": message}
    if code is not None:
        err["Code"] = code
    return BotoClientError({"Error": err, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(("exc", "kind"), [
    (client_error("ValidationException", "Could not find endpoint 'arn:aws:sagemaker:...:endpoint/x'."),
     ErrorKind.NOT_FOUND),
    (client_error("ValidationException", "Could not find model \"m\"."), ErrorKind.NOT_FOUND),
    (client_error("ResourceNotFoundException", "Trail not found"), ErrorKind.NOT_FOUND),
    (client_error("ResourceNotFound", "no such"), ErrorKind.NOT_FOUND),
    (client_error("NoSuchKey", "The specified key does not exist."), ErrorKind.NOT_FOUND),
    (client_error("NoSuchBucket", ""), ErrorKind.NOT_FOUND),
    (client_error("NoSuchEntity", "role not found"), ErrorKind.NOT_FOUND),
    (client_error(None, status=404), ErrorKind.NOT_FOUND),  # S3 HeadObject: a bare 404
    (client_error("AccessDenied", "not authorized"), ErrorKind.ACCESS_DENIED),
    (client_error("AccessDeniedException", "User is not authorized"), ErrorKind.ACCESS_DENIED),
    (client_error(None, status=403), ErrorKind.ACCESS_DENIED),  # S3 HeadObject: a bare 403
    (client_error("UnauthorizedOperation", ""), ErrorKind.ACCESS_DENIED),
    (client_error("ThrottlingException", "Rate exceeded"), ErrorKind.THROTTLED),
    (client_error("Throttling", "Rate exceeded"), ErrorKind.THROTTLED),
    (client_error("RequestLimitExceeded", ""), ErrorKind.THROTTLED),
    (client_error("SlowDown", "", 503), ErrorKind.THROTTLED),
    (client_error("TooManyRequestsException", ""), ErrorKind.THROTTLED),
    (ReadTimeoutError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/"), ErrorKind.TIMEOUT),
    (ConnectTimeoutError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/"), ErrorKind.TIMEOUT),
    (EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/"), ErrorKind.TIMEOUT),
    (ResponseParserError("Unable to parse response"), ErrorKind.MALFORMED),
    (client_error("ValidationException", "1 validation error detected: Value at 'maxResults' failed"),
     ErrorKind.OTHER),
    (client_error("ValidationException", "Requested resource is being deleted"), ErrorKind.OTHER),
    (client_error("InternalFailure", "", 500), ErrorKind.OTHER),
])
def test_each_error_family_is_classified(exc: Exception, kind: ErrorKind) -> None:
    err = classify("sagemaker", "describe_endpoint", exc)
    assert err.kind is kind
    assert err.not_found is (kind is ErrorKind.NOT_FOUND)
    assert err.reason.startswith("sagemaker:describe_endpoint failed: ")


def test_a_collect_error_is_passed_through_unchanged() -> None:
    err = CollectError("s3", "head_object", "MalformedResponse", "missing ContentLength")
    assert classify("s3", "head_object", err) is err and err.kind is ErrorKind.MALFORMED


def test_codes_and_messages_are_kept_for_the_report() -> None:
    err = classify("kms", "describe_key", client_error("AccessDeniedException", "User: x is not authorized"))
    assert (err.code, err.message) == ("AccessDeniedException", "User: x is not authorized")
    timeout = classify("logs", "describe_log_groups", ReadTimeoutError(endpoint_url="https://logs"))
    assert timeout.code == "ReadTimeoutError" and "https://logs" in timeout.message


@pytest.mark.parametrize(("code", "message", "dangling"), [
    ("ValidationException", "Could not find model 'm'.", True),
    ("ValidationException", "1 validation error detected", False),
    ("ThrottlingException", "Rate exceeded", False),
    ("AccessDeniedException", "denied", False),
])
def test_only_not_found_makes_a_reference_dangling(code: str, message: str, dangling: bool) -> None:
    graph = ResourceGraph()
    ctx = Context(factory=None, account=ACCOUNT, region=REGION, graph=graph)  # type: ignore[arg-type]
    node = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m"
    ctx.describe_failed(node, "sagemaker.model", "m", classify("sagemaker", "describe_model",
                                                              client_error(code, message)))
    attrs = graph.attrs(node)
    assert attrs["dangling"] is dangling
    assert ("describe" in attrs["errors"]) is not dangling
    assert len(graph.errors) == (0 if dangling else 1)


def test_a_client_error_without_an_error_body_is_classified_by_its_http_status_or_unknown() -> None:
    bare_404 = classify("s3", "HeadObject", BotoClientError({"ResponseMetadata": {"HTTPStatusCode": 404}}, "HeadObject"))
    assert (bare_404.code, bare_404.kind) == ("404", ErrorKind.NOT_FOUND)
    for response in ({}, {"ResponseMetadata": {}}, {"Error": {}, "ResponseMetadata": {"RequestId": "r"}}):
        err = classify("s3", "HeadObject", BotoClientError(response, "HeadObject"))  # type: ignore[arg-type]
        assert (err.code, err.kind) == ("Unknown", ErrorKind.OTHER), response
    e = CollectError("sagemaker", "DescribeEndpoint", "AccessDenied", "no")
    assert str(e) == "sagemaker:DescribeEndpoint: AccessDenied: no"
    assert e.reason == "sagemaker:DescribeEndpoint failed: AccessDenied: no"
