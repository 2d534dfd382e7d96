"""What an AWS answer must hold, from botocore's own models: a 200 answer missing it is malformed, never empty.

botocore parses a 200 body that is not valid for its operation into a dict without the expected keys (a JSON
body that does not parse becomes `{"message": body}`, of which the output shape keeps nothing). Read with
`.get(key, [])`, such an answer looked like an empty account. Every answer is checked here, before any
collector reads it, against:
- the output shape's `required` members (AWS always returns them), in the answer and in its lists' items;
- the type of every value botocore parsed, at every depth;
- for a paginated operation, the paginator's result key (the list the operation exists to return), which the
  shapes often do not mark required. XML protocols omit an empty *flattened* list entirely, so those are only
  required when the protocol can tell "empty" from "absent"; with several result keys, at least one.
A missing or wrong-typed value is a `MalformedResponse` CollectError naming the key: the caller records it as
a listing or facet error like any other failed read.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from auditor.collect.errors import MALFORMED, CollectError

# Python types botocore's parsers produce for each shape type (None is never a valid required value).
PY_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (dict,), "map": (dict,), "list": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "long": (int,), "float": (int, float), "double": (int, float),
    "timestamp": (dt.datetime, str), "blob": (bytes, bytearray, str),
}
# Shapes botocore's own handlers decode after parsing (IAM policy documents arrive URL-encoded JSON text).
DECODED_SHAPES = {"policyDocumentType"}
MAX_DEPTH = 12  # AWS output shapes are shallow; recursive shapes (documents) stop here
_JSON_PROTOCOLS = {"json", "rest-json", "smithy-rpc-v2-cbor"}


@dataclass(frozen=True)
class Expectation:
    """What one operation's answer must contain."""

    shape: Any  # botocore StructureShape of the output, or None
    result_keys: tuple[str, ...]  # top-level list members a page must hold (at least one of them)


_CACHE: dict[tuple[str, str, str], Expectation] = {}
_LOCK = threading.Lock()


def expectation(client: Any, operation: str) -> Expectation:
    """The expectation for `client.<operation>` (python method name), derived once per service model."""
    model = client.meta.service_model
    key = (model.service_name, model.api_version, operation)  # not id(): ids of collected models are reused
    got = _CACHE.get(key)
    if got is not None:
        return got
    api_name = client.meta.method_to_api_mapping.get(operation, operation)
    shape = model.operation_model(api_name).output_shape
    keys: tuple[str, ...] = ()
    if shape is not None and client.can_paginate(operation):
        tops = [str(getattr(k, "expression", k)).split(".")[0].split("[")[0]
                for k in client.get_paginator(operation).result_keys]
        keys = tuple(k for k in dict.fromkeys(tops) if k in shape.members
                     and _absent_means_missing(model.protocol, shape.members[k]))
    exp = Expectation(shape, keys)
    with _LOCK:
        _CACHE[key] = exp
    return exp


def _absent_means_missing(protocol: str, member: Any) -> bool:
    # An XML answer with an empty flattened list has no element at all: absence is then a valid "none".
    return protocol in _JSON_PROTOCOLS or not member.serialization.get("flattened", False)


def check_answer(client: Any, service: str, operation: str, answer: Any) -> None:
    """Raise a MalformedResponse CollectError when `answer` lacks what `operation` always returns."""
    exp = expectation(client, operation)
    if exp.shape is None:
        return
    problem = problem_in(exp.shape, answer, "")
    if problem is None and exp.result_keys and not any(k in answer for k in exp.result_keys):
        problem = f"missing {' or '.join(exp.result_keys)} (the list this operation returns)"
    if problem is not None:
        raise CollectError(service, operation, MALFORMED, f"answer not valid for the operation: {problem}")


def problem_in(shape: Any, value: Any, path: str, depth: int = 0, strict: bool = True) -> str | None:
    """The first way `value` does not fit `shape` (a missing required member or a wrong type), else None.

    Required members are enforced in the answer itself and in the items of its lists (what collectors read
    by key); in deeper structures (summaries such as DataCaptureConfig, read as "not configured" when
    absent) only the types are checked, so an AWS answer that omits an optional-in-practice member there does
    not turn a whole resource into an error.
    """
    allowed = PY_TYPES.get(shape.type_name)
    if shape.name in DECODED_SHAPES:
        allowed = (dict, list, str)
    if allowed is not None and (not isinstance(value, allowed) or
                                (shape.type_name in ("integer", "long") and isinstance(value, bool))):
        return f"{path or 'answer'} is {type(value).__name__}, expected {shape.type_name}"
    if depth >= MAX_DEPTH or getattr(shape, "is_document_type", False):
        return None
    if shape.type_name == "structure":
        required = set(getattr(shape, "required_members", ())) if strict else set()
        for name, member in shape.members.items():
            if value.get(name) is not None:
                found = problem_in(member, value[name], _join(path, name), depth + 1,
                                   strict and member.type_name == "list")
                if found:
                    return found
            elif name in required:
                return f"missing required {_join(path, name)}" if name not in value else \
                    f"{_join(path, name)} is null, expected {member.type_name}"
    elif shape.type_name == "list":
        scalar = PY_TYPES.get(shape.member.type_name)
        if shape.member.type_name not in ("structure", "list", "map") and shape.member.name not in DECODED_SHAPES \
                and scalar is not None and all(type(v) in scalar for v in value):
            return None  # long lists of numbers (metric values): one pass, no per-item call
        for i, item in enumerate(value):
            found = problem_in(shape.member, item, f"{path}[{i}]", depth + 1, strict)
            if found:
                return found
    elif shape.type_name == "map":
        for k, item in value.items():
            found = problem_in(shape.value, item, f"{path}.{k}", depth + 1, False)
            if found:
                return found
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
