"""SARIF 2.1.0 for GitHub code scanning: one result per violation (or undecided, or exempt) on a stable per-resource
pseudo-path, with fingerprints, rule help, security-severity and the rules' compliance references."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from auditor import __version__
from auditor.model import ResourceRef, Status
from auditor.report.context import references_text
from auditor.report.model import Report, ReportFinding

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub maps security-severity to its labels: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.5"}
SECURITY_HUB_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html#{anchor}"
RULES_DOCS = "https://sagemaker-auditor.dev/docs/rules"  # docs/rules.md, one section per rule
FINGERPRINT = "sagemakerAuditorFinding/v1"  # ours: primaryLocationLineHash is GitHub's own, computed from files


def resource_path(r: ResourceRef) -> str:
    """A stable pseudo-path per cloud resource (no file holds it): aws/ACCOUNT/REGION/TYPE/NAME."""
    return "/".join(quote(part or "-", safe="") for part in ("aws", r.account, r.region, r.type, r.name))


def fingerprint(rule_id: str, arn: str) -> str:
    return hashlib.sha256(f"{rule_id}\0{arn}".encode()).hexdigest()


def help_uri(refs: dict[str, Any]) -> str | None:
    if refs.get("aws_docs"):
        return str(refs["aws_docs"][0])
    for control in refs.get("security_hub", []):
        service, _, num = str(control).partition(".")
        return SECURITY_HUB_DOCS.format(service=service.lower(), anchor=f"{service.lower()}-{num}")
    return None


def rule_uri(rule_id: str, refs: dict[str, Any]) -> str:
    return help_uri(refs) or f"{RULES_DOCS}#{rule_id.lower()}"


def rule_file(source: str) -> str:
    """The rule file relative to the repository (rules/pNN-…/ID.yaml) when it lives under a rules/ folder."""
    parts = source.replace("\\", "/").split("/")
    return "/".join(parts[len(parts) - 1 - parts[::-1].index("rules"):]) if "rules" in parts else parts[-1]


def descriptor(r: Any) -> dict[str, Any]:
    refs = r.references or {}
    guidance = r.remediation.get("guidance", "").strip()
    refs_line = references_text(refs)
    markdown = f"**{r.title}**\n\n{r.rationale.strip()}\n\n**Remediation:** {guidance}"
    if r.remediation.get("remediator"):
        markdown += f" (automatic: `audit --remediate` runs `{r.remediation['remediator']}`)"
    if refs_line:
        markdown += f"\n\n**References:** {refs_line}"
    d: dict[str, Any] = {
        "id": r.id, "name": "".join(p.capitalize() for p in r.id.split("-")),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.rationale.strip() or r.title},
        "helpUri": "",
        "help": {"text": f"{guidance}\n{refs_line}".strip(), "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[r.severity.value]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[r.severity.value], "precision": "high",
            "tags": ["security", "compliance", f"policy-{r.policy}", *refs.get("security_hub", [])],
            "policy": r.policy, "severity": r.severity.value, "basis": r.basis, "rule_file": rule_file(r.source),
            "references": refs,
        },
    }
    d["helpUri"] = rule_uri(r.id, refs)
    return d


def result(rf: ReportFinding, index: dict[str, int]) -> dict[str, Any]:
    f, r = rf.finding, rf.finding.resource
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "message": {"text": f.message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": resource_path(r)}, "region": {"startLine": 1}},
            "logicalLocations": [{"fullyQualifiedName": r.arn, "name": r.name, "kind": "resource"}],
        }],
        "partialFingerprints": {FINGERPRINT: fingerprint(f.rule_id, r.arn)},
        "properties": {"status": f.status.value, "policy": f.policy, "account": r.account, "region": r.region,
                       "resourceType": r.type, "references": rf.references or {},
                       "advisory": f.advisory},
    }
    if f.rule_id in index:
        out["ruleIndex"] = index[f.rule_id]
    if f.status is Status.ERROR:
        # undecided: SARIF's "open" (not enough information), which the specification requires at level "none"
        out.update(kind="open", level="none")
        unknown = f.evidence.get("unknown") or []
        if unknown:
            out["message"]["text"] += " — could not read: " + "; ".join(unknown)
    else:
        out.update(kind="fail", level=LEVEL[f.severity.value])
    if f.status is Status.EXEMPT:
        ex = f.exemption or {}
        out["suppressions"] = [{"kind": "external", "status": "accepted",
                                "justification": f"{ex.get('kind', 'waiver')}: {ex.get('reason', '')}"}]
    if rf.endpoints:
        out["properties"]["endpoints"] = list(rf.endpoints)
    return out


def render(report: Report, rules: list[Any]) -> dict[str, Any]:
    descriptors = [descriptor(r) for r in rules if not r.manual]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = [result(f, index) for f in report.findings if f.status in (Status.FAIL, Status.ERROR, Status.EXEMPT)]
    notifications = [{"level": "error", "message": {"text": f"{e.service}:{e.operation} {e.code}: "
                                                            f"{e.message} ({e.account}/{e.region})"}}
                     for e in report.collection_errors]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "sagemaker-auditor", "version": __version__,
                                      "informationUri": "https://sagemaker-auditor.dev/", "rules": descriptors}},
                  "automationDetails": {"id": "sagemaker-auditor/"},
                  "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                  "results": results,
                  "properties": {"complete": report.complete, "scope": report.scope.to_json()}}],
    }
