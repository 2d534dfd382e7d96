"""Least privilege: the IAM policy generated from what collectors declare; the published schema files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# API operations whose IAM action has another name (the rest are "service:Operation" as called).
ACTION_FOR_OPERATION = {
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "resourcegroupstaggingapi:GetResources": "tag:GetResources",
}


def action_for(operation: str) -> str:
    """The IAM action that authorises a counted call ("service:Operation" as botocore names it)."""
    return ACTION_FOR_OPERATION.get(operation, operation)


def audit_actions() -> list[str]:
    from auditor.collect import required_permissions

    return required_permissions()


def remediation_actions() -> list[str]:
    from auditor.remediate.registry import load_builtin

    return sorted({p for spec in load_builtin().values() for p in spec.permissions})


def policy_document(remediate: bool = False) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "SageMakerAuditorReadOnly", "Effect": "Allow", "Action": audit_actions(), "Resource": "*"}]
    if remediate:
        extra = [a for a in remediation_actions() if a not in audit_actions()]
        statements.append({"Sid": "SageMakerAuditorRemediation", "Effect": "Allow", "Action": extra, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def schema_documents() -> dict[str, dict[str, Any]]:
    from auditor.engine.schema import SCHEMAS
    from auditor.report.schema import report_schema

    docs = {f"{name}.schema.json": fn() for name, fn in SCHEMAS.items()}
    docs["report.schema.json"] = report_schema()
    return docs


def write_schemas(directory: Path) -> list[Path]:
    from auditor.graph import atomic_write_text

    out = []
    for name, doc in schema_documents().items():
        path = directory / name
        atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
        out.append(path)
    return out
