"""Three-valued evaluation of rule conditions over the graph: True, False, or None (could not tell, with why)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from auditor.engine.operators import OPERATORS
from auditor.graph import EDGE_TYPES, ResourceGraph

PSEUDO = {"id", "name", "type", "region", "account", "dangling", "exists"}
MAX_EVIDENCE = 25


@dataclass
class Outcome:
    value: bool | None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Designation:
    tag: str
    values: tuple[str, ...]


@dataclass
class EvalContext:
    graph: ResourceGraph
    params: dict[str, Any]
    designations: dict[str, Designation]
    now: dt.datetime


class Unknown(Exception):
    """Raised internally when a value cannot be read; becomes a None outcome with the reason."""


def label_of(node: dict[str, Any], node_id: str) -> str:
    return f"{node['type'].split('.')[-1]} {node['name'] or node_id}"


def read_attr(graph: ResourceGraph, node_id: str, path: str) -> Any:
    node = graph.attrs(node_id)
    if path in PSEUDO:
        if path == "exists":
            return not node["dangling"]
        if path == "id":
            return node_id
        return node[path]
    if node["dangling"]:
        raise Unknown(f"{label_of(node, node_id)} is referenced but does not exist (dangling reference)")
    errors: dict[str, str] = node["errors"]
    if "describe" in errors:
        raise Unknown(f"{label_of(node, node_id)} could not be read: {errors['describe']}")
    for facet, msg in errors.items():
        if path == facet or path.startswith(facet + "."):
            raise Unknown(f"{label_of(node, node_id)}: {facet} could not be read: {msg}")
    if path.startswith("tags."):
        if node["tags"] is None:
            raise Unknown(f"{label_of(node, node_id)}: tags were not collected")
        return node["tags"].get(path[5:])
    cur: Any = node["data"]
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def _tag(graph: ResourceGraph, node_id: str, key: str) -> Any:
    node = graph.attrs(node_id)
    if node["dangling"]:
        raise Unknown(f"{label_of(node, node_id)} does not exist (dangling reference)")
    if "describe" in node["errors"]:
        raise Unknown(f"{label_of(node, node_id)} could not be read: {node['errors']['describe']}")
    if "tags" in node["errors"] or node["tags"] is None:
        why = node["errors"].get("tags", "not collected")
        raise Unknown(f"{label_of(node, node_id)}: tags could not be read: {why}")
    lowered = {k.lower(): v for k, v in node["tags"].items()}
    return lowered.get(key.lower())


def expected_value(ctx: EvalContext, node_id: str, spec: Any) -> Any:
    if isinstance(spec, dict) and set(spec) == {"param"}:
        return ctx.params[spec["param"]]
    if isinstance(spec, dict) and set(spec) == {"attr"}:
        return read_attr(ctx.graph, node_id, spec["attr"])
    return spec


def evaluate(ctx: EvalContext, cond: dict[str, Any], node_id: str) -> Outcome:
    if "related" in cond:  # first: its any/each/none keys are quantifiers, not combinators
        return _related(ctx, cond, node_id)
    if "all" in cond:
        return _combine([evaluate(ctx, c, node_id) for c in cond["all"]], all_=True)
    if "any" in cond:
        return _combine([evaluate(ctx, c, node_id) for c in cond["any"]], all_=False)
    if "not" in cond:
        inner = evaluate(ctx, cond["not"], node_id)
        return Outcome(None if inner.value is None else not inner.value, inner.evidence, inner.unknown)
    return _leaf(ctx, cond, node_id)


def _leaf(ctx: EvalContext, cond: dict[str, Any], node_id: str) -> Outcome:
    node = ctx.graph.attrs(node_id)
    where = label_of(node, node_id)
    try:
        if "designation" in cond:
            d = ctx.designations[cond["designation"]]
            actual = _tag(ctx.graph, node_id, d.tag)
            ok = actual is not None and str(actual).lower() in {v.lower() for v in d.values}
            ev = {"resource": where, "check": f"designation {cond['designation']}",
                  "tag": d.tag, "actual": actual, "expected": list(d.values), "result": ok}
            return Outcome(ok, [ev])
        if "tag" in cond:
            actual = _tag(ctx.graph, node_id, cond["tag"])
            path = f"tag {cond['tag']}"
        else:
            actual = read_attr(ctx.graph, node_id, cond["attr"])
            path = cond["attr"]
        op = OPERATORS[cond.get("op", "present")]
        expected = expected_value(ctx, node_id, cond.get("value")) if op.needs_value else None
    except Unknown as exc:
        return Outcome(None, [], [str(exc)])
    ok = op.func(actual, expected, ctx.now)
    ev = {"resource": where, "check": path, "op": op.name, "actual": actual, "result": ok}
    if op.needs_value:
        ev["expected"] = expected
    explain = node["data"].get("explain")
    if isinstance(explain, dict) and isinstance(explain.get(path), str):
        ev["explain"] = explain[path]  # the collector's words for a derived value (what is configured, what it means)
    return Outcome(ok, [ev])


def _combine(parts: list[Outcome], all_: bool) -> Outcome:
    evidence = [e for p in parts for e in p.evidence][:MAX_EVIDENCE]
    unknown = [u for p in parts for u in p.unknown]
    values = [p.value for p in parts]
    decisive = False if all_ else True
    if decisive in values:
        # A decisive part settles it; unknowns elsewhere do not matter.
        keep = [p for p in parts if p.value is decisive]
        return Outcome(decisive, [e for p in keep for e in p.evidence][:MAX_EVIDENCE])
    if None in values:
        return Outcome(None, evidence, unknown)
    return Outcome(not decisive, evidence)


def traverse(ctx: EvalContext, start: str, labels: list[str]) -> tuple[list[str], list[str]]:
    """Follow labelled edges (a leading ~ walks an edge backwards); return (nodes, reasons the set is incomplete)."""
    g = ctx.graph
    frontier = [start]
    incomplete: list[str] = []
    for label in labels:
        reverse = label.startswith("~")
        name = label.lstrip("~")
        et = EDGE_TYPES[name]
        nxt: set[str] = set()
        for nid in frontier:
            node = g.attrs(nid)
            if node["dangling"]:
                incomplete.append(f"{label_of(node, nid)} is referenced but does not exist (dangling reference)")
                continue
            if not reverse:
                for facet in ("describe", f"rel:{name}"):
                    if facet in node["errors"]:
                        incomplete.append(f"{label_of(node, nid)}: {name} could not be read: {node['errors'][facet]}")
            for target_type in sorted(et.sources) if reverse else [et.target]:
                for err in g.listing_errors(target_type, node["account"], node["region"]):
                    incomplete.append(f"{target_type} listing failed: {err.service}:{err.operation} {err.code}")
            nxt.update(g.incoming(nid, name) if reverse else g.related(nid, name))
        frontier = sorted(nxt)
    return frontier, sorted(set(incomplete))


def _related(ctx: EvalContext, cond: dict[str, Any], node_id: str) -> Outcome:
    labels = cond["related"] if isinstance(cond["related"], list) else [cond["related"]]
    nodes, incomplete = traverse(ctx, node_id, labels)
    path = " -> ".join(labels)
    where = label_of(ctx.graph.attrs(node_id), node_id)
    unknown = list(incomplete)
    if "where" in cond:
        kept = []
        for n in nodes:
            o = evaluate(ctx, cond["where"], n)
            if o.value is True:
                kept.append(n)
            elif o.value is None:
                unknown += o.unknown
        nodes = kept
    names = [ctx.graph.attrs(n)["name"] for n in nodes]
    base = {"resource": where, "check": f"related {path}", "related": names[:MAX_EVIDENCE]}

    if "each" in cond or "any" in cond or "none" in cond:
        mode = "each" if "each" in cond else "any" if "any" in cond else "none"
        subs = [evaluate(ctx, cond[mode], n) for n in nodes]
        vals = [s.value for s in subs]
        evidence = [e for s in subs for e in s.evidence][:MAX_EVIDENCE]
        sub_unknown = [u for s in subs for u in s.unknown]
        if mode == "each":
            if False in vals:
                return Outcome(False, [base] + [e for s in subs if s.value is False for e in s.evidence][:MAX_EVIDENCE])
            if unknown or None in vals:
                return Outcome(None, [base] + evidence, unknown + sub_unknown)
            if cond.get("nonempty", True) and not nodes:
                return Outcome(False, [dict(base, result=False, note=f"no {path} found")])
            return Outcome(True, [base] + evidence)
        if mode == "any":
            if True in vals:
                return Outcome(True, [base] + [e for s in subs if s.value is True for e in s.evidence][:MAX_EVIDENCE])
            if unknown or None in vals:
                return Outcome(None, [base] + evidence, unknown + sub_unknown)
            return Outcome(False, [dict(base, result=False, note=f"no {path} satisfies the check")] + evidence)
        if True in vals:
            return Outcome(False, [base] + [e for s in subs if s.value is True for e in s.evidence][:MAX_EVIDENCE])
        if unknown or None in vals:
            return Outcome(None, [base] + evidence, unknown + sub_unknown)
        return Outcome(True, [base] + evidence)

    if "distinct" in cond:
        values = []
        for n in nodes:
            try:
                values.append(read_attr(ctx.graph, n, cond["distinct"]))
            except Unknown as exc:
                unknown.append(str(exc))
        if unknown:
            return Outcome(None, [base], unknown)
        distinct = sorted({str(v) for v in values if v is not None})
        spec = cond.get("count", {"op": "ge", "value": 1})
        expected = expected_value(ctx, node_id, spec["value"])
        ok = OPERATORS[spec["op"]].func(len(distinct), expected, ctx.now)
        return Outcome(ok, [dict(base, check=f"distinct {cond['distinct']} over {path}", actual=distinct,
                                 op=spec["op"], expected=expected, result=ok)])

    if "count" in cond:
        if unknown:
            return Outcome(None, [base], unknown)
        spec = cond["count"]
        expected = expected_value(ctx, node_id, spec["value"])
        ok = OPERATORS[spec["op"]].func(len(nodes), expected, ctx.now)
        return Outcome(ok, [dict(base, check=f"count {path}", actual=len(nodes), op=spec["op"],
                                 expected=expected, result=ok)])

    want = cond.get("exists", True)
    live = [n for n in nodes if not ctx.graph.attrs(n)["dangling"]]
    if live:
        return Outcome(want, [dict(base, result=want)])
    if unknown:
        return Outcome(None, [base], unknown)
    note = f"no {path}" + (" (only dangling references)" if nodes else "")
    return Outcome(not want, [dict(base, result=not want, note=note)])
