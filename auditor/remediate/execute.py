"""Apply a plan call by call with a journal record before and after each; roll back, or undo a journalled change
through its validated inverse."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from auditor.remediate.inverse import Refused, UndoStep, check_plan
from auditor.remediate.journal import Journal
from auditor.remediate.registry import WAIT, Call, Plan

ClientFor = Callable[[str, str], Any]
# Errors that, when reversing, mean the thing is already as it was (deleted, not present): not a failure.
GONE = ("ResourceNotFoundException", "ObjectNotFoundException", "ResourceNotFound", "ValidationException",
        "NoSuchEntity", "NotFoundException", "DashboardNotFoundError")


def error_code(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


def run_call(client_for: ClientFor, call: Call, tolerate: tuple[str, ...] = ()) -> None:
    client = client_for(call.service, call.region)
    try:
        if call.operation == WAIT:
            args = dict(call.params)
            waiter = client.get_waiter(args.pop("waiter"))
            delay = int(os.environ.get("AUDITOR_WAIT_DELAY", "15"))
            waiter.wait(**args, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, 3600 // max(delay, 1))})
        else:
            getattr(client, call.operation)(**call.params)
    except Exception as exc:
        if error_code(exc) in call.ok_errors + tolerate:
            return
        raise


def _describe(exc: Exception) -> str:
    return f"{error_code(exc)}: {exc}"[:500]


def apply_plan(plan: Plan, journal: Journal, client_for: ClientFor) -> tuple[str, str | None]:
    """Returns ("applied", None) or ("failed", why). On failure, the steps already done are rolled back."""
    try:
        check_plan(plan)
    except Refused as exc:  # a remediator bug: refuse the change rather than make a call nothing could undo
        return "failed", f"not applied: {exc.why}"
    journal.append({"change_id": plan.change_id, "event": "planned", "rule_id": plan.rule_id,
                    "resource": plan.resource, "remediator": plan.remediator, "description": plan.description,
                    "before": plan.before, "calls": [c.to_dict() for c in plan.calls], "notes": plan.notes,
                    **({"run_id": plan.run_id} if plan.run_id else {})})
    done: list[UndoStep] = []
    for i, call in enumerate(plan.calls):
        journal.append({"change_id": plan.change_id, "event": "step-pending", "step": i, "call": call.to_dict()})
        try:
            run_call(client_for, call)
        except KeyboardInterrupt:
            journal.append({"change_id": plan.change_id, "event": "interrupted", "step": i,
                            "note": "interrupted while this call was in flight: it may or may not have applied"})
            raise
        except Exception as exc:  # noqa: BLE001 - recorded, then the change is rolled back
            journal.append({"change_id": plan.change_id, "event": "step-failed", "step": i, "call": call.to_dict(),
                            "error": _describe(exc)})
            rolled = not rollback(plan.change_id, done, journal, client_for)
            why = f"step {i + 1} ({call.operation}) failed: {_describe(exc)}"
            return "failed", why + ("; earlier steps rolled back" if rolled else "; ROLLBACK INCOMPLETE: see journal")
        journal.append({"change_id": plan.change_id, "event": "step-done", "step": i, "call": call.to_dict()})
        done.append(UndoStep(i, call, call.undo))
    return "applied", None


def rollback(change_id: str, done: list[UndoStep], journal: Journal, client_for: ClientFor) -> list[str]:
    """Reverse the steps newest first (a later step may depend on an earlier one); the errors, one per failed step."""
    errors = []
    for s in sorted(done, key=lambda d: d.step, reverse=True):
        for u in s.calls:
            try:
                run_call(client_for, u, tolerate=GONE if u.operation.startswith(("delete", "deregister")) else ())
            except Exception as exc:  # noqa: BLE001 - each undo is recorded; the others still run
                journal.append({"change_id": change_id, "event": "undo-failed", "step": s.step, "call": u.to_dict(),
                                "error": _describe(exc)})
                errors.append(f"step {s.step + 1} ({u.operation}): {_describe(exc)}")
                break
        else:
            journal.append({"change_id": change_id, "event": "undo-done", "step": s.step})
    return errors


def undo_change(change_id: str, steps: list[UndoStep], journal: Journal, client_for: ClientFor) -> list[str]:
    """Reverse a journalled change through its validated inverse (see inverse.undo_steps); the failures' reasons."""
    return rollback(change_id, steps, journal, client_for)
