"""What undo and restore may execute: only the declared inverse of a journalled forward call, on the resource,
account and region the change recorded. The journal is data, never instructions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.remediate.registry import WAIT, Call, Inverse, Plan, RemediatorSpec, load_builtin


class Refused(Exception):
    """A journalled change undo must not execute; `line` is the journal line that says so."""

    def __init__(self, change_id: str, line: int | None, why: str) -> None:
        super().__init__(why)
        self.change_id, self.line, self.why = change_id, line, why


@dataclass(frozen=True)
class UndoStep:
    """The validated calls that reverse one journalled step, rebuilt from the allowlist (never replayed as read)."""

    step: int
    forward: Call
    calls: tuple[Call, ...]


def endpoint_of(resource: dict[str, Any]) -> str | None:
    """The endpoint a change was about: the endpoint itself or the owner of a variant (named ENDPOINT/VARIANT)."""
    if resource.get("type") == "sagemaker.endpoint":
        return str(resource["name"])
    if resource.get("type") == "sagemaker.variant":
        return str(resource["name"]).split("/")[0]
    return None


def _arn_in(kind: str, resource: dict[str, Any]) -> Callable[[Any], bool]:
    pattern = re.compile(rf"arn:aws[a-z-]*:{kind}:{re.escape(resource['region'])}:{re.escape(resource['account'])}:")
    return lambda v: isinstance(v, str) and bool(pattern.match(v))


def _identity_checks(resource: dict[str, Any]) -> dict[str, Callable[[Any], bool]]:
    """For each parameter that names what a call acts on: does it name something of the recorded resource?"""
    ep = endpoint_of(resource)

    def each(ok: Callable[[Any], bool]) -> Callable[[Any], bool]:
        return lambda v: isinstance(v, list) and bool(v) and all(ok(x) for x in v)

    def named(want: str | None) -> Callable[[Any], bool]:
        return lambda v: want is not None and v == want

    alarm = (lambda v: isinstance(v, str) and v.startswith(f"{ep}-")) if ep else (lambda v: False)
    return {
        "EndpointName": named(ep),
        "ResourceId": lambda v: ep is not None and isinstance(v, str) and v.startswith(f"endpoint/{ep}/variant/"),
        "AlarmName": alarm, "AlarmNames": each(alarm),
        "DashboardName": named(f"sagemaker-{ep}" if ep else None),
        "DashboardNames": each(named(f"sagemaker-{ep}" if ep else None)),
        "logGroupName": named(f"/aws/sagemaker/Endpoints/{ep}" if ep else None),
        "Bucket": named(str(resource["name"]) if resource.get("type") == "s3.bucket" else None),
        "ResourceArn": _arn_in(r"sagemaker", resource),
        "KeyId": _arn_in("kms", resource),
    }


def _call(d: Any, change_id: str, line: int | None, what: str) -> Call:
    ok = (isinstance(d, dict) and all(isinstance(d.get(k), str) for k in ("service", "operation", "region"))
          and isinstance(d.get("params"), dict))
    if not ok:
        raise Refused(change_id, line, f"{what} is not a well-formed call record")
    return Call(d["service"], d["operation"], d["params"], d["region"], str(d.get("description", "")))


def _resource(plan: dict[str, Any], change_id: str) -> dict[str, Any]:
    res = plan.get("resource")
    line = plan.get("_line")
    if not isinstance(res, dict) or not all(isinstance(res.get(k), str) and res.get(k)
                                            for k in ("arn", "name", "region", "account", "type")):
        raise Refused(change_id, line, "the planned change does not record its resource (arn, name, type, account, "
                      "region)")
    parts = res["arn"].split(":")
    if len(parts) < 6 or (parts[2] != "s3" and parts[3:5] != [res["region"], res["account"]]):
        raise Refused(change_id, line, f"the resource ARN {res['arn']} is not in the recorded account and region")
    return res


def inverse_calls(spec: RemediatorSpec, resource: dict[str, Any], before: dict[str, Any], forward: Call,
                  recorded: list[Any], change_id: str = "", line: int | None = None) -> tuple[Call, ...]:
    """The undo calls for one forward call, checked against the remediator's declared inverse and the recorded
    resource, account and region; Refused (before any call) if anything else is asked for."""
    key = f"{forward.service}:{forward.operation}"
    inverse: Inverse | None = spec.inverses.get(key)
    if inverse is None:
        raise Refused(change_id, line, f"{key} is not a call remediator {spec.name} makes")
    if forward.region != resource["region"]:
        raise Refused(change_id, line, f"{key} was recorded in region {forward.region}, the change's resource is in "
                      f"{resource['region']}")
    allowed = {u.operation: u for u in inverse.undo}
    checks = _identity_checks(resource)
    out = []
    for raw in recorded:
        u = _call(raw, change_id, line, f"an undo of {key}")
        op = f"{u.service}:{u.operation}"
        decl = allowed.get(op)
        if decl is None:
            raise Refused(change_id, line, f"{op} is not a declared inverse of {key} (allowed: "
                          f"{', '.join(allowed) or 'nothing'})")
        if u.region != resource["region"]:
            raise Refused(change_id, line, f"{op} would run in region {u.region}, not the change's "
                          f"{resource['region']}")
        try:
            bound = decl.bind(forward.params, before)
        except (KeyError, TypeError, AttributeError) as exc:
            raise Refused(change_id, line, f"the recorded {key} or before-state lacks {exc}: cannot derive its "
                          "inverse") from None
        for k, want in bound.items():
            if u.params.get(k) != want:
                raise Refused(change_id, line, f"{op} {k}={u.params.get(k)!r} is not what the recorded {key} "
                              f"implies ({want!r})")
        extra = set(u.params) - set(bound) - set(decl.free)
        if extra:
            raise Refused(change_id, line, f"{op} carries parameters its declaration does not allow: "
                          f"{', '.join(sorted(extra))}")
        for k, ok in checks.items():
            if k in u.params and not ok(u.params[k]):
                raise Refused(change_id, line, f"{op} {k}={u.params[k]!r} is not part of the recorded resource "
                              f"{resource['arn']}")
        if u.operation == WAIT and u.params.get("waiter") != "endpoint_in_service":
            raise Refused(change_id, line, "only the endpoint_in_service waiter may be used")
        out.append(Call(u.service, u.operation, dict(u.params), resource["region"], u.description))
    return tuple(out)


def check_plan(plan: Plan) -> None:
    """A plan's calls and undo calls must be what its remediator declares: an undeclared one is a bug caught
    before it runs (and it could never be undone)."""
    spec = load_builtin().get(plan.remediator)
    if spec is None:
        raise Refused(plan.change_id, None, f"unknown remediator {plan.remediator!r}")
    resource = _resource({"resource": plan.resource}, plan.change_id)
    for call in plan.calls:
        inverse_calls(spec, resource, plan.before, call, [u.to_dict() for u in call.undo], plan.change_id)


def undo_steps(state: dict[str, Any]) -> list[UndoStep]:
    """The steps of a journalled change still to reverse (done, or in flight when interrupted), newest first, each
    with its validated inverse. Refused if the change or any step is not something this tool would do."""
    cid = state["change_id"]
    plan = state.get("plan")
    if not isinstance(plan, dict):
        raise Refused(cid, None, "the journal has no planned record for this change: what it did cannot be known")
    spec = load_builtin().get(plan.get("remediator"))  # type: ignore[arg-type]
    if spec is None:
        raise Refused(cid, plan.get("_line"), f"unknown remediator {plan.get('remediator')!r}")
    resource = _resource(plan, cid)
    before = plan.get("before") if isinstance(plan.get("before"), dict) else {}
    out = []
    for i, s in state["steps"].items():
        if not isinstance(i, int) or isinstance(i, bool) or i < 0:
            raise Refused(cid, s.get("line"), f"step {i!r} is not a step number")
        if s.get("status") not in ("done", "pending") or state["undone"].get(i) == "done":
            continue
        if s.get("conflict"):
            raise Refused(cid, s["conflict"], f"step {i} records a different call than line {s.get('line')}")
        forward = _call(s.get("call"), cid, s.get("line"), f"step {i}")
        recorded = s["call"].get("undo") or []
        if not isinstance(recorded, list):
            raise Refused(cid, s.get("line"), f"step {i}: its undo is not a list of calls")
        calls = inverse_calls(spec, resource, before or {}, forward, recorded, cid, s.get("line"))
        out.append(UndoStep(i, forward, calls))
    return sorted(out, key=lambda u: u.step, reverse=True)  # newest first: later steps may depend on earlier ones
