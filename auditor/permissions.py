"""Least privilege: the IAM policy generated from what collectors declare; the published schema files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def audit_actions() -> list[str]:
    from auditor.collect import required_permissions

    return required_permissions()


def policy_document() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SageMakerAuditorReadOnly", "Effect": "Allow", "Action": audit_actions(),
                       "Resource": "*"}],
    }


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
