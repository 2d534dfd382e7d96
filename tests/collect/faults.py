"""Fault injection through botocore event hooks: make chosen operations fail as AWS would."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def deny(*operations: str, code: str = "AccessDenied") -> list[tuple[str, Any]]:
    """Hooks that make `service.Operation` calls fail with `code` (e.g. 'sagemaker.DescribeModel')."""

    def handler(model: Any = None, **_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name)

    return [(f"before-call.{op}", handler) for op in operations]
