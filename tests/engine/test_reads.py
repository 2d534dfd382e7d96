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


DEPLOYMENT = frozenset({"last_deployment_config", "deployment_config_present", "rel:rollback_alarm"})


def test_reads_beyond_the_resource_leave_out_its_own_attributes_and_first_edge(tmp_path: Path) -> None:
    from auditor.engine.reads import reads_beyond_resource

    own = one(tmp_path, "resource: sagemaker.endpoint\nassert: {all: [{attr: last_deployment_config, op: present}, "
                        "{related: rollback_alarm, each: {attr: exists, op: 'true'}}]}\n")
    assert reads_beyond_resource(own) == frozenset()  # the alarms' existence is no attribute read
    back = one(tmp_path, "resource: sagemaker.variant\nassert: {related: ~has_variant, each: "
                         "{attr: last_deployment_config, op: present}}\n")
    assert ("sagemaker.endpoint", "last_deployment_config") in reads_beyond_resource(back)
    assert ("sagemaker.endpoint", "rel:has_variant") in reads_beyond_resource(back)  # a reverse step: theirs


def test_read_needed_is_told_from_the_listing_only_when_every_reader_allows_it(tmp_path: Path) -> None:
    import datetime as dt

    from auditor.engine.evaluator import read_needed

    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    needed = read_needed(RULES, None, "sagemaker.endpoint", DEPLOYMENT)
    assert needed is not None  # the built-in readers are scoped to production endpoints
    assert needed("arn:e", "e", "1", "r", {"Environment": "PROD"}, now) is True  # as the designation reads tags
    assert needed("arn:e", "e", "1", "r", {"environment": "dev"}, now) is False
    assert needed("arn:e", "e", "1", "r", {}, now) is False
    nobody = read_needed([r for r in RULES if r.policy == 7], None, "sagemaker.endpoint", DEPLOYMENT)
    assert nobody is not None and nobody("arn:e", "e", "1", "r", {"environment": "production"}, now) is False
    by_name = one(tmp_path, "resource: sagemaker.endpoint\nscope: {attr: name, op: regex, value: '^pay-'}\n"
                            "assert: {attr: deployment_config_present, op: 'true'}\n")
    named = read_needed([by_name], None, "sagemaker.endpoint", DEPLOYMENT)
    assert named is not None and named("arn:p", "pay-1", "1", "r", {}, now) and not named("a", "x", "1", "r", {}, now)
    # a scope asking more than a listing shows, a reader without scope, a reader through a related path: all
    for body in ("scope: {attr: status, op: eq, value: InService}\n",
                 "scope: {related: has_variant, exists: true}\n", ""):
        rule = one(tmp_path, f"resource: sagemaker.endpoint\n{body}"
                             "assert: {attr: deployment_config_present, op: 'true'}\n")
        assert read_needed([rule], None, "sagemaker.endpoint", DEPLOYMENT) is None, body
    back = one(tmp_path, "resource: sagemaker.variant\nscope: {tag: x, op: present}\n"
                         "assert: {related: ~has_variant, each: {attr: deployment_config_present, op: 'true'}}\n")
    assert read_needed([back], None, "sagemaker.endpoint", DEPLOYMENT) is None
    alarms = one(tmp_path, "resource: cloudwatch.alarm\nassert: {attr: actions_enabled, op: 'true'}\n")
    # an endpoint not described has no rollback-alarm edges: what they lead to would be hidden from such a rule
    assert read_needed(RULES + [alarms], None, "sagemaker.endpoint", DEPLOYMENT) is None
