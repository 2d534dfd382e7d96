"""The 15 policies of the policy document, in its order: number -> (section, short title)."""

from __future__ import annotations

POLICIES: dict[int, tuple[str, str]] = {
    1: ("Model Preparation", "SageMaker-compatible containers"),
    2: ("Model Preparation", "Artifacts in S3 with versioning"),
    3: ("Model Preparation", "Model registry metadata"),
    4: ("Endpoint Configuration", "Multiple instances, multi-AZ (production)"),
    5: ("Endpoint Configuration", "Autoscaling (production)"),
    6: ("Endpoint Configuration", "Model Monitor and AutoRollback"),
    7: ("Monitoring & Observability", "CloudWatch metrics, logs and dashboards"),
    8: ("Monitoring & Observability", "Model quality monitoring (production)"),
    9: ("Monitoring & Observability", "A/B testing support"),
    10: ("Security & Compliance", "VPC network isolation"),
    11: ("Security & Compliance", "IAM access control and CloudTrail audit"),
    12: ("Security & Compliance", "Encryption at rest"),
    13: ("Cost Optimization", "Instance right-sizing"),
    14: ("Cost Optimization", "Idle endpoints stopped"),
    15: ("Cost Optimization", "Batch inference for offline work"),
}


def title(policy: int) -> str:
    return POLICIES.get(policy, ("", f"Policy {policy}"))[1]
