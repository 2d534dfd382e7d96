"""What a set of rules reads: (node type, attribute) pairs, so collection can leave out reads no rule needs."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.grammar import (
    AllCond,
    AnyCond,
    AttrCond,
    AttrRef,
    Condition,
    Count,
    DesignationCond,
    Distinct,
    Each,
    NoneOf,
    NotCond,
    RelatedCond,
    Some,
    TagCond,
    Value,
)
from auditor.engine.loader import Rule
from auditor.vocabulary import PSEUDO

Read = tuple[str, str]  # (node type, top-level attribute, "tags", or "rel:<edge label>" for its out-edges)


def rule_reads(rules: Iterable[Rule]) -> frozenset[Read]:
    """Every (node type, attribute) any condition of the rules may read: scopes, assertions, exemptions and guards.

    A path counts by its first part (`vpc_config.Subnets` reads `vpc_config`), a tag or designation as `tags`, a
    related step as `rel:<label>` of the edge's source types. Pseudo attributes (`exists`, `name`, ...) need no
    read of their own and are left out."""
    out: set[Read] = set()
    for rule in rules:
        for cond in _conditions(rule):
            _reads(cond, frozenset({rule.resource}), out)
    return frozenset(out)


def _attr(types: frozenset[str], path: str, out: set[Read]) -> None:
    head = path.split(".", 1)[0]
    if path in PSEUDO:
        return
    out.update((t, "tags" if head == "tags" else head) for t in types)


def _value(types: frozenset[str], value: Value | None, out: set[Read]) -> None:
    if isinstance(value, AttrRef):
        _attr(types, value.path, out)


def _reads(cond: Condition, types: frozenset[str], out: set[Read], here: bool = True) -> None:
    """Add what the condition reads, starting from nodes of `types`. With `here` False, only what it reads beyond
    them: not their own attributes, tags and values, nor a related path's first edge when that is theirs (a
    forward step); a related path's conditions are on the nodes it reaches, so read in full."""
    if isinstance(cond, AttrCond):
        if here:
            _attr(types, cond.path, out)
            _value(types, cond.value, out)
    elif isinstance(cond, TagCond | DesignationCond):
        if here:
            out.update((t, "tags") for t in types)
            if isinstance(cond, TagCond):
                _value(types, cond.value, out)
    elif isinstance(cond, AllCond | AnyCond):
        for part in cond.parts:
            _reads(part, types, out, here)
    elif isinstance(cond, NotCond):
        _reads(cond.inner, types, out, here)
    elif isinstance(cond, RelatedCond):
        reached = types
        for i, s in enumerate(cond.steps):
            # an edge is read with its source node (e.g. a bucket's encrypted_by comes with its encryption read),
            # whichever way the path walks it
            if here or i or s.reverse:
                out.update((t, f"rel:{s.edge.label}") for t in s.edge.sources)
            reached = frozenset(s.edge.sources) if s.reverse else frozenset({s.edge.target})
        if cond.where is not None:
            _reads(cond.where, reached, out)
        q = cond.quantifier
        if isinstance(q, Each | Some | NoneOf):
            _reads(q.cond, reached, out)
        elif isinstance(q, Distinct):
            _attr(reached, q.path, out)
            if here:
                _value(types, q.value, out)  # the expected value is read on the starting node
        elif isinstance(q, Count) and here:
            _value(types, q.value, out)
    else:  # a form added later without a case here: read as everything, never as nothing
        raise TypeError(f"rule_reads does not know the condition form {type(cond).__name__}")


def resource_reads(rules: Iterable[Rule]) -> frozenset[Read]:
    """(type, "exists") for each rule's resource type: a rule judges every resource of its type, so finding them
    all is a read of its own (a collector that would find some must run), whatever its conditions read."""
    return frozenset((rule.resource, "exists") for rule in rules)


def _conditions(rule: Rule) -> list[Condition]:
    return [c for c in (rule.scope, rule.assertion,
                        rule.exempt_when.condition if rule.exempt_when is not None else None,
                        rule.undecidable.when if rule.undecidable is not None else None,
                        rule.out_of_scope.when if rule.out_of_scope is not None else None) if c is not None]


def reads_beyond_resource(rule: Rule) -> frozenset[Read]:
    """What the rule reads on nodes other than the resource it judges: everything its related conditions read
    except their first forward step's edge (read on the resource itself). A collector may leave a read out for
    the resources a rule's scope excludes only when the rule reads it on nothing else."""
    out: set[Read] = set()
    for cond in _conditions(rule):
        _reads(cond, frozenset({rule.resource}), out, here=False)
    return frozenset(out)
