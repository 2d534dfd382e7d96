"""The JSON report (OUTDIR/report.json): the machine contract, rendered from the report document."""

from __future__ import annotations

import json
from typing import Any


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str, ensure_ascii=False) + "\n"
