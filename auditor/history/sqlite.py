"""The default history: one SQLite file, its schema versioned and migrated forward in order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.history import HistoryError, RunSummary, as_findings, decompress, finding_rows

if TYPE_CHECKING:
    from auditor.report.model import Report


def _v1(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, scope_key TEXT NOT NULL, "
               "complete INTEGER NOT NULL, summary TEXT NOT NULL, report BLOB NOT NULL)")
    db.execute("CREATE TABLE findings (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, "
               "rule_id TEXT NOT NULL, arn TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, "
               "first_seen TEXT, PRIMARY KEY (run_id, rule_id, arn))")


def _v2(db: sqlite3.Connection) -> None:
    # Baselines and trends ask for "the runs of this scope, in order": index that question.
    db.execute("CREATE INDEX runs_by_scope ON runs (scope_key, started_at)")


# Forward migrations, in order: MIGRATIONS[i] takes the schema from version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, where: str) -> int:
    """Bring the schema to SCHEMA_VERSION; refuse a database written by a newer version of the tool."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT version FROM schema_version").fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise HistoryError(f"{where}: history schema version {version} is newer than this tool supports "
                           f"({SCHEMA_VERSION}): upgrade sagemaker-auditor")
    for i in range(version, SCHEMA_VERSION):
        with db:  # each step commits on its own, so an interrupted upgrade resumes where it stopped
            MIGRATIONS[i](db)
            db.execute("DELETE FROM schema_version")
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (i + 1,))
    return version


class SqliteHistory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        if self.path.is_symlink():  # written to: never through a link someone else placed there
            raise HistoryError(f"{self.path}: is a symbolic link; give the history file itself")
        if self.path.exists() and not self.path.is_file():
            raise HistoryError(f"{self.path}: is not a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA foreign_keys = ON")
            # WAL: a reader (audit history) never blocks a writer; NORMAL sync is durable across crashes in WAL
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            migrate(db, self.location)
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path}: not a usable history database ({exc})") from None
        except OSError as exc:
            raise HistoryError(f"{self.path}: cannot open the history ({exc.strerror})") from None
        self._db = db
        return db

    def _run(self, what: str, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        db = self._conn()
        try:
            with db:
                return fn(db)
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot {what} ({exc})") from None

    def record(self, summary: RunSummary, report: Report, blob: bytes) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                       (summary.run_id, summary.started_at, summary.scope_key, int(summary.complete),
                        json.dumps(summary.to_dict()), blob))
            db.executemany("INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, ?, ?)",
                           [(summary.run_id, *row) for row in finding_rows(report)])

        self._run("record the run", write)

    def runs(self) -> list[RunSummary]:
        rows = self._run("read the runs", lambda db: db.execute(
            "SELECT summary FROM runs ORDER BY started_at, run_id").fetchall())
        out = []
        for (text,) in rows:
            try:
                out.append(RunSummary.from_dict(json.loads(text)))
            except (ValueError, TypeError) as exc:
                raise HistoryError(f"{self.path}: a run summary is damaged ({exc})") from None
        return out

    def report(self, run_id: str) -> dict[str, Any]:
        row = self._run("read the run", lambda db: db.execute(
            "SELECT report FROM runs WHERE run_id = ?", (run_id,)).fetchone())
        if row is None:
            raise HistoryError(f"{self.path}: no run {run_id!r} (`audit history` lists them)")
        return decompress(row[0], f"{self.path} run {run_id}")

    def rows(self, run_id: str) -> list[tuple[str, str, str, str, str | None]]:
        return list(self._run("read the findings", lambda db: db.execute(
            "SELECT rule_id, arn, status, severity, first_seen FROM findings WHERE run_id = ? "
            "ORDER BY rule_id, arn", (run_id,)).fetchall()))

    def findings(self, run_id: str) -> list[dict[str, Any]]:
        """A run's findings from the findings table: no report to decompress and parse."""
        return as_findings(self.rows(run_id))

    def prune(self, before: str) -> int:
        def delete(db: sqlite3.Connection) -> int:
            return int(db.execute("DELETE FROM runs WHERE started_at < ?", (before,)).rowcount)

        return int(self._run("prune", delete))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
