"""What conditions read from the graph (attributes, tags, walks along edges) and the context they are evaluated in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.engine.grammar import (
    Condition,
    Literal,
    Param,
    Step,
    Value,
)
from auditor.graph import ResourceGraph
from auditor.vocabulary import PSEUDO

if TYPE_CHECKING:
    from auditor.engine.compiled import Fn, VFn

MAX_EVIDENCE = 25


class Outcome:
    """One condition's answer for one node: True, False or None (could not tell), the evidence and the unknowns."""

    # A plain slotted class rather than a dataclass: evaluation makes one per leaf per rule per node (millions at
    # 10,000 endpoints), and the dataclass __init__ with default factories is a measurable part of that.
    __slots__ = ("value", "evidence", "unknown")

    def __init__(self, value: bool | None, evidence: list[dict[str, Any]] | None = None,
                 unknown: list[str] | None = None) -> None:
        self.value = value
        self.evidence = [] if evidence is None else evidence
        self.unknown = [] if unknown is None else unknown

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Outcome) and (self.value, self.evidence, self.unknown) == (
            other.value, other.evidence, other.unknown)

    def __repr__(self) -> str:
        return f"Outcome(value={self.value!r}, evidence={self.evidence!r}, unknown={self.unknown!r})"


@dataclass(frozen=True)
class Designation:
    tag: str
    values: tuple[str, ...]


@dataclass
class EvalCache:
    """What one evaluation computes once and every rule reuses: node labels and edge traversals (neither depends
    on the rule), so that 40 rules over the same endpoint do not redo them."""

    labels: dict[str, str] = field(default_factory=dict)
    traversals: dict[tuple[str, ...], dict[str, tuple[list[str], list[str]]]] = field(default_factory=dict)  # path ->
    # start -> (nodes, why incomplete)
    out: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # node id -> edge label -> successors
    tags: dict[str, dict[str, Any]] = field(default_factory=dict)  # node id -> its tags by lower-cased key
    walks: dict[tuple[str, ...], Any] = field(default_factory=dict)  # path -> its walk (see traversal)
    values: dict[tuple[Any, ...], dict[str, bool | None]] = field(default_factory=dict)  # see shared_value
    refs: dict[str, Any] = field(default_factory=dict)  # node id -> its ResourceRef, shared by every rule's finding
    gaps: dict[str, dict[tuple[str, str], list[str]]] = field(default_factory=dict)  # see _missed

    def release(self) -> None:
        """Drop the walks: each closure holds this cache, a cycle that refcounting alone never frees (the cyclic
        collector would, late, with everything the cache holds)."""
        self.walks.clear()


@dataclass
class EvalContext:
    graph: ResourceGraph
    params: dict[str, Any]
    designations: dict[str, Designation]
    now: dt.datetime
    cache: EvalCache = field(default_factory=EvalCache)
    # id of a condition -> it and its closure (engine.compiled), and the same for its value alone
    fns: dict[int, tuple[Condition, Fn]] = field(default_factory=dict)
    vfns: dict[int, tuple[Condition, VFn]] = field(default_factory=dict)

    def release(self) -> None:
        """Drop the compiled closures: each holds this context, a cycle that refcounting alone never frees."""
        self.fns.clear()
        self.vfns.clear()

    def label(self, node_id: str) -> str:
        hit = self.cache.labels.get(node_id)
        if hit is None:
            hit = self.cache.labels[node_id] = label_of(self.graph.attrs(node_id), node_id)
        return hit


class Unknown(Exception):
    """Raised internally when a value cannot be read; becomes a None outcome with the reason."""


def label_of(node: dict[str, Any], node_id: str) -> str:
    return f"{node['type'].split('.')[-1]} {node['name'] or node_id}"


