"""The loader fails loudly: every broken rule file is a clear error naming file, line and problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.loader import RuleLoadError, load_rules
from auditor.remediate.registry import catalogue
from auditor.yamlsafe import InputError, load_yaml

BROKEN = Path(__file__).parent / "broken"
EXPECT = re.compile(r"^# expect: (\d+): (.+)$")


def _broken() -> list[Path]:
    return sorted(BROKEN.glob("*.yaml"))


@pytest.mark.parametrize("path", _broken(), ids=lambda p: p.stem)
def test_broken_rule_file_names_file_line_and_problem(path: Path) -> None:
    m = EXPECT.match(path.read_text().splitlines()[0])
    assert m, f"{path.name} needs a '# expect: LINE: text' first line"
    line, text = int(m.group(1)), m.group(2)
    with pytest.raises(RuleLoadError) as info:
        load_rules([path], remediators=catalogue())
    errors = info.value.errors
    assert any(e.file == str(path) and e.line == line and text in e.message for e in errors), \
        [str(e) for e in errors]


def test_broken_corpus_is_large_enough() -> None:
    assert len(_broken()) >= 15


def test_builtin_rules_load_and_cover_every_policy() -> None:
    rules = load_rules()
    assert {r.policy for r in rules} == set(range(1, 16))
    assert len({r.id for r in rules}) == len(rules)


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    body = ("id: SM-04-dup\npolicy: 4\ntitle: Duplicate id rule\nseverity: high\n"
            "rationale: two files with one id\nresource: sagemaker.variant\nassert: {attr: serverless, op: 'false'}\n")
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    with pytest.raises(RuleLoadError, match=r"b\.yaml:1: duplicate rule id SM-04-dup \(also in .*a\.yaml\)"):
        load_rules([tmp_path])


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    for p in _broken()[:3]:
        (tmp_path / p.name).write_text(p.read_text())
    with pytest.raises(RuleLoadError) as info:
        load_rules([tmp_path])
    assert len({e.file for e in info.value.errors}) == 3


def test_empty_rule_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError, match="no rule files found"):
        load_rules([tmp_path])


def test_oversized_input_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * (1024 * 1024 + 10))
    with pytest.raises(InputError, match="limit"):
        load_yaml(big)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_loader_never_crashes_on_arbitrary_text(text: str) -> None:
    """Any text is either a valid rule or an InputError/RuleLoadError: never another exception."""
    from auditor.engine.loader import check_rule

    try:
        located = load_yaml("fuzz.yaml", text=text)
    except InputError:
        return
    errors = check_rule(Path("fuzz.yaml"), located, {"production", "always_on", "batch"}, set())
    assert all(isinstance(e, InputError) for e in errors)


@pytest.mark.parametrize("name", [
    "attr-misspelled", "attr-wrong-node-type", "attr-nested-misspelled", "attr-related-wrong-type",
    "distinct-misspelled", "value-attr-misspelled", "unknown-edge", "edge-misspelled-step", "edge-wrong-type",
])
def test_vocabulary_mistakes_are_rejected_with_a_suggestion(name: str) -> None:
    with pytest.raises(RuleLoadError) as info:
        load_rules([BROKEN / f"{name}.yaml"])
    [error] = info.value.errors
    assert error.line is not None
    assert any(hint in error.message for hint in ("did you mean", "is an attribute of", "reach it with")), error


@pytest.mark.parametrize(("value", "problem"), [
    ("{param: [1]}", "8: {param: ...} takes a name, not [1]"),
    ("{attr: ''}", "8: an attribute path must be a non-empty string"),
    ("{attr: regoin}", "8: attribute 'regoin'"),
])
def test_a_value_taken_from_a_param_or_attribute_names_one(tmp_path: Path, value: str, problem: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("id: SM-04-x\npolicy: 4\ntitle: A title\nseverity: high\nrationale: long enough text\n"
                    "resource: sagemaker.variant\nparams: {n: 1}\n"
                    f"assert: {{attr: current_instance_count, op: ge, value: {value}}}\n")
    with pytest.raises(RuleLoadError, match=f"r\\.yaml:{re.escape(problem)}"):
        load_rules([path])
