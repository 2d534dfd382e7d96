"""The published JSON Schemas refuse each malformed rule, config and waivers file, and accept each well-formed one
at its boundaries: a weakened keyword would let a bad file through to the code that trusts it (issue 20)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from auditor.engine.schema import SCHEMAS, config_schema, rule_schema, waivers_schema

COND = {"attr": "name"}
RULE: dict[str, Any] = {"id": "SM-04-x", "policy": 4, "title": "A title", "severity": "high",
                        "rationale": "long enough text", "resource": "sagemaker.variant", "assert": COND}
FULL_RULE: dict[str, Any] = dict(
    RULE, kind="automated", basis="inferred", scope=COND, undecidable={"when": COND, "reason": "cannot tell"},
    out_of_scope={"when": COND, "reason": "not running"}, advisory=False,
    exempt_when={"condition": COND, "reason": "batch"}, params={"min_instances": 2},
    messages={"pass": "ok", "fail": "bad", "error": "unknown"},
    remediation={"remediator": "raise-min-instances", "params": {"n": 1}, "guidance": "long enough guidance"},
    references={"policy_section": "Two", "aws_docs": ["u"], "security_hub": ["s"], "config_rules": ["c"]},
    notes="a note")
FULL_CONFIG: dict[str, Any] = {
    "designations": {"prod": {"tag": "stage", "values": ["live"]}}, "parameters": {"min_instances": 2},
    "rule_parameters": {"SM-04-x": {"n": 1}}, "allowed_repositories": ["r"], "rules": ["SM-*"],
    "exclude_rules": ["SM-04-x"], "policies": [1, 15], "severity": "info", "waivers": "w.yaml",
    "remediation": {"raise-min-instances": {"n": 1}}, "regions": ["eu-west-1"],
    "registry_table": {"table": "abc", "region": "us-gov-west-1",
                       "key": {"kind": "image_artifact", "attribute": "a", "tag": "t", "image_attribute": "i",
                               "artifact_attribute": "u"},
                       "attributes": {"version": "v", "metrics": "m", "deployment_config": "d", "approval": "a"}},
    "limits": {"*": {"in_flight": 1, "rate": 0.1, "burst": 1}, "sagemaker": {"in_flight": 256},
               "sagemaker:DescribeEndpoint": {"rate": 5}, "sagemaker:Describe*": {"burst": 2.5}},
}
WAIVER: dict[str, Any] = {"rule": "SM-04-x", "resource": "r", "reason": "fives", "owner": "o", "expires": "2027-01-31"}


def _problems(schema: Callable[[], dict[str, Any]], doc: Any) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema()).iter_errors(doc)]


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of base with the value at a dotted path replaced (the value DELETE removes the key)."""
    doc = copy.deepcopy(base)
    *parents, last = path.split(".")
    holder = doc
    for p in parents:
        holder = holder[p]
    if value is DELETE:
        del holder[last]
    else:
        holder[last] = value
    return doc


DELETE = object()


@pytest.mark.parametrize(("path", "value"), [
    ("id", 5), ("id", "SM-16-x"), ("id", "sm-04-x"), ("policy", "4"), ("policy", 0), ("policy", 16),
    ("title", 5), ("title", "four"), ("severity", "bogus"), ("rationale", 5), ("rationale", "nine char"),
    ("resource", "nope"), ("kind", "nope"), ("basis", "nope"), ("bogus", 1), ("assert", DELETE),
    *[(key, DELETE) for key in ("id", "policy", "title", "severity", "rationale", "resource")],
    *[(f"{block}.{k}", v) for block in ("undecidable", "out_of_scope")
      for k, v in (("when", DELETE), ("reason", DELETE), ("reason", 5), ("reason", "four"), ("x", 1))],
    ("undecidable", 5), ("out_of_scope", 5), ("advisory", "yes"), ("exempt_when", 5),
    ("exempt_when.condition", DELETE), ("exempt_when.reason", DELETE), ("exempt_when.reason", 5), ("exempt_when.x", 1),
    ("params", 5), ("params", {"Bad": 1}), ("messages", 5), ("messages.pass", 5), ("messages.other", "x"),
    ("remediation", 5), ("remediation.guidance", DELETE), ("remediation.guidance", 5),
    ("remediation.guidance", "nine char"), ("remediation.remediator", 5), ("remediation.params", 5),
    ("remediation.x", 1), ("references", 5), ("references.x", 1), ("references.policy_section", 5),
    *[(f"references.{k}", v) for k in ("aws_docs", "security_hub", "config_rules") for v in ("u", [5])],
    ("notes", 5), ("scope", 5), ("undecidable.when", 5), ("out_of_scope.when", 5), ("exempt_when.condition", 5),
])
def test_the_rule_schema_refuses(path: str, value: Any) -> None:
    assert _problems(rule_schema, _with(FULL_RULE, path, value))


@pytest.mark.parametrize("doc", [
    RULE, FULL_RULE, dict(RULE, policy=1, id="SM-01-x"), dict(RULE, policy=15, id="SM-15-a-b2"),
    dict(RULE, title="fives"), dict(RULE, rationale="ten chars!"),
    dict(RULE, undecidable={"when": COND, "reason": "fives"}), dict(RULE, out_of_scope={"when": COND, "reason": "fives"}),
    dict(RULE, remediation={"guidance": "ten chars!"}), dict(RULE, advisory=True, severity="info"),
    {k: v for k, v in RULE.items() if k != "assert"} | {"kind": "manual"},
])
def test_the_rule_schema_accepts(doc: dict[str, Any]) -> None:
    assert _problems(rule_schema, doc) == []


