"""The report document: one dict built once from an evaluation, rendered by every writer."""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor import __version__
from auditor.engine.evaluator import Evaluation
from auditor.graph import ResourceGraph
from auditor.model import Severity, Status
from auditor.policies import POLICIES

SCHEMA_VERSION = "1.0"
STATUSES = [s.value for s in Status]


def score(counts: dict[str, int]) -> float | None:
    """Compliance score: passes over decided-or-undecidable findings; exempt findings are left out."""
    denom = counts.get("pass", 0) + counts.get("fail", 0) + counts.get("error", 0)
    return round(100.0 * counts.get("pass", 0) / denom, 1) if denom else None


def build_report(ev: Evaluation, graph: ResourceGraph, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    findings = [f.to_dict() for f in ev.findings]
    by_status = Counter(f["status"] for f in findings)
    failing_by_sev = Counter(f["severity"] for f in findings if f["status"] == "fail")
    per_policy: dict[str, Any] = {}
    for n, (section, title) in POLICIES.items():
        c = Counter(f["status"] for f in findings if f["policy"] == n)
        counts = {s: c.get(s, 0) for s in STATUSES}
        per_policy[str(n)] = {"section": section, "title": title, **counts, "score": score(counts),
                              "rules": sorted({r.id for r in ev.rules if r.policy == n})}
    errors = [e.to_dict() for e in graph.errors]
    complete = not errors and by_status.get("error", 0) == 0
    meta = graph.meta
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "sagemaker-auditor", "version": __version__},
        "scope": {
            "accounts": sorted({meta.get("account", "")} - {""}) or ["unknown"],
            "regions": list(meta.get("regions", [])),
            "collected_at": meta.get("collected_at"),
            "evaluated_at": ev.evaluated_at,
            "source": meta.get("source", "aws"),
        },
        "complete": complete,
        "summary": {
            "total": len(findings),
            "by_status": {s: by_status.get(s, 0) for s in STATUSES},
            "failing_by_severity": {s.value: failing_by_sev.get(s.value, 0) for s in Severity},
            "score": score(dict(by_status)),
            "by_policy": per_policy,
            "rules_evaluated": len([r for r in ev.rules if not r.manual]),
            "collection_errors": len(errors),
        },
        "findings": findings,
        "manual_checks": [{"rule_id": r.id, "policy": r.policy, "title": r.title, "rationale": r.rationale,
                           "guidance": r.remediation.get("guidance", "")} for r in ev.manual],
        "expired_waivers": ev.expired_waivers,
        "collection_errors": errors,
        "api_calls": meta.get("api_calls", {}),
    }
    if extra:
        doc.update(extra)
    return doc
