"""Advisory rules: their findings are marked, counted apart, and never decide a policy, completeness or exit code."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import jsonschema

from auditor.app import exit_code
from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.model import Severity
from auditor.report import terminal
from auditor.report.json_report import render
from auditor.report.model import Report, build_report
from auditor.report.schema import report_schema
from auditor.report.tabular import render_junit
from tests.conftest import build_graph

RULES = {r.id: r for r in load_rules()}


def _doc(isolation: bool, vpc: bool) -> dict:  # type: ignore[type-arg]
    graph = build_graph({"nodes": [{"id": "m", "type": "sagemaker.model",
                                    "data": {"enable_network_isolation": isolation, "vpc_config": {"Subnets": ["s-1"], "SecurityGroupIds": ["sg-1"]} if vpc else {}}}]})
    rules = [RULES["SM-10-network-isolation"], RULES["SM-10-model-vpc"]]
    return json.loads(render(build_report(evaluate_rules(graph, rules, Config()), graph)))


def test_rules_whose_rationale_says_the_policy_does_not_require_them_are_advisory() -> None:
    advisory = {r.id for r in RULES.values() if r.advisory}
    assert advisory == {"SM-10-network-isolation", "SM-15-traffic-pattern"}
    assert all(RULES[r].severity is Severity.INFO for r in advisory)


def test_an_advisory_fail_is_counted_apart_and_is_not_a_violation() -> None:
    doc = _doc(isolation=False, vpc=True)
    jsonschema.Draft202012Validator(report_schema()).validate(doc)
    by_rule = {f["rule_id"]: f for f in doc["findings"]}
    assert by_rule["SM-10-network-isolation"]["status"] == "fail" and by_rule["SM-10-network-isolation"]["advisory"]
    assert "advisory" not in by_rule["SM-10-model-vpc"]
    summ = doc["summary"]
    assert summ["by_status"]["fail"] == 0 and summ["by_status"]["pass"] == 1
    assert summ["advisory"] == {"total": 1, "by_status": {"pass": 0, "fail": 1, "error": 0, "exempt": 0}}
    assert summ["by_policy"]["10"]["fail"] == 0 and summ["by_policy"]["10"]["advisory_fail"] == 1
    assert summ["by_policy"]["10"]["score"] == 100.0
    assert exit_code(Report.from_json(doc), Severity.INFO) == 0
    suite = ET.fromstring(render_junit(Report.from_json(doc))).find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("skipped") == "1"
    out = io.StringIO()
    from rich.console import Console

    terminal.print_summary(Report.from_json(doc), Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "Advisory (not required by the policies, not counted above): 1 fail" in text
    assert "Worst findings" not in text  # the only failure is advisory


def test_a_required_rule_still_fails_the_policy_beside_an_advisory_one() -> None:
    doc = _doc(isolation=False, vpc=False)
    assert doc["summary"]["by_policy"]["10"]["fail"] == 1 and doc["summary"]["advisory"]["by_status"]["fail"] == 1
    assert exit_code(Report.from_json(doc), Severity.INFO) == 1
