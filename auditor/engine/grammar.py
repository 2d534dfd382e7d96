"""The condition grammar, defined once: its forms and keys (the JSON Schema derives from them) and the frozen tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.engine.operators import OPERATORS, Operator
from auditor.graph import EDGE_TYPES, EdgeType

PARAM_NAME = r"^[a-z][a-z0-9_]*$"

# What each key of a condition holds; KIND_SCHEMAS gives the JSON Schema of each kind.
CONDITION, CONDITIONS, LABELS, PATH, TEXT, NAME, OPERATOR, VALUE, BOOL, COUNT = (
    "condition", "conditions", "labels", "path", "text", "name", "operator", "value", "boolean", "count")


@dataclass(frozen=True)
class Form:
    """One form of condition: the key that names it, and every key it takes."""

    keyword: str
    keys: dict[str, str]  # key -> kind; the keyword is always required
    doc: str


# In a related condition, any/each/none are quantifiers, not combinators: `related` is recognised first.
FORMS: dict[str, Form] = {f.keyword: f for f in [
    Form("all", {"all": CONDITIONS}, "every condition holds"),
    Form("any", {"any": CONDITIONS}, "at least one condition holds"),
    Form("not", {"not": CONDITION}, "the condition does not hold"),
    Form("related", {"related": LABELS, "where": CONDITION, "each": CONDITION, "any": CONDITION,
                     "none": CONDITION, "exists": BOOL, "nonempty": BOOL, "distinct": PATH, "count": COUNT},
         "follow labelled edges, then one quantifier"),
    Form("attr", {"attr": PATH, "op": OPERATOR, "value": VALUE}, "an attribute of the resource"),
    Form("tag", {"tag": TEXT, "op": OPERATOR, "value": VALUE}, "a tag (key compared case-insensitively)"),
    Form("designation", {"designation": NAME}, "the resource carries a configured designation"),
]}
QUANTIFIERS = ("each", "any", "none", "count", "distinct", "exists")


def _labels() -> dict[str, Any]:
    return {"enum": sorted(EDGE_TYPES) + sorted(f"~{x}" for x in EDGE_TYPES)}


def kind_schemas() -> dict[str, dict[str, Any]]:
    ref = {"$ref": "#/$defs/condition"}
    value = {"description": "a literal, {param: NAME} or {attr: PATH} of the same resource"}
    ops = {"enum": sorted(OPERATORS)}
    return {
        CONDITION: ref,
        CONDITIONS: {"type": "array", "minItems": 1, "items": ref},
        LABELS: {"oneOf": [_labels(), {"type": "array", "minItems": 1, "items": _labels()}]},
        PATH: {"type": "string", "minLength": 1},
        TEXT: {"type": "string", "minLength": 1},
        NAME: {"type": "string", "pattern": PARAM_NAME},
        OPERATOR: ops,
        VALUE: value,
        BOOL: {"type": "boolean"},
        COUNT: {"type": "object", "required": ["op", "value"], "additionalProperties": False,
                "properties": {"op": ops, "value": value}},
    }


def condition_defs() -> dict[str, Any]:
    """The JSON Schema of conditions, derived from FORMS."""
    kinds = kind_schemas()
    defs: dict[str, Any] = {"condition": {
        "type": "object",
        "description": f"exactly one of: {', '.join(FORMS)}",
        "oneOf": [{"$ref": f"#/$defs/{k}"} for k in FORMS],
    }}
    for form in FORMS.values():
        defs[form.keyword] = {"type": "object", "description": form.doc, "required": [form.keyword],
                              "additionalProperties": False,
                              "properties": {k: kinds[kind] for k, kind in form.keys.items()}}
    return defs


# -- the compiled tree: what the loader produces and the evaluator walks ----------------------------------------
@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Param:
    name: str


@dataclass(frozen=True, slots=True)
class AttrRef:
    path: str


Value = Literal | Param | AttrRef


@dataclass(frozen=True, slots=True)
class AttrCond:
    path: str
    op: Operator
    value: Value | None  # None when the operator takes no value


@dataclass(frozen=True, slots=True)
class TagCond:
    key: str
    op: Operator
    value: Value | None


@dataclass(frozen=True, slots=True)
class DesignationCond:
    name: str


@dataclass(frozen=True, slots=True)
class AllCond:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyCond:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class NotCond:
    inner: Condition


@dataclass(frozen=True, slots=True)
class Step:
    """One edge of a related path; `listed` are the node types whose listing errors make its result incomplete."""

    edge: EdgeType
    reverse: bool
    listed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Each:
    cond: Condition
    nonempty: bool


@dataclass(frozen=True, slots=True)
class Some:
    cond: Condition


@dataclass(frozen=True, slots=True)
class NoneOf:
    cond: Condition


@dataclass(frozen=True, slots=True)
class Count:
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class Distinct:
    path: str
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class Exists:
    want: bool


Quantifier = Each | Some | NoneOf | Count | Distinct | Exists


@dataclass(frozen=True, slots=True)
class RelatedCond:
    labels: tuple[str, ...]  # as written (a leading ~ walks back): evidence names the path with them
    steps: tuple[Step, ...]
    where: Condition | None
    quantifier: Quantifier


Condition = AttrCond | TagCond | DesignationCond | AllCond | AnyCond | NotCond | RelatedCond


def nodes(cond: Condition) -> Iterator[Condition | Quantifier]:
    """Every condition of a tree, depth first (a related condition's `where` and its quantifier's condition
    included), and every quantifier."""
    yield cond
    if isinstance(cond, AllCond | AnyCond):
        for part in cond.parts:
            yield from nodes(part)
    elif isinstance(cond, NotCond):
        yield from nodes(cond.inner)
    elif isinstance(cond, RelatedCond):
        if cond.where is not None:
            yield from nodes(cond.where)
        yield cond.quantifier
        if isinstance(cond.quantifier, Each | Some | NoneOf):
            yield from nodes(cond.quantifier.cond)


def step(label: str) -> Step:
    reverse = label.startswith("~")
    et = EDGE_TYPES[label.lstrip("~")]
    return Step(et, reverse, tuple(sorted(et.sources)) if reverse else (et.target,))


@dataclass(frozen=True)
class Undecidable:
    when: Condition
    reason: str


@dataclass(frozen=True)
class ExemptWhen:
    condition: Condition
    reason: str
