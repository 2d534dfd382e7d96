"""The JSON report (OUTDIR/report.json): the machine contract, rendered from the report document."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Set, Sized
from typing import Any


def render(doc: dict[str, Any]) -> str:
    return "".join(chunks(doc))


# Top-level lists written one compact entry per line: the findings are nearly all of a large report, and a line each
# keeps the file greppable and its diffs per finding, while json's C encoder (used only without indent) writes them
# about 3x faster than the indented pure-Python one.
ROW_LISTS = ("findings",)


def chunks(doc: dict[str, Any]) -> Iterator[str]:
    """The report.json text in pieces: a 5,000-endpoint report is hundreds of megabytes as one string.

    Everything but ROW_LISTS is laid out as json.dumps(indent=2) would; each finding is one line."""
    if not doc:
        yield "{}\n"
        return
    pretty = json.JSONEncoder(indent=2, default=str, ensure_ascii=False)
    line = json.JSONEncoder(default=str, ensure_ascii=False)
    yield "{"
    for i, (key, value) in enumerate(doc.items()):
        head = ("," if i else "") + "\n  " + line.encode(key) + ": "
        rows = key in ROW_LISTS and is_rows(value)
        if rows and len(value):
            lines = (("," if j else "") + "\n    " + line.encode(row) for j, row in enumerate(value))
            yield from _batched(itertools.chain([head + "["], lines), "\n  ]")
        else:  # strings hold no raw newline, so indenting every line of the nested text nests it
            yield head + pretty.encode([] if rows else value).replace("\n", "\n  ")
    yield "\n}\n"


def is_rows(value: Any) -> bool:
    """A list, or a sized iterable of rows serialized as they are read (Report.to_json(lazy_findings=True)): what
    the streaming encoders (here and the history's) write an item at a time."""
    return (isinstance(value, Sized) and isinstance(value, Iterable)
            and not isinstance(value, str | bytes | Mapping | Set))


def encode(obj: Any, **options: Any) -> Iterator[str]:
    """json.dumps(obj, **options) + a newline, in pieces of about 64 KiB (the encoder's own are single tokens)."""
    return _batched(json.JSONEncoder(**options).iterencode(obj), "\n")


def _batched(pieces: Iterable[str], tail: str) -> Iterator[str]:
    """The pieces joined into strings of about 64 KiB (a write per token is slow, one string is too big), then tail."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= 1 << 16:
            yield "".join(batch)
            batch, size = [], 0
    batch.append(tail)
    yield "".join(batch)
