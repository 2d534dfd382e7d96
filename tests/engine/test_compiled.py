"""Compiled conditions: a value alone equals the full answer's value, closures are not confused, walks share prefixes,
all/any merge their parts' answers as _merge says, and findings come out in report order without a final sort."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine import grammar
from auditor.engine.compiled import _combined, _merge, compiled, evaluate, value_of
from auditor.engine.conditions import MAX_EVIDENCE, EvalCache, EvalContext, traverse
from auditor.engine.config import DEFAULT_DESIGNATIONS, Config
from auditor.engine.evaluator import evaluate_rules, rule_params
from auditor.engine.operators import OPERATORS
from auditor.model import Finding
from tests.conftest import build_graph
from tests.engine.test_evaluator import CASES, RULES


def _conditions(rule: Any) -> list[grammar.Condition]:
    out = [rule.scope, rule.assertion, rule.out_of_scope and rule.out_of_scope.when,
           rule.undecidable and rule.undecidable.when, rule.exempt_when and rule.exempt_when.condition]
    return [c for c in out if c is not None]


def _subconditions(cond: grammar.Condition) -> list[grammar.Condition]:
    return [n for n in grammar.nodes(cond) if not isinstance(n, grammar.Quantifier)]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(CASES), st.randoms(use_true_random=False), st.floats(0, 0.6))
def test_a_value_alone_is_the_full_answers_value(case: tuple[str, dict[str, Any]], rnd: random.Random,
                                                 harm: float) -> None:
    """Scopes, exemptions and guards are decided by value-only closures that stop at the first settling part;
    every (sub)condition of every rule must answer exactly what its evidence-building closure answers, also when
    reads failed, references dangle, tags are missing or listings failed."""
    _, spec = case
    spec = copy.deepcopy(spec)
    for n in spec["nodes"]:
        roll = rnd.random()
        if roll < harm / 3:
            n["errors"] = {"describe": "AccessDenied (injected)"}
        elif roll < 2 * harm / 3:
            n["dangling"] = True
        elif roll < harm:
            n["tags"] = None
    if rnd.random() < harm:
        spec.setdefault("listing_errors", []).append({"affects": [rnd.choice(["sagemaker.model", "*"])]})
    graph = build_graph(spec)
    checked = 0
    for rule in RULES:
        if rule.manual:
            continue
        ctx = EvalContext(graph=graph, params=rule_params(rule, Config()), designations=dict(DEFAULT_DESIGNATIONS),
                          now=graph_now(graph))
        for cond in (s for c in _conditions(rule) for s in _subconditions(c)):
            for node in graph.g.nodes:  # every node, of any type: both closures read the same attributes
                assert value_of(ctx, cond)(node) == compiled(ctx, cond)(node)[0], (rule.id, cond, node)
                checked += 1
    assert checked  # every drawn case exercises some condition


def graph_now(graph: Any) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(graph.meta["collected_at"].replace("Z", "+00:00"))


def test_temporary_conditions_are_not_confused_by_a_reused_id() -> None:
    graph = build_graph({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "data": {"status": "InService"}}]})
    ctx = EvalContext(graph=graph, params={}, designations=dict(DEFAULT_DESIGNATIONS), now=None)  # type: ignore[arg-type]
    got = []
    for value in ["InService", "Failed"] * 50:  # temporaries: CPython reuses their ids at once
        got.append(evaluate(ctx, grammar.AttrCond("status", OPERATORS["eq"], grammar.Literal(value)), "e").value)
    assert got == [True, False] * 50


def test_a_longer_path_continues_its_prefix_and_keeps_its_reasons() -> None:
    spec = {"nodes": [
        {"id": "ep", "type": "sagemaker.endpoint"},
        {"id": "v1", "type": "sagemaker.variant"},
        {"id": "v2", "type": "sagemaker.variant"},
        {"id": "m1", "type": "sagemaker.model", "errors": {"describe": "AccessDenied"}},
        {"id": "m2", "type": "sagemaker.model"},
        {"id": "c2", "type": "sagemaker.container"},
    ], "edges": [["ep", "has_variant", "v1"], ["ep", "has_variant", "v2"], ["v1", "serves_model", "m1"],
                 ["v2", "serves_model", "m2"], ["m2", "has_container", "c2"]]}
    graph = build_graph(spec)
    ctx = EvalContext(graph=graph, params={}, designations={}, now=None, cache=EvalCache())  # type: ignore[arg-type]
    two = tuple(grammar.step(x) for x in ("has_variant", "serves_model"))
    three = two + (grammar.step("has_container"),)
    assert traverse(ctx, "ep", two) == (["m1", "m2"], [])
    nodes, why = traverse(ctx, "ep", three)
    assert nodes == ["c2"]
    assert why == ["model m1: has_container could not be read: AccessDenied"]
    # The same walk with a fresh cache (no prefix computed first) gives the same answer.
    fresh = EvalContext(graph=graph, params={}, designations={}, now=None, cache=EvalCache())  # type: ignore[arg-type]
    assert traverse(fresh, "ep", three) == (nodes, why)
    assert traverse(ctx, "v2", three[1:]) == (["c2"], [])  # another start, another answer


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(CASES), st.randoms(use_true_random=False))
def test_findings_come_out_in_report_order(case: tuple[str, dict[str, Any]], rnd: random.Random) -> None:
    """Rules are evaluated in report order instead of sorting every finding at the end; with hidden nodes too."""
    _, spec = case
    spec = copy.deepcopy(spec)
    for n in spec["nodes"]:
        if rnd.random() < 0.3:
            n["errors"] = {"describe": "AccessDenied (injected)"}
    rules = list(RULES)
    rnd.shuffle(rules)
    found = evaluate_rules(build_graph(spec), rules, Config()).findings
    assert found == sorted(found, key=Finding.sort_key)
    assert [f.to_dict() for f in found] == [f.to_dict() for f in evaluate_rules(build_graph(spec), RULES,
                                                                                Config()).findings]


def test_a_remembered_value_is_shared_only_by_the_same_question() -> None:
    """shared_value remembers a condition's value per node across the rules of one evaluation: the same
    condition with other parameter values is another question."""
    from auditor.engine.compiled import shared_value

    graph = build_graph({"nodes": [{"id": "v", "type": "sagemaker.variant", "data": {"current_instance_count": 2}}]})
    cache = EvalCache()
    cond = grammar.AttrCond("current_instance_count", OPERATORS["ge"], grammar.Param("n"))
    same = grammar.AttrCond("current_instance_count", OPERATORS["ge"], grammar.Param("n"))  # equal, not identical

    def ctx(n: int) -> EvalContext:
        return EvalContext(graph=graph, params={"n": n}, designations={}, now=None, cache=cache)  # type: ignore[arg-type]

    assert shared_value(ctx(2), cond)("v") is True
    assert shared_value(ctx(3), same)("v") is False  # another parameter value: not the remembered answer
    assert shared_value(ctx(2), same)("v") is True
    assert len(cache.values) == 2


_OUT = st.tuples(st.sampled_from([True, False, None]),
                 st.lists(st.fixed_dictionaries({"check": st.sampled_from("abc")}), max_size=30),
                 st.lists(st.sampled_from(["x unreadable", "y unreadable"]), max_size=2))


@given(st.lists(_OUT, min_size=1, max_size=5), st.booleans())
def test_all_and_any_merge_their_parts_answers(outs: list[Any], decisive: bool) -> None:
    # what merging says, written out apart from _merge: a decisive part settles it (showing only the decisive
    # parts' evidence), else an unknown part makes it unknown (with every reason), else it is not decisive
    settling = [ev for v, ev, _ in outs if v is decisive]
    if settling:
        want = (decisive, [e for ev in settling for e in ev], [])
    elif any(v is None for v, _, _ in outs):
        want = (None, [e for _, ev, _ in outs for e in ev], [w for _, _, why in outs for w in why])
    else:
        want = (not decisive, [e for _, ev, _ in outs for e in ev], [])
    value, evidence, why = _merge(outs, decisive)
    assert (value, evidence, list(why)) == want
    asked: list[tuple[str, int]] = []
    parts = [(lambda _n, i=i, o=o: asked.append(("full", i)) or o,
              lambda _n, i=i, o=o: asked.append(("value", i)) or o[0]) for i, o in enumerate(outs)]
    value, evidence, why = _combined(parts, decisive)("node")  # all/any: the same, the evidence bounded
    assert (value, evidence, list(why)) == (want[0], want[1][:MAX_EVIDENCE], want[2])
    # Every part's full answer until one is decisive; after it, each part's value alone, and the full answer of
    # those whose value is decisive too: evidence that merging would drop is never built.
    first = next((i for i, (v, _, _) in enumerate(outs) if v is decisive), len(outs))
    expected = [("full", i) for i in range(min(first + 1, len(outs)))]
    for i in range(first + 1, len(outs)):
        expected += [("value", i)] + ([("full", i)] if outs[i][0] is decisive else [])
    assert asked == expected


@pytest.mark.parametrize(("quantifier", "oks", "full", "value", "checks"), [
    # some: the first passing alarm settles it; later ones are asked their value, answered in full only if they pass
    (grammar.Some, [True, False, True], ["a1", "a3"], ["a2", "a3"], ["a1", "a3"]),
    # each: nothing settles until a failing alarm; the failing ones after it are the evidence kept with it
    (lambda c: grammar.Each(c, False), [True, False, False], ["a1", "a2", "a3"], ["a3"], ["a2", "a3"]),
    (lambda c: grammar.Each(c, False), [True, True, True], ["a1", "a2", "a3"], [], ["a1", "a2", "a3"]),
])
def test_a_settled_quantifier_builds_only_the_evidence_it_keeps(quantifier: Any, oks: list[bool], full: list[str],
                                                                value: list[str], checks: list[str]) -> None:
    alarms = [f"a{i}" for i in range(1, len(oks) + 1)]
    nodes = [{"id": a, "type": "cloudwatch.alarm", "data": {"actions_enabled": ok}}
             for a, ok in zip(alarms, oks, strict=True)]
    graph = build_graph({"nodes": [{"id": "e", "type": "sagemaker.endpoint"}, *nodes],
                         "edges": [["e", "alarmed_by", a] for a in alarms]})
    ctx = EvalContext(graph=graph, params={}, designations={}, now=graph_now(graph), cache=EvalCache())
    sub = grammar.AttrCond("actions_enabled", OPERATORS["true"], None)
    asked: dict[str, list[str]] = {"full": [], "value": []}
    real_full, real_value = compiled(ctx, sub), value_of(ctx, sub)
    # the sub-condition's closures, counted: compiled() and value_of() give what the context already holds
    ctx.fns[id(sub)] = (sub, lambda n: asked["full"].append(n) or real_full(n))
    ctx.vfns[id(sub)] = (sub, lambda n: asked["value"].append(n) or real_value(n))
    cond = grammar.RelatedCond(("alarmed_by",), (grammar.step("alarmed_by"),), None, quantifier(sub))
    out = evaluate(ctx, cond, "e")
    assert asked == {"full": full, "value": value}
    assert out.value is (True if quantifier is grammar.Some else all(oks))
    assert [c["resource"] for c in out.evidence[1:]] == [f"alarm {a}" for a in checks]


def test_a_value_alone_and_the_full_answer_decide_alike_on_an_odd_operator_answer() -> None:
    """all/any and quantifiers decide on `is True` / `is False` in both forms: an operator (a plugin's, say) that
    answers 1 instead of True settles nothing in either (the full answer's _merge never took 1 for True)."""
    from auditor.engine.operators import Operator

    graph = build_graph({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "data": {"status": "InService"}},
                                   {"id": "a", "type": "cloudwatch.alarm"}],
                         "edges": [["e", "alarmed_by", "a"]]})
    ctx = EvalContext(graph=graph, params={}, designations={}, now=graph_now(graph), cache=EvalCache())
    one = Operator("one", lambda _a, _e, _now: 1, False, "answers 1", "")  # type: ignore[arg-type,return-value]
    odd = grammar.AttrCond("status", one, None)
    for cond in (grammar.AnyCond((odd,)), grammar.AllCond((odd,)),
                 grammar.RelatedCond(("alarmed_by",), (grammar.step("alarmed_by"),), None,
                                     grammar.Some(grammar.AttrCond("state", one, None)))):
        assert value_of(ctx, cond)("e") == compiled(ctx, cond)("e")[0], cond
