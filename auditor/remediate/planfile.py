"""Reviewed plans: `--plan-out` writes the plan; `audit apply` keeps only the changes that still match it."""

# The file is data, never instructions: apply reads ids, remediator names and resource ARNs from it to say which
# changes were approved; the calls it runs are always the ones the remediator plans now from the re-read resource.

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from auditor.graph import atomic_write_text
from auditor.remediate.plan_view import REFUSED, SKIPPED, plan_entry
from auditor.yamlsafe import InputError

FORMAT = "sagemaker-auditor-plan"
VERSION = 1
MAX_BYTES = 50 * 1024 * 1024
ID = re.compile(r"^[0-9a-f]{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
RULE = re.compile(r"^SM-\d\d-[a-z0-9-]+$")


def write(path: Path, changes: list[Any], graph: Any) -> None:
    actionable = [c for c in changes if c.actionable]
    doc = {"format": FORMAT, "version": VERSION,
           "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "account": graph.meta.get("account"),
           "regions": sorted({c.findings[0].finding.resource.region for c in actionable}),
           "rules": sorted({r for c in actionable for r in c.rules}),
           "changes": [plan_entry(c) for c in actionable]}
    atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")


def read(path: Path) -> dict[str, Any]:
    """The plan file, checked for the keys apply uses (each the type it must be): a clear error otherwise."""
    try:
        if not path.is_file():
            raise InputError(path, None, "not a regular file (a plan written by `audit --remediate --plan-out`)")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(path, None, f"larger than {MAX_BYTES // 2**20} MB: not a plan file")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, None, f"cannot read the plan: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise InputError(path, getattr(exc, "lineno", None), f"not a plan file (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise InputError(path, None, f"not a plan file: expected format {FORMAT!r} version {VERSION}")
    if not isinstance(doc.get("account"), str):
        raise InputError(path, None, "plan file: `account` must be the account id the plan was made for")
    for key, pattern in (("regions", REGION), ("rules", RULE)):
        items = doc.get(key)
        if not isinstance(items, list) or not all(isinstance(x, str) and pattern.match(x) for x in items):
            raise InputError(path, None, f"plan file: `{key}` must be a list of {key[:-1]} names")
    changes = doc.get("changes")
    if not isinstance(changes, list):
        raise InputError(path, None, "plan file: `changes` must be a list")
    for i, c in enumerate(changes):
        ok = (isinstance(c, dict) and isinstance(c.get("change_id"), str) and ID.match(c["change_id"])
              and isinstance(c.get("remediator"), str) and isinstance(c.get("resource"), dict)
              and isinstance(c["resource"].get("arn"), str))
        if not ok:
            raise InputError(path, None, f"plan file: change {i + 1} needs change_id (12 hex digits), remediator "
                                         "and resource.arn")
    return doc


def _why(now: dict[str, Any], planned: dict[str, Any]) -> str:
    """In words: what differs between the change planned now and the reviewed one (same remediator, resource)."""
    diffs = []
    if now["rules"] != planned.get("rules"):
        diffs.append(f"failing rules now {', '.join(now['rules'])}")
    if now["params"] != planned.get("params"):
        diffs.append("remediator parameters differ (config changed)")
    before, was = now["before"] or {}, planned.get("before") or {}
    changed = sorted(k for k in set(before) | set(was) if json.dumps(before.get(k), sort_keys=True, default=str)
                     != json.dumps(was.get(k), sort_keys=True, default=str))
    if changed:
        diffs.append(f"the resource changed since the plan ({', '.join(changed)})")
    if [c["api"] for c in now["calls"]] != [c.get("api") for c in planned.get("calls") or []]:
        diffs.append("the calls it needs differ")
    return "; ".join(diffs) or "the change differs from the reviewed plan"


def match(changes: list[Any], path: Path, account: str | None) -> list[dict[str, Any]]:
    """Keep the changes of the reviewed plan (same content id); refuse, with the reason, every reviewed change that no
    longer matches; skip changes nobody reviewed. Returns the reviewed changes that have no counterpart now."""
    doc = read(path)
    if doc["account"] != account:
        raise InputError(path, None, f"the plan is for account {doc['account']}; these credentials reach {account}")
    reviewed = {c["change_id"]: c for c in doc["changes"]}
    by_key = {(c["remediator"], c["resource"]["arn"]): c for c in reviewed.values()}
    seen: set[str] = set()
    for ch in changes:
        planned = by_key.get(ch.key)
        if planned is None:
            if not ch.outcome:
                ch.outcome, ch.detail = SKIPPED, "not in the reviewed plan"
            continue
        seen.add(planned["change_id"])
        if ch.plan is not None and ch.plan.change_id == planned["change_id"] and ch.actionable:
            continue
        now = plan_entry(ch)
        reason = ch.detail if ch.plan is None else ch.plan.skip_reason or _why(now, planned)
        ch.outcome, ch.detail = REFUSED, f"reviewed change {planned['change_id']} refused: {reason}"
        if ch.plan is not None:  # reported under the id that was reviewed; what it would be now is in the detail
            ch.detail += f" (planned now it is {ch.plan.change_id})"
            ch.plan.change_id = planned["change_id"]
    return [{"change_id": c["change_id"], "remediator": c["remediator"], "rules": c.get("rules") or [],
             "resource": c["resource"]["arn"], "outcome": REFUSED, "calls": [],
             "detail": "the finding no longer fails (or is no longer selected): nothing to apply"}
            for cid, c in reviewed.items() if cid not in seen]
