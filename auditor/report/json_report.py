"""The JSON report (OUTDIR/report.json): the machine contract, rendered from the report document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def render(doc: dict[str, Any]) -> str:
    return "".join(chunks(doc))


def chunks(doc: dict[str, Any]) -> Iterator[str]:
    """The report.json text in pieces: a 5,000-endpoint report is hundreds of megabytes as one string."""
    return encode(doc, indent=2, default=str, ensure_ascii=False)


def encode(obj: Any, **options: Any) -> Iterator[str]:
    """json.dumps(obj, **options) + a newline, in pieces of about 64 KiB (the encoder's own are single tokens)."""
    batch: list[str] = []
    size = 0
    for piece in json.JSONEncoder(**options).iterencode(obj):
        batch.append(piece)
        size += len(piece)
        if size >= 1 << 16:
            yield "".join(batch)
            batch, size = [], 0
    batch.append("\n")
    yield "".join(batch)
