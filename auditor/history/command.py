"""`audit history`: list the recorded runs, re-render one (`show RUN`), or drop old ones (`prune --keep-days N`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from auditor import exitcodes
from auditor.cliparse import subcommands
from auditor.history import HistoryError, RunSummary, cutoff, open_history
from auditor.model import Severity

LOCATION_HELP = "a SQLite file or s3://BUCKET/PREFIX (default: $XDG_STATE_HOME/sagemaker-auditor/history.sqlite3)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """`audit history` on the root parser's subcommands (auditor.commands.register)."""
    p = sub.add_parser("history", help="list, re-render or prune the recorded runs",
                       description="The recorded runs: list them (default), re-render one, or prune old ones.")
    p.set_defaults(handler=run, parser=p)
    p.add_argument("--history", metavar="PATH|s3://BUCKET/PREFIX", help=LOCATION_HELP)
    p.add_argument("--json", action="store_true", help="list the runs as JSON (as `audit history list --json`)")
    hsub = subcommands(p, "cmd", required=False)
    ls = hsub.add_parser("list", help="list the runs (the default)", description="List the recorded runs.")
    ls.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                    help='print {"runs": [...]} for machines')
    show = hsub.add_parser("show", help="re-render a stored report", description="Re-render a stored report.")
    show.add_argument("run_id", metavar="RUN")
    show.add_argument("--output", type=Path, help="write the report here (with --format) instead of printing it")
    show.add_argument("--format", default="json,html", help="with --output: formats to write (default %(default)s)")
    prune = hsub.add_parser("prune", help="delete runs older than --keep-days",
                            description="Delete the runs older than --keep-days.")
    prune.add_argument("--keep-days", type=int, required=True, metavar="N")
    for sp in (ls, show, prune):
        sp.add_argument("--history", metavar="PATH|s3://BUCKET/PREFIX", help=LOCATION_HELP,
                        default=argparse.SUPPRESS)
    return p


def run(a: argparse.Namespace, console: Any, err: Any) -> int:
    if a.json and a.cmd not in (None, "list"):
        a.parser.error(f"--json lists the runs: it does not go with `{a.cmd}`")
    try:
        store = open_history(a.history)
        if a.cmd == "show":
            return _show(store.report(a.run_id), a, console, err)
        if a.cmd == "prune":
            if a.keep_days < 0:
                err.print("audit history prune: --keep-days must be 0 or more", highlight=False, markup=False)
                return exitcodes.INVALID_INPUT
            n = store.prune(cutoff(a.keep_days))
            console.print(f"pruned {n} run(s) older than {a.keep_days} day(s) from {store.location}",
                          highlight=False, markup=False)
            return exitcodes.OK
        runs = store.runs()
    except HistoryError as exc:
        err.print(f"audit history: error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return exitcodes.OUTPUT_FAILED
    if getattr(a, "json", False):
        console.print_json(json.dumps({"history": store.location, "runs": [r.to_dict() for r in runs]}))
    else:
        _table(runs, store.location, console)
    return exitcodes.OK


def _table(runs: list[RunSummary], location: str, console: Any) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from auditor.report.terminal import clean, scope_text

    console.print(Text(f"{len(runs)} run(s) in {clean(location)}"))
    t = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("run", no_wrap=True, min_width=23)
    t.add_column("date (UTC)", no_wrap=True, min_width=16)
    t.add_column("complete", no_wrap=True)
    t.add_column("score", no_wrap=True)
    t.add_column("fails c/h/m/l/i", no_wrap=True, header_style="bold")
    t.add_column("scope", overflow="fold")
    for r in runs:
        sev = "/".join(str(r.failing_by_severity.get(s, 0)) for s in Severity)
        kind = "" if r.kind == "audit" else f" ({r.kind})"
        t.add_row(r.run_id, (r.evaluated_at or r.started_at)[:16].replace("T", " "),
                  Text("yes") if r.complete else Text("NO", style="bold yellow"),
                  "-" if r.score is None else f"{r.score:.1f}%", sev,
                  Text(clean(f"{scope_text(r.accounts, 'account')}; {scope_text(r.regions, 'region')}; "
                             f"{len(r.rules)} rules{kind}")))
    console.print(t)


def _show(doc: dict[str, Any], a: argparse.Namespace, console: Any, err: Any) -> int:
    from auditor.app import UsageError, parse_formats
    from auditor.report import terminal
    from auditor.report.model import Report, ReportError

    try:  # the edge: the stored document, read back into the typed report every renderer takes
        report = Report.from_json(doc, "the stored report")
    except ReportError as exc:
        err.print(f"audit history show: error: {exc}", highlight=False, markup=False)
        return exitcodes.INVALID_INPUT
    if a.output is None:
        terminal.print_summary(report, console)
        return exitcodes.OK
    from auditor.engine.loader import load_rules
    from auditor.report.writers import write_all

    try:
        formats = parse_formats(a.format)
    except UsageError as exc:
        err.print(f"audit history show: error: {exc}", highlight=False, markup=False)
        return exitcodes.INVALID_INPUT
    for path in write_all(report, load_rules(None) if "sarif" in formats else [], a.output, formats):
        console.print(f"wrote {path}", highlight=False, markup=False)
    return exitcodes.OK