def existence_unknown(node: dict[str, Any], node_id: str) -> str:
    """Why a referenced node whose describe failed is not known to exist (only NotFound says it does not)."""
    why = node["errors"]["describe"]
    return f"{label_of(node, node_id)}: whether it exists is unknown, it could not be read: {why}"


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
                raise Unknown(existence_unknown(node, node_id))
            return node["dangling"] if path == "dangling" else not node["dangling"]
        if path == "id":
            return node_id
        return node[path]
    if node["dangling"]:
        raise Unknown(f"{label_of(node, node_id)} is referenced but does not exist (dangling reference)")
    if path.startswith("tags."):
        return read_tag(graph, node_id, path[5:], case_sensitive=True)
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
    return dig(node["data"], parts)


def dig(data: Any, parts: tuple[str, ...]) -> Any:
    """The value at a path's parts in a node's data (a digit indexes a list); None where the path leads nowhere."""
    cur = data
    if len(parts) == 1:  # the common case: a top-level attribute
        return cur.get(parts[0]) if isinstance(cur, dict) else None
    for part in parts:
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def read_tag(graph: ResourceGraph, node_id: str, key: str, case_sensitive: bool = False,
         lowered: dict[str, dict[str, Any]] | None = None) -> Any:
    """A tag's value. Unknown when the describe failed too: a resource that could not be read is not known to
    carry the tags found for its name (they may be an older resource's). `lowered` keeps each node's tags by
    lower-cased key for the next question (an evaluation asks each resource's designations for every rule)."""
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
    by_lower = lowered.get(node_id) if lowered is not None else None
    if by_lower is None:
        by_lower = {k.lower(): v for k, v in node["tags"].items()}
        if lowered is not None:
            lowered[node_id] = by_lower
    return by_lower.get(key.lower())


def expected_value(ctx: EvalContext, node_id: str, spec: Value) -> Any:
    if isinstance(spec, Literal):
        return spec.value
    if isinstance(spec, Param):
        return ctx.params[spec.name]
    return read_attr(ctx.graph, node_id, spec.path)


Walk = Callable[[str], tuple[list[str], list[str]]]


def traverse(ctx: EvalContext, start: str, steps: tuple[Step, ...]) -> tuple[list[str], list[str]]:
    """Follow labelled edges (a reverse step walks an edge backwards); return (nodes, reasons the set is incomplete)."""
    return traversal(ctx, steps)(start)


def traversal(ctx: EvalContext, steps: tuple[Step, ...]) -> Walk:
    """A path's walk from any start. The answer depends only on the graph, so one evaluation computes it once per
    start and path for every rule that follows the path (callers do not mutate it), and a path's walk continues
    its prefix's (`[has_variant, serves_model]` takes the nodes `[has_variant]` found)."""
    return traversal_of(ctx.graph, ctx.cache, steps)


def _walk(g: ResourceGraph, cache: EvalCache, path: tuple[str, ...], steps: tuple[Step, ...]) -> Walk:
    done = cache.traversals.setdefault(path, {})
    before = traversal_of(g, cache, steps[:-1]) if len(steps) > 1 else None
    last = steps[-1]

    def walk(start: str) -> tuple[list[str], list[str]]:
        hit = done.get(start)
        if hit is None:
            frontier, incomplete = before(start) if before is not None else ([start], [])
            nodes, more = _step(g, cache, frontier, last)
            hit = done[start] = (nodes, sorted(set(incomplete + more)) if more else incomplete)
        return hit
    return walk


def traversal_of(g: ResourceGraph, cache: EvalCache, steps: tuple[Step, ...]) -> Walk:
    path = tuple(f"~{s.edge.label}" if s.reverse else s.edge.label for s in steps)
    walk = cache.walks.get(path)
    if walk is None:
        walk = cache.walks[path] = _walk(g, cache, path, steps)
    return walk


