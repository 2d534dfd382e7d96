"""What the golden cases must pin, read off the compiled rule: each `all:` member and each comparison's threshold."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from auditor.engine.grammar import (
    AllCond,
    AnyCond,
    Condition,
    Count,
    Distinct,
    Each,
    ExemptWhen,
    NoneOf,
    NotCond,
    RelatedCond,
    Some,
    Undecidable,
)
from auditor.engine.loader import Rule
from auditor.engine.operators import DURATION, Operator, parse_duration

# A comparison: its boundary twin (the same test with the boundary on the other side) and the direction a
# threshold moves to let one more step pass.
_NUMERIC = {"ge": ("gt", -1), "gt": ("ge", -1), "le": ("lt", +1), "lt": ("le", +1)}
_AGE = {"older-than": -1, "newer-than": +1}  # older-than passes above the age, newer-than at or below it


@dataclass(frozen=True)
class Obligation:
    """One thing some golden case must show, and the rule with that thing broken (the mutant it must kill)."""

    name: str  # "<condition path> <kind>", the name a case's `pins:` uses
    mutant: Rule


def _step(value: Any) -> Any:
    """One unit of the threshold as written: 1 for 10, 0.1 for 0.8, 1h for 24h (what "just past" means)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return 1
    if isinstance(value, float):
        exp = Decimal(repr(value)).as_tuple().exponent
        return 10.0 ** exp if isinstance(exp, int) and exp < 0 else 1
    return None


def _shift(value: Any, direction: int) -> Any:
    """The threshold moved one unit (see _step) in `direction`; None when it is no number or duration."""
    if isinstance(value, str) and (m := DURATION.match(value.strip())):
        return f"{int(m[1]) + direction}{m[2]}" if int(m[1]) + direction > 0 else None
    step = _step(value)
    return None if step is None else round(value + direction * step, 9)


def _op(name: str, func: Callable[[Any, Any, dt.datetime], bool], base: Operator) -> Operator:
    return dataclasses.replace(base, name=name, func=func)


def _boundary_twin(op: Operator) -> Operator | None:
    from auditor.engine.operators import OPERATORS, _timestamp

    if op.name in _NUMERIC:
        return OPERATORS[_NUMERIC[op.name][0]]
    if op.name == "older-than":  # age > d  ->  age >= d
        def older_or_at(a: Any, e: Any, now: dt.datetime) -> bool:
            t = _timestamp(a)
            return t is not None and now - t >= parse_duration(e)
        return _op("older-than-or-at", older_or_at, op)
    if op.name == "newer-than":  # age <= d  ->  age < d
        def strictly_newer(a: Any, e: Any, now: dt.datetime) -> bool:
            t = _timestamp(a)
            return t is not None and now - t < parse_duration(e)
        return _op("strictly-newer-than", strictly_newer, op)
    return None


def _moved(op: Operator) -> Operator | None:
    """The same comparison with its threshold one unit further, letting values just past it pass."""
    direction = _NUMERIC[op.name][1] if op.name in _NUMERIC else _AGE.get(op.name)
    if direction is None:
        return None

    def func(a: Any, e: Any, now: dt.datetime) -> bool:
        moved = _shift(e, direction)
        return op.func(a, e if moved is None else moved, now)
    return _op(f"{op.name}-moved", func, op)


Edit = Callable[[Any], Any]  # rebuilds a tree with one node replaced


