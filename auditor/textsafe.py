"""One cleaning for every string from AWS or a file that reaches a terminal: no escapes, no bidi tricks, no NUL."""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls (CSI 0x9b included), and the Unicode marks that reorder text
# (bidi embeddings, overrides, isolates, implicit marks): a name could otherwise move the cursor, rewrite the
# screen, or show "exe.txt" for "txt.exe".
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NEWLINE = re.compile(r"[\t\n]")
MAX_CELL = 160
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def clean(text: Any, limit: int | None = MAX_CELL, oneline: bool = False) -> str:
    """Attacker-controlled text (names, tags, messages, journal fields) made safe for a terminal, bounded to
    `limit` characters (None: never cut, for plans that must show every parameter). The result is plain text:
    print it with markup off (or as a rich Text) so `[bold]` in a name stays literal."""
    s = _CONTROL.sub(REPLACEMENT, str(text))
    if oneline:  # a name must not forge a second line of output
        s = _NEWLINE.sub(REPLACEMENT, s)
    if limit is None or len(s) <= limit:
        return s
    return s[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"
