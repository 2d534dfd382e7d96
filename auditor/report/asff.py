"""AWS Security Finding Format (ASFF) findings, and the import into Security Hub (BatchImportFindings, 100/call)."""

from __future__ import annotations

import hashlib
from typing import Any

SCHEMA_VERSION = "2018-10-08"
BATCH = 100  # BatchImportFindings accepts at most 100 findings per call
SEVERITY = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "INFORMATIONAL"}
COMPLIANCE = {"pass": "PASSED", "fail": "FAILED", "error": "NOT_AVAILABLE", "exempt": "PASSED"}
RESOURCE_TYPE = {"s3.bucket": "AwsS3Bucket", "s3.object": "AwsS3Object", "iam.role": "AwsIamRole",
                 "kms.key": "AwsKmsKey", "ec2.security_group": "AwsEc2SecurityGroup", "ec2.subnet": "AwsEc2Subnet",
                 "ec2.vpc": "AwsEc2Vpc", "cloudtrail.trail": "AwsCloudTrailTrail"}


def finding_id(f: dict[str, Any]) -> str:
    """Stable across runs, so Security Hub updates a finding instead of duplicating it."""
    digest = hashlib.sha256(f"{f['rule_id']}|{f['resource']['arn']}".encode()).hexdigest()[:32]
    return f"sagemaker-auditor/{f['resource']['account']}/{f['resource']['region']}/{f['rule_id']}/{digest}"


def to_asff(f: dict[str, Any], when: str, default_region: str) -> dict[str, Any]:
    r = f["resource"]
    account = r["account"] if r["account"].isdigit() else "000000000000"
    region = r["region"] if r["region"] not in ("", "global") else default_region
    out: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(f),
        "ProductArn": f"arn:aws:securityhub:{region}:{account}:product/{account}/default",
        "GeneratorId": f"sagemaker-auditor/{f['rule_id']}",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": when,
        "UpdatedAt": when,
        "Severity": {"Label": SEVERITY[f["severity"]]},
        "Title": f"{f['rule_id']}: {f['title']}"[:256],
        "Description": f["message"][:1024] or f["title"],
        "Resources": [{"Type": RESOURCE_TYPE.get(r["type"], "Other"), "Id": r["arn"], "Partition": "aws",
                       "Region": region, "Details": {"Other": {"auditor_type": r["type"], "name": r["name"][:1024]}}}],
        "Compliance": {"Status": COMPLIANCE[f["status"]]},
        "ProductFields": {"auditor/policy": str(f["policy"]), "auditor/status": f["status"]},
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW" if f["status"] in ("fail", "error") else "RESOLVED"},
    }
    guidance = f["remediation"].get("guidance")
    if guidance:
        out["Remediation"] = {"Recommendation": {"Text": guidance[:512]}}
    return out


def render(doc: dict[str, Any]) -> list[dict[str, Any]]:
    when = doc["scope"]["evaluated_at"] or doc["scope"]["collected_at"]
    region = (doc["scope"]["regions"] or ["us-east-1"])[0]
    return [to_asff(f, when, region) for f in doc["findings"]]


def import_findings(factory: Any, findings: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """Import failing (and undecided) findings in batches of 100; report what Security Hub rejected."""
    client = factory.client("securityhub", region=region)
    todo = [f for f in findings if f["Compliance"]["Status"] in ("FAILED", "NOT_AVAILABLE")]
    result: dict[str, Any] = {"submitted": len(todo), "imported": 0, "failed": [], "calls": 0}
    for i in range(0, len(todo), BATCH):
        resp = client.batch_import_findings(Findings=todo[i:i + BATCH])
        result["calls"] += 1
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
            "Status": {"enum": ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"]}}},
        "RecordState": {"enum": ["ACTIVE", "ARCHIVED"]},
        "Workflow": {"type": "object", "properties": {
            "Status": {"enum": ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]}}},
    },
}
