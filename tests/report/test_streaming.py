"""Report files are written in pieces, byte for byte what one json.dumps would give, never as one big string."""

from __future__ import annotations

import gzip
import json
import re
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


def _expected_layout(doc: dict[str, Any]) -> str:
    """json.dumps(indent=2) of the report, with each finding compact on its own line."""
    marker = "\x00finding-%d\x00"
    shown = dict(doc, findings=[marker % i for i in range(len(doc["findings"]))])
    text = json.dumps(shown, indent=2, default=str, ensure_ascii=False) + "\n"
    # One pass over the text (a replace per finding was quadratic: 100 s for 3,000 findings).
    return re.sub(r'"\\u0000finding-(\d+)\\u0000"',
                  lambda m: json.dumps(doc["findings"][int(m[1])], default=str, ensure_ascii=False), text)


def test_chunks_are_the_indented_report_with_one_finding_per_line() -> None:
    doc = hostile_doc()
    doc["findings"] = doc["findings"] * 3000  # more than one 64 KiB batch of findings
    pieces = list(chunks(doc))
    text = "".join(pieces)
    assert text == _expected_layout(doc)
    assert json.loads(text) == json.loads(json.dumps(doc, default=str))
    lines = text.split("\n")  # not splitlines: a hostile name's raw U+2028 is no line break in JSON
    start = lines.index('  "findings": [')
    end = next(i for i in range(start, len(lines)) if lines[i] in ("  ]", "  ],"))
    assert end - start - 1 == len(doc["findings"])  # one line each
    assert [json.loads(ln.rstrip(",")) for ln in lines[start + 1:end]] == json.loads(json.dumps(doc["findings"]))
    assert len(pieces) > 3 and max(len(p) for p in pieces) < (1 << 16) + 20_000  # streamed in batches


def test_an_empty_report_and_one_without_findings_are_plain_json() -> None:
    assert "".join(chunks({})) == "{}\n"
    doc = {"a": {"b": [1, "\u2028"]}, "findings": []}
    assert "".join(chunks(doc)) == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


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
    if fmt == "json":
        assert text == _expected_layout(loaded)
    else:
        assert text == json.dumps(loaded, indent=1) + "\n"


def test_findings_are_serialized_one_at_a_time_into_the_same_bytes() -> None:
    from auditor.history import compress
    from auditor.report.model import FindingRows

    doc = hostile_doc()
    doc["findings"] = doc["findings"] * 50
    report = Report.from_json(doc)
    lazy = report.to_json(lazy_findings=True)
    assert isinstance(lazy["findings"], FindingRows) and len(lazy["findings"]) == len(doc["findings"])
    assert "".join(chunks(lazy)) == "".join(chunks(report.to_json()))
    assert "".join(writers.WRITERS["json"][1](report, [])) == "".join(chunks(report.to_json()))
    assert next(iter(lazy["findings"])) == report.findings[0].to_json()  # a row is built when read
    assert json.loads(gzip.decompress(compress(report))) == json.loads(json.dumps(report.to_json(), default=str))


def test_a_report_without_findings_streams_an_empty_list() -> None:
    doc = hostile_doc()
    doc["findings"] = []
    report = Report.from_json(doc)
    assert "".join(chunks(report.to_json(lazy_findings=True))) == "".join(chunks(report.to_json()))
    assert '"findings": [],' in "".join(chunks(report.to_json(lazy_findings=True)))
