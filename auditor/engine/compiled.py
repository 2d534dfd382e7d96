"""Conditions compiled into closures over one evaluation context: the full answer (value, evidence, unknowns) and
the value alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from auditor.engine.conditions import (
    MAX_EVIDENCE,
    Designation,
    EvalContext,
    Outcome,
    Unknown,
    dig,
    existence_unknown,
    expected_value,
    read_attr,
    read_tag,
    traversal,
)
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
    Exists,
    Literal,
    NoneOf,
    NotCond,
    Param,
    RelatedCond,
    Some,
    TagCond,
    nodes,
)
from auditor.vocabulary import PSEUDO

# Evaluation asks millions of questions at 10,000 endpoints. Each condition is compiled, once per context (a rule's
# graph, parameters, designations and time), into a closure that has decided what a tree walk would decide again
# for every node: which operator, which value, how to read the path. The closures answer a plain tuple
# (value, evidence, unknowns); `evaluate` wraps it in an Outcome for callers.
Out = tuple[bool | None, list[dict[str, Any]], Sequence[str]]
Fn = Callable[[str], Out]
VFn = Callable[[str], bool | None]
_NONE: tuple[str, ...] = ()  # no unknowns: shared, never mutated
_UNSET = object()  # a value not yet worked out (None is a value: unknown)


def evaluate(ctx: EvalContext, cond: Condition, node_id: str) -> Outcome:
    """The condition's outcome for one node."""
    value, evidence, unknown = compiled(ctx, cond)(node_id)
    return Outcome(value, evidence, list(unknown))


def compiled(ctx: EvalContext, cond: Condition) -> Fn:
    """The condition as a closure over this context, made once. The entry holds the condition itself, so its id
    cannot be reused by another condition while the entry lives."""
    hit = ctx.fns.get(id(cond))
    if hit is None or hit[0] is not cond:
        hit = ctx.fns[id(cond)] = (cond, _COMPILE[type(cond)](ctx, cond))
    return hit[1]


def value_of(ctx: EvalContext, cond: Condition) -> VFn:
    """The condition's value alone (True, False or None), as a closure made once per context.

    A rule's scope, exemption and guards decide whether a finding exists (or is exempt), and their evidence is
    discarded unless they say so: these closures give the same value without building it, and stop at the first
    part that settles it. Where the evidence is then wanted, the full closure gives it."""
    hit = ctx.vfns.get(id(cond))
    if hit is None or hit[0] is not cond:
        hit = ctx.vfns[id(cond)] = (cond, _VALUE[type(cond)](ctx, cond))
    return hit[1]


def shared_value(ctx: EvalContext, cond: Condition) -> VFn:
    """value_of, remembered per node for every rule of the evaluation that asks the same question.

    Rules repeat one another's scopes (44 rules, 21 distinct scopes): the same condition with the same parameter
    values, designations and time has the same value for a node, whichever rule asks."""
    fn = value_of(ctx, cond)
    key = (repr(cond), tuple(sorted((p, repr(ctx.params[p])) for p in _params_in(cond))),
           tuple(sorted(ctx.designations.items())), ctx.now)
    memo = ctx.cache.values.setdefault(key, {})

    def shared(node_id: str) -> bool | None:
        v = memo.get(node_id, _UNSET)
        if v is _UNSET:
            v = memo[node_id] = fn(node_id)
        return v  # type: ignore[return-value]
    return shared


def _params_in(cond: Condition) -> set[str]:
    """The parameters a condition reads, at any depth."""
    return {n.value.name for n in nodes(cond)
            if isinstance(n, AttrCond | TagCond | Count | Distinct) and isinstance(n.value, Param)}


def _c_combine(ctx: EvalContext, parts: tuple[Condition, ...], decisive: bool) -> Fn:
    """all (decisive False) and any (decisive True): a decisive part settles it, and only the decisive parts'
    evidence is kept; otherwise every part's evidence, and unknowns if any part is unknown."""
    return _combined([(compiled(ctx, c), value_of(ctx, c)) for c in parts], decisive)


