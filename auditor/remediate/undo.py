"""`audit undo` and `audit restore`: validate every journalled change first, show the plan, confirm, then reverse
newest first and say what happened to each change."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import exitcodes
from auditor.remediate.execute import undo_change
from auditor.remediate.inverse import Refused, UndoStep, undo_steps
from auditor.remediate.journal import Journal, changes, load_any, open_journal
from auditor.remediate.plan_view import PlanRow, api_name, render
from auditor.textsafe import clean

ClientFor = Callable[[str, str], Any]


@dataclass
class UndoOptions:
    changes: list[str] = field(default_factory=list)  # only these change ids (undo)
    endpoint: str | None = None  # restore: the endpoint stopped by stop-idle-endpoint
    region: str | None = None  # restore: the endpoint's region, when the name exists in several
    yes: bool = False
    dry_run: bool = False


def _say(console: Any, text: str, style: str | None = None) -> None:
    from rich.text import Text

    console.print(Text(clean(text, None), style=style or ""), soft_wrap=True)


def pick(state: dict[str, dict[str, Any]], opts: UndoOptions) -> tuple[list[dict[str, Any]], str | None]:
    """The changes to reverse, newest first, or why none can be picked."""
    if opts.endpoint is not None:
        stops = [c for c in state.values() if isinstance(c.get("plan"), dict)
                 and c["plan"].get("remediator") == "stop-idle-endpoint"
                 and (c["plan"].get("resource") or {}).get("name") == opts.endpoint
                 and opts.region in (None, (c["plan"].get("resource") or {}).get("region"))]
        if not stops:
            return [], f"no stop of endpoint {opts.endpoint!r}" + (f" in {opts.region}" if opts.region else "")
        regions = {c["plan"]["resource"].get("region") for c in stops}
        if len(regions) > 1:
            return [], f"endpoint {opts.endpoint!r} was stopped in {', '.join(sorted(map(str, regions)))}: pass " \
                       "--region"
        return stops[-1:], None
    unknown = sorted(set(opts.changes) - set(state))
    if unknown:
        return [], f"no change {', '.join(unknown)}"
    picked = [c for cid, c in state.items() if not opts.changes or cid in opts.changes]
    return picked[::-1], None  # newest change first


def _describe(c: dict[str, Any]) -> str:
    plan = c.get("plan") or {}
    return f"{c['change_id']} {plan.get('description', '')}".strip()


def _status_without_steps(c: dict[str, Any]) -> str:
    applied = [s for s in c["steps"].values() if s.get("status") in ("done", "pending")]
    return "already undone" if applied else "nothing to undo (no call of this change was applied)"


def _confirm(opts: UndoOptions, n: int, accounts: set[str], regions: set[str], console: Any) -> str | None:
    """None when confirmed, else why not."""
    if opts.yes:
        return None
    if not sys.stdin.isatty():
        return "not confirmed: pass --yes to undo without a prompt (or --dry-run to only see the plan)"
    console.print(clean(f"Run {n} call(s) in account(s) {', '.join(sorted(accounts))}, region(s) "
                        f"{', '.join(sorted(regions))}? Type 'yes' to proceed: ", None, oneline=True), end="",
                  markup=False, highlight=False)
    if sys.stdin.readline().strip().lower() != "yes":
        return "not confirmed: nothing was changed"
    return None


class MemoryJournal(Journal):
    """Where a restore from tags records its calls when no journal file is given (shown, never written)."""

    def __init__(self) -> None:  # no file: nothing to open
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)


def run(path: Path, opts: UndoOptions, client_for: ClientFor, caller_account: Callable[[str], str], console: Any,
        err: Any) -> int:
    """Reverse the picked changes of a journal. Exit code from auditor.exitcodes."""
    command = "audit restore" if opts.endpoint is not None else "audit undo"
    records, warnings = load_any(path, client_for)
    for w in warnings:
        _say(err, f"{command}: warning: {w}", "yellow")
    picked, why = pick(changes(records), opts)
    if why:
        _say(err, f"{command}: error: {why} in {path}")
        return exitcodes.INVALID_INPUT
    journal = open_journal(path, client_for)
    return reverse(picked, getattr(journal, "uri", path), journal, opts, client_for, caller_account, console, err)


def reverse(picked: list[dict[str, Any]], source: Path | str, journal: Journal, opts: UndoOptions,
            client_for: ClientFor, caller_account: Callable[[str], str], console: Any, err: Any) -> int:
    """Check every change before the first call, show the plan, confirm, then reverse newest first."""
    command = "audit restore" if opts.endpoint is not None else "audit undo"
    path = source
    todo: list[tuple[dict[str, Any], list[UndoStep]]] = []
    try:
        for c in picked:
            todo.append((c, undo_steps(c)))
    except Refused as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        _say(err, f"{command}: refused: {where}: change {exc.change_id}: {exc.why}. Undo only runs the declared "
             "inverse of a call this tool makes, on the resource it recorded; nothing was run")
        return exitcodes.INVALID_INPUT
    for c, steps in todo:
        if not steps:
            _say(console, f"{_status_without_steps(c)}: {_describe(c)}", "dim")
    todo = [(c, s) for c, s in todo if s]
    if not todo:
        return exitcodes.OK
    accounts = {c["plan"]["resource"]["account"] for c, _ in todo}
    regions = {c["plan"]["resource"]["region"] for c, _ in todo}
    try:
        actual = caller_account(sorted(regions)[0])
    except Exception as exc:  # noqa: BLE001 - which account we are in must be known before any call
        _say(err, f"{command}: error: cannot tell which account the credentials are for ({type(exc).__name__}: "
             f"{exc}); nothing was run")
        return exitcodes.NO_CREDENTIALS
    if accounts != {actual}:  # the journal names the account: never act on another one
        _say(err, f"{command}: refused: {path}: the changes were made in account(s) {', '.join(sorted(accounts))},"
             f" the credentials are for account {actual} (pick one account's changes with --change); nothing was "
             "run")
        return exitcodes.INVALID_INPUT
    rows = [PlanRow("\n".join(str(x) for x in (c["change_id"], c["plan"].get("remediator"), c["plan"].get("rule_id"))
                              if x),
                    c["plan"]["resource"]["account"], call.region, c["plan"]["resource"]["name"], call,
                    f"undo of step {s.step + 1} ({api_name(s.forward)}): {call.description}")
            for c, steps in todo for s in steps for call in s.calls]
    render("Restore plan" if opts.endpoint is not None else "Undo plan", rows, console)
    if opts.dry_run:
        _say(console, f"dry run: {len(rows)} call(s) in {len(todo)} change(s) would run; nothing was changed")
        return exitcodes.OK
    refusal = _confirm(opts, len(rows), accounts, regions, console)
    if refusal:
        _say(err, f"{command}: {refusal}")
        return exitcodes.REFUSED
    failed = 0
    for c, steps in todo:
        errors = undo_change(c["change_id"], steps, journal, client_for)
        failed += bool(errors)
        _say(console, f"{'FAILED to undo' if errors else 'undone'}: {_describe(c)} ({len(steps)} step(s))",
             "bold red" if errors else "green")
        for e in errors:
            _say(console, f"  {e}", "red")
    return exitcodes.INCOMPLETE if failed else exitcodes.OK
