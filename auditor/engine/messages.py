"""A rule's message templates: checked when the rule loads, rendered per finding as a join on the resource's name."""

from __future__ import annotations

import string
from typing import Any

_FORMATTER = string.Formatter()


def template_problem(template: str, params: dict[str, Any]) -> str | None:
    """What is wrong with a message template, or None. Its placeholders are `{name}` (the resource's name) and
    the rule's parameters with a single value (`{min_instances}`), written plainly: a placeholder the rule does
    not give, an attribute or index (`{name.x}`, `{name[0]}`), a conversion or a format spec would stop the audit
    at the first finding (or show what a message should not), so the rule file is refused instead."""
    allowed = {"name"} | {k for k, v in params.items() if not isinstance(v, list | dict)}
    try:
        fields = [(f, conv, spec) for _, f, spec, conv in _FORMATTER.parse(template) if f is not None]
    except ValueError as exc:  # an unmatched brace
        return f"message template {template!r}: {exc} (write a literal brace as {{{{ or }}}})"
    for f, conv, spec in fields:
        if conv or spec or f not in allowed:
            placeholder = "{" + f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            return (f"message template placeholder {placeholder} is not allowed; use "
                    f"{', '.join('{' + a + '}' for a in sorted(allowed))} (a literal brace is {{{{ or }}}})")
    return None


def name_pieces(template: str, params: dict[str, Any]) -> tuple[str, ...]:
    """The template with its parameters filled in, cut at each `{name}`: a finding's message is
    `name.join(pieces)`, one join where format_map would parse the template again for every finding (hundreds
    of thousands at 10,000 endpoints). The template must have passed template_problem."""
    pieces: list[str] = [""]
    for literal, f, _, _ in _FORMATTER.parse(template):
        pieces[-1] += literal
        if f == "name":
            pieces.append("")
        elif f is not None:
            pieces[-1] += str(params[f])
    return tuple(pieces)
