"""Rule conditions -> the frozen condition tree, checked in context (edges, attributes, parameters, operators)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.engine.grammar import (
    BOOL,
    CONDITIONS,
    COUNT,
    FORMS,
    LABELS,
    NAME,
    OPERATOR,
    PARAM_NAME,
    PATH,
    QUANTIFIERS,
    TEXT,
    AllCond,
    AnyCond,
    AttrCond,
    AttrRef,
    Condition,
    Count,
    DesignationCond,
    Distinct,
    Each,
    Exists,
    Literal,
    NoneOf,
    NotCond,
    Param,
    Quantifier,
    RelatedCond,
    Some,
    TagCond,
    Value,
    step,
)
from auditor.engine.operators import OPERATORS, parse_duration
from auditor.graph import EDGE_TYPES, NODE_TYPES
from auditor.vocabulary import resolve, suggest
from auditor.yamlsafe import InputError, Located

Loc = list[str | int]


def _kind_ok(kind: str, v: Any) -> bool:
    """Whether a key's value has its grammar kind; when not, the schema (derived from the same grammar) says why."""
    if kind == CONDITIONS:
        return isinstance(v, list) and bool(v)
    if kind == LABELS:
        return isinstance(v, str) or (isinstance(v, list) and bool(v))
    if kind in (PATH, TEXT):
        return isinstance(v, str) and bool(v)
    if kind == NAME:
        return isinstance(v, str) and re.match(PARAM_NAME, v) is not None
    if kind == OPERATOR:
        return isinstance(v, str)
    if kind == BOOL:
        return isinstance(v, bool)
    if kind == COUNT:
        return isinstance(v, dict) and set(v) == {"op", "value"} and isinstance(v["op"], str)
    return True  # CONDITION is checked where it is compiled; VALUE takes anything


def edge_route(start: set[str], label: str, max_steps: int = 4) -> list[str]:
    """The shortest forward path of edge labels from `start` types that ends with `label` ([] if none)."""
    frontier: list[tuple[str, list[str]]] = [(t, []) for t in sorted(start)]
    seen = set(start)
    for _ in range(max_steps):
        nxt = []
        for t, route in frontier:
            for et in EDGE_TYPES.values():
                if t in et.sources:
                    if et.label == label:
                        return route + [label]
                    if et.target not in seen:
                        seen.add(et.target)
                        nxt.append((et.target, route + [et.label]))
        frontier = nxt
    return []