def _combined(parts: Sequence[tuple[Fn, VFn]], decisive: bool) -> Fn:
    """The parts' answers for a node (each part's full answer and its value alone), merged (see _merge) and
    bounded."""

    def combine(node_id: str) -> Out:
        outs = []
        settled = False
        for fn, alone in parts:  # a loop, not a comprehension (see _merge)
            # Once a part is decisive, _merge keeps only decisive parts' evidence: a later part is asked its value
            # alone, and its full answer only when that is decisive too (the rest would be built to be dropped).
            if settled and alone(node_id) is not decisive:
                continue
            out = fn(node_id)
            if out[0] is decisive:
                settled = True
            outs.append(out)
        value, evidence, why = _merge(outs, decisive)
        return value, evidence if len(evidence) <= MAX_EVIDENCE else evidence[:MAX_EVIDENCE], why
    return combine


def _merge(outs: list[Out], decisive: bool) -> Out:
    """What several answers say together, for all/any over a node's parts and a quantifier over related nodes:
    `decisive` when one of them says it (with the evidence of those that do), else unknown when one of them is
    (with every answer's evidence and every unknown), else `not decisive` (with every answer's evidence). The
    evidence is not bounded here.

    One pass, and plain loops, not comprehensions (Python 3.11 runs each comprehension as a function call of its
    own): this runs for most findings."""
    evidence: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] | None = None  # the decisive answers' evidence, once one is
    why: list[str] = []
    unknown = False
    for value, ev, reasons in outs:
        if value is None:
            unknown = True
        elif value is decisive:
            if kept is None:
                kept = []
            kept += ev
        if reasons:
            why += reasons
        evidence += ev
    if kept is not None:  # unknowns elsewhere do not matter
        return decisive, kept, _NONE
    return (None, evidence, why) if unknown else (not decisive, evidence, _NONE)


def _v_combine(ctx: EvalContext, parts: tuple[Condition, ...], decisive: bool) -> VFn:
    fns = [value_of(ctx, c) for c in parts]

    def combine(node_id: str) -> bool | None:
        unknown = False
        for fn in fns:
            v = fn(node_id)
            if v is None:
                unknown = True
            elif v is decisive:  # as _merge decides (an operator answers True, False or None)
                return decisive
        return None if unknown else not decisive
    return combine


def _c_not(ctx: EvalContext, cond: NotCond) -> Fn:
    inner = compiled(ctx, cond.inner)

    def not_(node_id: str) -> Out:
        value, evidence, unknown = inner(node_id)
        return None if value is None else not value, evidence, unknown
    return not_


def _v_not(ctx: EvalContext, cond: NotCond) -> VFn:
    inner = value_of(ctx, cond.inner)

    def not_(node_id: str) -> bool | None:
        v = inner(node_id)
        return None if v is None else not v
    return not_


def _designated(ctx: EvalContext, cond: DesignationCond) -> Callable[[str], tuple[Designation, Any, bool]]:
    """A designation's reader: (the designation, the tag's value, whether it designates), or Unknown."""
    graph, name = ctx.graph, cond.name
    lowered: dict[Designation, set[str]] = {}
    tags = ctx.cache.tags

    def designated(node_id: str) -> tuple[Designation, Any, bool]:
        d = ctx.designations[name]  # looked up when asked, as a walk would: a branch never taken needs none
        actual = read_tag(graph, node_id, d.tag, lowered=tags)
        values = lowered.get(d)
        if values is None:
            values = lowered[d] = {v.lower() for v in d.values}
        return d, actual, actual is not None and str(actual).lower() in values
    return designated


def _c_designation(ctx: EvalContext, cond: DesignationCond) -> Fn:
    read, check = _designated(ctx, cond), f"designation {cond.name}"

    def designation(node_id: str) -> Out:
        try:
            d, actual, ok = read(node_id)
        except Unknown as exc:
            return None, [], [str(exc)]
        return ok, [{"resource": ctx.label(node_id), "check": check, "tag": d.tag, "actual": actual,
                     "expected": list(d.values), "result": ok}], _NONE
    return designation