def _walk(node: Any, path: str, rebuild: Edit) -> Iterator[tuple[str, Any, Edit]]:
    """(path, node, rebuild) for every node of a condition tree; the path is the YAML path (assert/all/1/...)."""
    yield path, node, rebuild
    if isinstance(node, AllCond | AnyCond):
        key = "all" if isinstance(node, AllCond) else "any"
        for i, part in enumerate(node.parts):
            def sub(new: Any, i: int = i, node: Any = node) -> Any:
                return rebuild(type(node)(node.parts[:i] + (new,) + node.parts[i + 1:]))
            yield from _walk(part, f"{path}/{key}/{i}", sub)
    elif isinstance(node, NotCond):
        yield from _walk(node.inner, f"{path}/not", lambda new, node=node: rebuild(NotCond(new)))
    elif isinstance(node, RelatedCond):
        if node.where is not None:
            yield from _walk(node.where, f"{path}/where",
                             lambda new, node=node: rebuild(dataclasses.replace(node, where=new)))
        q = node.quantifier
        if isinstance(q, Each | Some | NoneOf):
            key = "each" if isinstance(q, Each) else "any" if isinstance(q, Some) else "none"
            yield from _walk(q.cond, f"{path}/{key}", lambda new, node=node, q=q: rebuild(
                dataclasses.replace(node, quantifier=dataclasses.replace(q, cond=new))))
        elif isinstance(q, Count | Distinct):
            key = "count" if isinstance(q, Count) else "distinct"
            yield from _walk(q, f"{path}/{key}", lambda new, node=node: rebuild(
                dataclasses.replace(node, quantifier=new)))


def _roots(rule: Rule) -> Iterator[tuple[str, Condition, Edit]]:
    if rule.scope is not None:
        yield "scope", rule.scope, lambda new: dataclasses.replace(rule, scope=new)
    if rule.assertion is not None:
        yield "assert", rule.assertion, lambda new: dataclasses.replace(rule, assertion=new)
    if rule.out_of_scope is not None:
        yield "out_of_scope/when", rule.out_of_scope.when, lambda new: dataclasses.replace(
            rule, out_of_scope=Undecidable(new, rule.out_of_scope.reason))  # type: ignore[union-attr]
    if rule.undecidable is not None:
        yield "undecidable/when", rule.undecidable.when, lambda new: dataclasses.replace(
            rule, undecidable=Undecidable(new, rule.undecidable.reason))  # type: ignore[union-attr]
    if rule.exempt_when is not None:
        yield "exempt_when/condition", rule.exempt_when.condition, lambda new: dataclasses.replace(
            rule, exempt_when=ExemptWhen(new, rule.exempt_when.reason))  # type: ignore[union-attr]


def obligations(rule: Rule) -> list[Obligation]:
    """Per `all:` member "<path> decides" (a case where only it fails); per comparison "<path> at-threshold" (a
    case exactly at it: the boundary twin changes the outcome) and "<path> past-threshold" (a case one unit past
    it: moving the threshold one unit changes the outcome); per `each:` quantifier "<path> every" (a case where one
    related resource fails among passing ones: `any` in its place changes the outcome)."""
    out: list[Obligation] = []
    for root, tree, rebuild in _roots(rule):
        for path, node, edit in _walk(tree, root, rebuild):
            if isinstance(node, RelatedCond) and isinstance(node.quantifier, Each):
                out.append(Obligation(f"{path} every", edit(dataclasses.replace(
                    node, quantifier=Some(node.quantifier.cond)))))
            if isinstance(node, AllCond) and len(node.parts) > 1:
                for i in range(len(node.parts)):
                    rest = node.parts[:i] + node.parts[i + 1:]
                    out.append(Obligation(f"{path}/all/{i} decides",
                                          edit(rest[0] if len(rest) == 1 else AllCond(rest))))
            op = getattr(node, "op", None)
            if isinstance(op, Operator) and getattr(node, "value", None) is not None:
                twin, moved = _boundary_twin(op), _moved(op)
                if twin is not None:
                    out.append(Obligation(f"{path} at-threshold", edit(dataclasses.replace(node, op=twin))))
                if moved is not None:
                    out.append(Obligation(f"{path} past-threshold", edit(dataclasses.replace(node, op=moved))))
    return out


PIN = re.compile(r"^(?P<path>[a-z_/0-9]+) (?P<kind>decides|at-threshold|past-threshold|every)$")
