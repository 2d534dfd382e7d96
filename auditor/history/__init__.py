"""Run history: every audit and merge recorded (SQLite by default, or S3), behind one small interface."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import secrets
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from auditor.report.json_report import chunks

if TYPE_CHECKING:
    from auditor.report.model import Report

APP = "sagemaker-auditor"
# gzip level of stored reports: 3 compresses a 1,000-endpoint report.json (38 MB) in 0.08 s to 1.09 MB; 6 takes
# 0.23 s for 0.88 MB.
GZIP_LEVEL = 3


class HistoryError(RuntimeError):
    """The history cannot be opened, read or written (the message names the location and the problem)."""


@dataclass(frozen=True)
class RunSummary:
    """One recorded run: what it covered, whether it was complete, and its counts (never its findings)."""

    run_id: str
    kind: str  # "audit" or "merge"
    started_at: str  # when it was recorded, UTC, microseconds: orders the runs
    evaluated_at: str
    scope_key: str
    accounts: list[str]
    regions: list[str]
    rules: list[str]
    tool_version: str
    complete: bool
    score: float | None
    by_status: dict[str, int]
    failing_by_severity: dict[str, int]
    policy_scores: dict[str, float | None] = field(default_factory=dict)
    new: int | None = None
    resolved: int | None = None
    shard: str | None = None
    report_location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSummary:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


class History(Protocol):
    """What a history backend offers; everything else (baselines, first_seen, trends) is built on these."""

    location: str

    def record(self, summary: RunSummary, report: Report, blob: bytes) -> None:
        """Store the run; `blob`: its report gzipped (Gzipped.blob as written, or compress(report))."""
        ...

    def runs(self) -> list[RunSummary]: ...

    def report(self, run_id: str) -> dict[str, Any]: ...

    def findings(self, run_id: str) -> list[dict[str, Any]]: ...

    def prune(self, before: str) -> int: ...


def default_path() -> Path:
    """$XDG_STATE_HOME/sagemaker-auditor/history.sqlite3 (default ~/.local/state/...), per the XDG base dirs."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP / "history.sqlite3"


def open_history(location: str | None) -> History:
    """`s3://bucket/prefix` or a file path (None: the default file)."""
    if location and location.startswith("s3://"):
        from auditor.history.s3 import S3History

        return S3History(location)
    from auditor.history.sqlite import SqliteHistory

    return SqliteHistory(Path(location) if location else default_path())


def _typed(report: Report | Mapping[str, Any]) -> Report:
    from auditor.report.model import Report

    return report if isinstance(report, Report) else Report.from_json(report)


def rules_of(report: Report | Mapping[str, Any]) -> list[str]:
    return sorted({r for rules in _typed(report).rules_by_policy.values() for r in rules})


def scope_key(report: Report | Mapping[str, Any]) -> str:
    """Runs are compared only with runs of the same accounts, regions, rules and shard (not tool version)."""
    r = _typed(report)
    ident = {"accounts": sorted(r.scope.accounts), "regions": sorted(r.scope.regions), "rules": rules_of(r),
             "shard": r.scope.shard}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(when: dt.datetime | None = None) -> str:
    """A run's id: its UTC start to the second, and 6 random hex digits (`audit history` lists them)."""
    return f"{when or now_utc():%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"


def summarize(report: Report | Mapping[str, Any], kind: str, report_location: str | None = None,
              when: dt.datetime | None = None, run_id: str | None = None) -> RunSummary:
    r = _typed(report)
    when = when or now_utc()
    drift = r.drift or {}
    summ = r.summary
    return RunSummary(
        run_id=run_id or new_run_id(when), kind=kind,
        started_at=when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        evaluated_at=str(r.scope.evaluated_at or ""), scope_key=scope_key(r),
        accounts=list(r.scope.accounts), regions=list(r.scope.regions), rules=rules_of(r),
        tool_version=str(r.tool["version"]), complete=r.complete, score=summ.score,
        by_status=dict(summ.by_status), failing_by_severity=dict(summ.failing_by_severity),
        policy_scores={n: p.score for n, p in summ.by_policy.items()},
        new=drift.get("new"), resolved=drift.get("resolved"), shard=r.scope.shard,
        report_location=report_location)


def finding_rows(report: Report) -> list[tuple[str, str, str, str, str | None]]:
    """Per finding: the stable key (rule id, resource ARN), status, severity and first_seen."""
    return [(f.rule_id, f.arn, f.status.value, f.severity.value, f.first_seen) for f in report.findings]


def as_findings(rows: list[tuple[str, str, str, str, str | None]]) -> list[dict[str, Any]]:
    """Stored finding rows in the shape drift reads (key, status, severity, first_seen)."""
    return [{"rule_id": r, "resource": {"arn": a}, "status": st, "severity": sev, "first_seen": fs}
            for r, a, st, sev, fs in rows]


class Gzipped:
    """report.json gzipped while write_all streams it to disk (tee), so the history stores the report as written
    without serializing its findings a second time (at 1,000 endpoints that second pass was ~0.7 s of CPU).
    `blob` is set only once every piece went through: a write that failed halfway leaves it None, and the
    run is then recorded with compress(report), the same text encoded again."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: a gzip stream, header mtime 0
        self._parts: list[bytes] = []
        self.blob: bytes | None = None

    def tee(self, pieces: Iterable[str]) -> Iterator[str]:
        for piece in pieces:
            self._parts.append(self._z.compress(piece.encode()))
            yield piece
        self._parts.append(self._z.flush())
        self.blob = b"".join(self._parts)
        self._parts = []


def compress(report: Report) -> bytes:
    """The report as report.json's text (json_report.chunks, the one serialization), gzipped a piece at a time: for
    a run whose report.json was not streamed through a Gzipped (not written, or its write failed)."""
    gz = Gzipped()
    for _ in gz.tee(chunks(report.to_json(lazy_findings=True))):
        pass
    assert gz.blob is not None
    return gz.blob


def decompress(blob: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(gzip.decompress(blob))
    except (OSError, EOFError, ValueError) as exc:
        raise HistoryError(f"{where}: the stored report is damaged ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise HistoryError(f"{where}: the stored report is not an auditor report")
    return doc


def cutoff(keep_days: int, now: dt.datetime | None = None) -> str:
    """The started_at before which `prune --keep-days N` removes runs."""
    return ((now or now_utc()) - dt.timedelta(days=keep_days)).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")
