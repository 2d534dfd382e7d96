"""Evaluator properties: deterministic, order-independent, never a pass on unreadable data; exemptions."""

from __future__ import annotations

import copy
import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.config import Config, Waiver, load_config, load_waivers
from auditor.engine.evaluator import check_config_parameters, evaluate_rules, rule_params, select_rules
from auditor.engine.loader import load_rules
from auditor.model import Severity
from auditor.yamlsafe import InputError
from tests.conftest import build_graph

RULES = load_rules()
BY_ID = {r.id: r for r in RULES}
GOLDEN = Path(__file__).parent.parent / "golden"
CASES = [(yaml.safe_load(f.read_text())["rule"], c) for f in sorted(GOLDEN.glob("*.yaml"))
         for c in yaml.safe_load(f.read_text())["cases"]]


def findings(spec: dict[str, Any], rules: list[Any] | None = None) -> list[dict[str, Any]]:
    return [f.to_dict() for f in evaluate_rules(build_graph(spec), rules or RULES, Config()).findings]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(CASES), st.randoms(use_true_random=False))
def test_evaluation_is_independent_of_insertion_order(case: tuple[str, dict[str, Any]], rnd: random.Random) -> None:
    _, spec = case
    shuffled = copy.deepcopy(spec)
    rnd.shuffle(shuffled["nodes"])
    rnd.shuffle(shuffled.setdefault("edges", []))
    assert findings(spec) == findings(shuffled)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CASES), st.sampled_from(["describe", "describe and tags"]))
def test_nothing_passes_when_every_node_is_unreadable(case: tuple[str, dict[str, Any]], how: str) -> None:
    rule_id, spec = case
    broken = copy.deepcopy(spec)
    for n in broken["nodes"]:  # every drawn way of being unreadable is really injected
        n["errors"] = {"describe": "AccessDenied (injected)"}
        if how == "describe and tags":
            n["tags"] = None
            n["errors"]["tags"] = "AccessDenied (injected)"
    statuses = {f["status"] for f in findings(broken, [BY_ID[rule_id]])}
    assert "pass" not in statuses


def test_resource_error_turns_a_pass_into_error_not_pass() -> None:
    spec = {"nodes": [{"id": "b", "type": "s3.bucket", "data": {"versioning_status": "Enabled"}}]}
    assert [f["status"] for f in findings(spec, [BY_ID["SM-02-bucket-versioning"]])] == ["pass"]
    spec["nodes"][0]["errors"] = {"versioning_status": "AccessDenied"}
    out = findings(spec, [BY_ID["SM-02-bucket-versioning"]])
    assert out[0]["status"] == "error" and "AccessDenied" in out[0]["message"]


def test_findings_carry_evidence_and_actionable_message() -> None:
    spec = {"nodes": [{"id": "b", "type": "s3.bucket", "name": "models", "data": {"versioning_status": "Suspended"}}]}
    f = findings(spec, [BY_ID["SM-02-bucket-versioning"]])[0]
    assert f["status"] == "fail"
    assert "versioning_status is 'Suspended', expected eq 'Enabled'" in f["message"]
    assert f["evidence"]["checks"][0]["actual"] == "Suspended"
    assert f["remediation"]["guidance"].startswith("aws s3api put-bucket-versioning")


SPEC_IDLE = {"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "idle-ep", "data": {
    "status": "InService", "serverless": False, "creation_time": "2026-01-01T00:00:00Z", "invocations_window": 0}}]}


def _waiver(expires: str, **kw: Any) -> Waiver:
    return Waiver(resource=kw.get("resource", "idle-*"), reason="load test next week", owner="ops@example.com",
                  expires=dt.date.fromisoformat(expires), rule=kw.get("rule", "SM-14-idle-endpoint"),
                  policy=kw.get("policy"), source="waivers.yaml:2")


