"""What the history adds to a run: the baseline (last complete run of the same scope), drift, first_seen and
trends before the reports are written; the record of the run after."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.history import Gzipped, History, RunSummary, compress, now_utc, scope_key, summarize
from auditor.report.drift import Earlier, carry_first_seen, classify, since_text
from auditor.report.model import Report


@dataclass
class Prepared:
    store: History | None
    run_id: str | None
    started: Any  # datetime of the run, shared by its id and its record
    written: Gzipped | None = None  # report.json as write_all streamed it (None: no history to store it in)


def _baseline_from_history(store: History, runs: list[RunSummary], warn: Callable[[str], None]
                           ) -> tuple[list[dict[str, Any]], RunSummary | None]:
    """The last complete run of the scope; an incomplete one only when no run was ever complete, and never
    silently."""
    if not runs:
        return [], None
    complete = [r for r in runs if r.complete]
    last = runs[-1]
    base = complete[-1] if complete else last
    if not last.complete:
        fallback = f"the last complete run {base.run_id} ({base.evaluated_at})" if complete else \
            "it all the same, as no run of this scope was ever complete"
        warn(f"the last run of this scope, {last.run_id} ({last.evaluated_at}), was incomplete: drift is against "
             f"{fallback}")
    return store.findings(base.run_id), base


def prepare(store: History | None, report: Report, baseline: tuple[Path, Report] | None,
            warn: Callable[[str], None], kind: str = "audit", run_id: str | None = None) -> tuple[Report, Prepared]:
    """The report with drift, first_seen and trends (as far as a history or --baseline allows). `run_id`: the id
    the run already acted under (a remediation stamps it on what it stops), recorded as this run's."""
    started = now_utc()
    runs = [r for r in store.runs() if r.scope_key == scope_key(report)] if store is not None else []
    now = str(report.scope.evaluated_at or started.isoformat().replace("+00:00", "Z"))
    base_run: RunSummary | None = None
    base_findings: Sequence[Earlier]
    if baseline is not None:
        path, base_report = baseline
        if not base_report.complete:
            warn(f"baseline {path} is an incomplete report: what it could not read may show as new")
        label, since = str(path), base_report.scope.evaluated_at
        base_findings = base_report.findings
    elif store is not None:
        base_findings, base_run = _baseline_from_history(store, runs, warn)
        label = f"run {base_run.run_id}" + ("" if base_run.complete else " (incomplete)") if base_run \
            else "no earlier run of this scope"
        since = base_run.evaluated_at if base_run else None
    else:
        return report, Prepared(None, None, started)
    findings, counts = classify(report.findings, base_findings)
    drift: dict[str, Any] = {"baseline": label, "baseline_run": base_run.run_id if base_run else None,
                             "since": since, **counts}
    drift["text"] = since_text(drift) if since else f"{drift['new']} new (no earlier run of this scope)"
    previous = base_findings
    if runs and (base_run is None or runs[-1].run_id != base_run.run_id) and store is not None:
        previous = store.findings(runs[-1].run_id)
    report = report.with_findings(carry_first_seen(findings, previous, now), drift=drift)
    if store is None:
        return report, Prepared(None, None, started)
    current = summarize(report, kind, when=started, run_id=run_id)  # its point in the trends; recorded after
    from auditor.history.trends import build

    report = report.with_sections(history={"location": store.location, "run_id": current.run_id},
                                  trends=build(runs, current, report))
    return report, Prepared(store, current.run_id, started, Gzipped())


def record(prep: Prepared, report: Report, kind: str, report_location: str | None) -> RunSummary | None:
    """Store the finished run (after its reports are written, so the record names where they are): the report as
    written."""
    if prep.store is None:
        return None
    summary = summarize(report, kind, report_location=report_location, when=prep.started)
    if prep.run_id:
        summary = RunSummary.from_dict({**summary.to_dict(), "run_id": prep.run_id})
    written = prep.written.blob if prep.written is not None else None
    prep.store.record(summary, report, written if written is not None else compress(report))
    return summary
