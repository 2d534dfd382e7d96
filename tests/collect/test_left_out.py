"""Collectors whose findings no selected rule reads are left out whole; what they would have read stays unknown."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.app import _flag_collectors_left_out, collect_options
from auditor.collect import base, collect
from auditor.collect.base import COLLECTORS, NOT_COLLECTED, left_out
from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import Rule, load_rules
from auditor.engine.reads import resource_reads, rule_reads
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from auditor_demo.account import demo_account
from auditor_demo.fleet import REGISTRY_TABLE

RULES = load_rules()
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)  # every collection reads the same metric windows
BY_NAME = {c.name: c for c in COLLECTORS}
Writes = dict[str, set[tuple[str, str]]]


def _state(g: ResourceGraph) -> tuple[dict[str, tuple[str, dict[str, Any], bool]], set[tuple[str, str, str]]]:
    return ({n: (a["type"], {k: repr(v) for k, v in a["data"].items()}, a["tags"] is not None)
             for n, a in g.g._node.items()}, set(g.edges()))


def _watched(writes: Writes) -> list[base.CollectorSpec]:
    """The collectors, each noting every (type, attribute) and (type, rel:<edge>) it wrote, by comparing its
    account-region's graph before and after it: direct writes into a node's data count as much as set_data."""
    specs = []
    for spec in COLLECTORS:
        def func(ctx: base.Context, inner: Any = spec.func, name: str = spec.name) -> None:
            nodes, edges = _state(ctx.graph)
            try:
                inner(ctx)
            finally:
                after, after_edges = _state(ctx.graph)
                seen = writes.setdefault(name, set())
                for n, (type_, data, tagged) in after.items():
                    before = nodes.get(n)
                    if before is None:
                        seen.add((type_, "*"))
                    seen.update((type_, k) for k, v in data.items() if before is None or before[1].get(k) != v)
                    if tagged and (before is None or not before[2]):
                        seen.add((type_, "tags"))
                seen.update((ctx.graph.attrs(s)["type"], f"rel:{label}") for s, label, _ in after_edges - edges)
        specs.append(dataclasses.replace(spec, func=func))
    return specs


def run(regions: list[str], options: dict[str, Any] | None) -> tuple[ResourceGraph, dict[str, int]]:
    factory = SessionFactory(region=regions[0])
    return collect(factory, regions, options, now=NOW), dict(factory.counter.calls)


@pytest.fixture(scope="module")
def demo() -> Iterator[dict[str, Any]]:
    writes: Writes = {}
    with demo_account() as regions, pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "COLLECTORS", _watched(writes))
        mp.setattr("auditor.collect.COLLECTORS", base.COLLECTORS)
        full, calls = run(regions, {"registry_table": REGISTRY_TABLE})
        mp.undo()
        yield {"regions": regions, "full": full, "calls": calls, "writes": writes}


def findings(graph: ResourceGraph, rules: list[Rule]) -> list[dict[str, Any]]:
    graph.meta["collected_at"] = "2026-11-30T00:00:00Z"  # the runs were seconds apart; the findings must not be
    return [f.to_dict() for f in evaluate_rules(graph, rules, Config()).findings]


def test_every_collector_that_may_be_left_out_says_all_it_writes(demo: dict[str, Any]) -> None:
    """What a collector writes on the demo (which exercises every rule) is what it declares: a write it does not
    declare would be lost, unmarked, when it is left out."""
    assert set(demo["writes"]) == {c.name for c in COLLECTORS}
    for spec in COLLECTORS:
        if spec.finds is None:  # never left out
            continue
        # `explain` is the collectors' shared note on a value they set (each adds its own key), not a read
        undeclared = {(t, a) for t, a in demo["writes"][spec.name]
                      if t not in spec.finds and (t, a) not in spec.fills and a != "explain"}
        assert not undeclared, f"{spec.name} writes {sorted(undeclared)} but does not declare them"
        assert demo["writes"][spec.name], f"{spec.name} wrote nothing on the demo: its declaration is untested"


def test_only_the_roots_collector_is_never_left_out() -> None:
    assert [c.name for c in COLLECTORS if c.finds is None] == ["sagemaker"]
    assert left_out(None) == frozenset()
    # a rule about keys alone still needs the buckets' and objects' key references, which s3 reads
    keys = left_out(frozenset({("kms.key", "exists")}))
    assert "kms" not in keys and "s3" not in keys and "ec2" in keys


@pytest.mark.parametrize("rule_id", [r.id for r in RULES if not r.manual])
def test_each_rule_alone_gives_the_findings_a_full_collection_gives(demo: dict[str, Any], rule_id: str) -> None:
    """One rule at a time, the narrowest selection (any wider one runs a superset of its collectors). A rule
    walking to artifacts it only asks the existence of (SM-02-artifact-exists) keeps s3, whose HEAD decides it."""
    rules = [r for r in RULES if r.id == rule_id]
    options = {**collect_options(rules, Config()), "registry_table": REGISTRY_TABLE}
    lean, calls = run(demo["regions"], options)
    assert findings(lean, rules) == findings(demo["full"], rules)
    # and makes none of the calls only the collectors left out would make
    running = {p for c in COLLECTORS if c.name not in options["left_out"] for p in c.permissions}
    skipped = {p for c in COLLECTORS if c.name in options["left_out"] for p in c.permissions} - running
    assert not [op for op in calls if op in skipped]


def test_a_narrow_run_leaves_collectors_out_and_makes_fewer_calls(demo: dict[str, Any]) -> None:
    observability = [r for r in RULES if r.policy == 7]
    options = collect_options(observability, Config())
    assert {"autoscaling", "cloudtrail", "ec2", "events", "iam", "iam-access", "kms", "monitoring", "s3"} <= \
        options["left_out"]
    assert "cloudwatch" not in options["left_out"] and "logs" not in options["left_out"]
    lean, calls = run(demo["regions"], options)
    assert sum(calls.values()) < sum(demo["calls"].values()) * 0.7
    assert not [op for op in calls if op.split(":")[0] in ("ec2", "application-autoscaling", "cloudtrail", "events")]
    regions = lean.nodes_of_type("aws.region")
    assert regions and all(set(lean.attrs(r)["data"]["collectors_left_out"]) == options["left_out"] for r in regions)


def test_a_run_that_remediates_leaves_nothing_out() -> None:
    assert collect_options([r for r in RULES if r.policy == 7], Config(), remediate=True)["left_out"] == frozenset()
    assert collect_options(RULES, Config())["left_out"] == frozenset()  # every collector serves a built-in rule


def test_a_lean_snapshot_evaluated_with_every_rule_says_unknown_never_a_verdict(demo: dict[str, Any]) -> None:
    """The observability run's snapshot, evaluated later with all the rules: what the collectors left out would
    have read gives `error`, never a pass or a failure it could not support, and the audit says why."""
    lean, _ = run(demo["regions"], collect_options([r for r in RULES if r.policy == 7], Config()))
    for n in lean.nodes_of_type("sagemaker.variant"):
        assert lean.attrs(n)["errors"].get("rel:scaled_by") == NOT_COLLECTED
    _flag_collectors_left_out(lean, RULES)
    flagged = {e.message.split(" collector")[0].removeprefix("the ") for e in lean.errors if e.code == "NotCollected"}
    reads = rule_reads(RULES) | resource_reads(RULES)
    assert flagged == {c.name for c in COLLECTORS if c.name in set(lean.attrs(lean.nodes_of_type("aws.region")[0])
                                                                    ["data"]["collectors_left_out"]) and c.serves(reads)}
    full = {(f["rule_id"], f["resource"]["arn"]): f["status"] for f in findings(demo["full"], RULES)}
    got = findings(lean, RULES)
    changed = [f for f in got if full.get((f["rule_id"], f["resource"]["arn"])) != f["status"]]
    assert changed and all(f["status"] == "error" for f in changed)
    # every verdict of the full collection is kept or unknown, none is lost silently: a resource the lean run
    # never found (a trail, a subnet) has its rule report `error` on the region that could not list it
    kept = {(f["rule_id"], f["resource"]["arn"]) for f in got}
    unknown = {f["rule_id"] for f in got if f["status"] == "error"}
    for (rule, arn), status in full.items():
        assert (rule, arn) in kept if arn in lean else rule in unknown, (rule, arn, status)


def test_a_snapshot_naming_a_collector_this_version_does_not_know_is_incomplete_everywhere() -> None:
    g = ResourceGraph()
    g.add_node("aws:1:r", "aws.region", name="r", account="1", region="r", data={"collectors_left_out": ["gone"]})
    _flag_collectors_left_out(g, RULES)
    [err] = g.errors
    assert (err.code, err.affects, err.account, err.region) == ("NotCollected", ("*",), "1", "r")
    assert "the gone collector was left out" in err.message


def test_a_walk_to_what_a_collector_finds_needs_it_and_what_it_needs() -> None:
    # existence of an artifact object is s3's HEAD; invoke access reads the iam collector's role reads
    assert "s3" not in left_out(frozenset({("sagemaker.container", "rel:artifact")}))
    assert "iam" not in left_out(frozenset({("sagemaker.endpoint", "invoke_principals")}))


def test_a_read_ahead_serves_named_collectors_only() -> None:
    assert all(base.SERVES[fn] and set(base.SERVES[fn]) <= set(BY_NAME) for fn in base.READ_AHEAD)
