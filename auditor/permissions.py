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


# Where AWS lets an action be scoped, it is: (Sid, resource ARN patterns, condition). Everything else gets "*"
# (AWS offers no resource-level permission for it, or the tool must see every resource of the account).
SM_WRITE = ("SageMakerEndpointsOnly", ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*",
                                       "arn:aws:sagemaker:*:*:monitoring-schedule/*"], None)
ALARMS = ("TheStandardEndpointAlarmsOnly",  # the alarms create-endpoint-alarms names ENDPOINT-VARIANT-METRIC
          [f"arn:aws:cloudwatch:*:*:alarm:*-{m}" for m in ("ModelLatency", "Invocation5XXErrors",
                                                            "Invocation4XXErrors")], None)
SCOPES: dict[str, tuple[str, list[str], dict[str, Any] | None]] = {
    **{f"sagemaker:{a}": SM_WRITE for a in (
        "CreateEndpoint", "CreateEndpointConfig", "UpdateEndpoint", "DeleteEndpoint", "AddTags", "DeleteTags",
        "UpdateEndpointWeightsAndCapacities", "StartMonitoringSchedule", "StopMonitoringSchedule")},
    "cloudwatch:PutMetricAlarm": ALARMS, "cloudwatch:DeleteAlarms": ALARMS,
    **{f"cloudwatch:{a}": ("SageMakerDashboardsOnly", ["arn:aws:cloudwatch::*:dashboard/sagemaker-*"], None)
       for a in ("PutDashboard", "DeleteDashboards")},
    **{f"logs:{a}": ("SageMakerEndpointLogGroupsOnly", ["arn:aws:logs:*:*:log-group:/aws/sagemaker/Endpoints/*"], None)
       for a in ("CreateLogGroup", "PutRetentionPolicy", "DeleteRetentionPolicy")},
    **{f"kms:{a}": ("KeyRotationOnly", ["arn:aws:kms:*:*:key/*"], None)
       for a in ("EnableKeyRotation", "DisableKeyRotation")},
    **{f"s3:{a}": ("BucketSettingsOnly", ["arn:aws:s3:::*"], None)  # bucket ARNs: never an object
       for a in ("PutBucketVersioning", "PutEncryptionConfiguration")},
    # AWS creates the Application Auto Scaling role for SageMaker on the first RegisterScalableTarget
    "iam:CreateServiceLinkedRole": ("AutoScalingServiceLinkedRoleOnly", [
        "arn:aws:iam::*:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"],
        {"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}}),
    # HeadObject is authorised by s3:GetObject (S3 has no separate action); the audit only HEADs artifacts, so the
    # action is limited to objects (never buckets); narrow it to your artifact buckets if you can.
    "s3:GetObject": ("ArtifactMetadataHeadObject", ["arn:aws:s3:::*/*"], None),
}


def _statements(actions: list[str], sid: str) -> list[dict[str, Any]]:
    """One statement for the unscoped actions, one per scope: the least AWS allows to be granted."""
    scoped: dict[str, dict[str, Any]] = {}
    rest = []
    for a in actions:
        if a not in SCOPES:
            rest.append(a)
            continue
        name, resources, condition = SCOPES[a]
        st = scoped.setdefault(name, {"Sid": name, "Effect": "Allow", "Action": [], "Resource": resources})
        if condition:
            st["Condition"] = condition
        st["Action"].append(a)
    return [{"Sid": sid, "Effect": "Allow", "Action": rest, "Resource": "*"}, *scoped.values()]


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
                    history: str | None = None, journal: str | None = None) -> dict[str, Any]:
    """The policy; each delivery option adds only what it needs (an S3 history or journal: its own prefix)."""
    statements = _statements(audit_actions(), "SageMakerAuditorReadOnly")
    if remediate:
        extra = [a for a in remediation_actions() if a not in audit_actions()]
        statements += _statements(extra, "SageMakerAuditorRemediation")
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
    if journal:
        from auditor.remediate.journal import s3_location

        bucket, prefix = s3_location(journal)
        statements.append({"Sid": "RemediationJournalInS3", "Effect": "Allow", "Action": ["s3:GetObject",
                           "s3:PutObject"], "Resource": [f"arn:aws:s3:::{bucket}/{prefix.rstrip('*')}*"]})
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
