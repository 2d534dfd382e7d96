"""The report document: one dict built once from an evaluation, rendered by every writer."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from auditor import __version__
from auditor.engine.conditions import Designation
from auditor.engine.config import DEFAULT_DESIGNATIONS
from auditor.engine.evaluator import Evaluation
from auditor.graph import ResourceGraph
from auditor.model import Severity, Status
from auditor.policies import POLICIES
from auditor.report.context import annotate

SCHEMA_VERSION = "1.0"
STATUSES = [s.value for s in Status]


def score(counts: dict[str, int]) -> float | None:
    """Compliance score: passes over decided-or-undecidable findings; exempt findings are left out."""
    denom = counts.get("pass", 0) + counts.get("fail", 0) + counts.get("error", 0)
    return round(100.0 * counts.get("pass", 0) / denom, 1) if denom else None


def build_report(ev: Evaluation, graph: ResourceGraph, extra: dict[str, Any] | None = None,
                 designations: dict[str, Designation] | None = None) -> dict[str, Any]:
    meta = graph.meta
    scope = {
        "accounts": list(meta.get("accounts") or sorted({meta.get("account", "")} - {""}) or ["unknown"]),
        "regions": list(meta.get("regions", [])),
        "coverage": list(meta.get("coverage", [])),
        "collected_at": meta.get("collected_at"),
        "evaluated_at": ev.evaluated_at,
        "source": meta.get("source", "aws"),
    }
    if meta.get("shard"):
        scope["shard"] = meta["shard"]
    findings = [f.to_dict() for f in ev.findings]
    annotate(findings, graph, (designations or DEFAULT_DESIGNATIONS).get("production"),
             {r.id: r.references for r in ev.rules})
    doc = assemble(
        findings=findings,
        errors=[e.to_dict() for e in graph.errors],
        rules_by_policy={str(n): sorted({r.id for r in ev.rules if r.policy == n}) for n in POLICIES},
        rules_evaluated=len([r for r in ev.rules if not r.manual]),
        scope=scope,
        manual_checks=[{"rule_id": r.id, "policy": r.policy, "title": r.title, "rationale": r.rationale,
                        "guidance": r.remediation.get("guidance", "")} for r in ev.manual],
        expired_waivers=ev.expired_waivers,
        api_calls=meta.get("api_calls", {}),
    )
    if extra:
        doc.update(extra)
    return doc


def assemble(findings: list[dict[str, Any]], errors: list[dict[str, Any]], rules_by_policy: dict[str, list[str]],
             rules_evaluated: int, scope: dict[str, Any], manual_checks: list[dict[str, Any]],
             expired_waivers: list[Any], api_calls: dict[str, Any]) -> dict[str, Any]:
    """The report document from its parts; a single run and `audit merge` both build it here."""
    findings = sorted(findings, key=finding_order)
    errors = sorted(errors, key=lambda e: json.dumps(e, sort_keys=True))
    expired_waivers = sorted(expired_waivers, key=lambda w: json.dumps(w, sort_keys=True))
    # Advisory findings (the policy text does not require them) are counted apart: they never decide a policy's
    # counts and score, the audit's completeness or the exit code.
    judged = [f for f in findings if not f.get("advisory")]
    advisory = Counter(f["status"] for f in findings if f.get("advisory"))
    by_status = Counter(f["status"] for f in judged)
    failing_by_sev = Counter(f["severity"] for f in judged if f["status"] == "fail")
    per_policy: dict[str, Any] = {}
    for n, (section, title) in POLICIES.items():
        c = Counter(f["status"] for f in judged if f["policy"] == n)
        counts = {s: c.get(s, 0) for s in STATUSES}
        per_policy[str(n)] = {"section": section, "title": title, **counts, "score": score(counts),
                              "advisory_fail": sum(1 for f in findings if f["policy"] == n and f.get("advisory")
                                                   and f["status"] == "fail"),
                              "rules": list(rules_by_policy.get(str(n), []))}
    complete = not errors and by_status.get("error", 0) == 0
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "sagemaker-auditor", "version": __version__},
        "scope": scope,
        "complete": complete,
        "summary": {
            "total": len(findings),
            "by_status": {s: by_status.get(s, 0) for s in STATUSES},
            "advisory": {"total": sum(advisory.values()), "by_status": {s: advisory.get(s, 0) for s in STATUSES}},
            "failing_by_severity": {s.value: failing_by_sev.get(s.value, 0) for s in Severity},
            "score": score(dict(by_status)),
            "by_policy": per_policy,
            "rules_evaluated": rules_evaluated,
            "collection_errors": len(errors),
        },
        "findings": findings,
        "manual_checks": manual_checks,
        "expired_waivers": expired_waivers,
        "collection_errors": errors,
        "api_calls": api_calls,
    }


def finding_order(f: dict[str, Any]) -> tuple[int, int, str, str]:
    """The order of findings in a report (Finding.sort_key, for finding dicts)."""
    return (f["policy"], -Severity(f["severity"]).rank, f["rule_id"], f["resource"]["arn"])
