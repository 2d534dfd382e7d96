"""`audit merge`: the shards' JSON reports combined into the report a single run over all of them would give."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from auditor.report.model import Report, ReportError, Scope


class MergeError(ValueError):
    """Reports that cannot be merged (unreadable, invalid, or from different rule selections)."""


def find_reports(paths: list[Path]) -> list[Path]:
    """Each path is a report.json or a directory holding one (searched recursively: one per shard)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob("report.json"))
            if not found:
                raise MergeError(f"{p}: no report.json in this directory")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise MergeError(f"{p}: no such file or directory")
    unique = list(dict.fromkeys(q.resolve() for q in out))
    if not unique:
        raise MergeError("nothing to merge: name the shards' report directories")
    return unique


def load_report(path: Path) -> Report:
    from auditor.report.drift import MAX_REPORT_BYTES
    from auditor.report.schema import validate_report
    from auditor.yamlsafe import InputError, load_json

    try:
        doc = load_json(path, "report", MAX_REPORT_BYTES)
    except InputError as exc:
        raise MergeError(str(exc)) from None
    problems = validate_report(doc)
    if problems:
        raise MergeError(f"{path}: not a valid report: {problems[0]}")
    _check_consistent(path, doc)
    try:
        return Report.from_json(doc, str(path))
    except ReportError as exc:
        raise MergeError(str(exc)) from None


def _check_consistent(path: Path, doc: dict[str, Any]) -> None:
    """A shard's report must say what it covered, and its findings must agree with that and with its summary:
    without coverage, merging one stripped report twice would silently double its findings."""
    coverage = doc["scope"].get("coverage")
    if not isinstance(coverage, list):  # empty is fine: a shard that owned no account audited nothing
        raise MergeError(f"{path}: the report has no scope.coverage block, so overlapping shards cannot be "
                         "detected: merge reports written by this version of `audit`")
    audited = {c.get("account") for c in coverage if isinstance(c, dict) and c.get("status") == "audited"}
    strays = sorted({f["resource"]["account"] for f in doc["findings"]} - audited)
    if strays:
        raise MergeError(f"{path}: findings for account(s) {', '.join(map(str, strays[:5]))} that its "
                         "scope.coverage does not list as audited: the report was edited or is inconsistent")
    # advisory findings are counted apart (summary.advisory), never in by_status
    counts = Counter(f["status"] for f in doc["findings"] if not f.get("advisory"))
    advisory = Counter(f["status"] for f in doc["findings"] if f.get("advisory"))
    by_status = doc["summary"]["by_status"]
    by_advisory = (doc["summary"].get("advisory") or {}).get("by_status") or {}
    if doc["summary"]["total"] != len(doc["findings"]) or any(by_status.get(k, 0) != n for k, n in counts.items()) \
            or any(by_advisory.get(k, 0) != n for k, n in advisory.items()):
        raise MergeError(f"{path}: the summary counts ({doc['summary']['total']} findings) do not match the "
                         f"{len(doc['findings'])} findings listed: the report was edited or is inconsistent")
    for i, m in enumerate(doc.get("manual_checks") or []):
        if not isinstance(m, dict) or not isinstance(m.get("rule_id"), str):
            raise MergeError(f"{path}: manual_checks[{i}] is not a manual check (an object with a rule_id)")


def merge_reports(reports: list[tuple[Path, Report]]) -> Report:
    """One report from many. Refuses reports of different rule selections, versions or overlapping accounts."""
    first_path, first = reports[0]
    rules = _rules(first)
    for path, r in reports[1:]:
        if r.schema_version != first.schema_version or dict(r.tool) != dict(first.tool):
            raise MergeError(f"{path}: written by {dict(r.tool)} (schema {r.schema_version}), but {first_path} "
                             f"by {dict(first.tool)} (schema {first.schema_version}): run every shard with one "
                             "version")
        if _rules(r) != rules:
            raise MergeError(f"{path}: evaluated a different rule selection than {first_path}: "
                             "shards must run the same rules, config and waivers")
    seen: dict[str, Path] = {}
    for path, r in reports:
        for c in r.scope.coverage:
            if c["status"] == "audited" and c["account"] in seen:
                raise MergeError(f"account {c['account']} is in both {seen[c['account']]} and {path}: "
                                 "shards must not overlap (use --shard I/N with one N)")
            if c["status"] == "audited":
                seen[c["account"]] = path
    scopes = [r.scope for _, r in reports]
    sources = sorted({s.source for s in scopes})
    scope = Scope(
        accounts=tuple(sorted({a for s in scopes for a in s.accounts} - {"unknown"}) or ["unknown"]),
        regions=tuple(sorted({g for s in scopes for g in s.regions})),
        coverage=tuple(sorted((c for s in scopes for c in s.coverage), key=lambda c: c["account"])),
        collected_at=min((s.collected_at for s in scopes if s.collected_at), default=None),
        evaluated_at=max((s.evaluated_at for s in scopes if s.evaluated_at), default=None),
        source=sources[0] if len(sources) == 1 else "merged",
        merged_from=tuple(str(p) for p, _ in reports),
    )
    waivers = {json.dumps(w, sort_keys=True): w for _, r in reports for w in r.expired_waivers}
    return Report.build(
        findings=[f for _, r in reports for f in r.findings],
        errors=[e for _, r in reports for e in r.collection_errors],
        rules_by_policy=first.rules_by_policy,
        rules_evaluated=first.rules_evaluated,
        scope=scope,
        manual_checks=first.manual_checks,
        expired_waivers=list(waivers.values()),
        api_calls=_sum_calls([dict(r.api_calls or {}) for _, r in reports]),
    )


def _rules(r: Report) -> tuple[Any, ...]:
    return (r.rules_evaluated, tuple(sorted(r.rules_by_policy.items())), tuple(m.rule_id for m in r.manual_checks))


def _sum_calls(parts: list[dict[str, Any]]) -> dict[str, Any]:
    ops: Counter[str] = Counter()
    for p in parts:
        ops.update(p.get("by_operation") or {})
    return {"total": sum(p.get("total", 0) for p in parts),
            "http_attempts": sum(p.get("http_attempts", 0) for p in parts),
            "by_operation": dict(sorted(ops.items()))}
