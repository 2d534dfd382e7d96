"""Meta-tests over the remediator registry: every declared forward call and inverse is granted and scoped."""

from __future__ import annotations

import boto3

from auditor.permissions import action_for, policy_document
from auditor.remediate.registry import WAIT, load_builtin


def _action(op: str) -> str:
    service, name = op.split(":")
    api = boto3.client(service, region_name="us-east-1").meta.method_to_api_mapping[name]
    return action_for(f"{service}:{api}")


def test_every_declared_call_and_inverse_is_in_the_remediators_permissions() -> None:
    for spec in load_builtin().values():
        assert spec.inverses, spec.name
        ops = {i.forward for i in spec.inverses.values()} | {u.operation for i in spec.inverses.values()
                                                              for u in i.undo}
        for op in ops - {f"sagemaker:{WAIT}"}:
            assert _action(op) in spec.permissions, (spec.name, op)
    rotation = load_builtin()["enable-key-rotation"].permissions
    assert "kms:DisableKeyRotation" in rotation  # undo turns rotation off again


def test_the_remediation_policy_scopes_what_aws_allows_to_scope() -> None:
    statements = policy_document(remediate=True)["Statement"]
    by_action = {a: s for s in statements for a in s["Action"]}
    slr = by_action["iam:CreateServiceLinkedRole"]
    assert slr["Condition"] == {"StringEquals": {"iam:AWSServiceName":
                                                 "sagemaker.application-autoscaling.amazonaws.com"}}
    for a in ("sagemaker:DeleteEndpoint", "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
              "sagemaker:CreateEndpointConfig", "sagemaker:AddTags"):
        assert all(":endpoint" in r or ":monitoring-schedule/" in r for r in by_action[a]["Resource"]), a
    assert by_action["cloudwatch:PutMetricAlarm"]["Resource"] == by_action["cloudwatch:DeleteAlarms"]["Resource"]
    assert all(":alarm:*-" in r for r in by_action["cloudwatch:DeleteAlarms"]["Resource"])
    assert by_action["logs:PutRetentionPolicy"]["Resource"] == [
        "arn:aws:logs:*:*:log-group:/aws/sagemaker/Endpoints/*"]
    # the read policy grants s3:GetObject (HeadObject) on objects only, never "*"
    read = policy_document()["Statement"]
    assert [s["Resource"] for s in read if "s3:GetObject" in s["Action"]] == [["arn:aws:s3:::*/*"]]
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids)) and all(s.isalnum() for s in sids)


def test_an_s3_journal_adds_only_its_own_objects() -> None:
    from auditor.cli import main

    doc = policy_document(remediate=True, journal="s3://ops-journals/sagemaker/nightly")
    journal = [s for s in doc["Statement"] if s["Sid"] == "RemediationJournalInS3"]
    assert journal == [{"Sid": "RemediationJournalInS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": ["arn:aws:s3:::ops-journals/sagemaker/nightly*"]}]
    assert "RemediationJournalInS3" not in str(policy_document(remediate=True))
    assert main(["permissions", "--remediate", "--journal", "s3://ops-journals/x"]) == 0
