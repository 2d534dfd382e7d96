"""`audit history`: list (table and --json), show RUN (re-rendered report), prune --keep-days N, clear errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.history import compress, summarize
from auditor.history.sqlite import SqliteHistory
from tests.history.factories import finding, report, typed


@pytest.fixture
def history(tmp_path: Path) -> tuple[str, list[str]]:
    path = tmp_path / "h.sqlite3"
    store = SqliteHistory(path)
    now = dt.datetime.now(dt.UTC)
    ids = []
    for days, doc in ((40, report([finding("a"), finding("b", severity="critical")])),
                      (1, report([finding("a", "pass")], complete=False))):
        s = summarize(doc, "audit", when=now - dt.timedelta(days=days))
        store.record(s, typed(doc), compress(typed(doc)))
        ids.append(s.run_id)
    store.close()
    return str(path), ids


def test_json_lists_runs_with_date_scope_score_severity_counts_and_completeness(
        history: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = history
    assert main(["history", "--history", path, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run_id"] for r in runs] == ids
    assert [(r["complete"], r["score"], r["failing_by_severity"]["critical"]) for r in runs] == [
        (True, 0.0, 1), (False, 100.0, 0)]
    assert runs[0]["accounts"] == ["123456789012"] and runs[0]["regions"] == ["us-east-1"]


def test_the_table_names_every_run_and_flags_incomplete_ones(history: tuple[str, list[str]],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = history
    assert main(["history", "--history", path]) == 0
    out = capsys.readouterr().out
    assert all(i in out for i in ids) and "NO" in out and "0/1/0/0/0" not in out and "1/1/0/0/0" in out


def test_show_re_renders_a_stored_run(history: tuple[str, list[str]], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = history
    assert main(["history", "show", ids[0], "--history", path, "--output", str(tmp_path / "again"),
                 "--format", "json,html"]) == 0
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert [f["resource"]["name"] for f in again["findings"]] == ["b", "a"]
    assert "<html" in (tmp_path / "again" / "report.html").read_text()
    assert main(["history", "show", ids[0], "--history", path]) == 0
    assert "SM-04-min-instances" in capsys.readouterr().out
    assert main(["history", "show", "nope", "--history", path]) == 6
    assert "no run 'nope'" in capsys.readouterr().err


def test_prune_keeps_recent_runs(history: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = history
    assert main(["history", "prune", "--keep-days", "30", "--history", path]) == 0
    assert "pruned 1 run(s)" in capsys.readouterr().out
    assert main(["history", "--history", path, "--json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)["runs"]] == ids[1:]


def test_a_damaged_history_is_one_line_and_exit_6_for_audit_and_history(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_text("garbage " * 200)
    assert main(["history", "--history", str(bad)]) == 6
    err = capsys.readouterr().err
    assert "not a usable history database" in err and len(err.strip().splitlines()) == 1
    snap = tmp_path / "none.json"
    assert main(["--snapshot", str(snap), "--history", str(bad), "--quiet"]) in (2, 6)  # no snapshot either
    assert main(["--demo", "--history", str(bad), "--no-history"]) == 2  # exclusive flags


def test_a_merge_is_recorded_with_first_seen_from_its_shards(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    shard = report([finding("a"), finding("b", "pass")], when="2026-11-25T02:00:00Z")
    shard["findings"][0]["first_seen"] = "2026-11-01T02:00:00Z"  # the shard's own history dated it
    (tmp_path / "s0").mkdir()
    (tmp_path / "s0" / "report.json").write_text(json.dumps(shard))
    path = str(tmp_path / "h.sqlite3")
    args = ["merge", str(tmp_path / "s0"), "--output", str(tmp_path / "merged"), "--format", "json", "--quiet",
            "--history", path]
    assert main(args) == 1
    assert main(args) == 1
    capsys.readouterr()
    assert main(["history", "--history", path, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["kind"] for r in runs] == ["merge", "merge"]
    merged = json.loads((tmp_path / "merged" / "report.json").read_text())
    [a] = [f for f in merged["findings"] if f["status"] == "fail"]
    assert (a["drift"], a["first_seen"]) == ("still_failing", "2026-11-01T02:00:00Z")
    assert merged["history"]["run_id"] == runs[-1]["run_id"]


def test_baseline_can_name_a_run_of_the_history(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    assert main(["snapshot", "--demo", "--output", str(snap), "--quiet"]) == 0
    path = str(tmp_path / "h.sqlite3")
    base = ["--snapshot", str(snap), "--quiet", "--format", "json", "--rules", "SM-06-*", "--history", path]
    assert main([*base, "--output", str(tmp_path / "one")]) == 1
    first = json.loads((tmp_path / "one" / "report.json").read_text())["history"]["run_id"]
    assert main([*base, "--output", str(tmp_path / "two")]) == 1
    assert main([*base, "--output", str(tmp_path / "three"), "--baseline", first, "--fail-on-new"]) == 0
    drift = json.loads((tmp_path / "three" / "report.json").read_text())["drift"]
    assert drift["baseline"] == f"run {first}" and drift["new"] == 0 and drift["still_failing"] > 0
    assert main([*base, "--output", str(tmp_path / "four"), "--baseline", "20991231T000000Z-abcdef"]) == 6