def test_waiver_exempts_until_expiry_then_is_reported_expired() -> None:
    graph = build_graph(SPEC_IDLE)
    rule = [BY_ID["SM-14-idle-endpoint"]]
    live = evaluate_rules(graph, rule, Config(waivers=[_waiver("2026-12-31")]), today=dt.date(2026, 11, 25))
    assert live.findings[0].status.value == "exempt"
    assert live.findings[0].exemption and live.findings[0].exemption["owner"] == "ops@example.com"
    stale = evaluate_rules(graph, rule, Config(waivers=[_waiver("2026-11-01")]), today=dt.date(2026, 11, 25))
    assert stale.findings[0].status.value == "fail"
    assert stale.expired_waivers and stale.expired_waivers[0]["expired"] is True
    assert stale.findings[0].evidence["expired_waivers"][0]["expires"] == "2026-11-01"


def test_policy_waiver_and_non_matching_waiver() -> None:
    graph = build_graph(SPEC_IDLE)
    by_policy = _waiver("2027-01-01", rule=None, policy=14)
    other = _waiver("2027-01-01", resource="something-else")
    assert evaluate_rules(graph, [BY_ID["SM-14-idle-endpoint"]], Config(waivers=[by_policy]),
                          today=dt.date(2026, 11, 25)).findings[0].status.value == "exempt"
    assert evaluate_rules(graph, [BY_ID["SM-14-idle-endpoint"]], Config(waivers=[other]),
                          today=dt.date(2026, 11, 25)).findings[0].status.value == "fail"


def test_config_designations_parameters_and_selection(tmp_path: Path) -> None:
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n  - rule: SM-14-idle-endpoint\n    resource: 'idle-*'\n    reason: kept for a demo\n"
        "    owner: ml-platform\n    expires: '2099-01-01'\n")
    (tmp_path / "audit.yaml").write_text(
        "designations:\n  production: {tag: stage, values: [live]}\n"
        "parameters: {min_instances: 3}\n"
        "rule_parameters: {SM-13-instance-tier: {instance_tiers: [ml.c6i.large]}}\n"
        "policies: [4, 13]\nseverity: low\nwaivers: waivers.yaml\n")
    cfg = load_config(tmp_path / "audit.yaml")
    assert cfg.designations["production"].tag == "stage"
    assert len(cfg.waivers) == 1
    check_config_parameters(RULES, cfg)
    assert rule_params(BY_ID["SM-04-min-instances"], cfg)["min_instances"] == 3
    assert rule_params(BY_ID["SM-13-instance-tier"], cfg)["instance_tiers"] == ["ml.c6i.large"]
    chosen = select_rules(RULES, cfg)
    assert {r.policy for r in chosen} == {4, 13}
    assert all(r.severity.rank >= Severity.LOW.rank for r in chosen)
    assert {r.id for r in select_rules(RULES, cfg, ids=["SM-04-*"])} == {"SM-04-min-instances", "SM-04-multi-az"}


@pytest.mark.parametrize(("text", "problem"), [
    ("parameters: {no_such_param: 1}\n", "no rule declares this parameter"),
    ("rule_parameters: {SM-99-nope: {a: 1}}\n", "unknown rule id"),
    ("severity: urgent\n", "is not one of"),
    ("designations:\n  production: {tag: env}\n", "'values' is a required property"),
    ("bogus: 1\n", "Additional properties are not allowed"),
])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "audit.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        cfg = load_config(path)
        check_config_parameters(RULES, cfg)


def test_bad_waiver_names_line(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n  - rule: SM-14-idle-endpoint\n    resource: x\n    reason: because\n"
                    "    owner: me\n    expires: '2026-13-45'\n")
    with pytest.raises(InputError, match=r"w\.yaml:6: expires '2026-13-45' is not a date"):
        load_waivers(path)


