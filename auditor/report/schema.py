"""JSON Schema of the JSON report (schema_version 1.x): the contract other tools parse."""

from __future__ import annotations

from typing import Any

from auditor.model import Severity, Status

STATUS = {"enum": [s.value for s in Status]}
SEVERITY = {"enum": [s.value for s in Severity]}
COUNTS = {"type": "object", "required": [s.value for s in Status],
          "properties": {s.value: {"type": "integer", "minimum": 0} for s in Status}}


def report_schema() -> dict[str, Any]:
    finding = {
        "type": "object",
        "required": ["rule_id", "policy", "title", "severity", "status", "resource", "message", "evidence",
                     "remediation"],
        "properties": {
            "rule_id": {"type": "string", "pattern": r"^SM-\d\d-[a-z0-9-]+$"},
            "policy": {"type": "integer", "minimum": 1, "maximum": 15},
            "title": {"type": "string"},
            "severity": SEVERITY,
            "status": STATUS,
            "resource": {
                "type": "object", "required": ["arn", "type", "name", "account", "region"],
                "properties": {k: {"type": "string"} for k in ("arn", "type", "name", "account", "region")},
            },
            "message": {"type": "string"},
            "evidence": {"type": "object", "required": ["basis", "checks"],
                         "properties": {"basis": {"enum": ["proven", "inferred"]}, "checks": {"type": "array"},
                                        "unknown": {"type": "array", "items": {"type": "string"}}}},
            "remediation": {"type": "object", "required": ["remediator", "guidance"],
                            "properties": {"remediator": {"type": ["string", "null"]},
                                           "guidance": {"type": "string"},
                                           "outcome": {"type": "string"}}},
            "exemption": {"type": "object", "required": ["kind", "reason"]},
            # report context added at assembly (report/context.py): what the finding affects, and the rule's refs
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "environment": {"enum": ["production", "non-production"]},
            "references": {"type": "object", "properties": {
                "policy_section": {"type": "string"},
                **{k: {"type": "array", "items": {"type": "string"}} for k in ("security_hub", "config_rules",
                                                                                 "aws_docs")}}},
            "first_seen": {"type": "string", "description": "when this violation was first seen (run history)"},
            "drift": {"enum": ["new", "still_failing", "resolved"]},
            "advisory": {"type": "boolean", "description": "the policy text does not require it: counted apart, "
                                                           "never a violation"},
        },
    }
    drift = {"type": "object", "required": ["baseline", "new", "still_failing", "resolved", "resolved_findings"],
             "properties": {"baseline": {"type": "string"}, "baseline_run": {"type": ["string", "null"]},
                            "since": {"type": ["string", "null"]}, "text": {"type": "string"},
                            "new": {"type": "integer"}, "still_failing": {"type": "integer"},
                            "resolved": {"type": "integer"},
                            "resolved_findings": {"type": "array", "items": {
                                "type": "object", "required": ["rule_id", "arn", "status_now"]}}}}
    trends = {"type": "object", "required": ["runs", "open_violations"], "properties": {
        "runs": {"type": "array", "items": {"type": "object", "required": ["run_id", "at", "complete", "score",
                                                                              "policy_scores", "opened", "closed"]}},
        "open_violations": {"type": "array", "items": {
            "type": "object", "required": ["rule_id", "arn", "first_seen", "age_days"],
            "properties": {"age_days": {"type": "integer", "minimum": 0}}}}}}
    policy_summary = {
        "type": "object",
        "required": ["section", "title", "pass", "fail", "error", "exempt", "score", "rules"],
        "properties": {"score": {"type": ["number", "null"]}, "title": {"type": "string"},
                       "advisory_fail": {"type": "integer", "minimum": 0}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sagemaker-auditor.dev/schemas/report.schema.json",
        "title": "SageMaker auditor JSON report",
        "type": "object",
        "required": ["schema_version", "tool", "scope", "complete", "summary", "findings", "collection_errors"],
        "properties": {
            "schema_version": {"type": "string", "pattern": r"^1\.\d+$"},
            "tool": {"type": "object", "required": ["name", "version"]},
            "scope": {"type": "object", "required": ["accounts", "regions", "collected_at", "evaluated_at"],
                      "properties": {"accounts": {"type": "array", "items": {"type": "string"}},
                                     "regions": {"type": "array", "items": {"type": "string"}},
                                     "coverage": {"type": "array", "items": {
                                         "type": "object", "required": ["account", "status", "regions"],
                                         "properties": {
                                             "account": {"type": "string"},
                                             "name": {"type": "string"},
                                             "status": {"enum": ["audited", "failed", "skipped"]},
                                             "reason": {"type": "string"},
                                             "regions": {"type": "array", "items": {"type": "string"}},
                                             "failed_regions": {"type": "object",
                                                                "additionalProperties": {"type": "string"}},
                                             "regions_without_endpoints": {"type": "array",
                                                                           "items": {"type": "string"}}}}},
                                     "shard": {"type": "string", "pattern": r"^\d+/\d+$"}}},
            "complete": {"type": "boolean"},
            "summary": {
                "type": "object",
                "required": ["total", "by_status", "failing_by_severity", "score", "by_policy"],
                "properties": {
                    "total": {"type": "integer"},
                    "by_status": COUNTS,
                    "advisory": {"type": "object", "required": ["total", "by_status"],
                                 "description": "advisory findings, counted apart from by_status and by_policy",
                                 "properties": {"total": {"type": "integer", "minimum": 0}, "by_status": COUNTS}},
                    "score": {"type": ["number", "null"]},
                    "by_policy": {"type": "object", "additionalProperties": policy_summary,
                                  "propertyNames": {"pattern": r"^([1-9]|1[0-5])$"}},
                },
            },
            "findings": {"type": "array", "items": finding},
            "manual_checks": {"type": "array"},
            "expired_waivers": {"type": "array"},
            "collection_errors": {"type": "array", "items": {
                "type": "object", "required": ["service", "operation", "code", "message", "account", "region"]}},
            "api_calls": {"type": "object", "properties": {
                "total": {"type": "integer"}, "http_attempts": {"type": "integer"},
                "by_operation": {"type": "object", "additionalProperties": {"type": "integer"}}}},
            "remediation": {"type": "object", "required": ["mode", "plan", "changes", "refused"], "properties": {
                "mode": {"enum": ["apply", "dry-run", "refused"]},
                "refused": {"type": ["object", "null"], "required": ["reason"]},
                "over_cap": {"type": ["object", "null"]},
                "plan": {"type": "array", "items": {"type": "object", "required": [
                    "change_id", "remediator", "rules", "resource", "params", "calls"]}},
                "changes": {"type": "array", "items": {"type": "object", "required": [
                    "change_id", "remediator", "resource", "outcome"]}},
                "skipped": {"type": "array"},
                "before": {"type": "object", "required": ["complete", "summary", "findings"]}}},
            "drift": drift,
            "trends": trends,
            "history": {"type": "object", "required": ["location", "run_id"],
                        "properties": {"location": {"type": "string"}, "run_id": {"type": "string"}}},
            "timings": {"type": "object", "properties": {
                "collect_seconds": {"type": "number"}, "evaluate_seconds": {"type": "number"},
                "workers": {"type": "integer"}}},
        },
    }


def validate_report(doc: Any) -> list[str]:
    """Problems with a report document against the published schema (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(report_schema())
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))][:20]
