"""`audit merge`: the shards' JSON reports combined into the report a single run over all of them would give."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from auditor.report.model import assemble


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


def load_report(path: Path) -> dict[str, Any]:
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
    return dict(doc)


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


def merge_reports(docs: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """One report from many. Refuses reports of different rule selections, versions or overlapping accounts."""
    first_path, first = docs[0]
    rules = _rules(first)
    for path, doc in docs[1:]:
        if doc["schema_version"] != first["schema_version"] or doc["tool"] != first["tool"]:
            raise MergeError(f"{path}: written by {doc['tool']} (schema {doc['schema_version']}), but {first_path} "
                             f"by {first['tool']} (schema {first['schema_version']}): run every shard with one version")
        if _rules(doc) != rules:
            raise MergeError(f"{path}: evaluated a different rule selection than {first_path}: "
                             "shards must run the same rules, config and waivers")
    seen: dict[str, Path] = {}
    for path, doc in docs:
        for c in doc["scope"].get("coverage", []):
            if c["status"] == "audited" and c["account"] in seen:
                raise MergeError(f"account {c['account']} is in both {seen[c['account']]} and {path}: "
                                 "shards must not overlap (use --shard I/N with one N)")
            if c["status"] == "audited":
                seen[c["account"]] = path
    scopes = [d["scope"] for _, d in docs]
    sources = sorted({s.get("source", "aws") for s in scopes})
    scope: dict[str, Any] = {
        "accounts": sorted({a for s in scopes for a in s["accounts"]} - {"unknown"}) or ["unknown"],
        "regions": sorted({r for s in scopes for r in s["regions"]}),
        "coverage": sorted((c for s in scopes for c in s.get("coverage", [])), key=lambda c: c["account"]),
        "collected_at": min((s["collected_at"] for s in scopes if s.get("collected_at")), default=None),
        "evaluated_at": max((s["evaluated_at"] for s in scopes if s.get("evaluated_at")), default=None),
        "source": sources[0] if len(sources) == 1 else "merged",
        "merged_from": [str(p) for p, _ in docs],
    }
    waivers = {json.dumps(w, sort_keys=True): w for _, d in docs for w in d.get("expired_waivers", [])}
    return assemble(
        findings=[f for _, d in docs for f in d["findings"]],
        errors=[e for _, d in docs for e in d["collection_errors"]],
        rules_by_policy={n: p["rules"] for n, p in first["summary"]["by_policy"].items()},
        rules_evaluated=first["summary"]["rules_evaluated"],
        scope=scope,
        manual_checks=first.get("manual_checks", []),
        expired_waivers=list(waivers.values()),
        api_calls=_sum_calls([d.get("api_calls") or {} for _, d in docs]),
    )


def _rules(doc: dict[str, Any]) -> tuple[Any, ...]:
    by_policy = doc["summary"]["by_policy"]
    return (doc["summary"]["rules_evaluated"], tuple((n, tuple(p["rules"])) for n, p in sorted(by_policy.items())),
            tuple(m["rule_id"] for m in doc.get("manual_checks", [])))


def _sum_calls(parts: list[dict[str, Any]]) -> dict[str, Any]:
    ops: Counter[str] = Counter()
    for p in parts:
        ops.update(p.get("by_operation") or {})
    return {"total": sum(p.get("total", 0) for p in parts),
            "http_attempts": sum(p.get("http_attempts", 0) for p in parts),
            "by_operation": dict(sorted(ops.items()))}
