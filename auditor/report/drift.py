"""Drift between runs: each violation is new or still failing; violations that went away are resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.yamlsafe import InputError, load_json

MAX_REPORT_BYTES = 512 * 1024 * 1024

Key = tuple[str, str]


def key(f: dict[str, Any]) -> Key:
    return (f["rule_id"], f["resource"]["arn"])


def load_baseline(path: Path) -> dict[str, Any]:
    doc = load_json(path, "baseline", MAX_REPORT_BYTES)
    if not isinstance(doc, dict) or not str(doc.get("schema_version", "")).startswith("1.") \
            or not isinstance(doc.get("findings"), list):
        raise InputError(path, None, "baseline is not an auditor report.json (schema_version 1.x)")
    return doc


def classify(current: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> dict[str, Any]:
    """Mark current violations new / still_failing, and findings whose violation went away resolved; list the
    baseline violations that are resolved (including those whose resource is gone)."""
    before = {key(f) for f in baseline if f.get("status") == "fail"}
    now = {key(f) for f in current if f["status"] == "fail"}
    for f in current:
        f.pop("drift", None)  # a merged shard report's own drift was against another baseline
        if f["status"] == "fail":
            f["drift"] = "still_failing" if key(f) in before else "new"
        elif key(f) in before and f["status"] in ("pass", "exempt"):
            f["drift"] = "resolved"  # an `error` now is not a resolution: we could not tell
    resolved = sorted(before - now)
    still_there = {key(f): f for f in current}
    return {
        "new": len(now - before),
        "still_failing": len(now & before),
        "resolved": len(resolved),
        "resolved_findings": [{"rule_id": r, "arn": a, "status_now": still_there[(r, a)]["status"]
                               if (r, a) in still_there else "gone"} for r, a in resolved],
    }


def carry_first_seen(current: list[dict[str, Any]], previous: list[dict[str, Any]], now: str) -> None:
    """Each violation's `first_seen`: carried from the previous run while it keeps failing (or could not be
    decided: an unreadable night does not restart the clock), else the date it already carries (a merged shard
    report's, from the shard's history), else now."""
    seen = {key(f): f["first_seen"] for f in previous
            if f.get("first_seen") and f.get("status") in ("fail", "error")}
    for f in current:
        if f["status"] == "fail":
            f["first_seen"] = seen.get(key(f)) or f.get("first_seen") or now
        elif f["status"] == "error" and key(f) in seen:
            f["first_seen"] = seen[key(f)]


def since_text(drift: dict[str, Any]) -> str:
    """The summary line: "N new since DATE" (the baseline's date, or its label when it has none)."""
    when = drift.get("since") or drift.get("baseline") or "the baseline"
    return f"{drift['new']} new since {when}"
