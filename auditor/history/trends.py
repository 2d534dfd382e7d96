"""Trends from the history: compliance per policy over the last runs, violations opened and closed per run, and
the age of each open violation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor.engine.operators import _timestamp as parse_time  # ISO 8601 (Z or offset) to aware UTC, or None
from auditor.history import RunSummary

LIMIT = 30  # runs shown, the current one included


def point(r: RunSummary) -> dict[str, Any]:
    return {"run_id": r.run_id, "at": r.evaluated_at or r.started_at, "complete": r.complete, "score": r.score,
            "policy_scores": dict(r.policy_scores), "opened": r.new, "closed": r.resolved}


def build(earlier: list[RunSummary], current: RunSummary, doc: dict[str, Any]) -> dict[str, Any]:
    """`earlier`: the runs of the same scope, oldest first; `current`: this run (not yet recorded)."""
    runs = [point(r) for r in [*earlier[-(LIMIT - 1):], current]]
    now = parse_time(doc["scope"].get("evaluated_at")) or dt.datetime.now(dt.UTC)
    ages = []
    for f in doc["findings"]:
        first = parse_time(f.get("first_seen")) if f["status"] == "fail" else None
        if first is not None:
            ages.append({"rule_id": f["rule_id"], "arn": f["resource"]["arn"], "name": f["resource"]["name"],
                         "severity": f["severity"], "first_seen": f["first_seen"],
                         "age_days": max(0, (now - first).days)})
    ages.sort(key=lambda a: (-a["age_days"], a["rule_id"], a["arn"]))
    return {"runs": runs, "open_violations": ages}
