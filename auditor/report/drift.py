"""Drift between runs: each violation is new or still failing; violations that went away are resolved."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.report.model import Report, ReportError, ReportFinding
from auditor.yamlsafe import InputError, load_json

MAX_REPORT_BYTES = 512 * 1024 * 1024

Key = tuple[str, str]
# A finding of an earlier run: a typed one (a baseline report.json read back) or a stored history row's dict
# (rule_id, resource.arn, status, first_seen).
Earlier = ReportFinding | Mapping[str, Any]


def key(f: Mapping[str, Any]) -> Key:
    return (f["rule_id"], f["resource"]["arn"])


def _seen(f: Earlier) -> tuple[Key, str, str | None]:
    if isinstance(f, ReportFinding):
        return f.key, f.status.value, f.first_seen
    return key(f), str(f.get("status")), f.get("first_seen")


def load_baseline(path: Path) -> Report:
    doc = load_json(path, "baseline", MAX_REPORT_BYTES)
    try:
        return Report.from_json(doc, "baseline")
    except ReportError as exc:
        raise InputError(path, None, str(exc)) from None


def classify(current: Sequence[ReportFinding], baseline: Iterable[Earlier]
             ) -> tuple[list[ReportFinding], dict[str, Any]]:
    """Mark current violations new / still_failing, and findings whose violation went away resolved; list the
    baseline violations that are resolved (including those whose resource is gone). Returns the findings (same
    order) with their drift, and the counts."""
    before = {k for k, status, _ in map(_seen, baseline) if status == "fail"}
    now = {f.key for f in current if f.finding.status.value == "fail"}
    out = []
    for f in current:
        drift = None  # a merged shard report's own drift was against another baseline
        if f.finding.status.value == "fail":
            drift = "still_failing" if f.key in before else "new"
        elif f.key in before and f.finding.status.value in ("pass", "exempt"):
            drift = "resolved"  # an `error` now is not a resolution: we could not tell
        out.append(f if f.drift == drift else dataclasses.replace(f, drift=drift))
    resolved = sorted(before - now)
    still_there = {f.key: f for f in current}
    return out, {
        "new": len(now - before),
        "still_failing": len(now & before),
        "resolved": len(resolved),
        "resolved_findings": [{"rule_id": r, "arn": a, "status_now": still_there[(r, a)].finding.status.value
                               if (r, a) in still_there else "gone"} for r, a in resolved],
    }


def carry_first_seen(current: Sequence[ReportFinding], previous: Iterable[Earlier], now: str) -> list[ReportFinding]:
    """Each violation's `first_seen`: carried from the previous run while it keeps failing (or could not be
    decided: an unreadable night does not restart the clock), else the date it already carries (a merged shard
    report's, from the shard's history), else now."""
    seen = {k: first for k, status, first in map(_seen, previous) if first and status in ("fail", "error")}
    out = []
    for f in current:
        first = f.first_seen
        if f.finding.status.value == "fail":
            first = seen.get(f.key) or f.first_seen or now
        elif f.finding.status.value == "error" and f.key in seen:
            first = seen[f.key]
        out.append(f if first == f.first_seen else dataclasses.replace(f, first_seen=first))
    return out


def since_text(drift: Mapping[str, Any]) -> str:
    """The summary line: "N new since DATE" (the baseline's date, or its label when it has none)."""
    when = drift.get("since") or drift.get("baseline") or "the baseline"
    return f"{drift['new']} new since {when}"
