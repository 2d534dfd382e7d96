"""The JSON report writer (OUTDIR/report.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.graph import atomic_write_text


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str, ensure_ascii=False) + "\n"


def write(doc: dict[str, Any], outdir: Path) -> Path:
    path = outdir / "report.json"
    atomic_write_text(path, render(doc))
    return path
