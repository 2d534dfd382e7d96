"""Golden rule cases: per rule, small account states with the expected status per resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import Rule, load_rules
from tests.conftest import build_graph
from tests.golden_pins import PIN, obligations

GOLDEN = Path(__file__).parent / "golden"
RULES = {r.id: r for r in load_rules()}


def _cases() -> list[Any]:
    out = []
    for f in sorted(GOLDEN.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        for case in doc["cases"]:
            out.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}:{case['name']}"))
    return out


@pytest.mark.parametrize(("rule_id", "case"), _cases())
def test_golden_case(rule_id: str, case: dict[str, Any]) -> None:
    rule = RULES[rule_id]
    graph = build_graph(case)
    config = Config()
    config.parameters = dict(case.get("parameters") or {})
    ev = evaluate_rules(graph, [rule], config)
    got = {f.resource.arn: f.status.value for f in ev.findings}
    assert got == case["expect"], [f.message for f in ev.findings]
    messages = {f.resource.arn: f.message for f in ev.findings}
    for node, text in (case.get("expect_message") or {}).items():  # optional: words the message must contain
        assert text in messages[node], messages[node]
    for f in ev.findings:
        if f.status.value == "error":
            assert f.evidence.get("unknown"), "an error finding must say what could not be read"


def test_every_automated_rule_has_pass_fail_and_error_golden_cases() -> None:
    seen: dict[str, set[str]] = {}
    for f in GOLDEN.glob("*.yaml"):
        doc = yaml.safe_load(f.read_text())
        for case in doc["cases"]:
            seen.setdefault(doc["rule"], set()).update(case["expect"].values())
    missing = {}
    for rid, rule in RULES.items():
        if rule.manual:
            continue
        need = {"pass", "fail", "error"} - seen.get(rid, set())
        if need:
            missing[rid] = sorted(need)
    assert not missing, f"rules without golden pass/fail/error cases: {missing}"


# Obligations no golden case can meet, each with why (an equivalent mutant: the change cannot alter any outcome).
EQUIVALENT: dict[tuple[str, str], str] = {
}


def _outcomes(rule: Rule, cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    got = []
    for case in cases:
        config = Config()
        config.parameters = dict(case.get("parameters") or {})
        got.append({f.resource.arn: f.status.value for f in evaluate_rules(build_graph(case), [rule], config).findings})
    return got


def _golden_by_rule() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in sorted(GOLDEN.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        out.setdefault(doc["rule"], []).extend(doc["cases"])
    return out


def killers(rule: Rule, cases: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Obligation name -> the golden cases whose outcome changes when it is broken (attribution by evaluation)."""
    base = _outcomes(rule, cases)
    out = {}
    for ob in obligations(rule):
        got = _outcomes(ob.mutant, cases)
        out[ob.name] = [c["name"] for c, b, g in zip(cases, base, got, strict=True) if b != g]
    return out


def test_every_condition_and_threshold_is_pinned_by_a_golden_case() -> None:
    """Read off the compiled rule: every `all:` member has a case where it alone decides, every comparison a case
    exactly at its threshold and one a unit past it; a case's `pins:` must really pin what it names."""
    golden = _golden_by_rule()
    unpinned, false_pins, stale = [], [], []
    for rid, rule in sorted(RULES.items()):
        if rule.manual:
            continue
        cases = golden.get(rid, [])
        kill = killers(rule, cases)
        for name, who in kill.items():
            if not who and (rid, name) not in EQUIVALENT:
                unpinned.append(f"{rid}: {name}")
            if who and (rid, name) in EQUIVALENT:
                stale.append(f"{rid}: {name} is killed by {who[0]!r}, so it is not equivalent")
        for case in cases:
            for pin in case.get("pins") or []:
                if not PIN.match(pin) or pin not in kill:
                    false_pins.append(f"{rid}:{case['name']}: no such obligation {pin!r}")
                elif case["name"] not in kill[pin]:
                    false_pins.append(f"{rid}:{case['name']}: breaking {pin!r} does not change its outcome")
    for rid, name in EQUIVALENT:
        if rid not in RULES or name not in {o.name for o in obligations(RULES[rid])}:
            stale.append(f"{rid}: {name} is no obligation of the rule any more")
    assert not false_pins, false_pins
    assert not stale, stale
    assert not unpinned, f"{len(unpinned)} conditions/thresholds no golden case pins:\n" + "\n".join(unpinned)


def _drop(path: tuple[Any, ...]) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        *parent, last = path
        node: Any = doc
        for p in parent:
            node = node[p]
        del node[last]
    return edit


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        *parent, last = path
        node: Any = doc
        for p in parent:
            node = node[p]
        node[last] = value
    return edit


# The mistakes issue 20 names, planted in the rule files as written; each must change some golden case's outcome.
NAMED_MUTATIONS = {
    "SM-04 without the running-count >= 2 check": ("SM-04-min-instances", _drop(("assert", "all", 0, "any", 0))),
    "SM-04 without the initial-count >= 2 check": ("SM-04-min-instances", _drop(("assert", "all", 1))),
    "SM-13 ge -> gt": ("SM-13-cpu-utilisation", _set(("assert", "op"), "gt")),
    "SM-14 idle window 24h -> 7d": ("SM-14-idle-endpoint", _set(("params", "idle_window"), "7d")),
    "SM-12 without the key-state check": ("SM-12-production-kms",
                                          _drop(("assert", "each", "all", 1, "each", "all", 0))),
}


@pytest.mark.parametrize("name", sorted(NAMED_MUTATIONS))
def test_the_named_rule_mistakes_are_caught(name: str, tmp_path: Path) -> None:
    rid, edit = NAMED_MUTATIONS[name]
    doc = yaml.safe_load(Path(RULES[rid].source).read_text())
    edit(doc)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    (mutant,) = load_rules([tmp_path / "m.yaml"])
    cases = _golden_by_rule()[rid]
    caught = [c["name"] for c, a, b in zip(cases, _outcomes(RULES[rid], cases), _outcomes(mutant, cases), strict=True)
              if a != b]
    assert caught, f"no golden case of {rid} sees {name}"
