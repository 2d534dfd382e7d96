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


# -- pinned behaviour of the loader's own code (mutation testing, issue 20) ---------------------------------------
RULE = ("# a comment, so the mapping starts on line 2\n"
        "title: A title\npolicy: 4\nid: SM-04-x\nseverity: high\nrationale: long enough text\n"
        "resource: sagemaker.variant\nassert: {attr: serverless, op: 'false'}\n")


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _errors(path: Path, remediators: set[str] | None = None) -> list[InputError]:
    with pytest.raises(RuleLoadError) as info:
        load_rules([path], remediators=remediators)
    return info.value.errors


def test_a_load_error_lists_every_problem_one_a_line() -> None:
    errors = [InputError("a.yaml", 3, "one"), InputError("b.yaml", None, "two")]
    assert str(RuleLoadError(errors)) == "a.yaml:3: one\nb.yaml: two"


def test_check_rule_uses_the_designations_and_remediators_it_is_given() -> None:
    from auditor.engine.loader import check_rule

    text = RULE.replace("assert:", "scope: {designation: batch}\nremediation: {remediator: nope, "
                        "guidance: long enough guidance}\nassert:")
    errors = check_rule(Path("c.yaml"), load_yaml("c.yaml", text=text), {"batch"}, {"stop", "alarm"})
    assert [(e.file, e.line, e.message) for e in errors] == \
        [("c.yaml", 9, "unknown remediator 'nope'; known: alarm, stop")]


def test_a_rule_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    [error] = _errors(_write(tmp_path, "- a\n- b\n"))
    assert (error.line, error.message) == (1, "a rule file must be a YAML mapping")


def test_an_unknown_resource_type_lists_the_known_ones(tmp_path: Path) -> None:
    from auditor.graph import NODE_TYPES

    [error] = _errors(_write(tmp_path, RULE.replace("sagemaker.variant", "sagemaker.nope")))
    assert (error.line, error.message) == (7, f"unknown resource type 'sagemaker.nope'; known: "
                                              f"{', '.join(sorted(NODE_TYPES))}")


def test_a_window_parameter_must_be_a_duration(tmp_path: Path) -> None:
    """Parameters named *_window are durations, checked at load; other parameters are not."""
    text = RULE.replace("assert:", "params:\n  size: soon\n  idle_window: soon\nassert:")
    [error] = _errors(_write(tmp_path, text))
    from auditor.engine.operators import parse_duration

    with pytest.raises(ValueError) as exc:
        parse_duration("soon")
    assert (error.line, error.message) == (10, str(exc.value))


def test_an_advisory_rule_must_have_severity_info(tmp_path: Path) -> None:
    [error] = _errors(_write(tmp_path, RULE.replace("assert:", "advisory: true\nassert:")))
    assert (error.line, error.message) == (8, "an advisory rule has severity info (it is never a violation)")


@pytest.mark.parametrize(("remediators", "known"), [(set(), "none"), ({"b", "a"}, "a, b")])
def test_an_unknown_remediator_lists_the_known_ones(tmp_path: Path, remediators: set[str], known: str) -> None:
    text = RULE + "remediation: {remediator: nope, guidance: long enough guidance}\n"
    [error] = _errors(_write(tmp_path, text), remediators)
    assert error.message == f"unknown remediator 'nope'; known: {known}"


def test_the_policy_of_the_id_is_checked_on_the_id_line(tmp_path: Path) -> None:
    [error] = _errors(_write(tmp_path, RULE.replace("policy: 4", "policy: 5")))
    assert (error.line, error.message) == (4, "rule id SM-04-x names policy 4 but policy is 5")


def test_a_policy_that_is_not_a_number_is_left_to_the_schema(tmp_path: Path) -> None:
    [error] = _errors(_write(tmp_path, RULE.replace("policy: 4", "policy: '4'")))
    assert error.line == 3
    assert "'4' is not of type 'integer'" in error.message


def test_an_undecidable_block_without_when_is_a_schema_error_not_a_crash(tmp_path: Path) -> None:
    [error] = _errors(_write(tmp_path, RULE + "undecidable: {reason: cannot tell}\n"))
    assert "'when' is a required property" in error.message


@pytest.mark.parametrize("block", ["undecidable: {reason: cannot tell}\n",
                                   "exempt_when: {reason: cannot tell}\nout_of_scope: {reason: gone}\n"])
def test_a_condition_the_compiler_left_to_the_schema_is_never_silently_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: str) -> None:
    """Should the schema ever miss what the compiler deferred to it, the rule is still refused."""
    import auditor.engine.loader as loader

    monkeypatch.setattr(loader, "schema_errors", lambda *args: [])
    [error] = _errors(_write(tmp_path, RULE + block))
    assert (error.file, error.line, error.message) == (str(tmp_path / "r.yaml"), 2, "a condition could not be compiled")


def test_a_valid_rule_keeps_every_field(tmp_path: Path) -> None:
    path = _write(tmp_path, RULE.replace("rationale: long enough text", "rationale: |\n  long enough text\n")
                  + "notes: a note\nreferences: {policy_section: Two}\n")
    [rule] = load_rules([path])
    assert (rule.rationale, rule.notes, rule.references, rule.source) == \
        ("long enough text", "a note", {"policy_section": "Two"}, str(path))
    assert (rule.kind, rule.basis, rule.manual, rule.advisory) == ("automated", "proven", False, False)
    assert rule.raw == load_yaml(path).data


def test_a_rule_without_notes_or_references_has_empty_ones(tmp_path: Path) -> None:
    [rule] = load_rules([_write(tmp_path, RULE)])
    assert (rule.notes, rule.references) == ("", {})


def test_every_yaml_and_yml_file_of_every_directory_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a", RULE, "one.yaml")
    _write(tmp_path / "a", "not a rule", "README.md")
    _write(tmp_path / "b", RULE.replace("SM-04-x", "SM-04-y"), "two.yml")
    _write(tmp_path / "b", RULE.replace("SM-04-x", "SM-04-z"), "three.yaml")
    rules = load_rules([tmp_path / "a", tmp_path / "b"])
    assert [r.id for r in rules] == ["SM-04-x", "SM-04-y", "SM-04-z"]


def test_a_missing_rule_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    [error] = _errors(missing)
    assert (error.file, error.line, error.message) == (str(missing), None, "no such rule file or directory")


def test_a_duplicate_id_is_reported_on_its_line_and_loading_goes_on(tmp_path: Path) -> None:
    _write(tmp_path, RULE, "a.yaml")
    _write(tmp_path, RULE, "b.yaml")
    _write(tmp_path, "- c\n", "c.yaml")
    errors = _errors(tmp_path)
    assert [(Path(e.file).name, e.line, e.message) for e in errors] == [
        ("b.yaml", 4, f"duplicate rule id SM-04-x (also in {tmp_path / 'a.yaml'})"),
        ("c.yaml", 1, "a rule file must be a YAML mapping"),
    ]


def test_no_rule_files_names_every_path_given(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [error] = _errors_of([tmp_path / "a", tmp_path / "b"])
    assert (error.file, error.line, error.message) == \
        (f"{tmp_path / 'a'}, {tmp_path / 'b'}", None, "no rule files found")


def _errors_of(paths: list[Path]) -> list[InputError]:
    with pytest.raises(RuleLoadError) as info:
        load_rules(paths)
    return info.value.errors
