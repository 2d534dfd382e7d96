"""Meta-tests over the registries: every collector declares permissions, a purpose and a stage."""

from __future__ import annotations

import auditor.collect  # noqa: F401 - registers the collectors
from auditor.collect.base import COLLECTORS
from auditor.engine.operators import OPERATORS


def test_every_collector_declares_permissions_docstring_and_runs_in_stage_order() -> None:
    names = [c.name for c in COLLECTORS]
    assert len(names) == len(set(names)) >= 10
    for c in COLLECTORS:
        assert c.permissions and all(":" in p for p in c.permissions), c.name
        assert c.doc, f"collector {c.name} needs a docstring"
    stage = {c.name: c.stage for c in COLLECTORS}
    # later collectors read what earlier ones put in the graph
    assert stage["sagemaker"] < stage["s3"] < stage["kms"] < stage["cloudwatch"]
    assert stage["sagemaker"] < min(v for k, v in stage.items() if k != "sagemaker")


def test_every_operator_is_documented_with_an_example() -> None:
    for op in OPERATORS.values():
        assert op.doc and op.example.startswith("{") and op.name in op.example, op.name
