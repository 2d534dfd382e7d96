"""Trends from the history: compliance per policy over the last runs, violations opened and closed per run, and
the age of each open violation."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from auditor.engine.operators import _timestamp as parse_time  # ISO 8601 (Z or offset) to aware UTC, or None
from auditor.history import RunSummary
from auditor.model import Status

if TYPE_CHECKING:
    from auditor.report.model import Report

LIMIT = 30  # runs shown, the current one included


def point(r: RunSummary) -> dict[str, Any]:
    return {"run_id": r.run_id, "at": r.evaluated_at or r.started_at, "complete": r.complete, "score": r.score,
            "policy_scores": dict(r.policy_scores), "opened": r.new, "closed": r.resolved}


def build(earlier: list[RunSummary], current: RunSummary, report: Report) -> dict[str, Any]:
    """`earlier`: the runs of the same scope, oldest first; `current`: this run (not yet recorded)."""
    runs = [point(r) for r in [*earlier[-(LIMIT - 1):], current]]
    now = parse_time(report.scope.evaluated_at) or dt.datetime.now(dt.UTC)
    ages: list[dict[str, Any]] = []
    for rf in report.findings:
        f = rf.finding
        first = parse_time(rf.first_seen) if f.status is Status.FAIL else None
        if first is not None:
            ages.append({"rule_id": f.rule_id, "arn": f.resource.arn, "name": f.resource.name,
                         "severity": f.severity.value, "first_seen": rf.first_seen,
                         "age_days": max(0, (now - first).days)})
    ages.sort(key=lambda a: (-a["age_days"], a["rule_id"], a["arn"]))
    return {"runs": runs, "open_violations": ages}
