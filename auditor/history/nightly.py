"""What the history adds to a run: the baseline (last complete run of the same scope), drift, first_seen and
trends before the reports are written; the record of the run after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.history import History, RunSummary, now_utc, scope_key, summarize
from auditor.report.drift import carry_first_seen, classify, since_text


@dataclass
class Prepared:
    store: History | None
    run_id: str | None
    started: Any  # datetime of the run, shared by its id and its record


def _baseline_from_history(store: History, runs: list[RunSummary], warn: Callable[[str], None]
                           ) -> tuple[dict[str, Any], RunSummary | None]:
    """The last complete run of the scope; an incomplete one only when no run was ever complete, and never
    silently."""
    if not runs:
        return {"findings": []}, None
    complete = [r for r in runs if r.complete]
    last = runs[-1]
    base = complete[-1] if complete else last
    if not last.complete:
        fallback = f"the last complete run {base.run_id} ({base.evaluated_at})" if complete else \
            "it all the same, as no run of this scope was ever complete"
        warn(f"the last run of this scope, {last.run_id} ({last.evaluated_at}), was incomplete: drift is against "
             f"{fallback}")
    return {"findings": store.findings(base.run_id)}, base


def prepare(store: History | None, doc: dict[str, Any], baseline: tuple[Path, dict[str, Any]] | None,
            warn: Callable[[str], None], kind: str = "audit", run_id: str | None = None) -> Prepared:
    """Annotate `doc` with drift, first_seen and trends (as far as a history or --baseline allows). `run_id`: the id
    the run already acted under (a remediation stamps it on what it stops), recorded as this run's."""
    started = now_utc()
    runs = [r for r in store.runs() if r.scope_key == scope_key(doc)] if store is not None else []
    now = str(doc["scope"].get("evaluated_at") or started.isoformat().replace("+00:00", "Z"))
    base_run: RunSummary | None = None
    if baseline is not None:
        path, base_doc = baseline
        if not base_doc.get("complete", True):
            warn(f"baseline {path} is an incomplete report: what it could not read may show as new")
        label, since = str(path), base_doc.get("scope", {}).get("evaluated_at")
    elif store is not None:
        base_doc, base_run = _baseline_from_history(store, runs, warn)
        label = f"run {base_run.run_id}" + ("" if base_run.complete else " (incomplete)") if base_run \
            else "no earlier run of this scope"
        since = base_run.evaluated_at if base_run else None
    else:
        return Prepared(None, None, started)
    drift = {"baseline": label, "baseline_run": base_run.run_id if base_run else None, "since": since,
             **classify(doc["findings"], base_doc["findings"])}
    drift["text"] = since_text(drift) if since else f"{drift['new']} new (no earlier run of this scope)"
    doc["drift"] = drift
    previous = base_doc
    if runs and (base_run is None or runs[-1].run_id != base_run.run_id):
        previous = {"findings": store.findings(runs[-1].run_id)} if store is not None else base_doc
    carry_first_seen(doc["findings"], previous["findings"], now)
    if store is None:
        return Prepared(None, None, started)
    current = summarize(doc, kind, when=started, run_id=run_id)  # its point in the trends; recorded after
    doc["history"] = {"location": store.location, "run_id": current.run_id}
    from auditor.history.trends import build

    doc["trends"] = build(runs, current, doc)
    return Prepared(store, current.run_id, started)


def record(prep: Prepared, doc: dict[str, Any], kind: str, report_location: str | None) -> RunSummary | None:
    """Store the finished run (after its reports are written, so the record names where they are)."""
    if prep.store is None:
        return None
    summary = summarize(doc, kind, report_location=report_location, when=prep.started)
    if prep.run_id:
        summary = RunSummary.from_dict({**summary.to_dict(), "run_id": prep.run_id})
    prep.store.record(summary, doc)
    return summary
