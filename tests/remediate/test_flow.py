"""Remediation an operator can trust: dry runs never refuse, refused runs still audit, the report is the after-state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor import exitcodes
from auditor.cli import main
from tests.remediate.test_remediation import REGION_ARGS, demo, state  # noqa: F401 - demo is a fixture

AUDIT = [*REGION_ARGS, "--format", "json,html"]
pytestmark = pytest.mark.usefixtures("demo")


def report(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "report.json").read_text())


def statuses(doc: dict) -> dict[tuple[str, str], str]:  # type: ignore[type-arg]
    return {(f["rule_id"], f["resource"]["arn"]): f["status"] for f in doc["findings"]}


def test_dry_run_over_the_cap_shows_the_whole_plan_and_exits_as_a_plain_audit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state()
    plain = main([*AUDIT, "--quiet", "--output", str(tmp_path / "plain")])
    capsys.readouterr()
    code = main([*AUDIT, "--remediate", "--dry-run", "--max-changes", "3", "--output", str(tmp_path / "dry")])
    out = capsys.readouterr().out
    assert code == plain == exitcodes.INCOMPLETE
    rem = report(tmp_path / "dry")["remediation"]
    planned = [e for e in rem["plan"] if e["calls"] and not e["skip_reason"]]
    assert rem["mode"] == "dry-run" and rem["refused"] is None
    assert rem["over_cap"] == {"changes": len(planned), "max_changes": 3, "over": len(planned) - 3}
    assert len(planned) > 10  # the whole plan, not the first 3
    assert sum(rem["counts"]["by_remediator"].values()) == sum(rem["counts"]["by_resource"].values()) == len(planned)
    assert all(c["params"] and c["api"] for e in planned for c in e["calls"])
    assert f"a real run would be refused: the plan has {len(planned)} changes and --max-changes is 3 " \
           f"({len(planned) - 3} over)" in " ".join(out.split())
    assert statuses(report(tmp_path / "dry")) == statuses(report(tmp_path / "plain"))
    assert not (tmp_path / "dry" / "remediation-journal.jsonl").exists()
    assert state() == before


def test_a_refused_run_over_the_cap_or_unconfirmed_still_writes_the_audit_and_exits_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state()
    code = main([*AUDIT, "--remediate", "--yes", "--quiet", "--output", str(tmp_path)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == exitcodes.REFUSED
    doc = report(tmp_path)
    rem = doc["remediation"]
    assert rem["mode"] == "refused" and "--max-changes is 10" in rem["refused"]["reason"]
    assert "configure-autoscaling 4" in rem["refused"]["reason"]  # counts per remediator
    assert "audit: remediation refused: the plan has" in err and "configure-autoscaling 4" in err
    assert doc["summary"]["by_status"]["fail"] > 0 and (tmp_path / "report.html").exists()
    assert "Refused:" in (tmp_path / "report.html").read_text()
    # no terminal and no --yes: refused the same way, the audit still written
    code = main([*AUDIT, "--remediate", "--max-changes", "100", "--quiet", "--output", str(tmp_path / "tty")])
    assert code == exitcodes.REFUSED
    assert "not confirmed: pass --yes" in report(tmp_path / "tty")["remediation"]["refused"]["reason"]
    assert "not confirmed" in capsys.readouterr().err
    assert state() == before


def test_after_remediation_the_report_is_a_fresh_audit_with_the_before_state_beside_it(
        tmp_path: Path) -> None:
    code = main([*AUDIT, "--remediate", "--yes", "--max-changes", "100", "--quiet", "--output",
                 str(tmp_path / "r")])
    doc = report(tmp_path / "r")
    main([*AUDIT, "--quiet", "--output", str(tmp_path / "fresh")])
    fresh = report(tmp_path / "fresh")
    assert code == exitcodes.INCOMPLETE  # two demo resources stay undecidable
    assert statuses(doc) == statuses(fresh)  # the written report is the account after remediation
    assert doc["summary"]["by_status"] == fresh["summary"]["by_status"]
    rem = doc["remediation"]
    fixed = {(r, c["resource"]) for c in rem["changes"] if c["outcome"] == "applied and verified" for r in c["rules"]}
    assert len(fixed) >= 15
    assert rem["before"]["summary"]["by_status"]["fail"] > doc["summary"]["by_status"]["fail"]
    assert {(f["rule_id"], f["resource"]) for f in rem["before"]["findings"] if f["status"] == "fail"} >= fixed
    for f in doc["findings"]:  # nothing fixed is shown as still open
        assert not ((f["rule_id"], f["resource"]["arn"]) in fixed and f["status"] != "pass"), f
        if (f["rule_id"], f["resource"]["arn"]) in fixed:
            assert f["remediation"]["outcome"] == "applied and verified"
    html = (tmp_path / "r" / "report.html").read_text()
    assert "shows the account <b>after</b> remediation" in html
