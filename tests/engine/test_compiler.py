"""The compiler: each condition compiles to its node of the frozen tree, or to None with one error on the line of the
key at fault (or is deferred to the schema when a value has the wrong kind)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.engine.compiler import Compiler, edge_route
from auditor.engine.grammar import (
    AttrCond,
    AttrRef,
    Condition,
    Distinct,
    Exists,
    Literal,
    NoneOf,
    NotCond,
    RelatedCond,
    TagCond,
    step,
)
from auditor.engine.operators import OPERATORS, parse_duration
from auditor.graph import NODE_TYPES
from auditor.vocabulary import resolve
from auditor.yamlsafe import load_yaml

VARIANT = {"sagemaker.variant"}
Errors = list[tuple[int | None, str]]


def _compile(text: str, types: set[str] | None = None, params: dict[str, Any] | None = None,
             designations: set[str] | None = None) -> tuple[Condition | None, Errors, bool]:
    """Compile the condition under the key `c` of the YAML text: (result, [(line, message)], deferred)."""
    located = load_yaml("c.yaml", text=text)
    c = Compiler(Path("c.yaml"), located, params or {}, designations or set())
    result = c.condition(["c"], located.data["c"], VARIANT if types is None else types)
    return result, [(e.line, e.message) for e in c.errors], c.deferred


def _fails(text: str, **kw: Any) -> Errors:
    result, errors, _ = _compile(text, **kw)
    assert result is None
    return errors


@pytest.mark.parametrize("text", [
    "c:\n  all: {attr: name}\n",  # conditions: a non-empty list
    "c:\n  related: {has: 1}\n",  # labels: a label or a non-empty list
    "c:\n  attr: 5\n",  # path: a non-empty string
    "c:\n  designation: Not-A-Name\n",  # name: a parameter-style name
    "c:\n  related: serves_model\n  count: {op: ge}\n",  # count: exactly op and value
    "c:\n  related: serves_model\n  count: {op: ge, value: 1, extra: 2}\n",
    "c:\n  related: serves_model\n  count: {op: nope, value: 1}\n",  # the schema names the allowed operators
])
def test_a_value_of_the_wrong_kind_is_left_to_the_schema(text: str) -> None:
    assert _compile(text, designations={"batch"}) == (None, [], True)


@pytest.mark.parametrize(("text", "errors"), [
    ("c: [1]\n", [(1, "a condition must be a mapping, got list")]),
    ("c:\n  op: eq\n", [(1, "a condition needs exactly one of all, any, not, related, attr, tag, designation; "
                           "found none")]),
    ("c:\n  attr: name\n  tag: x\n", [(1, "a condition needs exactly one of all, any, not, related, attr, tag, "
                                         "designation; found ['attr', 'tag']")]),
    ("c:\n  not:\n    attr: regoin\n", [(3, f"attribute 'regoin': {resolve('sagemaker.variant', 'regoin')}")]),
    ("c:\n  designation: nope\n", [(2, "unknown designation 'nope' (configured: always_on, batch)")]),
    ("c:\n  attr: name\n  op: nope\n", [(3, f"unknown operator 'nope'; allowed: {', '.join(sorted(OPERATORS))}")]),
    ("c:\n  attr: name\n  op: eq\n", [(3, "operator 'eq' needs a value")]),
    ("c:\n  attr: name\n  op: present\n  value: 1\n", [(4, "operator 'present' takes no value")]),
    ("c:\n  attr: name\n  op: eq\n  value:\n    attr: 5\n", [(4, "{attr: ...} takes a name, not 5")]),
    ("c:\n  attr: name\n  op: eq\n  value:\n    attr: regoin\n",
     [(5, f"attribute 'regoin': {resolve('sagemaker.variant', 'regoin')}")]),
    ("c:\n  attr: name\n  op: eq\n  value:\n    param: nope\n",
     [(4, "parameter 'nope' is not declared in params (declared: none)")]),
    ("c:\n  attr: name\n  op: in\n  value: {a: 1}\n", [(4, "operator 'in' needs a list value")]),
    ("c:\n  attr: name\n  op: newer-than\n  value: soon\n", [(4, "bad duration 'soon': use a number and m/h/d/w, "
                                                              "e.g. 24h or 14d")]),
    ("c:\n  attr: name\n  op: between\n  value: 5\n",
     [(4, "operator 'between' needs a list of two numbers [low, high]")]),
    ("c:\n  attr: name\n  op: between\n  value: [1, 2, 3]\n",
     [(4, "operator 'between' needs a list of two numbers [low, high]")]),
    ("c:\n  related:\n    - 1\n  exists: true\n", [(2, "edge labels must be strings")]),
    ("c:\n  related:\n    - ~has_variant\n", [(2, "~has_variant walks back from sagemaker.variant, not from "
                                               "['sagemaker.model']")]),
    ("c:\n  related: uses_config\n", [(2, "edge 'uses_config' starts at ['sagemaker.endpoint'], not at "
                                         "['sagemaker.model'] (step 1 of the path)")]),
    ("c:\n  related: serves_model\n  each: {attr: name}\n  any: {attr: name}\n",
     [(1, "a related condition takes one of each, any, none, count, distinct, exists; found ['each', 'any']")]),
    ("c:\n  related: serves_model\n  distinct: name\n  none: {attr: name}\n",
     [(1, "a related condition takes one of each, any, none, count, distinct, exists; found ['none', 'distinct']")]),
    ("c:\n  related: serves_model\n  where:\n    attr: regoin\n",
     [(4, f"attribute 'regoin': {resolve('sagemaker.model', 'regoin')}")]),
    ("c:\n  related: serves_model\n  distinct: regoin\n",
     [(3, f"attribute 'regoin': {resolve('sagemaker.model', 'regoin')}")]),
    ("c:\n  related: serves_model\n  count:\n    op: ge\n    value:\n      param: nope\n",
     [(5, "parameter 'nope' is not declared in params (declared: none)")]),
])
def test_a_mistake_is_reported_on_the_line_of_its_key(text: str, errors: Errors) -> None:
    types = {"sagemaker.model"} if "has_variant" in text or "uses_config" in text else None
    assert _fails(text, types=types, designations={"batch", "always_on"}) == errors


@pytest.mark.parametrize("op", ["in", "not-in", "in-ci", "contains-all", "glob-any"])
def test_a_list_operator_needs_a_literal_list(op: str) -> None:
    assert _fails(f"c:\n  attr: name\n  op: {op}\n  value: x\n") == [(4, f"operator {op!r} needs a list value")]
    cond, errors, _ = _compile(f"c:\n  attr: name\n  op: {op}\n  value: {{attr: name}}\n")
    assert (cond, errors) == (AttrCond("name", OPERATORS[op], AttrRef("name")), [])


def test_the_declared_parameters_are_listed() -> None:
    assert _fails("c: {attr: name, op: eq, value: {param: nope}}\n", params={"b": 1, "a": 2}) == \
        [(1, "parameter 'nope' is not declared in params (declared: a, b)")]


def test_an_empty_attribute_reference_compiles_to_nothing() -> None:
    assert _fails("c: {attr: name, op: eq, value: {attr: ''}}\n") == \
        [(1, "an attribute path must be a non-empty string, not ''")]


def test_attributes_are_not_checked_when_the_resource_type_is_unknown() -> None:
    """With every node type possible (the unknown resource type is reported already), any path is accepted."""
    assert _compile("c: {attr: whatever}\n", types=set(NODE_TYPES)) == \
        (AttrCond("whatever", OPERATORS["present"], None), [], False)


@pytest.mark.parametrize(("text", "cond"), [
    ("c: {attr: name}\n", AttrCond("name", OPERATORS["present"], None)),
    ("c: {not: {attr: name, op: absent}}\n", NotCond(AttrCond("name", OPERATORS["absent"], None))),
    ("c: {tag: Owner, op: eq, value: me}\n", TagCond("Owner", OPERATORS["eq"], Literal("me"))),
    ("c: {attr: name, op: eq, value: '(x'}\n", AttrCond("name", OPERATORS["eq"], Literal("(x"))),
    ("c: {attr: name, op: newer-than, value: 7d}\n", AttrCond("name", OPERATORS["newer-than"], Literal("7d"))),
    ("c: {attr: name, op: between, value: [1, 2]}\n", AttrCond("name", OPERATORS["between"], Literal([1, 2]))),
    ("c: {related: serves_model, none: {attr: name}}\n",
     RelatedCond(("serves_model",), (step("serves_model"),), None,
                 NoneOf(AttrCond("name", OPERATORS["present"], None)))),
    ("c: {related: serves_model}\n", RelatedCond(("serves_model",), (step("serves_model"),), None, Exists(True))),
    ("c: {related: serves_model, exists: false}\n",
     RelatedCond(("serves_model",), (step("serves_model"),), None, Exists(False))),
    ("c: {related: serves_model, distinct: name}\n",
     RelatedCond(("serves_model",), (step("serves_model"),), None, Distinct("name", OPERATORS["ge"], Literal(1)))),
    ("c: {related: serves_model, distinct: name, count: {op: le, value: {attr: current_instance_count}}}\n",
     RelatedCond(("serves_model",), (step("serves_model"),), None,
                 Distinct("name", OPERATORS["le"], AttrRef("current_instance_count")))),
])
def test_a_valid_condition_compiles_to_its_node(text: str, cond: Condition) -> None:
    assert _compile(text) == (cond, [], False)


def test_a_duration_literal_is_checked_like_the_operator_reads_it() -> None:
    with pytest.raises(ValueError, match="bad duration 'soon'"):
        parse_duration("soon")
    assert _fails("c: {attr: name, op: older-than, value: soon}\n") == \
        [(1, "bad duration 'soon': use a number and m/h/d/w, e.g. 24h or 14d")]


def test_the_route_hint_searches_four_steps_and_is_left_out_when_there_is_none() -> None:
    assert edge_route({"sagemaker.endpoint"}, "from_package") == \
        ["has_variant", "serves_model", "has_container", "from_package"]
    assert edge_route({"sagemaker.endpoint"}, "in_group") == []  # five steps away
    assert edge_route({"sagemaker.endpoint"}, "in_group", max_steps=5)[-1] == "in_group"
    assert _fails("c: {related: in_group}\n", types={"sagemaker.endpoint"}) == \
        [(1, "edge 'in_group' starts at ['sagemaker.model_package'], not at ['sagemaker.endpoint'] (step 1 of the "
             "path)")]