def test_a_rule_without_kind_is_automated_and_needs_an_assertion() -> None:
    assert _problems(rule_schema, {k: v for k, v in RULE.items() if k != "assert"})
    assert _problems(rule_schema, dict(RULE, basis="proven")) == []


@pytest.mark.parametrize(("path", "value"), [
    ("bogus", 1), ("designations", 5), ("designations.prod", 5), ("designations.prod.values", "live"),
    ("designations.prod.tag", DELETE), ("designations.prod.values", DELETE),
    ("designations.prod.tag", ""), ("designations.prod.tag", 5), ("designations.prod.values", []),
    ("designations.prod.values", [5]), ("designations.prod.x", 1), ("designations.Bad-Name", {"tag": "t", "values": ["v"]}),
    ("parameters", 5), ("parameters.Bad-Name", 1), ("rule_parameters", 5), ("rule_parameters.SM-04-x", 5),
    *[(k, v) for k in ("allowed_repositories", "rules", "exclude_rules", "regions") for v in ("x", [5])],
    ("policies", 5), ("policies", [0]), ("policies", [16]), ("policies", ["1"]), ("severity", "bogus"),
    ("waivers", 5), ("remediation", 5), ("remediation.raise-min-instances", 5),
    ("registry_table", 5), ("registry_table.table", DELETE), ("registry_table.table", "ab"),
    ("registry_table.table", "a b c"), ("registry_table.table", "a" * 256), ("registry_table.table", 5),
    ("registry_table.x", 1), ("registry_table.region", "eu-west"), ("registry_table.region", "EU-west-1"),
    ("registry_table.region", 5), ("registry_table.key", 5), ("registry_table.key.kind", "nope"),
    ("registry_table.key.x", 1),
    *[(f"registry_table.key.{k}", v) for k in ("attribute", "tag", "image_attribute", "artifact_attribute")
      for v in ("", 5)],
    ("registry_table.attributes", 5), ("registry_table.attributes.x", "a"),
    *[(f"registry_table.attributes.{k}", v) for k in ("version", "metrics", "deployment_config", "approval")
      for v in ("", 5)],
    ("limits", 5), ("limits.Bad Name", {"rate": 1}), ("limits.sagemaker:", {"rate": 1}), ("limits.sagemaker", 5),
    ("limits.sagemaker", {}), ("limits.sagemaker", {"x": 1}), ("limits.sagemaker", {"in_flight": 0}),
    ("limits.sagemaker", {"in_flight": 257}), ("limits.sagemaker", {"in_flight": 1.5}),
    ("limits.sagemaker", {"rate": 0}), ("limits.sagemaker", {"rate": "1"}), ("limits.sagemaker", {"burst": 0.5}),
    ("limits.sagemaker", {"burst": "1"}),
])
def test_the_config_schema_refuses(path: str, value: Any) -> None:
    assert _problems(config_schema, _with(FULL_CONFIG, path, value))


@pytest.mark.parametrize("doc", [
    {}, FULL_CONFIG, {"registry_table": {"table": "a" * 255, "key": {"kind": "tag", "tag": "t"}}},
    {"registry_table": {"table": "ML.Registry_2-b", "region": "eu-west-1", "key": {"kind": "model_name"}}},
    {"designations": {"prod": {"tag": "t", "values": ["v"]}}},
])
def test_the_config_schema_accepts(doc: dict[str, Any]) -> None:
    assert _problems(config_schema, doc) == []


@pytest.mark.parametrize(("path", "value"), [
    ("rule", DELETE), ("policy", 4), ("rule", "SM-16-x"), ("rule", 5), ("resource", ""), ("resource", 5),
    ("reason", "four"), ("reason", 5), ("owner", ""), ("owner", 5), ("expires", "2027-1-31"), ("expires", 5),
    ("x", 1), *[(key, DELETE) for key in ("resource", "reason", "owner", "expires")],
])
def test_the_waivers_schema_refuses(path: str, value: Any) -> None:
    assert _problems(waivers_schema, {"waivers": [_with(WAIVER, path, value)]})


@pytest.mark.parametrize("doc", [{"waivers": 5}, {"waivers": [5]}, {}, {"waivers": [], "x": 1}, [], "waivers"])
def test_the_waivers_schema_refuses_a_malformed_file(doc: Any) -> None:
    assert _problems(waivers_schema, doc)


@pytest.mark.parametrize("waiver", [
    WAIVER, {k: v for k, v in WAIVER.items() if k != "rule"} | {"policy": 1},
    {k: v for k, v in WAIVER.items() if k != "rule"} | {"policy": 15},
])
def test_the_waivers_schema_accepts(waiver: dict[str, Any]) -> None:
    assert _problems(waivers_schema, {"waivers": [waiver]}) == []


@pytest.mark.parametrize("policy", [0, 16, "4", 4.5])
def test_the_waivers_schema_refuses_a_policy_out_of_range(policy: Any) -> None:
    waiver = {k: v for k, v in WAIVER.items() if k != "rule"} | {"policy": policy}
    assert _problems(waivers_schema, {"waivers": [waiver]})


def test_the_published_schemas_are_draft_2020_12_documents_with_their_ids() -> None:
    for name, schema in SCHEMAS.items():
        doc = schema()
        jsonschema.Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == f"https://sagemaker-auditor.dev/schemas/{name}.schema.json"
        assert doc["type"] == "object"
