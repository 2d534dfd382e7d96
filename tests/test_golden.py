"""Golden rule cases: per rule, small account states with the expected status per resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from tests.conftest import build_graph

GOLDEN = Path(__file__).parent / "golden"
RULES = {r.id: r for r in load_rules()}


def _cases() -> list[Any]:
    out = []
    for f in sorted(GOLDEN.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        for case in doc["cases"]:
            out.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}:{case['name']}"))
    return out


@pytest.mark.parametrize(("rule_id", "case"), _cases())
def test_golden_case(rule_id: str, case: dict[str, Any]) -> None:
    rule = RULES[rule_id]
    graph = build_graph(case)
    config = Config()
    config.parameters = dict(case.get("parameters") or {})
    ev = evaluate_rules(graph, [rule], config)
    got = {f.resource.arn: f.status.value for f in ev.findings}
    assert got == case["expect"], [f.message for f in ev.findings]
    messages = {f.resource.arn: f.message for f in ev.findings}
    for node, text in (case.get("expect_message") or {}).items():  # optional: words the message must contain
        assert text in messages[node], messages[node]
    for f in ev.findings:
        if f.status.value == "error":
            assert f.evidence.get("unknown"), "an error finding must say what could not be read"


def test_every_automated_rule_has_pass_fail_and_error_golden_cases() -> None:
    seen: dict[str, set[str]] = {}
    for f in GOLDEN.glob("*.yaml"):
        doc = yaml.safe_load(f.read_text())
        for case in doc["cases"]:
            seen.setdefault(doc["rule"], set()).update(case["expect"].values())
    missing = {}
    for rid, rule in RULES.items():
        if rule.manual:
            continue
        need = {"pass", "fail", "error"} - seen.get(rid, set())
        if need:
            missing[rid] = sorted(need)
    assert not missing, f"rules without golden pass/fail/error cases: {missing}"
