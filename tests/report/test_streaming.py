"""Report files are written in pieces, byte for byte what one json.dumps would give, never as one big string."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.graph import stage_text
from auditor.report import writers
from auditor.report.json_report import chunks, encode
from auditor.report.model import Report
from tests.report.test_reports import hostile_doc

ODD = {"text": "café — ünïcode \u2028 and \"quotes\"", "n": [1, 2.5, None, True], "nested": {"a": [{"b": []}]},
       "big": ["x" * 1000] * 200}


def test_chunks_equal_one_dumps_of_the_report() -> None:
    doc = hostile_doc()
    pieces = list(chunks(doc))
    assert "".join(pieces) == json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n"


def test_encode_batches_pieces_and_matches_dumps() -> None:
    pieces = list(encode(ODD, indent=1))
    assert "".join(pieces) == json.dumps(ODD, indent=1) + "\n"
    assert 1 < len(pieces) < 10  # batched (~64 KiB), not one string and not one piece per token


def test_stage_text_writes_pieces(tmp_path: Path) -> None:
    tmp = stage_text(tmp_path / "r.json", iter(["{", '"a": "é"', "}\n"]))
    assert tmp.read_text(encoding="utf-8") == '{"a": "é"}\n'


@pytest.mark.parametrize("fmt", ["json", "asff", "sarif", "ocsf"])
def test_streamed_formats_write_what_dumps_would(fmt: str, tmp_path: Path) -> None:
    doc = hostile_doc()
    written = writers.write_all(Report.from_json(doc), [], tmp_path, [fmt])
    name, render = writers.WRITERS[fmt]
    out = render(Report.from_json(doc), [])
    assert not isinstance(out, str)  # streamed
    text = written[0].read_text(encoding="utf-8")
    loaded: Any = json.loads(text)
    indent = 2 if fmt == "json" else 1
    options: dict[str, Any] = {"default": str, "ensure_ascii": False} if fmt == "json" else {}
    assert text == json.dumps(loaded, indent=indent, **options) + "\n"
