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


# --security-hub reads what earlier runs sent (to resolve and archive it) and imports this run's lifecycle.
SECURITY_HUB_ACTIONS = ["securityhub:BatchImportFindings", "securityhub:GetFindings"]
NOTIFY_ACTIONS = ["sns:Publish"]
S3_HISTORY_ACTIONS = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]


def policy_document(remediate: bool = False, security_hub: bool = False, notify: bool = False,
                    history: str | None = None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "SageMakerAuditorReadOnly", "Effect": "Allow", "Action": audit_actions(), "Resource": "*"}]
    if remediate:
        extra = [a for a in remediation_actions() if a not in audit_actions()]
        statements.append({"Sid": "SageMakerAuditorRemediation", "Effect": "Allow", "Action": extra, "Resource": "*"})
    if security_hub:
        statements.append({"Sid": "SageMakerAuditorSecurityHub", "Effect": "Allow", "Action": SECURITY_HUB_ACTIONS,
                           "Resource": "*"})
    if notify:
        statements.append({"Sid": "SageMakerAuditorNotify", "Effect": "Allow", "Action": NOTIFY_ACTIONS,
                           "Resource": "*"})
    if history and history.startswith("s3://"):  # only the history's own prefix
        bucket, _, prefix = history[len("s3://"):].partition("/")
        base = f"arn:aws:s3:::{bucket}/{prefix.strip('/') + '/' if prefix.strip('/') else ''}"
        statements.append({"Sid": "SageMakerAuditorHistory", "Effect": "Allow", "Action": S3_HISTORY_ACTIONS,
                           "Resource": f"{base}*"})
        # without ListBucket, S3 answers a missing index.json (the first run) with 403 instead of 404
        statements.append({"Sid": "SageMakerAuditorHistoryList", "Effect": "Allow", "Action": ["s3:ListBucket"],
                           "Resource": f"arn:aws:s3:::{bucket}"})
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
