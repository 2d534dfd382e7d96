"""What a run left unattended does around its reports: history and drift before, then the record, Security Hub
and notifications after; each failure said in one line and turned into its own exit code."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import exitcodes
from auditor.history import History, HistoryError, open_history
from auditor.history.nightly import Prepared, prepare, record

if TYPE_CHECKING:
    from auditor.report.model import Report

RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def _err(text: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(text, highlight=False, markup=False, soft_wrap=True)


def history_failed(exc: HistoryError) -> int:
    _err(f"audit: error: history: {exc}")
    return exitcodes.OUTPUT_FAILED


def open_store(location: str | None, disabled: bool) -> History | None:
    """The history (read once now, so a damaged one fails before any AWS call), or None with --no-history."""
    if disabled:
        return None
    store = open_history(location)
    store.runs()
    return store


def explicit_baseline(path: Path | None, store: History | None) -> tuple[Path, Report] | None:
    """--baseline: a report.json, or the id of a run in the history (`audit history` lists them)."""
    from auditor.report.drift import load_baseline
    from auditor.report.model import Report, ReportError

    if path is None:
        return None
    if not path.exists() and store is not None and RUN_ID.fullmatch(str(path)):
        try:
            return Path(f"run {path}"), Report.from_json(store.report(str(path)), f"run {path}")
        except ReportError as exc:
            raise HistoryError(str(exc)) from None
    return path, load_baseline(path)


def before_reports(store: History | None, report: Report, baseline: tuple[Path, Report] | None,
                   kind: str = "audit", run_id: str | None = None) -> tuple[Report, Prepared]:
    """The report with drift, first_seen and trends, and what after_reports needs to record the run."""
    return prepare(store, report, baseline, lambda text: _err(f"audit: warning: {text}"), kind, run_id)


def report_location(output: Path, written: list[Path]) -> str | None:
    html = [p for p in written if p.name == "report.html"]
    chosen = html or written
    return str(chosen[0].resolve()) if chosen else str(output.resolve())


def after_reports(prep: Prepared, report: Report, kind: str, written: list[Path], output: Path,
                  console: Any, quiet: bool, security_hub: Callable[[Report], bool] | None = None,
                  notify: list[Any] | None = None, profile: str | None = None) -> int | None:
    """Record the run, deliver to Security Hub, notify (`report`: the report as written, what they store and send).
    The exit code these impose (None: no opinion): OUTPUT_FAILED when the history could not be written,
    DELIVERY_FAILED when a delivery failed."""
    code: int | None = None
    location = report_location(output, written)
    try:
        summary = record(prep, report, kind, location)
        if summary is not None and not quiet:
            console.print(f"history: recorded run {summary.run_id} in {prep.store.location if prep.store else ''}",
                          highlight=False, markup=False)
    except HistoryError as exc:
        code = history_failed(exc)
    if report.drift and not quiet:
        console.print(report.drift["text"], highlight=False, markup=False)
    if security_hub is not None and not security_hub(report):
        code = code or exitcodes.DELIVERY_FAILED
    if notify and not send_notifications(notify, report, None, location, profile, console, quiet):
        code = code or exitcodes.DELIVERY_FAILED
    return code


def send_notifications(targets: list[Any], report: Report | None, failure: str | None, location: str | None,
                       profile: str | None, console: Any, quiet: bool) -> bool:
    """One message per target when the run warrants it; False (said on stderr) when a target failed."""
    from auditor.notify import compose, reasons, send

    why = reasons(report, failure)
    if not why:
        return True
    subject, text = compose(report, failure, location)
    from auditor.session import SessionFactory

    factory = SessionFactory(profile=profile)
    failed = send(targets, subject, text, lambda service, region: factory.client(service, region=region))
    for line in failed:
        _err(f"audit: notification failed: {line}")
    if not quiet and len(failed) < len(targets):
        console.print(f"notified ({', '.join(why)}): {', '.join(t.label for t in targets)}", highlight=False,
                      markup=False)
    return not failed


def notify_failure(targets: list[Any], exc: BaseException, profile: str | None) -> None:
    """The audit itself failed: say so to the targets (the exception's type only: its text may hold anything)."""
    if targets:
        send_notifications(targets, None, type(exc).__name__, None, profile, None, quiet=True)
