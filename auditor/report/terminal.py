"""The rich terminal summary: per-policy counts, the worst findings first, and what could not be read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor.model import Status, collection_problems
from auditor.textsafe import MAX_CELL, clean

if TYPE_CHECKING:
    from auditor.report.model import Report

__all__ = ["MAX_CELL", "clean", "print_summary", "scope_text"]

STATUS_STYLE = {"fail": "bold red", "error": "bold yellow", "exempt": "cyan", "pass": "green"}


def scope_text(items: list[str], noun: str, show: int = 3) -> str:
    """'account 1, 2' or '140 accounts (1, 2, 3, ...)': an organisation's list would fill the screen."""
    if len(items) <= show:
        return f"{noun} {', '.join(items)}"
    return f"{len(items)} {noun}s ({', '.join(items[:show])}, ...)"


def incomplete_reason(report: Report) -> str:
    """One cleaned line for stderr saying why an audit is incomplete (printed even with --quiet)."""
    errors = report.collection_errors
    undecided = report.summary.by_status.get("error", 0)
    line = f"audit incomplete: {collection_problems(errors)}, {undecided} finding(s) undecided"
    if errors:
        e = errors[0]
        line += f"; first: {e.region or 'global'} {e.service}:{e.operation} {e.code}: {e.message}"
    return clean(line)[:400]


def print_summary(report: Report, console: Any, top: int = 15) -> None:
    from rich.table import Table
    from rich.text import Text

    scope = report.scope
    summ = report.summary
    head = Text()
    head.append("SageMaker deployment audit  ", style="bold")
    head.append(clean(f"{scope_text(list(scope.accounts), 'account')} · {scope_text(list(scope.regions), 'region')} "
                      f"· collected {scope.collected_at}"))
    console.print(head)
    for c in scope.coverage:
        if c["status"] != "audited":  # an account that could not be audited is the first thing to know
            console.print(Text(clean(f"account {c['account']} {c['status'].upper()}: {c.get('reason', '')}"),
                               style="bold red" if c["status"] == "failed" else "yellow"))
        for region, why in (c.get("failed_regions") or {}).items():
            console.print(Text(clean(f"account {c['account']} region {region} FAILED: {why}"), style="bold red"))
    table = Table(title=None, show_lines=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Policy")
    for status in ("pass", "fail", "error", "exempt"):
        table.add_column(status, justify="right", style=STATUS_STYLE[status])
    table.add_column("score", justify="right")
    for n, p in summ.by_policy.items():
        sc = "-" if p.score is None else f"{p.score:.0f}%"
        table.add_row(n, Text(clean(p.title)), *(str(p.counts[s]) if p.counts[s] else "·" for s in
                                                  ("pass", "fail", "error", "exempt")), sc)
    console.print(table)
    bad = [rf.finding for rf in report.findings
           if rf.finding.status in (Status.FAIL, Status.ERROR) and not rf.finding.advisory]
    bad.sort(key=lambda f: (f.status is not Status.FAIL, -f.severity.rank, f.policy, f.rule_id, f.resource.arn))
    if bad:
        worst = Table(title=f"Worst findings ({min(top, len(bad))} of {len(bad)})", header_style="bold",
                      show_lines=False)
        worst.add_column("status")
        worst.add_column("sev")
        worst.add_column("rule", no_wrap=True)
        worst.add_column("resource", overflow="fold")
        worst.add_column("finding", overflow="fold", ratio=1)
        for f in bad[:top]:
            # The headline only: the full message and evidence are in the JSON and HTML reports.
            headline = f.message.split(" — ")[0]
            worst.add_row(Text(f.status.value, style=STATUS_STYLE[f.status.value]), f.severity.value, f.rule_id,
                          Text(clean(f.resource.name)), Text(clean(headline)[:120]))
        console.print(worst)
    errors = report.collection_errors
    if errors:
        console.print(Text(f"Audit INCOMPLETE: {collection_problems(errors)}; affected findings are 'error'.",
                           style="bold yellow"))
        for e in errors[:10]:
            console.print(Text(clean(f"  {e.region} {e.service}:{e.operation} {e.code}: {e.message}")))
    elif not report.complete:
        console.print(Text("Audit INCOMPLETE: some findings could not be decided (status error).",
                           style="bold yellow"))
    drift = report.drift
    if drift:
        line = Text("Since the baseline: ")
        line.append(f"{drift['new']} new", style=STATUS_STYLE["fail"])
        line.append(f", {drift['still_failing']} still failing, ")
        line.append(f"{drift['resolved']} resolved", style=STATUS_STYLE["pass"])
        console.print(line)
    by = summ.by_status
    tail = Text()
    tail.append(f"{summ.total} findings: ")
    tail.append(f"{by['fail']} fail", style=STATUS_STYLE["fail"])
    tail.append(f", {by['error']} error, {by['exempt']} exempt, {by['pass']} pass")
    if summ.score is not None:
        tail.append(f" · compliance score {summ.score:.1f}%")
    console.print(tail)
    adv = summ.advisory_by_status
    if any(adv.values()):  # apart from the violations: the policy text does not require these
        console.print(Text(f"Advisory (not required by the policies, not counted above): {adv.get('fail', 0)} fail, "
                           f"{adv.get('error', 0)} error, {adv.get('pass', 0)} pass", style="cyan"))
