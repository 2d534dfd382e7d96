"""Reading one attribute or tag for a condition: the value, or Unknown with a reason naming the resource."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from auditor.engine import conditions, grammar
from auditor.engine.compiled import evaluate
from auditor.engine.conditions import EvalContext, Unknown, read_attr, traverse
from auditor.engine.config import DEFAULT_DESIGNATIONS
from auditor.engine.operators import OPERATORS
from auditor.graph import ResourceGraph
from tests.conftest import build_graph

EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"


def endpoint(**node: object) -> ResourceGraph:
    return build_graph({"nodes": [{"id": EP, "type": "sagemaker.endpoint", "name": "", **node}]})


def reason(graph: ResourceGraph, path: str) -> str:
    with pytest.raises(Unknown) as exc:
        read_attr(graph, EP, path)
    return str(exc.value)


def test_existence_and_dangling_are_opposite_answers_of_the_describe() -> None:
    assert (read_attr(endpoint(), EP, "exists"), read_attr(endpoint(), EP, "dangling")) == (True, False)
    gone = endpoint(dangling=True)
    assert (read_attr(gone, EP, "exists"), read_attr(gone, EP, "dangling")) == (False, True)
    assert read_attr(gone, EP, "id") == EP
    denied = endpoint(errors={"describe": "AccessDenied"})
    assert reason(denied, "dangling") == (f"endpoint {EP}: whether it exists is unknown, it could not be read: "
                                          "AccessDenied")


def test_an_attribute_of_a_dangling_reference_is_unknown_naming_it() -> None:
    assert reason(endpoint(dangling=True), "status") == (f"endpoint {EP} is referenced but does not exist "
                                                         "(dangling reference)")
    assert reason(endpoint(dangling=True), "tags.env") == (f"endpoint {EP} is referenced but does not exist "
                                                           "(dangling reference)")


def test_a_failed_read_names_the_resource_and_the_error() -> None:
    assert reason(endpoint(errors={"describe": "Throttling"}), "status") == f"endpoint {EP} could not be read: Throttling"
    assert reason(endpoint(errors={"describe": "Throttling"}), "tags.env") == (f"endpoint {EP} could not be read: "
                                                                               "Throttling")


def test_tags_that_could_not_be_read_are_unknown_even_if_some_are_held() -> None:
    stale = endpoint(tags={"env": "prod"}, errors={"tags": "ListTags: AccessDenied"})
    assert reason(stale, "tags.env") == f"endpoint {EP}: tags could not be read: ListTags: AccessDenied"
    assert reason(endpoint(tags=None), "tags.env") == f"endpoint {EP}: tags could not be read: not collected"


def test_a_tag_path_is_case_sensitive() -> None:
    graph = endpoint(tags={"Env": "prod"})
    assert read_attr(graph, EP, "tags.Env") == "prod" and read_attr(graph, EP, "tags.env") is None


# -- the walkers: evidence, unknown reasons and notes, exactly (the mutants docs/mutation.md listed as real) -----
def _ctx(spec: dict[str, Any], **params: Any) -> EvalContext:
    return EvalContext(graph=build_graph(spec), params=params, designations=dict(DEFAULT_DESIGNATIONS),
                       now=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))


def _variants(*variants: dict[str, Any], **endpoint: Any) -> dict[str, Any]:
    nodes = [{"id": "e", "type": "sagemaker.endpoint", "name": "ep", **endpoint}]
    nodes += [{"type": "sagemaker.variant", **v} for v in variants]
    return {"nodes": nodes, "edges": [["e", "has_variant", v["id"]] for v in variants]}


SERVERLESS = grammar.AttrCond("serverless", OPERATORS["false"], None)
STEPS = (grammar.step("has_variant"),)


def related(q: grammar.Quantifier, where: grammar.Condition | None = None) -> grammar.RelatedCond:
    return grammar.RelatedCond(("has_variant",), STEPS, where, q)


def test_each_that_holds_keeps_the_path_then_every_sub_evidence() -> None:
    ctx = _ctx(_variants({"id": "a", "name": "a", "data": {"serverless": False}},
                         {"id": "b", "name": "b", "data": {"serverless": False}}))
    out = evaluate(ctx, related(grammar.Each(SERVERLESS, True)), "e")
    assert out.value is True and out.unknown == []
    assert out.evidence == [
        {"resource": "endpoint ep", "check": "related has_variant", "related": ["a", "b"]},
        {"resource": "variant a", "check": "serverless", "op": "false", "actual": False, "result": True},
        {"resource": "variant b", "check": "serverless", "op": "false", "actual": False, "result": True}]


def test_every_unknown_of_a_where_clause_and_of_the_traversal_is_kept() -> None:
    spec = _variants({"id": "a", "name": "a", "errors": {"describe": "denied a"}},
                     {"id": "b", "name": "b", "errors": {"describe": "denied b"}},
                     errors={"rel:has_variant": "ListVariants denied"})
    out = evaluate(_ctx(spec), related(grammar.Exists(True), where=SERVERLESS), "e")
    assert out.value is None
    assert out.unknown == ["endpoint ep: has_variant could not be read: ListVariants denied",
                           "variant a could not be read: denied a", "variant b could not be read: denied b"]


def test_exists_over_only_dangling_references_says_so() -> None:
    gone = evaluate(_ctx(_variants({"id": "a", "name": "a", "dangling": True})), related(grammar.Exists(True)), "e")
    assert (gone.value, gone.evidence[0]["note"], gone.evidence[0]["result"]) == (
        False, "no has_variant (only dangling references)", False)
    none = evaluate(_ctx(_variants()), related(grammar.Exists(False)), "e")
    assert (none.value, none.evidence[0]["note"], none.evidence[0]["result"]) == (True, "no has_variant", True)


@pytest.mark.parametrize("want", [True, False])
def test_exists_over_a_reference_that_could_not_be_read_is_unknown_unless_another_was_read(want: bool) -> None:
    """A related node whose describe failed may or may not exist, as its `exists` attribute says: it settles
    neither `exists: true` nor `exists: false`; a node that was read does."""
    from auditor.engine.compiled import value_of

    unread = {"id": "a", "name": "a", "errors": {"describe": "not collected"}}
    ctx = _ctx(_variants(unread))
    cond = related(grammar.Exists(want))
    out = evaluate(ctx, cond, "e")
    assert (out.value, out.unknown) == (None, ["variant a: whether it exists is unknown, it could not be read: "
                                               "not collected"])
    assert value_of(ctx, cond)("e") is None
    both = _ctx(_variants(unread, {"id": "b", "name": "b"}))
    assert evaluate(both, cond, "e").value is want and value_of(both, cond)("e") is want


def test_a_count_compared_with_an_attribute_reads_it_on_the_resource_itself() -> None:
    spec = {"nodes": [{"id": "v", "type": "sagemaker.variant", "name": "v", "data": {"initial_instance_count": 2}},
                      {"id": "m", "type": "sagemaker.model", "name": "m"}],
            "edges": [["v", "serves_model", "m"]]}
    cond = grammar.RelatedCond(("serves_model",), (grammar.step("serves_model"),), None,
                               grammar.Count(OPERATORS["ge"], grammar.AttrRef("initial_instance_count")))
    out = evaluate(_ctx(spec), cond, "v")
    assert out.value is False
    assert out.evidence == [{"resource": "variant v", "check": "count serves_model", "related": ["m"],
                             "actual": 1, "op": "ge", "expected": 2, "result": False}]


def test_a_path_walks_into_lists_by_index() -> None:
    conditions._PARTS.clear()  # the path -> parts memo: split afresh here, not by an earlier test
    cfg = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"
    graph = build_graph({"nodes": [{"id": cfg, "type": "sagemaker.endpoint_config", "data": {
        "production_variants": [{"VariantName": "a"}, {"VariantName": "b"}], "kms_key_id": "key"}}]})
    paths = ("production_variants.0.VariantName", "production_variants.1.VariantName",
             "production_variants.2.VariantName", "production_variants.x", "production_variants.-1.VariantName",
             "kms_key_id.0")
    assert [read_attr(graph, cfg, p) for p in paths] == ["a", "b", None, None, None, None]


@pytest.mark.parametrize(("node", "why"), [
    ({"dangling": True}, "endpoint ep does not exist (dangling reference)"),
    ({"errors": {"describe": "Throttling"}}, "endpoint ep could not be read: Throttling"),
    ({"errors": {"tags": "ListTags denied"}}, "endpoint ep: tags could not be read: ListTags denied"),
    ({"tags": None}, "endpoint ep: tags could not be read: not collected")])
def test_a_tag_condition_or_designation_that_cannot_read_the_tags_says_why(node: dict[str, Any], why: str) -> None:
    ctx = _ctx({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep", **node}]})
    for cond in (grammar.TagCond("environment", OPERATORS["present"], None), grammar.DesignationCond("production")):
        out = evaluate(ctx, cond, "e")
        assert (out.value, out.evidence, out.unknown) == (None, [], [why])


def test_a_designation_reads_the_tag_case_insensitively_and_shows_what_it_compared() -> None:
    d = DEFAULT_DESIGNATIONS["production"]
    ctx = _ctx({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep",
                           "tags": {d.tag.upper(): d.values[0].upper()}}]})
    out = evaluate(ctx, grammar.DesignationCond("production"), "e")
    assert out.value is True
    assert out.evidence == [{"resource": "endpoint ep", "check": "designation production", "tag": d.tag,
                             "actual": d.values[0].upper(), "expected": list(d.values), "result": True}]


def test_a_leaf_that_cannot_read_its_value_or_its_expected_attribute_has_no_evidence_and_the_reason() -> None:
    cond = grammar.AttrCond("status", OPERATORS["eq"], grammar.Literal("InService"))
    ctx = _ctx({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep", "data": {"status": "InService"},
                           "errors": {"describe": "denied"}}]})
    out = evaluate(ctx, cond, "e")
    assert (out.value, out.evidence, out.unknown) == (None, [], ["endpoint ep could not be read: denied"])
    ctx = _ctx({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep", "data": {"status": "InService"}}]})
    out = evaluate(ctx, cond, "e")
    assert out.evidence == [{"resource": "endpoint ep", "check": "status", "op": "eq", "actual": "InService",
                             "result": True, "expected": "InService"}]
    ref = grammar.AttrCond("status", OPERATORS["eq"], grammar.AttrRef("config_name"))
    ctx = _ctx({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep", "data": {"status": "InService"},
                           "errors": {"config": "DescribeEndpointConfig denied"}}]})
    ctx.graph.set_read("e", "config", config_name="c")
    out = evaluate(ctx, ref, "e")
    assert (out.value, out.evidence) == (None, [])
    assert out.unknown == ["endpoint ep config_name: config could not be read: DescribeEndpointConfig denied"]


def test_a_traversal_names_every_incomplete_edge_and_keeps_walking_past_a_dangling_node() -> None:
    spec = {"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep"},
                      {"id": "a", "type": "sagemaker.variant", "name": "a", "dangling": True},
                      {"id": "b", "type": "sagemaker.variant", "name": "b", "errors": {"describe": "denied"}},
                      {"id": "c", "type": "sagemaker.variant", "name": "c"},
                      {"id": "m", "type": "sagemaker.model", "name": "m"}],
            "edges": [["e", "has_variant", "a"], ["e", "has_variant", "b"], ["e", "has_variant", "c"],
                      ["c", "serves_model", "m"]],
            "listing_errors": [{"affects": ["sagemaker.model"], "service": "sagemaker", "operation": "ListModels"}]}
    ctx = _ctx(spec)
    nodes, incomplete = traverse(ctx, "e", (grammar.step("has_variant"), grammar.step("serves_model")))
    assert nodes == ["m"]
    assert incomplete == ["sagemaker.model listing failed: sagemaker:ListModels AccessDenied",
                          "variant a is referenced but does not exist (dangling reference)",
                          "variant b: serves_model could not be read: denied"]


@pytest.mark.parametrize("start,label,listing_failed", [
    ("e", "has_variant", False),
    ("c", "~has_variant", False),
    ("b", "serves_model", False),  # a node with a failed describe: its edges are not known
    ("c", "serves_model", False),
    ("a", "serves_model", False),  # dangling
    ("c", "serves_model", True),  # a failed listing of the step's target type
])
def test_one_node_steps_answer_as_the_general_walk_does(start: str, label: str, listing_failed: bool) -> None:
    """The single-node shortcut of a step gives what the general case gives for the same node (asked twice, so
    the general case runs)."""
    spec = {"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep"},
                      {"id": "b", "type": "sagemaker.variant", "name": "b", "errors": {"describe": "denied"}},
                      {"id": "c", "type": "sagemaker.variant", "name": "c"},
                      {"id": "d", "type": "sagemaker.variant", "name": "d"},
                      {"id": "m", "type": "sagemaker.model", "name": "m"}],
            "edges": [["e", "has_variant", "d"], ["e", "has_variant", "c"], ["e", "has_variant", "b"],
                      ["c", "serves_model", "m"]]}
    spec["nodes"].append({"id": "a", "type": "sagemaker.variant", "name": "a", "dangling": True})
    if listing_failed:
        spec["listing_errors"] = [{"affects": ["sagemaker.model"], "service": "sagemaker", "operation": "ListModels"}]
    ctx = _ctx(spec)
    step = grammar.step(label)
    one = conditions._step(ctx.graph, ctx.cache, [start], step)
    general = conditions._step(ctx.graph, ctx.cache, [start, start], step)
    assert one == general
    assert one[0] == sorted(one[0])


def test_a_tag_condition_names_the_tag_in_its_evidence() -> None:
    ctx = _ctx({"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "ep", "tags": {"team": "ml"}}]})
    out = evaluate(ctx, grammar.TagCond("team", OPERATORS["eq"], grammar.Literal("ml")), "e")
    assert out.evidence == [{"resource": "endpoint ep", "check": "tag team", "op": "eq", "actual": "ml",
                             "result": True, "expected": "ml"}]


def test_none_of_holds_when_no_related_node_satisfies_and_shows_them_all() -> None:
    ctx = _ctx(_variants({"id": "a", "name": "a", "data": {"serverless": True}}))
    out = evaluate(ctx, related(grammar.NoneOf(SERVERLESS)), "e")
    assert out.value is True
    assert out.evidence == [
        {"resource": "endpoint ep", "check": "related has_variant", "related": ["a"]},
        {"resource": "variant a", "check": "serverless", "op": "false", "actual": True, "result": False}]


def test_distinct_is_unknown_naming_the_node_it_could_not_read() -> None:
    spec = _variants({"id": "a", "name": "a", "data": {"instance_type": "ml.m5.large"}},
                     {"id": "b", "name": "b", "errors": {"describe": "denied"}})
    q = grammar.Distinct("instance_type", OPERATORS["ge"], grammar.Literal(1))
    out = evaluate(_ctx(spec), related(q), "e")
    assert (out.value, out.unknown) == (None, ["variant b could not be read: denied"])


def test_distinct_compared_with_an_attribute_reads_it_on_the_resource_itself() -> None:
    spec = {"nodes": [{"id": "v", "type": "sagemaker.variant", "name": "v", "data": {"initial_instance_count": 2}},
                      {"id": "m", "type": "sagemaker.model", "name": "m", "data": {"execution_role_arn": "r"}}],
            "edges": [["v", "serves_model", "m"]]}
    q = grammar.Distinct("execution_role_arn", OPERATORS["ge"], grammar.AttrRef("initial_instance_count"))
    out = evaluate(_ctx(spec), grammar.RelatedCond(("serves_model",), (grammar.step("serves_model"),), None, q), "v")
    assert out.value is False
    assert out.evidence == [{"resource": "variant v", "check": "distinct execution_role_arn over serves_model",
                             "related": ["m"], "actual": ["r"], "op": "ge", "expected": 2, "result": False}]


def test_a_count_over_an_incomplete_set_is_unknown_saying_why() -> None:
    spec = _variants({"id": "a", "name": "a"}, errors={"rel:has_variant": "ListVariants denied"})
    out = evaluate(_ctx(spec), related(grammar.Count(OPERATORS["ge"], grammar.Literal(1))), "e")
    assert (out.value, out.unknown) == (None, ["endpoint ep: has_variant could not be read: ListVariants denied"])


def test_a_path_and_its_reverse_are_cached_apart() -> None:
    ctx = _ctx(_variants({"id": "a", "name": "a"}))
    assert traverse(ctx, "e", (grammar.step("has_variant"),)) == (["a"], [])
    assert traverse(ctx, "e", (grammar.step("~has_variant"),)) == ([], [])  # nothing points at the endpoint
    assert traverse(ctx, "a", (grammar.step("~has_variant"),)) == (["e"], [])


def _alarms(**unread: Any) -> dict[str, Any]:
    """Alarm a1 is e1's rollback alarm; e2's rollback alarms could not be read (or were left out)."""
    return {"nodes": [
        {"id": "e1", "type": "sagemaker.endpoint", "name": "e1"},
        {"id": "e2", "type": "sagemaker.endpoint", "name": "e2", "errors": {"rel:rollback_alarm": "not collected"},
         **unread},
        {"id": "a1", "type": "cloudwatch.alarm", "name": "a1"},
        {"id": "a2", "type": "cloudwatch.alarm", "name": "a2"},
    ], "edges": [("e1", "rollback_alarm", "a1")]}


def test_a_walk_backwards_names_the_sources_whose_edges_were_not_read() -> None:
    """An alarm no endpoint names as its rollback alarm may be one of e2's, which were not read: the set of
    endpoints using it is incomplete (before, "none" — a failure where the truth was unknown)."""
    ctx = _ctx(_alarms())
    back = (grammar.step("~rollback_alarm"),)
    why = ["endpoint e2: rollback_alarm could not be read: not collected"]
    assert traverse(ctx, "a2", back) == ([], why)
    assert traverse(ctx, "a1", back) == (["e1"], why)  # e2 might name it too
    used = grammar.RelatedCond(("~rollback_alarm",), back, None, grammar.Exists(True))
    assert evaluate(ctx, used, "a2").value is None and evaluate(ctx, used, "a1").value is True
    # sources in another account-region could not point here: nothing missed
    assert traverse(_ctx(_alarms(region="eu-west-1")), "a2", back) == ([], [])


def test_a_walk_backwards_along_a_one_source_edge_that_found_its_source_is_complete() -> None:
    """A variant belongs to one endpoint: once found, another endpoint's unread variants cannot add to it."""
    spec = {"nodes": [{"id": "e1", "type": "sagemaker.endpoint", "name": "e1"},
                      {"id": "e2", "type": "sagemaker.endpoint", "name": "e2",
                       "errors": {"rel:has_variant": "config denied"}},
                      {"id": "v", "type": "sagemaker.variant", "name": "v"},
                      {"id": "orphan", "type": "sagemaker.variant", "name": "orphan"}],
            "edges": [("e1", "has_variant", "v")]}
    ctx = _ctx(spec)
    assert traverse(ctx, "v", (grammar.step("~has_variant"),)) == (["e1"], [])
    assert traverse(ctx, "orphan", (grammar.step("~has_variant"),)) == (
        [], ["endpoint e2: has_variant could not be read: config denied"])
