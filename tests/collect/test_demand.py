"""Reads that no selected rule needs are left out; what they would have answered stays unknown, never a value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.collect import collect
from auditor.collect.base import NOT_COLLECTED
from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import Rule, load_rules
from auditor.engine.reads import rule_reads
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from auditor_demo.account import demo_account

RULES = load_rules()
LEFT_OUT = ("sagemaker:DescribeMonitoringSchedule", "s3:GetPublicAccessBlock", "s3:GetBucketTagging")  # API names

CUSTOM = {  # rules reading what the built-in rules do not, one per read left out
    "SM-06-schedule-expression": """
resource: sagemaker.monitoring_schedule
assert: {attr: schedule_expression, op: present}""",
    "SM-12-bucket-public-access": """
resource: s3.bucket
assert: {attr: public_access_fully_blocked, op: "true"}""",
    "SM-12-bucket-owner": """
resource: s3.bucket
assert: {tag: owner, op: present}""",
    "SM-06-config-owner": """
resource: sagemaker.endpoint_config
assert: {tag: owner, op: present}""",
}


def custom_rules(tmp: Path) -> list[Rule]:
    for rid, body in CUSTOM.items():
        (tmp / f"{rid}.yaml").write_text(
            f"id: {rid}\npolicy: {rid.split('-')[1].lstrip('0')}\ntitle: {rid}\nseverity: low\n"
            f"rationale: reads what no built-in rule reads{body}\n"
            "messages: {pass: ok, fail: not ok}\nremediation: {guidance: Set it as the custom rule says.}\n")
    return load_rules([tmp])


# Every collection of the module reads the metrics for the same windows (they end at `now`), however long apart.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def run(regions: list[str], options: dict[str, Any] | None) -> tuple[ResourceGraph, dict[str, int]]:
    factory = SessionFactory(region=regions[0])
    return collect(factory, regions, options, now=NOW), dict(factory.counter.calls)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    custom = custom_rules(tmp_path_factory.mktemp("rules"))
    with demo_account() as regions:
        lean, lean_calls = run(regions, {"reads": rule_reads(RULES)})
        full, full_calls = run(regions, None)
        wanted, wanted_calls = run(regions, {"reads": rule_reads(RULES + custom)})
        yield {"lean": lean, "full": full, "wanted": wanted, "custom": custom, "calls": (lean_calls, full_calls,
                                                                                          wanted_calls),
               "regions": regions, "rules_dir": tmp_path_factory.mktemp("walk")}


def findings(graph: ResourceGraph, rules: list[Rule]) -> list[dict[str, Any]]:
    graph.meta["collected_at"] = "2026-11-30T00:00:00Z"  # the runs were a second apart; the findings must not be
    return [f.to_dict() for f in evaluate_rules(graph, rules, Config()).findings]


def test_leaving_out_what_no_rule_reads_changes_no_finding(demo: dict[str, Any]) -> None:
    lean, full = findings(demo["lean"], RULES), findings(demo["full"], RULES)
    assert len(lean) > 600 and lean == full


def test_the_reads_no_rule_needs_are_not_made(demo: dict[str, Any]) -> None:
    lean, full, wanted = demo["calls"]
    for op in LEFT_OUT:
        assert lean.get(op, 0) == 0 and full[op] > 0 and wanted[op] == full[op], op
    assert sum(lean.values()) <= sum(full.values()) - sum(full[op] for op in LEFT_OUT)
    # the job definitions are still read, named by the schedules' summaries
    assert lean["sagemaker:DescribeDataQualityJobDefinition"] == full["sagemaker:DescribeDataQualityJobDefinition"]


def test_what_was_left_out_is_an_error_for_a_rule_that_reads_it(demo: dict[str, Any]) -> None:
    hidden = "cannot tell which"  # the demo's Marketplace package hides its artifact's bucket, whatever is read
    lean = findings(demo["lean"], demo["custom"])
    judged = [f for f in lean if hidden not in f["message"]]
    assert {f["rule_id"] for f in judged} == set(CUSTOM)
    for f in judged:
        assert f["status"] == "error" and "not collected" in f["message"], f["message"]
    # the same rules on the run that read everything: judged, never an error
    full = findings(demo["full"], demo["custom"])
    assert len(full) == len(lean)
    assert {f["status"] for f in full if hidden not in f["message"]} <= {"pass", "fail"}
    assert {f["rule_id"] for f in full if hidden not in f["message"]} == set(CUSTOM)


def test_a_run_whose_rules_read_it_reads_it(demo: dict[str, Any]) -> None:
    assert findings(demo["wanted"], demo["custom"]) == findings(demo["full"], demo["custom"])
    g = demo["wanted"]
    schedules = g.nodes_of_type("sagemaker.monitoring_schedule")
    assert schedules and all(g.attrs(s)["data"].get("schedule_expression") for s in schedules)
    assert all(not g.attrs(s)["errors"] for s in schedules)


def test_left_out_facets_say_so_in_the_snapshot(demo: dict[str, Any]) -> None:
    g = demo["lean"]
    schedule = g.nodes_of_type("sagemaker.monitoring_schedule")[0]
    assert g.attrs(schedule)["errors"] == {"schedule_expression": NOT_COLLECTED, "last_execution_status": NOT_COLLECTED}
    assert g.attrs(schedule)["data"]["status"] and g.related(schedule, "uses_job_definition")
    bucket = g.nodes_of_type("s3.bucket")[0]
    assert g.attrs(bucket)["tags"] is None and g.attrs(bucket)["errors"]["tags"] == NOT_COLLECTED
    assert g.attrs(bucket)["data"]["versioning_status"]  # read whatever the rules: it says the bucket exists
    config = g.nodes_of_type("sagemaker.endpoint_config")[0]  # None, no error entry: reads of the rest stay fast
    assert g.attrs(config)["tags"] is None and g.attrs(config)["errors"] == {}
    loaded = ResourceGraph.from_dict(g.to_dict())
    assert loaded.attrs(bucket)["errors"] == g.attrs(bucket)["errors"]


def test_an_edge_a_rule_walks_is_collected_and_one_left_out_is_never_an_answer(demo: dict[str, Any]) -> None:
    """A bucket's encrypted_by edge comes with its encryption read: a rule walking it keeps that read; a run whose
    rules neither walk it nor read the bucket's encryption leaves it out, and marks the edge not collected."""
    tmp = demo["rules_dir"]
    (tmp / "SM-12-bucket-key.yaml").write_text(
        "id: SM-12-bucket-key\npolicy: 12\ntitle: bucket default key enabled\nseverity: low\nrationale: walks encrypted_by\n"
        "resource: s3.bucket\nassert: {related: encrypted_by, any: {attr: key_state, op: eq, value: Enabled}}\n"
        "messages: {pass: ok, fail: not ok}\nremediation: {guidance: Set it as the custom rule says.}\n")
    walk = load_rules([tmp])
    versioning = [r for r in RULES if r.id == "SM-02-bucket-versioning"]
    walked, calls = run(demo["regions"], {"reads": rule_reads(walk)})
    assert calls["s3:GetBucketEncryption"] > 0
    judged = findings(walked, walk)
    assert judged == findings(demo["full"], walk) and "pass" in {f["status"] for f in judged}
    lean, calls = run(demo["regions"], {"reads": rule_reads(versioning)})
    assert calls.get("s3:GetBucketEncryption", 0) == 0
    left = findings(lean, walk)
    assert {f["status"] for f in left} == {"error"}  # unknown, never "no key" (fail) nor a pass
    assert sum("not collected" in f["message"] for f in left) >= len(left) - 1  # and the Marketplace one's bucket