@pytest.mark.parametrize(("text", "problem"), [
    ("parameters: {min_instances: many}\n", "must be a int like 2, not 'many'"),
    ("parameters: {instance_tiers: ml.m5.large}\n", "must be a list"),
    ("parameters: {idle_window: soon}\n", "bad duration"),
])
def test_parameter_overrides_keep_their_kind(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "audit.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        check_config_parameters(RULES, load_config(path))


def test_whether_any_rule_needs_regions_without_endpoints(tmp_path: Path) -> None:
    from auditor.engine.evaluator import needs_regions_without_endpoints

    def rule(name: str, resource: str, condition: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"""id: SM-07-{name}
policy: 7
title: {name}
severity: low
rationale: A custom rule that judges resources an endpoint does not lead to.
resource: {resource}
assert: {condition}
messages: {{pass: ok, fail: bad}}
remediation: {{guidance: Fix the resource as the rule says.}}
""")
        return path

    builtin = load_rules()
    assert needs_regions_without_endpoints(builtin) is False  # the region rule is scoped to regions with endpoints
    alarms = rule("alarm-actions", "cloudwatch.alarm", "{attr: actions_enabled, op: 'true'}")
    assert needs_regions_without_endpoints(builtin + load_rules([alarms])) is True
    trails = rule("region-trail", "aws.region", "{related: has_trail, count: {op: ge, value: 1}}")
    assert needs_regions_without_endpoints(builtin + load_rules([trails])) is True


def test_out_of_scope_resource_is_exempt_with_its_state_in_evidence_and_message() -> None:
    spec = {"collected_at": "2026-11-25T12:00:00Z", "nodes": [
        {"id": "ep", "type": "sagemaker.endpoint", "data": {"status": "Updating", "serverless": False,
                                                        "creation_time": "2026-10-01T00:00:00Z"}},
        {"id": "v", "type": "sagemaker.variant", "data": {"serverless": False, "is_gpu": False, "metrics": {}}}],
        "edges": [["ep", "has_variant", "v"]]}
    got = findings(spec, [BY_ID["SM-13-cpu-utilisation"], BY_ID["SM-14-idle-endpoint"]])
    assert {f["rule_id"]: f["status"] for f in got} == {"SM-13-cpu-utilisation": "exempt",
                                                         "SM-14-idle-endpoint": "exempt"}
    for f in got:
        assert f["exemption"]["kind"] == "out_of_scope" and "not running" in f["exemption"]["reason"]
        assert "is out of scope" in f["message"] and "'Updating'" in f["message"]
        assert any(c.get("check") == "status" and c.get("actual") == "Updating" for c in f["evidence"]["checks"])


# -- pinned behaviour of the evaluator's own code (mutation testing, issue 20) ------------------------------------
def test_selection_takes_the_config_severity_and_exclusions_when_no_flag_says() -> None:
    picked = select_rules(RULES, Config(severity=Severity.HIGH, exclude_rules=["SM-04-multi*", "SM-01-*"]))
    assert picked and all(r.severity.rank >= Severity.HIGH.rank for r in picked)
    assert "SM-04-min-instances" in {r.id for r in picked}
    assert not {r.id for r in picked} & {"SM-04-multi-az", "SM-01-official-image"}
    assert [r.id for r in select_rules(RULES, Config(), ids=["SM-14-*", "SM-15-*"], severity=Severity.MEDIUM)] == \
        ["SM-14-idle-endpoint"]  # SM-15 is info, below medium; a rule at the minimum stays


def _config_error(config: Config, rules: list[Any] | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        check_config_parameters(rules or RULES, config)
    return info.value


def test_a_parameter_override_error_names_the_config_file_or_says_config() -> None:
    import dataclasses

    e = _config_error(Config(rule_parameters={"SM-99-x": {}}))
    assert (e.file, e.line, e.message) == ("config", None, "rule_parameters: unknown rule id SM-99-x")
    e = _config_error(Config(parameters={"nope": 1}, source="a.yaml"))
    declared = sorted({k for r in RULES for k in r.params})
    assert (e.file, e.message) == ("a.yaml", f"parameters.nope: no rule declares this parameter (known: "
                                             f"{', '.join(declared)})")
    e = _config_error(Config(rule_parameters={"SM-04-min-instances": {"min_instances": "two"}}))
    assert (e.file, e.message) == ("config", "parameter min_instances of SM-04-min-instances must be a int like 2, "
                                             "not 'two'")
    e = _config_error(Config(parameters={"idle_window": "soon"}))
    assert (e.file, e.message) == ("config", "parameter idle_window: bad duration 'soon': use a number and m/h/d/w, "
                                             "e.g. 24h or 14d")
    flagged = dataclasses.replace(BY_ID["SM-04-min-instances"], params={"flag": True, "utilisation_window": "1d"})
    e = _config_error(Config(parameters={"flag": 1}, source="a.yaml"), [flagged])
    assert (e.file, e.message) == ("a.yaml", "parameter flag of SM-04-min-instances must be a bool like True, not 1")
    e = _config_error(Config(parameters={"utilisation_window": "soon"}), [flagged])
    assert e.message.startswith("parameter utilisation_window: bad duration 'soon'")
    check_config_parameters([flagged], Config(parameters={"utilisation_window": "7d", "flag": False}))
    other = dataclasses.replace(BY_ID["SM-04-multi-az"], params={})
    check_config_parameters([flagged, other], Config(parameters={"utilisation_window": "7d"}))


def test_an_override_of_an_undeclared_rule_parameter_lists_the_declared_ones() -> None:
    import dataclasses

    with pytest.raises(InputError) as info:
        rule_params(BY_ID["SM-05-scalable-target"], Config(rule_parameters={"SM-05-scalable-target": {"n": 1}}))
    assert (info.value.file, info.value.line, info.value.message) == \
        ("config", None, "rule_parameters.SM-05-scalable-target.n: the rule declares no parameter 'n' "
                         "(it declares: max_capacity, min_capacity)")
    bare = dataclasses.replace(BY_ID["SM-05-scalable-target"], params={})
    with pytest.raises(InputError, match=r"\(it declares: none\)"):
        rule_params(bare, Config(rule_parameters={"SM-05-scalable-target": {"n": 1}}, source="a.yaml"))


def test_waivers_are_tried_in_order_until_a_live_one_matches() -> None:
    graph = build_graph(SPEC_IDLE)
    rule = [BY_ID["SM-14-idle-endpoint"]]
    waivers = [_waiver("2027-01-01", resource="something-else"), _waiver("2026-11-01"), _waiver("2026-12-31")]
    ev = evaluate_rules(graph, rule, Config(waivers=waivers), today=dt.date(2026, 11, 25))
    [f] = ev.findings
    assert f.exemption == {"kind": "waiver", **waivers[2].to_dict()}
    assert ev.expired_waivers == [dict(waivers[1].to_dict(), expired=True)]
    assert "expired_waivers" not in f.evidence


def test_a_passing_resource_is_never_waived() -> None:
    spec = {"nodes": [{"id": "e", "type": "sagemaker.endpoint", "name": "idle-ep", "data": {
        "status": "InService", "serverless": False, "creation_time": "2026-01-01T00:00:00Z",
        "invocations_window": 10}}]}
    ev = evaluate_rules(build_graph(spec), [BY_ID["SM-14-idle-endpoint"]],
                        Config(waivers=[_waiver("2026-11-01"), _waiver("2027-01-01")]), today=dt.date(2026, 11, 25))
    assert [(f.status.value, f.exemption) for f in ev.findings] == [("pass", None)]
    assert ev.expired_waivers == []


def test_waiver_expiry_is_judged_on_the_day_given_not_the_clock() -> None:
    ev = evaluate_rules(build_graph(SPEC_IDLE), [BY_ID["SM-14-idle-endpoint"]],
                        Config(waivers=[_waiver("2021-01-01")]), today=dt.date(2020, 6, 1))
    assert [(f.status.value, ev.expired_waivers) for f in ev.findings] == [("exempt", [])]


def test_an_unknown_parameter_without_a_config_file_names_config() -> None:
    e = _config_error(Config(parameters={"nope": 1}))
    assert (e.file, e.line) == ("config", None)
    assert e.message.startswith("parameters.nope: no rule declares this parameter")
