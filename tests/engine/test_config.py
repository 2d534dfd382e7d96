"""audit.yaml loading: every key lands in its Config field (a key misread is a silently ignored setting)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.engine.conditions import Designation
from auditor.engine.config import DEFAULT_DESIGNATIONS, Config, Waiver, load_config
from auditor.model import Severity
from auditor.yamlsafe import InputError

FULL = """\
designations:
  production: {tag: stage, values: [live]}
  pci: {tag: compliance, values: [pci, pci-dss]}
parameters: {min_instances: 3}
allowed_repositories: ["123456789012.dkr.ecr.*.amazonaws.com/ml/*"]
rule_parameters: {SM-04-min-instances: {min_instances: 4}}
rules: ["SM-04-*"]
exclude_rules: [SM-04-multi-az]
policies: [4, 13]
severity: high
regions: [eu-west-1, us-east-1]
remediation: {stop-idle-endpoint: {min_idle_hours: 48}}
registry_table: {table: ml-registry, key: {kind: tag, tag: model}}
limits: {sagemaker: {in_flight: 4}, "*": {rate: 2.5}}
waivers: waivers.yaml
"""
WAIVERS = """\
waivers:
  - {rule: SM-04-min-instances, resource: "arn:aws:sagemaker:*:endpoint/legacy-*", reason: sunset in Q1, owner: ml-platform, expires: "2027-01-31"}
  - {policy: 13, resource: batch-*, reason: batch sizing, owner: ana, expires: "2026-12-01"}
