"""The SQLite history: runs and findings stored, schema migrated forward, damaged or foreign files refused."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest

from auditor.history import HistoryError, compress, cutoff, default_path, open_history, summarize
from auditor.history.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteHistory
from tests.history.factories import finding, report, typed


def record(store: SqliteHistory, doc: dict, when: dt.datetime) -> str:
    s = summarize(doc, "audit", when=when)
    store.record(s, typed(doc), compress(typed(doc)))
    return s.run_id


def test_default_location_is_under_the_xdg_state_dir_never_the_real_home(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    assert not str(default_path()).startswith(str(Path.home()))  # conftest points XDG_STATE_HOME at a tmp dir
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "sagemaker-auditor" / "history.sqlite3"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_path() == Path.home() / ".local" / "state" / "sagemaker-auditor" / "history.sqlite3"


def test_a_run_is_stored_with_scope_counts_and_each_findings_key_status_and_severity(tmp_path: Path) -> None:
    store = open_history(str(tmp_path / "h.sqlite3"))
    assert isinstance(store, SqliteHistory)
    doc = report([finding("a"), finding("b", "pass", severity="low"), finding("c", "error")], complete=False)
    run_id = record(store, doc, dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC))
    [run] = store.runs()
    assert (run.run_id, run.accounts, run.regions, run.rules, run.complete) == (
        run_id, ["123456789012"], ["us-east-1"], ["SM-04-min-instances"], False)
    assert run.by_status == {"pass": 1, "fail": 1, "error": 1, "exempt": 0} and run.tool_version
    assert run.failing_by_severity["high"] == 1
    assert store.rows(run_id) == [
        ("SM-04-min-instances", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/a", "fail", "high", None),
        ("SM-04-min-instances", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/b", "pass", "low", None),
        ("SM-04-min-instances", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/c", "error", "high", None)]
    assert store.report(run_id)["findings"] == doc["findings"]
    with pytest.raises(HistoryError, match="no run 'nope'"):
        store.report("nope")


def test_an_old_schema_is_migrated_forward_keeping_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    MIGRATIONS[0](db)  # a database written by the first schema
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.commit()
    db.close()
    store = SqliteHistory(path)
    assert store.runs() == []
    run_id = record(store, report([finding("a")]), dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "runs_by_scope" in indexes
    assert db.execute("SELECT run_id FROM runs").fetchall() == [(run_id,)]


def test_a_history_from_a_newer_tool_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="newer than this tool supports"):
        SqliteHistory(path).runs()


def test_a_file_that_is_not_a_history_or_a_symlink_is_refused_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(HistoryError, match="not a usable history database") as exc:
        SqliteHistory(junk).runs()
    assert "\n" not in str(exc.value)
    assert junk.read_bytes() == b"not a database at all" * 100  # nothing lost
    real = tmp_path / "real.sqlite3"
    link = tmp_path / "link.sqlite3"
    os.symlink(real, link)
    with pytest.raises(HistoryError, match="symbolic link"):
        SqliteHistory(link).runs()
    assert not real.exists()


def test_prune_drops_old_runs_and_their_findings(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "h.sqlite3")
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    old = record(store, report([finding("a")]), now - dt.timedelta(days=40))
    new = record(store, report([finding("a")]), now - dt.timedelta(days=2))
    assert store.prune(cutoff(30, now)) == 1
    assert [r.run_id for r in store.runs()] == [new]
    assert store.rows(old) == [] and len(store.rows(new)) == 1
    assert store.findings(new)[0]["resource"]["arn"].endswith("/a")