def _v_designation(ctx: EvalContext, cond: DesignationCond) -> VFn:
    read = _designated(ctx, cond)

    def designation(node_id: str) -> bool | None:
        try:
            return read(node_id)[2]
        except Unknown:
            return None
    return designation


def _leaf_reader(ctx: EvalContext, cond: AttrCond | TagCond) -> tuple[str, Callable[[str], tuple[Any, Any]]]:
    """A leaf's reader: its check's name in evidence, and a function giving (actual, expected) or Unknown."""
    graph, tags = ctx.graph, ctx.cache.tags
    nodes = graph.g._node  # what graph.attrs reads, bound once
    spec = cond.value
    literal = spec.value if isinstance(spec, Literal) else None
    param = spec.name if isinstance(spec, Param) else None
    ref = spec.path if isinstance(spec, AttrRef) else None
    is_tag = isinstance(cond, TagCond)
    key, check = (cond.key, f"tag {cond.key}") if isinstance(cond, TagCond) else (cond.path, cond.path)
    parts = _data_path(cond)

    def read(node_id: str) -> tuple[Any, Any]:
        node = nodes[node_id]
        if parts is not None and not node["errors"] and not node["dangling"]:
            actual = dig(node["data"], parts)
        elif is_tag:
            actual = read_tag(graph, node_id, key, lowered=tags)
        else:
            actual = read_attr(graph, node_id, key)
        if spec is None:
            return actual, None
        if param is not None:
            return actual, ctx.params[param]
        if ref is not None:
            return actual, read_attr(graph, node_id, ref)
        return actual, literal
    return check, read


def _data_path(cond: AttrCond | TagCond) -> tuple[str, ...] | None:
    """The parts of an ordinary attribute's path: read from a node without a failed read by walking its data.
    None for anything else (a tag, a pseudo attribute, a tag path), which goes through read_attr's rules."""
    if isinstance(cond, TagCond) or cond.path in PSEUDO or cond.path.startswith("tags."):
        return None
    return tuple(cond.path.split("."))


def _fast(ctx: EvalContext, cond: AttrCond | TagCond) -> tuple[tuple[str, ...] | None, str | None, Any]:
    """What lets a leaf skip its reader for a node read without error: the data path, its one part when it has
    only one (read with a dict get), and the expected value when it is fixed for the context (a literal, a
    parameter given). (None, None, None) when there is no such shortcut."""
    parts, spec = _data_path(cond), cond.value
    if parts is None or isinstance(spec, AttrRef) or (isinstance(spec, Param) and spec.name not in ctx.params):
        return None, None, None  # a parameter not given is asked when read, as a walk would (the reader raises)
    fixed = ctx.params[spec.name] if isinstance(spec, Param) else spec.value if isinstance(spec, Literal) else None
    return parts, parts[0] if len(parts) == 1 else None, fixed


def _c_leaf(ctx: EvalContext, cond: AttrCond | TagCond) -> Fn:
    check, read = _leaf_reader(ctx, cond)
    nodes, now, labels, label = ctx.graph.g._node, ctx.now, ctx.cache.labels, ctx.label
    func, op_name, needs_value = cond.op.func, cond.op.name, cond.op.needs_value
    # Most leaves read an attribute of a node read without error against a value fixed for the context: answered
    # here, without the reader's call (the reader decides every other case by read_attr's rules).
    parts, top, fixed = _fast(ctx, cond)

    def leaf(node_id: str) -> Out:
        node = nodes[node_id]
        data = node["data"]
        if parts is not None and not node["errors"] and not node["dangling"]:
            actual = data.get(top) if top is not None else dig(data, parts)
            expected = fixed
        else:
            try:
                actual, expected = read(node_id)
            except Unknown as exc:
                return None, [], [str(exc)]
        ok = func(actual, expected, now)
        if needs_value:
            ev = {"resource": labels.get(node_id) or label(node_id), "check": check, "op": op_name,
                  "actual": actual, "result": ok, "expected": expected}
        else:
            ev = {"resource": labels.get(node_id) or label(node_id), "check": check, "op": op_name,
                  "actual": actual, "result": ok}
        explain = data.get("explain")
        # The collector's words for a derived value (what is configured, what it means).
        if explain is not None and isinstance(explain, dict) and isinstance(explain.get(check), str):
            ev["explain"] = explain[check]
        return ok, [ev], _NONE
    return leaf


