"""Done means: three audits in a row on the demo account with remediation in between; the history lists them,
and the third report shows what the remediation resolved and since when the rest has been failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli import main
from tests.remediate.test_remediation import REGION_ARGS, demo  # noqa: F401 - the seeded demo account fixture

pytestmark = pytest.mark.usefixtures("demo")


def test_three_nights_with_remediation_between(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = str(tmp_path / "history.sqlite3")
    nights = [tmp_path / f"night{i}" for i in (1, 2, 3)]
    common = [*REGION_ARGS, "--quiet", "--format", "json,html", "--history", history]
    assert main([*common, "--output", str(nights[0])]) == 3  # the demo always has two undecidable findings
    assert main([*common, "--output", str(nights[1]), "--remediate", "--yes", "--max-changes", "100"]) == 3
    assert main([*common, "--output", str(nights[2])]) == 3
    capsys.readouterr()
    assert main(["history", "--history", history, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert len(runs) == 3 and [r["kind"] for r in runs] == ["audit"] * 3
    first, second, third = (json.loads((n / "report.json").read_text()) for n in nights)
    assert [r["run_id"] for r in runs] == [d["history"]["run_id"] for d in (first, second, third)]
    applied = {(c["rules"][0], c["resource"]) for c in second["remediation"]["changes"]
               if c["outcome"] == "applied and verified"}
    assert applied
    # the remediated night's report is the fresh audit after its changes: what they fixed is resolved there, and
    # the third night's trends count those closures on the second run
    resolved = {(r["rule_id"], r["arn"]) for r in second["drift"]["resolved_findings"]}
    assert applied <= resolved
    second_by_key = {(f["rule_id"], f["resource"]["arn"]): f for f in second["findings"]}
    assert all(second_by_key[k]["status"] == "pass" for k in applied if k in second_by_key)
    third_by_key = {(f["rule_id"], f["resource"]["arn"]): f for f in third["findings"]}
    assert all(third_by_key[k]["status"] == "pass" for k in applied if k in third_by_key)
    first_seen = {(f["rule_id"], f["resource"]["arn"]): f["first_seen"] for f in first["findings"]
                  if f["status"] == "fail"}
    still = [f for f in third["findings"] if f["status"] == "fail"]
    assert still and all(f["drift"] == "still_failing" and f["first_seen"] == first_seen[(f["rule_id"],
                                                                                          f["resource"]["arn"])]
                         for f in still)
    assert len(third["trends"]["runs"]) == 3 and third["trends"]["runs"][1]["closed"] >= len(applied)
