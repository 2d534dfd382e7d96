"""One grammar: the JSON Schema, the compiler and the evaluator all follow auditor/engine/grammar.py."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from auditor.engine import grammar
from auditor.engine.compiled import _COMPILE, _VALUE, evaluate
from auditor.engine.conditions import EvalContext
from auditor.engine.config import DEFAULT_DESIGNATIONS
from auditor.engine.loader import load_rules
from auditor.engine.operators import OPERATORS
from auditor.engine.schema import rule_schema
from tests.conftest import build_graph

RULES = {r.id: r for r in load_rules()}


def test_the_schema_of_every_condition_form_is_derived_from_the_grammar() -> None:
    defs = rule_schema()["$defs"]
    assert [d["$ref"].rsplit("/", 1)[1] for d in defs["condition"]["oneOf"]] == list(grammar.FORMS)
    for form in grammar.FORMS.values():
        assert set(defs[form.keyword]["properties"]) == set(form.keys)
        assert defs[form.keyword]["required"] == [form.keyword]


def test_rules_are_compiled_once_into_a_frozen_typed_tree() -> None:
    rule = RULES["SM-04-min-instances"]
    assert isinstance(rule.assertion, grammar.AllCond)
    first, initial, scaled = rule.assertion.parts
    assert isinstance(first, grammar.AnyCond)
    assert first.parts[0] == grammar.AttrCond("current_instance_count", OPERATORS["ge"], grammar.Param("min_instances"))
    assert initial == grammar.AttrCond("initial_instance_count", OPERATORS["ge"], grammar.Param("min_instances"))
    assert isinstance(scaled, grammar.RelatedCond) and scaled.quantifier == grammar.Each(
        grammar.AttrCond("min_capacity", OPERATORS["ge"], grammar.Param("min_instances")), nonempty=False)
    assert scaled.steps[0].edge.label == "scaled_by" and not scaled.steps[0].reverse
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.assertion.parts = ()  # type: ignore[misc]
    idle = RULES["SM-14-idle-endpoint"]
    assert isinstance(idle.exempt_when, grammar.ExemptWhen)
    assert isinstance(idle.exempt_when.condition, grammar.DesignationCond)


def _node_classes(alias: object) -> set[type]:
    return {a for a in typing.get_args(alias) if isinstance(a, type)}


def test_the_evaluator_walks_every_node_class_of_the_grammar() -> None:
    g = build_graph({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "data": {"status": "InService"},
                                "tags": {"environment": "prod"}},
                               {"id": "v", "type": "sagemaker.variant", "data": {"serverless": False}}],
                     "edges": [["e", "has_variant", "v"]]})
    ctx = EvalContext(graph=g, params={"n": 1}, designations=dict(DEFAULT_DESIGNATIONS), now=None)  # type: ignore[arg-type]
    leaf = grammar.AttrCond("status", OPERATORS["eq"], grammar.Literal("InService"))
    var = grammar.AttrCond("serverless", OPERATORS["false"], None)
    steps = (grammar.step("has_variant"),)
    quantifiers: list[grammar.Quantifier] = [grammar.Each(var, True), grammar.Some(var), grammar.NoneOf(var),
                   grammar.Count(OPERATORS["ge"], grammar.Param("n")),
                   grammar.Distinct("serverless", OPERATORS["eq"], grammar.Literal(1)), grammar.Exists(True)]
    conds: list[grammar.Condition] = [leaf, grammar.TagCond("environment", OPERATORS["present"], None), grammar.DesignationCond("production"),
             grammar.AllCond((leaf,)), grammar.AnyCond((leaf,)), grammar.NotCond(leaf),
             *[grammar.RelatedCond(("has_variant",), steps, None, q) for q in quantifiers]]
    assert _node_classes(grammar.Condition) == {type(c) for c in conds} == set(_COMPILE) == set(_VALUE)
    assert _node_classes(grammar.Quantifier) == {type(q) for q in quantifiers}
    got = [evaluate(ctx, c, "e").value for c in conds]
    assert got == [True, True, True, True, True, False, True, True, False, True, True, True]


def test_a_misspelled_condition_key_is_rejected_with_a_suggestion() -> None:
    from auditor.engine.loader import RuleLoadError

    path = Path(__file__).parent / "broken" / "condition-key-misspelled.yaml"
    with pytest.raises(RuleLoadError, match=r":10: 'eaach' is not a key of a related condition; did you mean 'each'"):
        load_rules([path])


# -- the published schema of conditions refuses exactly what the compiler refuses (mutation testing, issue 20) ------
def _schema_problems(cond: object) -> list[str]:
    import jsonschema

    doc = {"id": "SM-04-x", "policy": 4, "title": "A title", "severity": "high", "rationale": "long enough text",
           "resource": "sagemaker.variant", "assert": cond}
    return [e.message for e in jsonschema.Draft202012Validator(rule_schema()).iter_errors(doc)]


@pytest.mark.parametrize("cond", [
    {"not": 5}, {"all": {"attr": "x"}}, {"all": []}, {"all": [5]}, {"attr": "x", "op": "nope"},
    {"related": 5}, {"related": []}, {"related": ["nope"]}, {"attr": 5}, {"attr": ""}, {"tag": 5}, {"tag": ""},
    {"designation": 5}, {"designation": "Not-A-Name"}, {"related": "serves_model", "exists": 1},
    {"related": "serves_model", "count": 5}, {"related": "serves_model", "count": {"op": "ge"}},
    {"related": "serves_model", "count": {"op": "ge", "value": 1, "x": 2}}, {"attr": "x", "bogus": 1},
])
def test_the_schema_refuses_a_condition_of_the_wrong_shape(cond: object) -> None:
    assert _schema_problems(cond)


@pytest.mark.parametrize("cond", [
    {"all": [{"attr": "x"}]}, {"related": ["serves_model"], "each": {"attr": "x"}}, {"attr": "x", "op": "eq", "value": 1},
    {"tag": "x"}, {"designation": "batch"}, {"related": "~has_variant", "exists": False},
    {"related": "serves_model", "count": {"op": "ge", "value": {"param": "n"}}},
])
def test_the_schema_accepts_a_condition_of_the_right_shape(cond: object) -> None:
    assert _schema_problems(cond) == []


def test_a_step_lists_the_node_types_it_reads() -> None:
    """Walking an edge forward reads its target type; walking it back reads every source type."""
    from auditor.graph import EDGE_TYPES

    et = EDGE_TYPES["encrypted_by"]
    assert grammar.step("encrypted_by") == grammar.Step(et, False, ("kms.key",))
    assert grammar.step("~encrypted_by") == grammar.Step(et, True, ("s3.bucket", "s3.object",
                                                                    "sagemaker.endpoint_config"))
