"""deploy/aws/: generated from the declared permissions, equal to `audit permissions`, and clean under cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import cloudformation
from auditor.cli import main
from auditor.permissions import audit_actions, policy_document

AWS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "aws"


def _template(name: str) -> dict[str, Any]:
    return yaml.safe_load((AWS_DIR / name).read_text())


@pytest.mark.parametrize("name", sorted(cloudformation.TEMPLATES))
def test_committed_template_equals_the_generated_one(name: str) -> None:
    assert (AWS_DIR / name).read_text() == cloudformation.render(cloudformation.TEMPLATES[name]()), \
        "stale: run `python -m auditor.cloudformation`"


def test_audit_role_policy_equals_audit_permissions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["permissions"]) == 0
    printed = json.loads(capsys.readouterr().out)
    policies = _template("audit-role.yaml")["Resources"]["AuditRole"]["Properties"]["Policies"]
    assert policies[0]["PolicyDocument"] == printed
    # The remediation policy is there only when AllowRemediation is true, and adds what --remediate adds.
    condition, granted, absent = policies[1]["Fn::If"]
    assert condition == "Remediation" and absent == {"Ref": "AWS::NoValue"}
    assert printed["Statement"] + granted["PolicyDocument"]["Statement"] == policy_document(remediate=True)["Statement"]


def test_audit_role_trusts_only_the_named_principal_with_the_external_id() -> None:
    trust = _template("audit-role.yaml")["Resources"]["AuditRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": {"Ref": "TrustedPrincipalArn"}},
                                   "Action": "sts:AssumeRole",
                                   "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}}]


def test_permissions_prints_the_audit_role_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["permissions", "--format", "cloudformation"]) == 0
    assert capsys.readouterr().out == (AWS_DIR / "audit-role.yaml").read_text()


def test_nightly_task_may_read_what_the_audit_reads_and_assume_only_the_audit_role() -> None:
    statements = _template("nightly.yaml")["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"]
    read, *scoped, assume = statements
    assert scoped == policy_document()["Statement"][1:]
    granted = set(read["Action"]) | {a for s in scoped for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                   else s["Action"])}
    assert read["Resource"] == "*" and granted | {"sts:AssumeRole"} == set(audit_actions())
    assert "sts:AssumeRole" not in read["Action"]
    assert assume["Action"] == "sts:AssumeRole"
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${AuditRoleName}"}


def test_nightly_task_audits_the_organisation_into_s3_history() -> None:
    resources = _template("nightly.yaml")["Resources"]
    condition, with_notify, without = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0][
        "Command"]["Fn::If"]
    assert condition == "Notify" and with_notify[:len(without)] == without
    assert with_notify[len(without):] == ["--notify", {"Fn::Sub": "sns:${NotificationTopic}"}]
    flags = dict(zip(without[::2], without[1::2], strict=False))
    assert flags["--accounts"] == "org" and flags["--region"] == {"Ref": "Regions"}
    assert flags["--history"] == {"Fn::Sub": "s3://${ReportBucket}/history"}
    assert _template("nightly.yaml")["Parameters"]["Regions"]["Default"] == "all"
    assert resources["Schedule"]["Properties"]["Target"]["EcsParameters"]["LaunchType"] == "FARGATE"


@pytest.mark.parametrize("path", sorted(AWS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_cloudformation_template_passes_cfn_lint(path: Path) -> None:
    from cfnlint.api import lint_file  # dev extra; every template under deploy/aws/, including ones added later

    assert [str(m) for m in lint_file(path)] == []


def test_cfn_lint_catches_what_cloudformation_rejects(tmp_path: Path) -> None:
    from cfnlint.api import lint_file

    broken = _template("audit-role.yaml")
    broken["Resources"]["AuditRole"]["Properties"]["RoleNam"] = broken["Resources"]["AuditRole"]["Properties"].pop(
        "RoleName")
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert any("RoleNam" in str(m) for m in lint_file(tmp_path / "broken.yaml"))