def test_a_run_whose_rules_read_no_artifact_reads_none_and_leaves_them_unknown(demo: dict[str, Any]) -> None:
    """Observability's rules read no artifact object, bucket or key: the HEAD per artifact and the bucket reads are
    left out; the artifacts' existence (and all it leads to) is then unknown to a rule that reads it, never absent."""
    from auditor.app import collect_options

    observability = [r for r in RULES if r.policy == 7]
    lean, calls = run(demo["regions"], collect_options(observability, Config()))
    full_calls = demo["calls"][1]
    assert full_calls["s3:HeadObject"] > 0 and full_calls["s3:GetBucketVersioning"] > 0
    assert not [op for op in calls if op.startswith("s3:")]
    objects = lean.nodes_of_type("s3.object")
    assert objects and all(lean.attrs(o)["errors"] == {"describe": NOT_COLLECTED} for o in objects)
    assert not lean.nodes_of_type("s3.bucket")
    artifact_rules = [r for r in RULES if r.resource in ("s3.object", "s3.bucket")]
    judged = findings(lean, artifact_rules)
    assert judged and {f["status"] for f in judged} == {"error"}
    # each is unknown because it was not collected (but the demo's Marketplace package, which hides its artifact
    # whatever is read: one finding per rule, as in the full collection)
    assert all("not collected" in f["message"] or "Marketplace" in f["message"] for f in judged)
    assert sum("not collected" in f["message"] for f in judged) >= len(objects)
    # a rule asking only whether each container's artifact exists, on this snapshot: unknown, never "it exists"
    tmp = demo["rules_dir"]
    (tmp / "SM-02-artifact-there.yaml").write_text(
        "id: SM-02-artifact-there\npolicy: 2\ntitle: artifact there\nseverity: low\nrationale: walks artifact\n"
        "resource: sagemaker.container\nassert: {related: artifact, exists: true}\n"
        "messages: {pass: ok, fail: not ok}\nremediation: {guidance: Set it as the custom rule says.}\n")
    there = findings(lean, load_rules([tmp]))
    assert there and "pass" not in {f["status"] for f in there}
    assert "pass" in {f["status"] for f in findings(demo["full"], load_rules([tmp]))}
    # a run that remediates reads the objects' encryption, which a remediator walks to (enable-key-rotation)
    _, remediating = run(demo["regions"], collect_options(observability, Config(), remediate=True))
    assert remediating["s3:HeadObject"] == full_calls["s3:HeadObject"]


