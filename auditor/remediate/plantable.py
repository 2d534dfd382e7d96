"""The plan table: every call with every parameter, account and region, wrapped and never cut (undo, restore and
any other plan the user must confirm)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from auditor.remediate.registry import WAIT, Call
from auditor.textsafe import clean


@dataclass(frozen=True)
class PlanRow:
    change: str  # change id (or what groups the calls)
    account: str
    call: Call
    what: str = ""  # why this call runs, in words


def call_name(call: Call) -> str:
    if call.operation == WAIT:
        return f"{call.service}:wait {call.params.get('waiter', '?')}"
    return f"{call.service}:{call.operation}"


def params_text(params: dict[str, Any]) -> str:
    """One parameter per line, values as JSON: the whole value, however long (the table wraps it)."""
    return "\n".join(f"{k}={json.dumps(v, sort_keys=True, default=str)}" for k, v in params.items()
                     if k != "waiter") or "-"


def render(title: str, rows: list[PlanRow], console: Any) -> None:
    """Print the rows in execution order. Every string is cleaned (it may come from a journal or AWS) and printed as
    plain text, never as markup."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, header_style="bold", show_lines=True)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("change", overflow="fold")
    t.add_column("account / region", overflow="fold")
    t.add_column("call", overflow="fold")
    t.add_column("parameters", overflow="fold", ratio=2)
    t.add_column("what", overflow="fold", ratio=1)
    for n, r in enumerate(rows, 1):
        t.add_row(str(n), Text(clean(r.change, None)), Text(clean(f"{r.account}\n{r.call.region}", None)),
                  Text(clean(call_name(r.call), None)), Text(clean(params_text(r.call.params), None)),
                  Text(clean(r.what or r.call.description, None)))
    console.print(t)
