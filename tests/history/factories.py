"""Small report documents for history, drift, Security Hub and notification tests."""

from __future__ import annotations

from typing import Any

from auditor.report.model import Report, assemble

ACCOUNT = "123456789012"


def finding(name: str, status: str = "fail", rule: str = "SM-04-min-instances", severity: str = "high",
            region: str = "us-east-1") -> dict[str, Any]:
    policy = int(rule[3:5])
    return {
        "rule_id": rule, "policy": policy, "title": "A rule title", "severity": severity, "status": status,
        "message": f"{name} is {status}", "evidence": {"basis": "proven", "checks": [], "unknown": []},
        "remediation": {"remediator": None, "guidance": "fix it"},
        "resource": {"arn": f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/{name}", "type": "sagemaker.endpoint",
                     "name": name, "account": ACCOUNT, "region": region},
    }


def report(findings: list[dict[str, Any]], when: str = "2026-11-25T02:00:00Z", complete: bool = True,
           rules: list[str] | None = None, regions: list[str] | None = None) -> dict[str, Any]:
    rules = rules or sorted({f["rule_id"] for f in findings} | {"SM-04-min-instances"})
    by_policy: dict[str, list[str]] = {}
    for r in rules:
        by_policy.setdefault(str(int(r[3:5])), []).append(r)
    errors = [] if complete else [{"service": "sagemaker", "operation": "ListEndpoints", "code": "AccessDenied",
                                   "message": "denied", "account": ACCOUNT, "region": "us-east-1"}]
    return assemble(findings=[dict(f) for f in findings], errors=errors, rules_by_policy=by_policy,
                    rules_evaluated=len(rules),
                    scope={"accounts": [ACCOUNT], "regions": regions or ["us-east-1"],
                           "coverage": [{"account": ACCOUNT, "status": "audited", "regions": regions or ["us-east-1"]}],
                           "collected_at": when, "evaluated_at": when, "source": "test"},
                    manual_checks=[], expired_waivers=[], api_calls={})


def typed(doc: dict[str, Any]) -> Report:
    """The typed report every renderer, store and remediator takes, from a (possibly partial) test document."""
    return Report.from_json({"schema_version": "1.0", **doc})
