"""The Security Hub lifecycle: what to send this run, given what earlier runs sent (FAILED, PASSED when resolved,
ARCHIVED when the resource is gone, SUPPRESSED when exempt, NOT_AVAILABLE when undecided)."""

from __future__ import annotations

import copy
from typing import Any

from auditor.report.asff import import_findings, render
from auditor.report.model import Report

GENERATOR_PREFIX = "sagemaker-auditor/"


def previously_sent(factory: Any, regions: list[str]) -> dict[str, dict[str, Any]]:
    """Our ACTIVE findings already in Security Hub, by Id (GetFindings, filtered server-side, checked again here)."""
    filters = {"GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
               "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}
    out: dict[str, dict[str, Any]] = {}
    for region in regions:
        pages = factory.client("securityhub", region=region).get_paginator("get_findings")
        for page in pages.paginate(Filters=filters, PaginationConfig={"PageSize": 100}):
            for f in page.get("Findings", []):
                if str(f.get("GeneratorId", "")).startswith(GENERATOR_PREFIX) and f.get("RecordState") == "ACTIVE":
                    out[f["Id"]] = f
    return out


def _archivable(old: dict[str, Any], report: Report, rules: set[str]) -> bool:
    """Only a run that evaluated the finding's rule and read its account-region without a collection error may say
    that its resource is gone (an undecidable finding elsewhere does not hide resources here)."""
    fields = old.get("ProductFields") or {}
    account, region = old.get("AwsAccountId"), fields.get("auditor/region", "")
    scope = report.scope
    if fields.get("auditor/rule") not in rules or account not in scope.accounts \
            or not (region in scope.regions or region in ("", "global")):
        return False
    for c in scope.coverage:
        if c.get("account") == account and (c.get("status") != "audited" or region in c.get("failed_regions", {})):
            return False
    return not any(e.account in (account, "", None) and e.region in (region, "", "global", None)
                   for e in report.collection_errors)


def plan(report: Report, previous: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's findings to import: every violation, undecided or exempt finding; a pass only when it resolves
    something we sent; an archive record for each sent finding whose resource no longer exists."""
    when = report.scope.evaluated_at or report.scope.collected_at
    rendered = render(report)
    out = []
    for f in rendered:
        old = previous.get(f["Id"])
        if f["Compliance"]["Status"] == "PASSED" and (old is None or old.get("Compliance", {}).get("Status")
                                                      == "PASSED"):
            continue  # nothing to resolve: never sent, or already PASSED
        if old is not None and old.get("CreatedAt"):
            f["CreatedAt"] = old["CreatedAt"]
        out.append(f)
    current = {f["Id"] for f in rendered}
    rules = {r for p in report.summary.by_policy.values() for r in p.rules}
    for fid, old in sorted(previous.items()):
        if fid not in current and _archivable(old, report, rules):
            gone = copy.deepcopy(old)
            gone.update({"RecordState": "ARCHIVED", "UpdatedAt": when})
            for k in ("ProductName", "CompanyName", "Region", "ProcessedAt", "FirstObservedAt", "LastObservedAt"):
                gone.pop(k, None)  # attributes Security Hub adds: not part of what a provider imports
            out.append(gone)
    return out


def deliver(factory: Any, report: Report, default_region: str) -> dict[str, Any]:
    """Read what was sent before, import this run's lifecycle; the import result with a count per state."""
    regions = sorted({r for r in report.scope.regions if r not in ("", "global")} or {default_region})
    todo = plan(report, previously_sent(factory, regions))
    result = import_findings(factory, todo, default_region)
    states: dict[str, int] = {}
    for f in todo:
        state = "ARCHIVED" if f.get("RecordState") == "ARCHIVED" else (
            "SUPPRESSED" if f.get("Workflow", {}).get("Status") == "SUPPRESSED" else f["Compliance"]["Status"])
        states[state] = states.get(state, 0) + 1
    result["by_state"] = states
    return result
