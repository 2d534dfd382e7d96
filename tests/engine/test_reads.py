"""rule_reads: every (node type, attribute) a rule may read, through related paths, values and quantifiers."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine.grammar import AttrCond, Literal
from auditor.engine.loader import Rule, load_rules
from auditor.engine.operators import OPERATORS
from auditor.engine.reads import resource_reads, rule_reads
from auditor.graph import EDGE_TYPES
from auditor.vocabulary import VOCABULARY

RULES = load_rules()


def one(tmp_path: Path, body: str) -> Rule:
    (tmp_path / "SM-04-custom.yaml").write_text(
        "id: SM-04-custom\npolicy: 4\ntitle: custom\nseverity: low\nrationale: a test rule\n" + body +
        "messages: {pass: ok, fail: not ok}\nremediation: {guidance: Do what the test says.}\n")
    [rule] = load_rules([tmp_path])
    return rule


def test_the_built_in_rules_read_declared_attributes_of_the_types_they_reach() -> None:
    reads = rule_reads(RULES)
    for type_, attr in reads:
        edge = EDGE_TYPES.get(attr.removeprefix("rel:"))
        assert attr == "tags" or attr in VOCABULARY[type_] or (edge is not None and type_ in edge.sources), attr
    # through related paths: endpoint -monitored_by-> schedule -uses_job_definition-> definition
    assert {("sagemaker.monitoring_schedule", "monitoring_type"), ("sagemaker.monitoring_schedule", "status"),
            ("sagemaker.monitoring_job_definition", "baseline_constraints_uri")} <= reads
    assert ("sagemaker.endpoint", "tags") in reads  # the production designation
    assert ("sagemaker.endpoint", "last_deployment_config") in reads  # a path counts by its first part
    # what only DescribeMonitoringSchedule, GetPublicAccessBlock and GetBucketTagging answer: no built-in rule
    assert not reads & {("sagemaker.monitoring_schedule", "schedule_expression"),
                        ("sagemaker.monitoring_schedule", "last_execution_status"),
                        ("s3.bucket", "public_access_block"), ("s3.bucket", "public_access_fully_blocked"),
                        ("s3.bucket", "tags"), ("sagemaker.endpoint_config", "tags")}
    assert not any(attr in ("name", "exists", "region") for _, attr in reads)  # pseudo: no read of their own


def test_a_rule_reads_only_its_own_conditions(tmp_path: Path) -> None:
    rule = one(tmp_path, "resource: sagemaker.endpoint\nassert: {attr: status, op: eq, value: InService}\n")
    assert rule_reads([rule]) == {("sagemaker.endpoint", "status")}
    assert rule_reads([]) == frozenset()
    walk = one(tmp_path, "resource: s3.bucket\nassert: {related: encrypted_by, any: {attr: key_state, op: present}}\n")
    assert rule_reads([walk]) == {("kms.key", "key_state"), ("s3.bucket", "rel:encrypted_by"),
                                  ("s3.object", "rel:encrypted_by"), ("sagemaker.endpoint_config", "rel:encrypted_by")}


def test_reverse_steps_where_distinct_and_attribute_values(tmp_path: Path) -> None:
    rule = one(tmp_path, """resource: sagemaker.model
scope: {related: [~serves_model, ~has_variant], any: {designation: production}}
exempt_when: {condition: {tag: waived, op: present}, reason: waived}
assert:
  all:
    - related: in_subnet
      where: {attr: availability_zone, op: present}
      distinct: availability_zone
      count: {op: ge, value: {attr: enable_network_isolation}}
    - {attr: vpc_config.Subnets, op: present}
""")
    assert rule_reads([rule]) == {
        ("sagemaker.endpoint", "tags"),  # the designation, two steps back
        ("sagemaker.model", "tags"),  # the exemption's tag
        ("ec2.subnet", "availability_zone"),  # where and distinct, on the nodes reached
        ("sagemaker.model", "enable_network_isolation"),  # the expected value, read on the starting node
        ("sagemaker.model", "vpc_config"),
        # the edges walked, as reads of their source types (whichever way the path walks them)
        ("sagemaker.variant", "rel:serves_model"), ("sagemaker.endpoint", "rel:has_variant"),
        ("sagemaker.model", "rel:in_subnet"),
    }


def test_a_condition_form_it_does_not_know_is_refused_never_read_as_nothing() -> None:
    class Novel:
        pass
    rule = RULES[0]
    odd = Rule(**{**rule.__dict__, "assertion": Novel(), "scope": None})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Novel"):
        rule_reads([odd])
    ok = Rule(**{**rule.__dict__, "scope": None, "exempt_when": None, "undecidable": None, "out_of_scope": None,
                 "assertion": AttrCond("status", OPERATORS["present"], None)})
    assert rule_reads([ok]) == {(rule.resource, "status")}
    literal = Rule(**{**ok.__dict__, "assertion": AttrCond("status", OPERATORS["eq"], Literal("InService"))})
    assert rule_reads([literal]) == {(rule.resource, "status")}  # a literal value reads nothing more


def test_a_rule_over_keys_that_reads_only_pseudo_attributes_still_needs_the_artifact_reads(tmp_path: Path) -> None:
    """Its conditions read nothing of their own (name is no read), yet the rule judges every key, some of them found
    only through the artifacts: finding its resources is a read of its own."""
    from types import SimpleNamespace

    from auditor.app import collect_options
    from auditor.collect.s3 import artifacts_wanted
    from auditor.engine.config import Config

    keys = one(tmp_path, "resource: kms.key\nassert: {attr: name, op: present}\n")
    assert rule_reads([keys]) == frozenset() and resource_reads([keys]) == {("kms.key", "exists")}
    assert artifacts_wanted(SimpleNamespace(options=collect_options([keys], Config())))  # type: ignore[arg-type]
    endpoints = one(tmp_path, "resource: sagemaker.endpoint\nassert: {attr: status, op: eq, value: InService}\n")
    assert not artifacts_wanted(SimpleNamespace(options=collect_options([endpoints], Config())))  # type: ignore[arg-type]
    assert artifacts_wanted(SimpleNamespace(options={}))  # type: ignore[arg-type]  # no reads given: everything
    # a rule that only walks to the artifacts (whether each exists) reads none of the three types, and needs them
    [exists] = [r for r in RULES if r.id == "SM-02-artifact-exists"]
    assert not {t for t, _ in collect_options([exists], Config())["reads"]} & {"s3.object", "s3.bucket", "kms.key"}
    assert artifacts_wanted(SimpleNamespace(options=collect_options([exists], Config())))  # type: ignore[arg-type]