class Compiler:
    """Compiles conditions with the node types in hand, so edges, attributes and params are checked in context.

    Every problem is recorded with its line; a condition with a problem compiles to None. A value of the wrong
    kind is left to the JSON Schema (derived from the same grammar), which names it (`deferred`)."""

    def __init__(self, file: Path, located: Located, params: dict[str, Any], designations: set[str]) -> None:
        self.file = file
        self.loc = located
        self.params = params
        self.designations = designations
        self.errors: list[InputError] = []
        self.deferred = False

    def err(self, path: Loc, msg: str) -> None:
        self.errors.append(InputError(self.file, self.loc.line(path), msg))

    def value(self, path: Loc, v: Any, types: set[str]) -> Value | None:
        """A literal, {param: NAME} (declared in params) or {attr: PATH} (declared by the node types)."""
        ref = next(iter(v)) if isinstance(v, dict) and len(v) == 1 else None
        if ref in ("param", "attr") and not isinstance(v[ref], str):
            self.err(path, f"{{{ref}: ...}} takes a name, not {v[ref]!r}")
            return None
        if ref == "param":
            if v["param"] not in self.params:
                declared = ", ".join(sorted(self.params)) or "none"
                self.err(path, f"parameter {v['param']!r} is not declared in params (declared: {declared})")
                return None
            return Param(v["param"])
        if ref == "attr":
            return AttrRef(v["attr"]) if self.attr_path(path + ["attr"], v["attr"], types) else None
        return Literal(v)

    def attr_path(self, path: Loc, attr: Any, types: set[str]) -> bool:
        """The attribute path is declared by every node type the condition can meet."""
        if not isinstance(attr, str) or not attr:
            self.err(path, f"an attribute path must be a non-empty string, not {attr!r}")
            return False
        if types == set(NODE_TYPES):
            return True  # an unknown resource type is reported already
        for t in sorted(types):
            problem = resolve(t, attr)
            if problem is not None:
                self.err(path, f"attribute {attr!r}: {problem}")
                return False
        return True

    def condition(self, path: Loc, cond: Any, types: set[str]) -> Condition | None:
        if not isinstance(cond, dict):
            self.err(path, f"a condition must be a mapping, got {type(cond).__name__}")
            return None
        # In a related condition, any/each/none are quantifiers, not combinators.
        kinds = ["related"] if "related" in cond else [k for k in FORMS if k in cond]
        if len(kinds) != 1:
            self.err(path, f"a condition needs exactly one of {', '.join(FORMS)}; found {kinds or 'none'}")
            return None
        kind = kinds[0]
        form = FORMS[kind]
        for k in cond:
            if k not in form.keys:
                self.err(path + [k], f"{k!r} is not a key of a {kind} condition" + suggest(str(k), form.keys))
                return None
            if not _kind_ok(form.keys[k], cond[k]):
                self.deferred = True
                return None
        if kind in ("all", "any"):
            parts = [self.condition(path + [kind, i], c, types) for i, c in enumerate(cond[kind])]
            if any(p is None for p in parts):
                return None
            return (AllCond if kind == "all" else AnyCond)(tuple(p for p in parts if p is not None))
        if kind == "not":
            inner = self.condition(path + ["not"], cond["not"], types)
            return None if inner is None else NotCond(inner)
        if kind == "related":
            return self.related(path, cond, types)
        if kind == "designation":
            if cond["designation"] not in self.designations:
                self.err(path + ["designation"], f"unknown designation {cond['designation']!r} "
                         f"(configured: {', '.join(sorted(self.designations))})")
                return None
            return DesignationCond(cond["designation"])
        return self.leaf(path, cond, types)

    def leaf(self, path: Loc, cond: dict[str, Any], types: set[str]) -> AttrCond | TagCond | None:
        if "attr" in cond and not self.attr_path(path + ["attr"], cond["attr"], types):
            return None
        op_name = cond.get("op", "present")
        op = OPERATORS.get(op_name)
        if op is None:
            self.err(path + ["op"], f"unknown operator {op_name!r}; allowed: {', '.join(sorted(OPERATORS))}")
            return None
        if op.needs_value and "value" not in cond:
            self.err(path + ["op"], f"operator {op_name!r} needs a value")
            return None
        if not op.needs_value and "value" in cond:
            self.err(path + ["value"], f"operator {op_name!r} takes no value")
            return None
        v = cond.get("value")
        value = self.value(path + ["value"], v, types) if op.needs_value else None
        literal = not (isinstance(v, dict) and set(v) & {"param", "attr"})
        try:
            if literal and op_name == "regex":
                re.compile(str(v))
            if literal and op_name in ("older-than", "newer-than"):
                parse_duration(v)
            if literal and op_name in ("in", "not-in", "in-ci", "contains-all", "glob-any") and not isinstance(v, list):
                raise ValueError(f"operator {op_name!r} needs a list value")
            if literal and op_name == "between" and not (isinstance(v, list) and len(v) == 2):
                raise ValueError("operator 'between' needs a list of two numbers [low, high]")
        except (re.error, ValueError) as exc:
            self.err(path + ["value"], str(exc))
            return None
        if op.needs_value and value is None:
            return None
        return AttrCond(cond["attr"], op, value) if "attr" in cond else TagCond(cond["tag"], op, value)

    def related(self, path: Loc, cond: dict[str, Any], types: set[str]) -> RelatedCond | None:
        labels = cond["related"] if isinstance(cond["related"], list) else [cond["related"]]
        cur = set(types)
        for i, label in enumerate(labels):
            if not isinstance(label, str):
                self.err(path + ["related"], "edge labels must be strings")
                return None
            name = label.lstrip("~")
            et = EDGE_TYPES.get(name)
            if et is None:
                self.err(path + ["related"], f"unknown edge label {label!r}" + suggest(name, EDGE_TYPES))
                return None
            if label.startswith("~"):
                if et.target not in cur:
                    self.err(path + ["related"], f"~{name} walks back from {et.target}, not from {sorted(cur)}")
                    return None
                cur = set(et.sources)
            else:
                if not cur & et.sources:
                    route = edge_route(cur, name)
                    hint = f"; reach it with [{', '.join(route)}]" if route else ""
                    self.err(path + ["related"], f"edge {name!r} starts at {sorted(et.sources)}, "
                             f"not at {sorted(cur)} (step {i + 1} of the path){hint}")
                    return None
                cur = {et.target}
        quant = [q for q in QUANTIFIERS if q in cond and not (q == "count" and "distinct" in cond)]
        if len(quant) > 1:
            self.err(path, f"a related condition takes one of {', '.join(QUANTIFIERS)}; found {quant}")
            return None
        where = self.condition(path + ["where"], cond["where"], cur) if "where" in cond else None
        quantifier = self.quantifier(path, cond, types, cur)
        if quantifier is None or ("where" in cond and where is None):
            return None
        return RelatedCond(tuple(labels), tuple(step(label) for label in labels), where, quantifier)

    def quantifier(self, path: Loc, cond: dict[str, Any], types: set[str], cur: set[str]) -> Quantifier | None:
        for q in ("each", "any", "none"):
            if q in cond:
                sub = self.condition(path + [q], cond[q], cur)
                if sub is None:
                    return None
                return Each(sub, cond.get("nonempty", True)) if q == "each" else Some(sub) if q == "any" \
                    else NoneOf(sub)
        spec = cond.get("count", {"op": "ge", "value": 1})
        op = OPERATORS.get(spec["op"])
        if op is None:
            self.deferred = True  # the schema names the allowed operators
            return None
        value = self.value(path + ["count", "value"], spec["value"], types)
        if value is None:
            return None
        if "distinct" in cond:
            return Distinct(cond["distinct"], op, value) if self.attr_path(path + ["distinct"], cond["distinct"],
                                                                           cur) else None
        if "count" in cond:
            return Count(op, value)
        return Exists(cond.get("exists", True))