def _v_leaf(ctx: EvalContext, cond: AttrCond | TagCond) -> VFn:
    read, func, now, nodes = _leaf_reader(ctx, cond)[1], cond.op.func, ctx.now, ctx.graph.g._node
    parts, top, fixed = _fast(ctx, cond)

    def leaf(node_id: str) -> bool | None:
        node = nodes[node_id]
        if parts is not None and not node["errors"] and not node["dangling"]:
            return func(node["data"].get(top) if top is not None else dig(node["data"], parts), fixed, now)
        try:
            actual, expected = read(node_id)
        except Unknown:
            return None
        return func(actual, expected, now)
    return leaf


def _where(ctx: EvalContext, cond: RelatedCond) -> Callable[[list[str], list[str]], tuple[list[str], list[str]]] | None:
    """A related condition's filter: (the nodes it keeps, the walk's unknowns and its own). Its evidence is never
    shown, so it asks each node for the value alone, and for the full answer only to say why one is unknown."""
    if cond.where is None:
        return None
    value, full = value_of(ctx, cond.where), compiled(ctx, cond.where)

    def where(nodes: list[str], unknown: list[str]) -> tuple[list[str], list[str]]:
        kept, why = [], list(unknown)
        for n in nodes:
            v = value(n)
            if v is True:
                kept.append(n)
            elif v is None:
                why += full(n)[2]
        return kept, why
    return where


def _c_related(ctx: EvalContext, cond: RelatedCond) -> Fn:
    graph, walk, q = ctx.graph, traversal(ctx, cond.steps), cond.quantifier
    nodes_of, labels = graph.g._node, ctx.cache.labels
    path = " -> ".join(cond.labels)
    check = f"related {path}"
    where = _where(ctx, cond)
    sub_fn = compiled(ctx, q.cond) if isinstance(q, Each | Some | NoneOf) else None
    sub_value: VFn = value_of(ctx, q.cond) if isinstance(q, Each | Some | NoneOf) else _no_value
    settles = not isinstance(q, Each)  # one failing node settles each; one passing node settles any and none
    is_each, is_some = isinstance(q, Each), isinstance(q, Some)
    nonempty = is_each and q.nonempty  # type: ignore[union-attr]

    def related(node_id: str) -> Out:
        nodes, unknown = walk(node_id)  # neither is mutated: both are the walk's, shared
        if where is not None:
            nodes, unknown = where(nodes, unknown)
        names = []
        for n in nodes if len(nodes) <= MAX_EVIDENCE else nodes[:MAX_EVIDENCE]:  # a loop (see _merge)
            names.append(nodes_of[n]["name"])
        base = {"resource": labels.get(node_id) or ctx.label(node_id), "check": check, "related": names}

        if sub_fn is not None:
            if len(nodes) == 1:  # the common case: one answer says it all as it is (see _merge)
                value, evidence, why = sub_fn(nodes[0])
            else:
                subs = []
                settled = False
                for n in nodes:  # a loop, not a comprehension (see _merge)
                    if settled and sub_value(n) is not settles:  # its evidence would be dropped (as in _combined)
                        continue
                    out = sub_fn(n)
                    if out[0] is settles:
                        settled = True
                    subs.append(out)
                value, evidence, why = _merge(subs, settles)
            if len(evidence) > MAX_EVIDENCE:
                evidence = evidence[:MAX_EVIDENCE]
            if value is settles:
                return is_some, [base] + evidence, _NONE
            if unknown or value is None:
                return None, [base] + evidence, list(unknown) + list(why)
            if is_each:
                if nonempty and not nodes:
                    return False, [dict(base, result=False, note=f"no {path} found")], _NONE
                return True, [base] + evidence, _NONE
            if is_some:
                return False, [dict(base, result=False, note=f"no {path} satisfies the check")] + evidence, _NONE
            return True, [base] + evidence, _NONE
        missing = list(unknown)

        if isinstance(q, Distinct):
            values = []
            for n in nodes:
                try:
                    values.append(read_attr(graph, n, q.path))
                except Unknown as exc:
                    missing.append(str(exc))
            if missing:
                return None, [base], missing
            distinct = sorted({str(v) for v in values if v is not None})
            expected = expected_value(ctx, node_id, q.value)
            ok = q.op.func(len(distinct), expected, ctx.now)
            return ok, [dict(base, check=f"distinct {q.path} over {path}", actual=distinct, op=q.op.name,
                             expected=expected, result=ok)], _NONE

        if isinstance(q, Count):
            if missing:
                return None, [base], missing
            expected = expected_value(ctx, node_id, q.value)
            ok = q.op.func(len(nodes), expected, ctx.now)
            return ok, [dict(base, check=f"count {path}", actual=len(nodes), op=q.op.name, expected=expected,
                             result=ok)], _NONE

        assert isinstance(q, Exists)
        live, unread = _existence(nodes_of, nodes)
        if live:
            return q.want, [dict(base, result=q.want)], _NONE
        if missing or unread:
            return None, [base], missing + unread
        note = f"no {path}" + (" (only dangling references)" if nodes else "")
        return not q.want, [dict(base, result=not q.want, note=note)], _NONE
    return related


