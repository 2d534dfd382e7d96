"""Fault injection through botocore event hooks: make chosen operations fail, or answer badly, as AWS could."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

# Bodies that are not a valid answer in each wire protocol; botocore's own parser decides what they become
# (a JSON body that does not parse is `{"message": body}`, an XML one is a ResponseParserError).
MALFORMED_BODIES = {
    "json": b"<html><body>502 Bad Gateway</body></html>", "rest-json": b"<html>502</html>",
    "query": b"<html>502 Bad Gateway", "ec2": b"<html>502 Bad Gateway", "rest-xml": b"<html>502 Bad Gateway",
    "smithy-rpc-v2-cbor": b"\xff\xfe<html>",
}
FAULT_KINDS = ("denied", "malformed", "empty")
Hooks = list[tuple[str, Any]]


def deny(*operations: str, code: str = "AccessDenied") -> Hooks:
    """Hooks that make `service.Operation` calls fail with `code` (e.g. 'sagemaker.DescribeModel')."""

    def handler(model: Any = None, **_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name)

    return [(f"before-call.{op}", handler) for op in operations]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _short_circuit(parsed_for: Callable[[Any], dict[str, Any]]) -> Callable[..., Any]:
    """A before-call handler answering the call itself with HTTP 200 and `parsed_for(operation model)`."""
    from botocore.awsrequest import AWSResponse

    def handler(model: Any = None, **_: Any) -> Any:
        parsed = parsed_for(model)
        parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": 200, "HTTPHeaders": {}})
        return AWSResponse("https://fault.invalid/", 200, {}, _Raw(b"")), parsed

    return handler


def malformed(*operations: str) -> Hooks:
    """Answer with HTTP 200 and a body that is not valid for the protocol, parsed by botocore's own parser."""
    from botocore.parsers import create_parser

    def parse(model: Any) -> dict[str, Any]:
        protocol = model.service_model.protocol
        body = MALFORMED_BODIES.get(protocol, b"<html>")
        resp = {"status_code": 200, "headers": {}, "body": body, "context": {"operation_name": model.name}}
        return dict(create_parser(protocol).parse(resp, model.output_shape))

    return [(f"before-call.{op}", _short_circuit(parse)) for op in operations]


def empty(*operations: str) -> Hooks:
    """Answer with the smallest valid answer: every required member present and empty (lists [], strings ""),
    and the list a paginated operation returns, empty."""
    return [(f"before-call.{op}", _short_circuit(_emptiest)) for op in operations]


def _emptiest(model: Any) -> dict[str, Any]:
    import botocore.session

    if model.output_shape is None:
        return {}
    out: dict[str, Any] = minimal(model.output_shape)
    service = model.service_model
    try:
        config = botocore.session.get_session().get_paginator_model(
            service.service_name, service.api_version).get_paginator(model.name)
    except Exception:  # noqa: BLE001 - not paginated (or no paginator model): nothing more is expected
        return out
    keys = config["result_key"] if isinstance(config["result_key"], list) else [config["result_key"]]
    for key in keys:
        top = key.split(".")[0].split("[")[0]
        if top in model.output_shape.members:
            out.setdefault(top, minimal(model.output_shape.members[top]))
    return out


def minimal(shape: Any) -> Any:
    """The emptiest value a shape allows: required members only, each at its emptiest."""
    kind = shape.type_name
    if kind == "structure":
        return {n: minimal(shape.members[n]) for n in getattr(shape, "required_members", [])}
    if kind == "string":
        return (getattr(shape, "enum", None) or [""])[0]
    return {"list": [], "map": {}, "boolean": False, "integer": 0, "long": 0,
            "float": 0.0, "double": 0.0, "blob": b"",
            "timestamp": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}.get(kind)


def inject(kind: str, operation: str) -> Hooks:
    """Hooks answering `service.Operation` with one fault kind: denied, malformed or empty."""
    return {"denied": deny, "malformed": malformed, "empty": empty}[kind](operation)


def recorder(seen: set[str]) -> Hooks:
    """A hook that adds every called `service.Operation` (botocore's event names) to `seen`."""

    def handler(model: Any = None, **_: Any) -> None:
        seen.add(f"{model.service_model.service_id.hyphenize()}.{model.name}")

    return [("before-call", handler)]
