"""SARIF 2.1.0: violations as results on logical (cloud resource) locations, for code-scanning dashboards."""

from __future__ import annotations

from typing import Any

from auditor import __version__

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def render(doc: dict[str, Any], rules: list[Any]) -> dict[str, Any]:
    descriptors = [{
        "id": r.id, "name": r.id.replace("-", "_"),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.rationale},
        "help": {"text": r.remediation.get("guidance", "")},
        "defaultConfiguration": {"level": LEVEL[r.severity.value]},
        "properties": {"policy": r.policy, "severity": r.severity.value, "basis": r.basis},
    } for r in rules if not r.manual]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = []
    for f in doc["findings"]:
        if f["status"] not in ("fail", "error"):
            continue
        results.append({
            "ruleId": f["rule_id"],
            "ruleIndex": index.get(f["rule_id"], -1),
            "level": LEVEL[f["severity"]] if f["status"] == "fail" else "note",
            "kind": "fail" if f["status"] == "fail" else "open",
            "message": {"text": f["message"]},
            "locations": [{"logicalLocations": [{"fullyQualifiedName": f["resource"]["arn"],
                                                 "name": f["resource"]["name"], "kind": f["resource"]["type"]}]}],
            "properties": {"status": f["status"], "policy": f["policy"], "region": f["resource"]["region"],
                           "advisory": bool(f.get("advisory"))},
        })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "sagemaker-auditor", "version": __version__,
                                      "rules": descriptors}},
                  "results": results,
                  "properties": {"complete": doc["complete"], "scope": doc["scope"]}}],
    }
