"""The idle-stop CloudFormation template: generated, in sync, least privilege from declarations, cfn-lint clean."""

from __future__ import annotations

from pathlib import Path

import yaml

from auditor.idle.template import render, role_actions, template

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "aws" / "idle-stop.yaml"


def test_the_checked_in_template_is_the_generated_one() -> None:
    assert TEMPLATE.read_text() == render(), "stale: run python -m auditor.idle.template > deploy/aws/idle-stop.yaml"


def test_the_role_grants_the_audit_reads_and_the_stop_remediator_writes_and_nothing_else() -> None:
    from auditor.permissions import audit_actions
    from auditor.remediate.registry import load_builtin

    statements = template()["Resources"]["IdleStopRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {a for s in statements for a in s["Action"]}
    assert granted == set(audit_actions()) | set(load_builtin()["stop-idle-endpoint"].permissions) | {"s3:PutObject"}
    read, write = role_actions()
    assert "sagemaker:DeleteEndpoint" in write and "sagemaker:UpdateEndpoint" not in granted
    journal = next(s for s in statements if s["Sid"] == "Journal")
    assert journal["Resource"] != "*"


def test_the_template_passes_cfn_lint(tmp_path: Path) -> None:
    from cfnlint.api import lint_file

    assert lint_file(TEMPLATE) == []
    broken = tmp_path / "broken.yaml"  # the linter does catch what it should (a scheduled rule's typo)
    broken.write_text(TEMPLATE.read_text().replace("ScheduleExpression:", "ScheduleExpresion:"))
    assert lint_file(broken)
    assert yaml.safe_load(TEMPLATE.read_text())["Resources"]["IdleStopSchedule"]["Properties"]["State"] == "ENABLED"
