"""Every report format, by name: each renders the typed report and is written atomically; report.json is the one
place the report is serialized (Report.to_json)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from auditor.graph import stage_text
from auditor.report.json_report import chunks, encode
from auditor.report.model import Report

# A renderer gives the file's text, or its pieces (the JSON formats stream: never the whole file in memory).
Renderer = Callable[[Report, list[Any]], str | Iterable[str]]


def _json(report: Report, rules: list[Any]) -> Iterable[str]:
    # the edge: the report document, as written, recorded and sent; findings serialized one at a time as written
    return chunks(report.to_json(lazy_findings=True))


def _html(report: Report, rules: list[Any]) -> str:
    from auditor.report.html import render

    return render(report)


def _csv(report: Report, rules: list[Any]) -> str:
    from auditor.report.tabular import render_csv

    return render_csv(report)


def _junit(report: Report, rules: list[Any]) -> str:
    from auditor.report.tabular import render_junit

    return render_junit(report)


def _asff(report: Report, rules: list[Any]) -> Iterable[str]:
    from auditor.report.asff import render

    return encode(render(report), indent=1)


def _sarif(report: Report, rules: list[Any]) -> Iterable[str]:
    from auditor.report.sarif import render

    return encode(render(report, rules), indent=1)


def _ocsf(report: Report, rules: list[Any]) -> Iterable[str]:
    from auditor.report.ocsf import render

    return encode(render(report), indent=1)


WRITERS: dict[str, tuple[str, Renderer]] = {
    "json": ("report.json", _json),
    "html": ("report.html", _html),
    "csv": ("findings.csv", _csv),
    "junit": ("junit.xml", _junit),
    "asff": ("asff.json", _asff),
    "sarif": ("report.sarif", _sarif),
    "ocsf": ("findings.ocsf.json", _ocsf),
}


class OutputError(OSError):
    """A report that cannot be written: exit code OUTPUT_FAILED; the previous report is left as it was."""


def preflight(outdir: Path) -> None:
    """Fail before the audit when the output directory cannot take a report (a file in the way, read-only,
    no permission): a nightly job learns at once, and the previous report stays intact."""
    try:
        if outdir.exists() and not outdir.is_dir():
            raise OutputError(f"cannot write reports to {outdir}: it exists and is not a directory")
        outdir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=outdir, prefix=".audit-probe.", delete=True)  # noqa: SIM115
        probe.close()
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write reports to {outdir}: {exc.strerror or exc}") from None


def write_all(report: Report, rules: list[Any], outdir: Path, formats: list[str],
              json_tee: Callable[[Iterable[str]], Iterable[str]] | None = None) -> list[Path]:
    """All or nothing: every format is rendered and staged beside its target, then all are renamed into place.
    A full disk or a read-only directory fails while staging, and the previous reports stay as they were.
    `json_tee` sees report.json's pieces on their way to disk (the history keeps them, see history.Gzipped)."""
    staged: list[tuple[Path, Path]] = []
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            name, render = WRITERS[fmt]
            text = render(report, rules)
            if fmt == "json" and json_tee is not None:
                text = json_tee(text)
            staged.append((stage_text(outdir / name, text), outdir / name))
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {exc.filename or outdir}: {exc.strerror or exc}; "
                          "the previous reports were left as they were") from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [path for _, path in staged]
