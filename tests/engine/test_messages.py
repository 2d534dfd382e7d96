"""Message templates: refused at load when they cannot render, rendered per finding as str.format would."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import RuleLoadError, load_rules
from auditor.engine.messages import name_pieces, template_problem
from auditor.graph import ResourceGraph

PARAMS = {"min_instances": 2, "window": "14d", "ratio": 0.5, "flag": True, "names": ["a", "b"]}

# a template is literal text (braces doubled), {name} and the scalar parameters, in any order
_piece = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8).map(
        lambda t: t.replace("{", "{{").replace("}", "}}")),
    st.sampled_from(["{name}", "{min_instances}", "{window}", "{ratio}", "{flag}"]),
)


@given(st.lists(_piece, max_size=8).map("".join), st.text(max_size=12))
def test_rendering_is_what_format_map_gives(template: str, name: str) -> None:
    assert template_problem(template, PARAMS) is None
    assert name.join(name_pieces(template, PARAMS)) == template.format_map({**PARAMS, "name": name})


@pytest.mark.parametrize(("template", "problem"), [
    ("{nope}", "placeholder {nope} is not allowed; use {flag}, {min_instances}, {name}, {ratio}, {window}"),
    ("{names}", "placeholder {names} is not allowed"),  # a list parameter has no single value to show
    ("{name.upper}", "placeholder {name.upper} is not allowed"),
    ("{name[0]}", "placeholder {name[0]} is not allowed"),
    ("{name!r}", "placeholder {name!r} is not allowed"),
    ("{ratio:.1f}", "placeholder {ratio:.1f} is not allowed"),
    ("{0}", "placeholder {0} is not allowed"),
    ("{}", "placeholder {} is not allowed"),
    ("{name", "expected '}' before end of string"),
    ("name}", "Single '}' encountered"),
])
def test_a_template_that_cannot_render_is_named(template: str, problem: str) -> None:
    found = template_problem(template, PARAMS)
    assert found is not None and problem in found


def _rule(tmp_path: Path, messages: str, title: str = "Variant count rule") -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(f"id: SM-04-msg\npolicy: 4\ntitle: '{title}'\nseverity: high\nrationale: long enough text\n"
                    "resource: sagemaker.variant\nparams: {min_instances: 2}\n"
                    "assert: {attr: current_instance_count, op: ge, value: {param: min_instances}}\n"
                    f"{messages}")
    return path


def _graph() -> ResourceGraph:
    g = ResourceGraph(meta={"collected_at": "2026-11-30T00:00:00Z"})
    for name, count in (("v-{x}", 3), ("v1", 1)):
        g.add_node(f"arn:v/{name}", "sagemaker.variant", name=name, account="1", region="r",
                   data={"current_instance_count": count})
    return g


def test_findings_render_their_messages_with_name_and_parameters(tmp_path: Path) -> None:
    rules = load_rules([_rule(tmp_path, 'messages:\n  pass: "{name} has {min_instances}+ ({name}) {{ok}}"\n'
                                        '  fail: "{name} below {min_instances}"\n')])
    by_name = {f.resource.name: f.message for f in evaluate_rules(_graph(), rules, Config()).findings}
    # a name holding braces is data: shown as it is, never formatted
    assert by_name["v-{x}"] == "v-{x} has 2+ (v-{x}) {ok}"
    assert by_name["v1"].startswith("v1 below 2 — ")


def test_a_parameter_set_in_the_config_file_is_the_one_shown(tmp_path: Path) -> None:
    rules = load_rules([_rule(tmp_path, 'messages:\n  fail: "{name} below {min_instances}"\n')])
    config = Config(rule_parameters={"SM-04-msg": {"min_instances": 5}})
    messages = {f.resource.name: f.message for f in evaluate_rules(_graph(), rules, config).findings}
    assert messages["v-{x}"].startswith("v-{x} below 5 — ")


def test_the_title_stands_in_as_text_not_as_a_template(tmp_path: Path) -> None:
    rules = load_rules([_rule(tmp_path, "", title="Variants keep {min_instances} or more")])
    messages = {f.message for f in evaluate_rules(_graph(), rules, Config()).findings if f.status.value == "pass"}
    assert messages == {"Variants keep {min_instances} or more"}


def test_a_rule_file_with_a_bad_template_names_file_and_line(tmp_path: Path) -> None:
    path = _rule(tmp_path, 'messages:\n  pass: "{name}"\n  fail: "{name} has {replicas}"\n')
    with pytest.raises(RuleLoadError) as info:
        load_rules([path])
    [error] = info.value.errors
    assert (error.file, error.line) == (str(path), 11)
    assert "{replicas} is not allowed" in error.message