"""


def test_every_key_of_a_full_config_lands_in_its_field(tmp_path: Path) -> None:
    (tmp_path / "audit.yaml").write_text(FULL)
    (tmp_path / "waivers.yaml").write_text(WAIVERS)
    cfg = load_config(tmp_path / "audit.yaml", {"stop-idle-endpoint": ["min_idle_hours"]})
    assert cfg.source == str(tmp_path / "audit.yaml")
    assert cfg.designations == {**DEFAULT_DESIGNATIONS, "production": Designation("stage", ("live",)),
                                "pci": Designation("compliance", ("pci", "pci-dss"))}
    assert cfg.parameters == {"min_instances": 3, "allowed_repositories": ["123456789012.dkr.ecr.*.amazonaws.com/ml/*"]}
    assert cfg.rule_parameters == {"SM-04-min-instances": {"min_instances": 4}}
    assert (cfg.rules, cfg.exclude_rules, cfg.policies) == (["SM-04-*"], ["SM-04-multi-az"], [4, 13])
    assert cfg.severity is Severity.HIGH
    assert cfg.regions == ["eu-west-1", "us-east-1"]
    assert cfg.remediation == {"stop-idle-endpoint": {"min_idle_hours": 48}}
    assert cfg.registry_table == {"table": "ml-registry", "key": {"kind": "tag", "tag": "model"}}
    assert cfg.limits == {"sagemaker": {"in_flight": 4}, "*": {"rate": 2.5}}
    source = str(tmp_path / "waivers.yaml")
    assert cfg.waivers == [
        Waiver(resource="arn:aws:sagemaker:*:endpoint/legacy-*", reason="sunset in Q1", owner="ml-platform",
               expires=dt.date(2027, 1, 31), rule="SM-04-min-instances", policy=None, source=f"{source}:2"),
        Waiver(resource="batch-*", reason="batch sizing", owner="ana", expires=dt.date(2026, 12, 1), rule=None,
               policy=13, source=f"{source}:3"),
    ]


def test_no_file_and_an_empty_file_are_the_defaults(tmp_path: Path) -> None:
    assert load_config(None) == Config()
    (tmp_path / "empty.yaml").write_text("")
    cfg = load_config(tmp_path / "empty.yaml")
    assert cfg == Config(source=str(tmp_path / "empty.yaml"))


@pytest.mark.parametrize(("remediation", "message"), [
    ("nope: {}", "unknown remediator 'nope'; known: stop-idle-endpoint"),
    ("stop-idle-endpoint: {hours: 1}", "remediation.stop-idle-endpoint: no parameter 'hours' (it takes: min_idle_hours)"),
])
def test_a_remediation_section_is_checked_against_the_remediators(tmp_path: Path, remediation: str, message: str) -> None:
    (tmp_path / "audit.yaml").write_text(f"remediation:\n  {remediation}\n")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(tmp_path / "audit.yaml", {"stop-idle-endpoint": ["min_idle_hours"]})
    assert load_config(tmp_path / "audit.yaml").remediation  # unchecked without the remediators


def test_waiver_matching_and_expiry() -> None:
    w = Waiver(resource="legacy-*", reason="r", owner="o", expires=dt.date(2026, 12, 1), rule="SM-04-min-instances")
    assert w.matches("SM-04-min-instances", 4, "arn:x", "legacy-1")
    assert w.matches("SM-04-min-instances", 4, "legacy-arn", "other")
    assert not w.matches("SM-04-multi-az", 4, "arn:x", "legacy-1")
    assert not w.matches("SM-04-min-instances", 4, "arn:x", "new-1")
    p = Waiver(resource="*", reason="r", owner="o", expires=dt.date(2026, 12, 1), policy=13)
    assert p.matches("SM-13-cpu-utilisation", 13, "a", "b") and not p.matches("SM-04-min-instances", 4, "a", "b")
    assert not w.expired(dt.date(2026, 12, 1)) and w.expired(dt.date(2026, 12, 2))  # valid through its day
    assert w.to_dict() == {"rule": "SM-04-min-instances", "policy": None, "resource": "legacy-*", "reason": "r",
                           "owner": "o", "expires": "2026-12-01", "source": ""}


# -- errors name the file and the line of the key at fault (mutation testing, issue 20) ---------------------------
def _error(path: Path, text: str, remediators: dict[str, list[str]] | None = None) -> InputError:
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_config(path, remediators)
    return info.value


def test_a_schema_error_names_the_file_and_line(tmp_path: Path) -> None:
    e = _error(tmp_path / "audit.yaml", "rules: []\nseverity: bogus\n")
    assert (e.file, e.line) == (str(tmp_path / "audit.yaml"), 2)
    assert "'bogus' is not one of" in e.message


def test_a_registry_table_keyed_by_tag_needs_the_tag(tmp_path: Path) -> None:
    e = _error(tmp_path / "audit.yaml", "registry_table:\n  table: ml-registry\n  key:\n    kind: tag\n")
    assert (e.file, e.line, e.message) == (str(tmp_path / "audit.yaml"), 3, "registry_table.key: kind tag needs the tag "
                                           "key whose value identifies the model (tag: NAME)")
    for table in ("{table: ml-registry}", "{table: ml-registry, key: {kind: model_name}}"):
        (tmp_path / "ok.yaml").write_text(f"registry_table: {table}\n")
        assert load_config(tmp_path / "ok.yaml").registry_table is not None


@pytest.mark.parametrize(("remediation", "line", "message"), [
    ("nope: {}", 3, "remediation: unknown remediator 'nope'; known: raise-min-instances, stop-idle-endpoint"),
    ("raise-min-instances: {n: 1}", 3, "remediation.raise-min-instances: no parameter 'n' (it takes: none)"),
    ("stop-idle-endpoint: {n: 1}", 3, "remediation.stop-idle-endpoint: no parameter 'n' (it takes: a, min_idle_hours)"),
])
def test_a_remediation_error_is_on_the_line_of_the_remediator(tmp_path: Path, remediation: str, line: int,
                                                               message: str) -> None:
    remediators = {"stop-idle-endpoint": ["min_idle_hours", "a"], "raise-min-instances": []}
    e = _error(tmp_path / "audit.yaml", f"rules: []\nremediation:\n  {remediation}\n", remediators)
    assert (e.file, e.line, e.message) == (str(tmp_path / "audit.yaml"), line, message)


def test_a_waivers_file_is_checked_against_its_schema(tmp_path: Path) -> None:
    (tmp_path / "waivers.yaml").write_text("waivers:\n  - {rule: SM-04-x, resource: a, reason: long enough}\n")
    e = _error(tmp_path / "audit.yaml", "waivers: waivers.yaml\n")
    assert (e.file, e.line) == (str(tmp_path / "waivers.yaml"), 2)
    assert "'owner' is a required property" in e.message
