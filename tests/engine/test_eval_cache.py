"""Evaluation reuses traversals and labels across rules without changing any answer, and leaves the GC as it was."""

from __future__ import annotations

import gc
from typing import Any

from auditor.engine.conditions import EvalCache, EvalContext, traverse
from auditor.engine.config import DEFAULT_DESIGNATIONS, Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.model import Finding
from tests.conftest import build_graph, cyclic_garbage

GRAPH = {"nodes": [
    {"id": "ep", "type": "sagemaker.endpoint", "name": "ep", "tags": {"environment": "production"}},
    {"id": "v1", "type": "sagemaker.variant", "name": "v1", "data": {"current_instance_count": 1}},
    {"id": "v2", "type": "sagemaker.variant", "name": "v2", "errors": {"describe": "AccessDenied"}},
], "edges": [["ep", "has_variant", "v1"], ["ep", "has_variant", "v2"]]}


def _findings() -> list[Finding]:
    graph = build_graph(GRAPH)
    ev = evaluate_rules(graph, load_rules(), Config())
    return ev.findings


def test_evaluation_is_repeatable_and_restores_gc() -> None:
    assert gc.isenabled()
    first = [f.to_dict() for f in _findings()]
    assert gc.isenabled()
    gc.disable()
    try:
        second = [f.to_dict() for f in _findings()]
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
    assert first == second
    assert any(f["status"] == "error" for f in first)  # the unreadable variant still makes findings undecided


def test_traversal_cache_keys_on_start_and_path() -> None:
    graph = build_graph(GRAPH)
    ctx = EvalContext(graph=graph, params={}, designations=dict(DEFAULT_DESIGNATIONS), now=None,  # type: ignore[arg-type]
                      cache=EvalCache())
    rules = load_rules()
    steps = next(c.steps for r in rules for c in _related(r.assertion) if c.labels == ("has_variant",))
    nodes, incomplete = traverse(ctx, "ep", steps)
    assert nodes == ["v1", "v2"] and incomplete == []
    assert traverse(ctx, "v1", steps) == ([], [])  # another start is another answer, not the cached one
    assert ctx.cache.traversals[("has_variant",)]["ep"] == (["v1", "v2"], [])


def _related(cond: Any) -> list[Any]:
    from auditor.engine.grammar import RelatedCond, nodes

    return [n for n in nodes(cond) if isinstance(n, RelatedCond)]


def test_evaluation_leaves_no_cyclic_garbage() -> None:
    """Compiled closures hold their context and walks hold the cache: evaluation must break those cycles, or the
    whole cache (every traversal of every resource) waits for a full collection, or for the end of an audit that
    froze the heap (app._long_lived_settled)."""
    graph = build_graph(GRAPH)
    rules = load_rules()
    with cyclic_garbage() as found:
        assert evaluate_rules(graph, rules, Config()).findings
        # only evaluation's own objects: another thread of the test process may leave garbage of its own
        ours = [o for o in found() if isinstance(o, EvalContext | EvalCache)
                or getattr(o, "__module__", "").startswith("auditor.engine")]
        assert ours == []