def _v_related(ctx: EvalContext, cond: RelatedCond) -> VFn:
    q = cond.quantifier
    if not isinstance(q, Each | Some | NoneOf | Exists):  # count and distinct: the full answer's value
        full = compiled(ctx, cond)
        return lambda node_id: full(node_id)[0]
    nodes_of, walk = ctx.graph.g._node, traversal(ctx, cond.steps)
    where = value_of(ctx, cond.where) if cond.where is not None else None
    sub = value_of(ctx, q.cond) if not isinstance(q, Exists) else None
    settles = not isinstance(q, Each)

    def related(node_id: str) -> bool | None:
        nodes, incomplete = walk(node_id)
        unknown = bool(incomplete)
        if where is not None:
            kept = []
            for n in nodes:
                v = where(n)
                if v is True:
                    kept.append(n)
                elif v is None:
                    unknown = True
            nodes = kept
        if sub is None:
            assert isinstance(q, Exists)
            live, unread = _existence(nodes_of, nodes)
            if live:
                return q.want
            return None if unknown or unread else not q.want
        for n in nodes:
            v = sub(n)
            if v is None:
                unknown = True
            elif v is settles:  # as _merge decides
                return isinstance(q, Some)
        if unknown:
            return None
        if isinstance(q, Each):
            return not (q.nonempty and not nodes)
        return not isinstance(q, Some)
    return related


def _no_value(node_id: str) -> bool | None:
    return None  # a quantifier without a condition asks none


def _existence(nodes_of: dict[str, dict[str, Any]], nodes: list[str]) -> tuple[bool, list[str]]:
    """(whether one of the nodes is known to exist, why those not known to are unknown). A node exists when it was
    read; one whose describe failed may or may not (as its `exists` attribute says); a dangling one does not."""
    unread = []
    for n in nodes:
        node = nodes_of[n]
        if not node["dangling"]:
            if "describe" not in node["errors"]:
                return True, []
            unread.append(existence_unknown(node, n))
    return False, unread


# One compiler per node class of the grammar, in both forms (a test checks every class has one).
_COMPILE: dict[type, Callable[[EvalContext, Any], Fn]] = {
    AttrCond: _c_leaf, TagCond: _c_leaf, DesignationCond: _c_designation, NotCond: _c_not,
    AllCond: lambda ctx, cond: _c_combine(ctx, cond.parts, False),
    AnyCond: lambda ctx, cond: _c_combine(ctx, cond.parts, True),
    RelatedCond: _c_related,
}
_VALUE: dict[type, Callable[[EvalContext, Any], VFn]] = {
    AttrCond: _v_leaf, TagCond: _v_leaf, DesignationCond: _v_designation, NotCond: _v_not,
    AllCond: lambda ctx, cond: _v_combine(ctx, cond.parts, False),
    AnyCond: lambda ctx, cond: _v_combine(ctx, cond.parts, True),
    RelatedCond: _v_related,
}
