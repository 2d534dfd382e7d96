"""AWS Security Finding Format (ASFF) findings, and the import into Security Hub (BatchImportFindings, 100/call)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from auditor.report.model import Report, ReportFinding

SCHEMA_VERSION = "2018-10-08"
BATCH = 100  # BatchImportFindings accepts at most 100 findings per call
# Security Hub's limits (BatchImportFindings guidelines, ASFF reference): 240 KB per finding, 6 MB per batch.
MAX_FINDING_BYTES = 240 * 1024
MAX_BATCH_BYTES = 6 * 1024 * 1024
LIMITS = {"Id": 512, "GeneratorId": 512, "Title": 256, "Description": 1024, "Recommendation.Text": 512,
          "Resources.Id": 512, "Resources.Type": 256, "ProductFields.key": 128, "ProductFields.value": 2048,
          "Details.Other.key": 128, "Details.Other.value": 1024, "RelatedRequirements": 32,
          "RelatedRequirements.item": 128}
SEVERITY = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "INFORMATIONAL"}
# An exempt finding is a violation someone accepted: FAILED and SUPPRESSED, never PASSED.
COMPLIANCE = {"pass": "PASSED", "fail": "FAILED", "error": "NOT_AVAILABLE", "exempt": "FAILED"}
WORKFLOW = {"pass": "RESOLVED", "fail": "NEW", "error": "NEW", "exempt": "SUPPRESSED"}
RESOURCE_TYPE = {"s3.bucket": "AwsS3Bucket", "s3.object": "AwsS3Object", "iam.role": "AwsIamRole",
                 "kms.key": "AwsKmsKey", "ec2.security_group": "AwsEc2SecurityGroup", "ec2.subnet": "AwsEc2Subnet",
                 "ec2.vpc": "AwsEc2Vpc", "cloudtrail.trail": "AwsCloudTrailTrail"}


def finding_id(f: ReportFinding) -> str:
    """Stable across runs, so Security Hub updates a finding instead of duplicating it."""
    r = f.finding.resource
    digest = hashlib.sha256(f"{f.rule_id}|{r.arn}".encode()).hexdigest()[:32]
    return f"sagemaker-auditor/{r.account}/{r.region}/{f.rule_id}/{digest}"


def cut(text: str, limit: int) -> str:
    """Truncate to `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def cut_id(text: str, limit: int) -> str:
    """An identifier truncated yet still unique: the prefix plus a digest of the whole."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: limit - 17]}#{digest}"


def to_asff(rf: ReportFinding, when: str | None, default_region: str) -> dict[str, Any]:
    f, r = rf.finding, rf.finding.resource
    status = f.status.value
    account = r.account if r.account.isdigit() else "000000000000"
    region = r.region if r.region not in ("", "global") else default_region
    out: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(rf),
        "ProductArn": f"arn:aws:securityhub:{region}:{account}:product/{account}/default",
        "GeneratorId": f"sagemaker-auditor/{f.rule_id}",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": when,
        "UpdatedAt": when,
        "Severity": {"Label": SEVERITY[f.severity.value]},
        "Title": cut(f"{f.rule_id}: {f.title}", LIMITS["Title"]),
        "Description": cut(f.message or f.title, LIMITS["Description"]),
        "Resources": [{"Type": RESOURCE_TYPE.get(r.type, "Other"), "Id": cut_id(r.arn, LIMITS["Resources.Id"]),
                       "Partition": "aws", "Region": region,
                       "Details": {"Other": {"auditor_type": cut(r.type, LIMITS["Details.Other.value"]),
                                             "name": cut(r.name, LIMITS["Details.Other.value"])}}}],
        "Compliance": {"Status": COMPLIANCE[status]},
        "ProductFields": {"auditor/policy": str(f.policy), "auditor/status": status,
                          "auditor/rule": cut(f.rule_id, LIMITS["ProductFields.value"]),
                          "auditor/region": cut(r.region, LIMITS["ProductFields.value"])},
        "RecordState": "ACTIVE",
        "Workflow": {"Status": WORKFLOW[status]},
    }
    related = related_requirements(rf.references or {})
    if related:
        out["Compliance"]["RelatedRequirements"] = related
    if rf.first_seen:  # the history knows when the violation began: CreatedAt stays that moment
        out["CreatedAt"] = rf.first_seen
    guidance = f.remediation.get("guidance")
    if guidance:
        out["Remediation"] = {"Recommendation": {"Text": cut(guidance, LIMITS["Recommendation.Text"])}}
    return fit(out)


def related_requirements(refs: Mapping[str, Any]) -> list[str]:
    """The rule's compliance references as ASFF Compliance.RelatedRequirements (at most 32, 128 characters each)."""
    items = [f"AWS Security Hub {c}" for c in refs.get("security_hub", [])]
    items += [f"AWS Config {c}" for c in refs.get("config_rules", [])]
    if refs.get("policy_section"):
        items.append(f"Deployment policy: {refs['policy_section']}")
    return [cut(str(x), LIMITS["RelatedRequirements.item"]) for x in items[: LIMITS["RelatedRequirements"]]]


def size(finding: dict[str, Any]) -> int:
    return len(json.dumps(finding, separators=(",", ":")).encode())


def fit(finding: dict[str, Any]) -> dict[str, Any]:
    """Keep a finding under Security Hub's 240 KB: drop optional detail, largest first, until it fits."""
    for optional in ("Remediation", "ProductFields", "Resources.Details"):
        if size(finding) <= MAX_FINDING_BYTES:
            break
        if optional == "Resources.Details":
            for res in finding["Resources"]:
                res.pop("Details", None)
        else:
            finding.pop(optional, None)
    return finding


def batches(findings: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """At most BATCH findings and MAX_BATCH_BYTES of request per batch (with room for the JSON envelope)."""
    batch: list[dict[str, Any]] = []
    used = 0
    for f in findings:
        n = size(f) + 1
        if batch and (len(batch) >= BATCH or used + n > MAX_BATCH_BYTES - 1024):
            yield batch
            batch, used = [], 0
        batch.append(f)
        used += n
    if batch:
        yield batch


def render(report: Report) -> list[dict[str, Any]]:
    when = report.scope.evaluated_at or report.scope.collected_at
    region = (report.scope.regions or ("us-east-1",))[0]
    return [to_asff(f, when, region) for f in report.findings]


def import_findings(factory: Any, findings: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """Import these findings, each in the region of its ProductArn, in batches within Security Hub's limits; a batch
    that fails is reported (region, first and last Id, reason) and the remaining batches are still sent."""
    from auditor.collect.errors import classify

    result: dict[str, Any] = {"submitted": len(findings), "imported": 0, "failed": [], "calls": 0,
                              "failed_batches": []}
    by_region: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_region.setdefault(f["ProductArn"].split(":")[3] or region, []).append(f)
    for reg, todo in sorted(by_region.items()):
        client = factory.client("securityhub", region=reg)
        for batch in batches(todo):
            result["calls"] += 1
            try:
                resp = client.batch_import_findings(Findings=batch)
            except Exception as exc:  # noqa: BLE001 - reported; the other batches still go
                err = classify("securityhub", "BatchImportFindings", exc)
                result["failed_batches"].append({"region": reg, "count": len(batch), "first_id": batch[0]["Id"],
                                                 "last_id": batch[-1]["Id"], "error": f"{err.code}: {err.message}"})
                continue
            result["imported"] += resp.get("SuccessCount", 0)
            result["failed"] += resp.get("FailedFindings", [])
    return result


# The ASFF attributes Security Hub requires, with their types and limits (AWS Security Hub user guide).
ASFF_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ASFF finding (required attributes)",
    "type": "object",
    "required": ["SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt",
                 "Severity", "Title", "Description", "Resources"],
    "properties": {
        "SchemaVersion": {"const": SCHEMA_VERSION},
        "Id": {"type": "string", "minLength": 1, "maxLength": 512},
        "ProductArn": {"type": "string", "pattern": r"^arn:aws:securityhub:[a-z0-9-]+:\d{12}:product/"},
        "GeneratorId": {"type": "string", "minLength": 1, "maxLength": 512},
        "AwsAccountId": {"type": "string", "pattern": r"^\d{12}$"},
        "Types": {"type": "array", "items": {"type": "string", "pattern": r"^[^/]+(/[^/]+){0,2}$"}},
        "CreatedAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
        "UpdatedAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
        "Severity": {"type": "object", "required": ["Label"], "properties": {
            "Label": {"enum": ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]}}},
        "Title": {"type": "string", "minLength": 1, "maxLength": 256},
        "Description": {"type": "string", "minLength": 1, "maxLength": 1024},
        "Resources": {"type": "array", "minItems": 1, "maxItems": 32, "items": {
            "type": "object", "required": ["Type", "Id"],
            "properties": {"Type": {"type": "string"}, "Id": {"type": "string", "minLength": 1},
                           "Partition": {"enum": ["aws", "aws-cn", "aws-us-gov"]}}}},
        "Compliance": {"type": "object", "properties": {
            "Status": {"enum": ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"]},
            "RelatedRequirements": {"type": "array", "maxItems": 32,
                                    "items": {"type": "string", "maxLength": 128}}}},
        "RecordState": {"enum": ["ACTIVE", "ARCHIVED"]},
        "Workflow": {"type": "object", "properties": {
            "Status": {"enum": ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]}}},
    },
}
