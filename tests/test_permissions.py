"""`audit permissions` covers what --security-hub, --notify and an S3 --history call, and scopes the history."""

from __future__ import annotations

from typing import Any

import boto3

from auditor.history import compress, summarize
from auditor.history.s3 import S3History
from auditor.permissions import action_for, policy_document
from auditor.report.securityhub import deliver
from auditor.session import SessionFactory
from tests.history.factories import finding, report, typed


def allowed(doc: dict[str, Any], sid: str) -> set[str]:
    return {a for s in doc["Statement"] if s["Sid"].startswith(sid) for a in s["Action"]}


def test_every_delivery_and_history_call_is_in_the_generated_policy(aws: None) -> None:
    called: set[str] = set()

    def seen(model: Any = None, **_: Any) -> None:
        called.add(action_for(f"{model.service_model.endpoint_prefix}:{model.name}"))

    factory = SessionFactory(region="us-east-1", hooks=[("before-call", seen)])
    deliver(factory, typed(report([finding("a")])), "us-east-1")
    deliver(factory, typed(report([finding("a", "pass")])), "us-east-1")  # reads back what it sent, resolves it
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="t")["TopicArn"]
    factory.client("sns", region="us-east-1").publish(TopicArn=topic, Message="m")
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="hist")
    store = S3History("s3://hist/p", client=factory.client("s3", region="us-east-1"))
    doc = report([finding("a")])
    store.record(summarize(doc, "audit"), typed(doc), compress(typed(doc)))
    store.report(store.runs()[0].run_id)
    store.prune("9999")
    policy = policy_document(security_hub=True, notify=True, history="s3://hist/p")
    granted = allowed(policy, "SageMakerAuditor")
    assert called - {"sns:CreateTopic", "s3:CreateBucket"} <= granted
    assert {"securityhub:BatchImportFindings", "securityhub:GetFindings", "sns:Publish"} <= called


def test_delivery_statements_only_when_asked_and_the_history_scoped_to_its_prefix() -> None:
    assert [s["Sid"] for s in policy_document()["Statement"]] == ["SageMakerAuditorReadOnly", "ArtifactMetadataHeadObject"]
    doc = policy_document(history="s3://hist/nightly/prod/")
    [objects] = [s for s in doc["Statement"] if s["Sid"] == "SageMakerAuditorHistory"]
    assert objects["Resource"] == "arn:aws:s3:::hist/nightly/prod/*"
    assert allowed(policy_document(security_hub=True), "SageMakerAuditorSecurityHub") == {
        "securityhub:BatchImportFindings", "securityhub:GetFindings"}
    assert allowed(policy_document(notify=True), "SageMakerAuditorNotify") == {"sns:Publish"}
