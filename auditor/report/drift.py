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
    """Mark current violations new / still_failing; list baseline violations that are resolved."""
    before = {key(f) for f in baseline if f.get("status") == "fail"}
    now = {key(f) for f in current if f["status"] == "fail"}
    for f in current:
        if f["status"] == "fail":
            f["drift"] = "still_failing" if key(f) in before else "new"
    resolved = sorted(before - now)
    still_there = {key(f): f for f in current}
    return {
        "new": len(now - before),
        "still_failing": len(now & before),
        "resolved": len(resolved),
        "resolved_findings": [{"rule_id": r, "arn": a, "status_now": still_there[(r, a)]["status"]
                               if (r, a) in still_there else "gone"} for r, a in resolved],
    }
