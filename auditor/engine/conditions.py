"""Three-valued evaluation of rule conditions over the graph: True, False, or None (could not tell, with why)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.engine.grammar import (
    AllCond,
    AnyCond,
    AttrCond,
    Condition,
    Count,
    DesignationCond,
    Distinct,
    Each,
    Literal,
    NoneOf,
    NotCond,
    Param,
    RelatedCond,
    Some,
    Step,
    TagCond,
    Value,
)
from auditor.graph import ResourceGraph
from auditor.vocabulary import PSEUDO

MAX_EVIDENCE = 25


@dataclass(slots=True)
class Outcome:
    value: bool | None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Designation:
    tag: str
    values: tuple[str, ...]


@dataclass
class EvalCache:
    """What one evaluation computes once and every rule reuses: node labels and edge traversals (neither depends
    on the rule), so that 40 rules over the same endpoint do not redo them."""

    labels: dict[str, str] = field(default_factory=dict)
    traversals: dict[tuple[str, tuple[str, ...]], tuple[list[str], list[str]]] = field(default_factory=dict)
    paths: dict[int, tuple[str, ...]] = field(default_factory=dict)  # id of a rule's steps (alive meanwhile) -> path
    refs: dict[str, Any] = field(default_factory=dict)  # node id -> its ResourceRef, shared by every rule's finding


@dataclass
class EvalContext:
    graph: ResourceGraph
    params: dict[str, Any]
    designations: dict[str, Designation]
    now: dt.datetime
    cache: EvalCache = field(default_factory=EvalCache)
    scalars: dict[str, Any] | None = None  # the rule's scalar parameters, for its message templates
    per_rule: tuple[dict[str, Any] | None, dict[str, Any]] | None = None  # evidence params, remediation (evaluator)

    def label(self, node_id: str) -> str:
        hit = self.cache.labels.get(node_id)
        if hit is None:
            hit = self.cache.labels[node_id] = label_of(self.graph.attrs(node_id), node_id)
        return hit


class Unknown(Exception):
    """Raised internally when a value cannot be read; becomes a None outcome with the reason."""


def label_of(node: dict[str, Any], node_id: str) -> str:
    return f"{node['type'].split('.')[-1]} {node['name'] or node_id}"


_PARTS: dict[str, tuple[str, ...]] = {}  # attribute path -> its parts, split once


def read_attr(graph: ResourceGraph, node_id: str, path: str) -> Any:
    """The value at `path`, or Unknown when the read it comes from failed.

    Every attribute comes from a read: the node's own describe unless the collector said otherwise
    (ResourceGraph.set_read); whether the node exists is the describe's answer too. Only the reference itself
    (id, name, type, account, region) is known without any read.
    """
    node = graph.attrs(node_id)
    errors: dict[str, str] = node["errors"]
    if path in PSEUDO:
        if path in ("exists", "dangling"):
            if not node["dangling"] and "describe" in errors:
                raise Unknown(f"{label_of(node, node_id)}: whether it exists is unknown, it could not be read: "
                              f"{errors['describe']}")
            return node["dangling"] if path == "dangling" else not node["dangling"]
        if path == "id":
            return node_id
        return node[path]
    if node["dangling"]:
        raise Unknown(f"{label_of(node, node_id)} is referenced but does not exist (dangling reference)")
    if path.startswith("tags."):
        return _tag(graph, node_id, path[5:], case_sensitive=True)
    parts = _PARTS.get(path)
    if parts is None:
        parts = _PARTS[path] = tuple(path.split("."))
    origin = node.get("origin")
    if errors:
        read = origin.get(parts[0], "describe") if origin else "describe"
        if read in errors:
            why = "could not be read" if read == "describe" else f"{path}: {read} could not be read"
            raise Unknown(f"{label_of(node, node_id)} {why}: {errors[read]}")
        for facet, msg in errors.items():
            if path == facet or path.startswith(facet + "."):
                raise Unknown(f"{label_of(node, node_id)}: {facet} could not be read: {msg}")
    cur: Any = node["data"]
    if len(parts) == 1:  # the common case: a top-level attribute
        return cur.get(path) if isinstance(cur, dict) else None
    for part in parts:
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def _tag(graph: ResourceGraph, node_id: str, key: str, case_sensitive: bool = False) -> Any:
    """A tag's value. Unknown when the describe failed too: a resource that could not be read is not known to
    carry the tags found for its name (they may be an older resource's)."""
    node = graph.attrs(node_id)
    if node["dangling"]:
        raise Unknown(f"{label_of(node, node_id)} does not exist (dangling reference)")
    if "describe" in node["errors"]:
        raise Unknown(f"{label_of(node, node_id)} could not be read: {node['errors']['describe']}")
    if "tags" in node["errors"] or node["tags"] is None:
        why = node["errors"].get("tags", "not collected")
        raise Unknown(f"{label_of(node, node_id)}: tags could not be read: {why}")
    if case_sensitive:
        return node["tags"].get(key)
    lowered = {k.lower(): v for k, v in node["tags"].items()}
    return lowered.get(key.lower())


def expected_value(ctx: EvalContext, node_id: str, spec: Value) -> Any:
    if isinstance(spec, Literal):
        return spec.value
    if isinstance(spec, Param):
        return ctx.params[spec.name]
    return read_attr(ctx.graph, node_id, spec.path)


def evaluate(ctx: EvalContext, cond: Condition, node_id: str) -> Outcome:
    """Walk the compiled condition tree for one node."""
    return _WALK[type(cond)](ctx, cond, node_id)


def _all(ctx: EvalContext, cond: AllCond, node_id: str) -> Outcome:
    return _combine([evaluate(ctx, c, node_id) for c in cond.parts], all_=True)


def _any(ctx: EvalContext, cond: AnyCond, node_id: str) -> Outcome:
    return _combine([evaluate(ctx, c, node_id) for c in cond.parts], all_=False)


def _not(ctx: EvalContext, cond: NotCond, node_id: str) -> Outcome:
    inner = evaluate(ctx, cond.inner, node_id)
    return Outcome(None if inner.value is None else not inner.value, inner.evidence, inner.unknown)


def _designation(ctx: EvalContext, cond: DesignationCond, node_id: str) -> Outcome:
    d = ctx.designations[cond.name]
    try:
        actual = _tag(ctx.graph, node_id, d.tag)
    except Unknown as exc:
        return Outcome(None, [], [str(exc)])
    ok = actual is not None and str(actual).lower() in {v.lower() for v in d.values}
    ev = {"resource": ctx.label(node_id), "check": f"designation {cond.name}",
          "tag": d.tag, "actual": actual, "expected": list(d.values), "result": ok}
    return Outcome(ok, [ev])


def _leaf(ctx: EvalContext, cond: AttrCond | TagCond, node_id: str) -> Outcome:
    op = cond.op
    try:
        if isinstance(cond, TagCond):
            actual = _tag(ctx.graph, node_id, cond.key)
            path = f"tag {cond.key}"
        else:
            actual = read_attr(ctx.graph, node_id, cond.path)
            path = cond.path
        expected = expected_value(ctx, node_id, cond.value) if cond.value is not None else None
    except Unknown as exc:
        return Outcome(None, [], [str(exc)])
    ok = op.func(actual, expected, ctx.now)
    ev = {"resource": ctx.label(node_id), "check": path, "op": op.name, "actual": actual, "result": ok}
    if op.needs_value:
        ev["expected"] = expected
    explain = ctx.graph.attrs(node_id)["data"].get("explain")
    if explain is not None and isinstance(explain, dict) and isinstance(explain.get(path), str):
        ev["explain"] = explain[path]  # the collector's words for a derived value (what is configured, what it means)
    return Outcome(ok, [ev])


def _combine(parts: list[Outcome], all_: bool) -> Outcome:
    values = [p.value for p in parts]
    decisive = False if all_ else True
    if decisive in values:
        # A decisive part settles it; unknowns elsewhere do not matter.
        keep = [p for p in parts if p.value is decisive]
        return Outcome(decisive, [e for p in keep for e in p.evidence][:MAX_EVIDENCE])
    evidence = [e for p in parts for e in p.evidence][:MAX_EVIDENCE]
    if None in values:
        return Outcome(None, evidence, [u for p in parts for u in p.unknown])
    return Outcome(not decisive, evidence)


def traverse(ctx: EvalContext, start: str, steps: tuple[Step, ...]) -> tuple[list[str], list[str]]:
    """Follow labelled edges (a reverse step walks an edge backwards); return (nodes, reasons the set is incomplete).

    The answer depends only on the graph, so one evaluation computes it once per start and path (callers do not
    mutate it)."""
    path = ctx.cache.paths.get(id(steps))
    if path is None:
        path = ctx.cache.paths[id(steps)] = tuple(f"~{s.edge.label}" if s.reverse else s.edge.label for s in steps)
    key = (start, path)
    hit = ctx.cache.traversals.get(key)
    if hit is None:
        hit = ctx.cache.traversals[key] = _traverse(ctx, start, steps)
    return hit


def _traverse(ctx: EvalContext, start: str, steps: tuple[Step, ...]) -> tuple[list[str], list[str]]:
    g = ctx.graph
    frontier = [start]
    incomplete: list[str] = []
    for s in steps:
        name = s.edge.label
        nxt: set[str] = set()
        for nid in frontier:
            node = g.attrs(nid)
            if node["dangling"]:
                incomplete.append(f"{label_of(node, nid)} is referenced but does not exist (dangling reference)")
                continue
            if not s.reverse:
                for facet in ("describe", f"rel:{name}"):
                    if facet in node["errors"]:
                        incomplete.append(f"{label_of(node, nid)}: {name} could not be read: {node['errors'][facet]}")
            if g.errors:  # a listing that failed leaves the related set incomplete
                for target_type in s.listed:
                    for err in g.listing_errors(target_type, node["account"], node["region"]):
                        incomplete.append(f"{target_type} listing failed: {err.service}:{err.operation} {err.code}")
            nxt.update(g.incoming(nid, name) if s.reverse else g.related(nid, name))
        frontier = sorted(nxt)
    return frontier, sorted(set(incomplete))


def _quantified(subs: list[Outcome], want: bool) -> list[dict[str, Any]]:
    """The evidence of the sub-outcomes that settled a quantifier."""
    return [e for s in subs if s.value is want for e in s.evidence][:MAX_EVIDENCE]


def _related(ctx: EvalContext, cond: RelatedCond, node_id: str) -> Outcome:
    nodes, incomplete = traverse(ctx, node_id, cond.steps)
    path = " -> ".join(cond.labels)
    where = ctx.label(node_id)
    unknown = list(incomplete)
    if cond.where is not None:
        kept = []
        for n in nodes:
            o = evaluate(ctx, cond.where, n)
            if o.value is True:
                kept.append(n)
            elif o.value is None:
                unknown += o.unknown
        nodes = kept
    names = [ctx.graph.attrs(n)["name"] for n in nodes]
    base = {"resource": where, "check": f"related {path}", "related": names[:MAX_EVIDENCE]}
    q = cond.quantifier

    if isinstance(q, Each | Some | NoneOf):
        subs = [evaluate(ctx, q.cond, n) for n in nodes]
        vals = [s.value for s in subs]
        evidence = [e for s in subs for e in s.evidence][:MAX_EVIDENCE]
        sub_unknown = [u for s in subs for u in s.unknown]
        settles = not isinstance(q, Each)  # one failing node settles each; one passing node settles any and none
        if settles in vals:
            return Outcome(isinstance(q, Some), [base] + _quantified(subs, settles))
        if unknown or None in vals:
            return Outcome(None, [base] + evidence, unknown + sub_unknown)
        if isinstance(q, Each):
            if q.nonempty and not nodes:
                return Outcome(False, [dict(base, result=False, note=f"no {path} found")])
            return Outcome(True, [base] + evidence)
        if isinstance(q, Some):
            return Outcome(False, [dict(base, result=False, note=f"no {path} satisfies the check")] + evidence)
        return Outcome(True, [base] + evidence)

    if isinstance(q, Distinct):
        values = []
        for n in nodes:
            try:
                values.append(read_attr(ctx.graph, n, q.path))
            except Unknown as exc:
                unknown.append(str(exc))
        if unknown:
            return Outcome(None, [base], unknown)
        distinct = sorted({str(v) for v in values if v is not None})
        expected = expected_value(ctx, node_id, q.value)
        ok = q.op.func(len(distinct), expected, ctx.now)
        return Outcome(ok, [dict(base, check=f"distinct {q.path} over {path}", actual=distinct,
                                 op=q.op.name, expected=expected, result=ok)])

    if isinstance(q, Count):
        if unknown:
            return Outcome(None, [base], unknown)
        expected = expected_value(ctx, node_id, q.value)
        ok = q.op.func(len(nodes), expected, ctx.now)
        return Outcome(ok, [dict(base, check=f"count {path}", actual=len(nodes), op=q.op.name,
                                 expected=expected, result=ok)])

    live = [n for n in nodes if not ctx.graph.attrs(n)["dangling"]]
    if live:
        return Outcome(q.want, [dict(base, result=q.want)])
    if unknown:
        return Outcome(None, [base], unknown)
    note = f"no {path}" + (" (only dangling references)" if nodes else "")
    return Outcome(not q.want, [dict(base, result=not q.want, note=note)])


# One walker per node class of the grammar (a test checks every class has one).
_WALK: dict[type, Callable[[EvalContext, Any, str], Outcome]] = {
    AttrCond: _leaf, TagCond: _leaf, DesignationCond: _designation, AllCond: _all, AnyCond: _any, NotCond: _not,
    RelatedCond: _related,
}
