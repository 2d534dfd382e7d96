"""The Security Hub lifecycle: what to send this run, given what earlier runs sent (FAILED, PASSED when resolved,
ARCHIVED when the resource is gone, SUPPRESSED when exempt, NOT_AVAILABLE when undecided)."""

from __future__ import annotations

import copy
from typing import Any

from auditor.report.asff import import_findings, render

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


def _archivable(old: dict[str, Any], doc: dict[str, Any], rules: set[str]) -> bool:
    """Only a run that evaluated the finding's rule and read its account-region without a collection error may say
    that its resource is gone (an undecidable finding elsewhere does not hide resources here)."""
    fields = old.get("ProductFields") or {}
    account, region = old.get("AwsAccountId"), fields.get("auditor/region", "")
    if fields.get("auditor/rule") not in rules or account not in doc["scope"]["accounts"] \
            or not (region in doc["scope"]["regions"] or region in ("", "global")):
        return False
    for c in doc["scope"].get("coverage", []):
        if c.get("account") == account and (c.get("status") != "audited" or region in c.get("failed_regions", {})):
            return False
    return not any(e.get("account") in (account, "", None) and e.get("region") in (region, "", "global", None)
                   for e in doc["collection_errors"])


def plan(doc: dict[str, Any], previous: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's findings to import: every violation, undecided or exempt finding; a pass only when it resolves
    something we sent; an archive record for each sent finding whose resource no longer exists."""
    when = doc["scope"]["evaluated_at"] or doc["scope"]["collected_at"]
    rendered = render(doc)
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
    rules = {r for p in doc["summary"]["by_policy"].values() for r in p.get("rules", [])}
    for fid, old in sorted(previous.items()):
        if fid not in current and _archivable(old, doc, rules):
            gone = copy.deepcopy(old)
            gone.update({"RecordState": "ARCHIVED", "UpdatedAt": when})
            for k in ("ProductName", "CompanyName", "Region", "ProcessedAt", "FirstObservedAt", "LastObservedAt"):
                gone.pop(k, None)  # attributes Security Hub adds: not part of what a provider imports
            out.append(gone)
    return out


def deliver(factory: Any, doc: dict[str, Any], default_region: str) -> dict[str, Any]:
    """Read what was sent before, import this run's lifecycle; the import result with a count per state."""
    regions = sorted({r for r in doc["scope"]["regions"] if r not in ("", "global")} or {default_region})
    todo = plan(doc, previously_sent(factory, regions))
    result = import_findings(factory, todo, default_region)
    states: dict[str, int] = {}
    for f in todo:
        state = "ARCHIVED" if f.get("RecordState") == "ARCHIVED" else (
            "SUPPRESSED" if f.get("Workflow", {}).get("Status") == "SUPPRESSED" else f["Compliance"]["Status"])
        states[state] = states.get(state, 0) + 1
    result["by_state"] = states
    return result
