"""A failed read never proves anything: existence under AccessDenied, and the resources behind an unread parent."""

from __future__ import annotations

import boto3

from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report.model import build_report
from tests.collect.faults import deny
from tests.collect.test_errors_and_paging import REGION, run, seed_endpoint

RULES = load_rules()


def by_rule(findings: list, rule_id: str) -> list[str]:  # type: ignore[type-arg]
    return [f.status.value for f in findings if f.rule_id == rule_id]


def test_a_deleted_model_behind_access_denied_is_not_proven_to_exist(aws: None) -> None:
    seed_endpoint()
    boto3.client("sagemaker", region_name=REGION).delete_model(ModelName="model-a")
    clean, _ = run()
    assert by_rule(evaluate_rules(clean, RULES).findings, "SM-03-model-exists") == ["fail"]
    denied, _ = run(deny("sagemaker.DescribeModel"))
    ev = evaluate_rules(denied, RULES)
    finding = next(f for f in ev.findings if f.rule_id == "SM-03-model-exists")
    assert finding.status.value == "error" and "whether it exists is unknown" in finding.message


def test_an_unread_endpoint_config_turns_every_dependent_finding_into_an_error(aws: None) -> None:
    seed_endpoint()
    clean_graph, _ = run()
    clean = evaluate_rules(clean_graph, RULES).findings
    graph, _ = run(deny("sagemaker.DescribeEndpointConfig"))
    denied = evaluate_rules(graph, RULES).findings
    variant = graph.nodes_of_type("sagemaker.variant")[0]
    # what the config says of the variant is unknown; what DescribeEndpoint said is not
    assert "config" in graph.attrs(variant)["errors"]
    assert set(by_rule(denied, "SM-04-min-instances")) == {"error"}  # on the variant, and on the endpoint
    # every rule that judged something in the clean run still reports, as the same outcome or as an error
    denied_by_rule: dict[str, set[str]] = {}
    for f in denied:
        denied_by_rule.setdefault(f.rule_id, set()).add(f.status.value)
    now = {(f.rule_id, f.resource.arn): f.status.value for f in denied}
    for f in clean:
        assert f.rule_id in denied_by_rule, f"{f.rule_id} vanished"
        if f.status.value in ("fail", "error"):
            assert now.get((f.rule_id, f.resource.arn)) != "pass", f.rule_id
    model_rules = {f.rule_id for f in clean if f.resource.type in ("sagemaker.model", "sagemaker.container")}
    on_variant = {f.rule_id for f in denied if f.resource.arn == variant and f.status.value == "error"}
    assert model_rules and model_rules <= on_variant
    assert build_report(evaluate_rules(graph, RULES), graph)["complete"] is False