def _step(g: ResourceGraph, cache: EvalCache, frontier: list[str], s: Step) -> tuple[list[str], list[str]]:
    """One edge from every node of the frontier: the nodes reached (sorted) and why that set may be incomplete."""
    nodes, out = g.g._node, cache.out
    name = s.edge.label
    if len(frontier) == 1 and not g.errors:
        # The common case: one node (a walk's first step) with nothing failed on the way. A single node's
        # successors by one label are distinct, so no set is needed.
        nid = frontier[0]
        node = nodes[nid]
        if not node["dangling"] and (s.reverse or not node["errors"]):
            if s.reverse:
                found = g.incoming(nid, name)
                return found, _missed(g, cache, s, node, found)
            by_label = out.get(nid)
            if by_label is None:
                by_label = out[nid] = _out_edges(g, nid)
            return by_label.get(name, _NO_NODES), []  # sorted once, shared (a walk's answer is never mutated)
    rel = f"rel:{name}"
    incomplete: list[str] = []
    nxt: set[str] = set()
    for nid in frontier:
        node = nodes[nid]
        if node["dangling"]:
            incomplete.append(f"{label_of(node, nid)} is referenced but does not exist (dangling reference)")
            continue
        errors = node["errors"]
        if not s.reverse and errors:
            for facet in ("describe", rel):
                if facet in errors:
                    incomplete.append(f"{label_of(node, nid)}: {name} could not be read: {errors[facet]}")
        if g.errors:  # a listing that failed leaves the related set incomplete
            for target_type in s.listed:
                for err in g.listing_errors(target_type, node["account"], node["region"]):
                    incomplete.append(f"{target_type} listing failed: {err.service}:{err.operation} {err.code}")
        if s.reverse:
            found = g.incoming(nid, name)
            nxt.update(found)
            incomplete += _missed(g, cache, s, node, found)
        else:
            by_label = out.get(nid)
            if by_label is None:
                by_label = out[nid] = _out_edges(g, nid)
            nxt.update(by_label.get(name, ()))
    return sorted(nxt), sorted(set(incomplete))


def _missed(g: ResourceGraph, cache: EvalCache, s: Step, node: dict[str, Any], found: list[str]) -> list[str]:
    """Why a walk backwards along the step's edge to this node, which `found` its sources, may miss some: nodes of
    the edge's source types in its account-region whose edges by that label could not be read (a failed
    `rel:<label>` read, or one left out: an endpoint not described has no rollback alarms read). Nothing when the
    edge's target has one source and it was found. Worked out once per label and evaluation; a few named, the rest
    counted (thousands of endpoints may be undescribed)."""
    if found and s.edge.one_source:
        return _NO_REASONS
    gaps = cache.gaps.get(s.edge.label)
    if gaps is None:
        rel = f"rel:{s.edge.label}"
        by_region: dict[tuple[str, str], list[str]] = {}
        for type_ in sorted(s.edge.sources):
            for n in g.nodes_of_type(type_):
                a = g.g._node[n]
                if rel in a["errors"] and not a["dangling"]:
                    by_region.setdefault((a["account"], a["region"]), []).append(
                        f"{label_of(a, n)}: {s.edge.label} could not be read: {a['errors'][rel]}")
        gaps = cache.gaps[s.edge.label] = {
            k: v[:3] + ([f"and {len(v) - 3} more whose {s.edge.label} could not be read"] if len(v) > 3 else [])
            for k, v in by_region.items()}
    return gaps.get((node["account"], node["region"]), _NO_REASONS)


_NO_REASONS: list[str] = []  # nothing missed: shared, never mutated


def _out_edges(g: ResourceGraph, node_id: str) -> dict[str, list[str]]:
    """A node's successors by edge label, each list sorted, read once for every label a rule asks about
    (graph.related reads them all for each label)."""
    by_label: dict[str, list[str]] = {}
    for dst, keys in g.g._succ[node_id].items():
        for label in keys:
            by_label.setdefault(label, []).append(dst)
    for successors in by_label.values():
        successors.sort()
    return by_label


_NO_NODES: list[str] = []  # no successors by a label: shared, never mutated
