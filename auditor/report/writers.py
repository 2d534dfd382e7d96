"""Every report format, by name: each renders the one report document and is written atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.graph import atomic_write_text

Renderer = Callable[[dict[str, Any], list[Any]], str]


def _json(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.json_report import render

    return render(doc)


def _html(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.html import render

    return render(doc, doc.get("drift"))


def _csv(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.tabular import render_csv

    return render_csv(doc)


def _junit(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.tabular import render_junit

    return render_junit(doc)


def _asff(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.asff import render

    return json.dumps(render(doc), indent=1) + "\n"


def _sarif(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.sarif import render

    return json.dumps(render(doc, rules), indent=1) + "\n"


def _ocsf(doc: dict[str, Any], rules: list[Any]) -> str:
    from auditor.report.ocsf import render

    return json.dumps(render(doc), indent=1) + "\n"


WRITERS: dict[str, tuple[str, Renderer]] = {
    "json": ("report.json", _json),
    "html": ("report.html", _html),
    "csv": ("findings.csv", _csv),
    "junit": ("junit.xml", _junit),
    "asff": ("asff.json", _asff),
    "sarif": ("report.sarif", _sarif),
    "ocsf": ("findings.ocsf.json", _ocsf),
}


def write_all(doc: dict[str, Any], rules: list[Any], outdir: Path, formats: list[str]) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        name, render = WRITERS[fmt]
        path = outdir / name
        atomic_write_text(path, render(doc, rules))
        written.append(path)
    return written