@pytest.mark.parametrize("policy", range(1, 16))
def test_each_policys_rules_alone_are_judged_as_after_a_full_collection(demo: dict[str, Any], policy: int) -> None:
    """A narrow selection (audit --policy N) reads less; its findings, and the environment the report gives them,
    are those of the full collection."""
    from auditor.app import collect_options
    from auditor.report.model import build_report

    rules = [r for r in RULES if r.policy == policy]
    lean, _ = run(demo["regions"], collect_options(rules, Config()))
    assert findings(lean, rules) == findings(demo["full"], rules)
    # and every other rule, judged on what this run read: its own answer, or unknown (never a value not read)
    full = {(f["rule_id"], f["resource"]["arn"]): f["status"] for f in findings(demo["full"], RULES)}
    judged = findings(lean, RULES)
    for f in judged:
        key = (f["rule_id"], f["resource"]["arn"])
        assert f["status"] == "error" or full.get(key) == f["status"], (key, f["status"], f["message"])
    # a resource the full collection judged and this one did not find: its rule says it cannot tell which
    found = {(f["rule_id"], f["resource"]["arn"]) for f in judged}
    unsure = {f["rule_id"] for f in judged if "cannot tell which" in f["message"]}
    assert {rule for rule, arn in full if (rule, arn) not in found} <= unsure
    envs = [{(f["rule_id"], f["resource"]["arn"]): f.get("environment")
             for f in build_report(evaluate_rules(g, rules, Config()), g)["findings"]} for g in (lean, demo["full"])]
    assert envs[0] == envs[1]
