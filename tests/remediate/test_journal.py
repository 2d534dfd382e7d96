"""The journal file: hash chain, no symlinks, mode 0600, and a reader that never silently drops records."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from auditor.remediate.journal import GENESIS, Journal, changes, digest, load, read
from auditor.yamlsafe import InputError


def write_three(path: Path) -> Journal:
    j = Journal(path)
    for i, event in enumerate(("planned", "step-pending", "step-done")):
        j.append({"change_id": "c1", "event": event, "step": 0, "n": i, "call": {"x": i}, "resource": {}})
    return j


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def rechain(records: list[dict[str, Any]]) -> str:
    """What an attacker who can rewrite the whole file does: recompute every link (the documented limit)."""
    prev, out = GENESIS, []
    for r in records:
        r = {k: v for k, v in r.items() if k not in ("hash", "_line")}
        r["hash"] = prev = digest(prev, r)
        out.append(json.dumps(r, sort_keys=True))
    return "\n".join(out) + "\n"


def test_records_round_trip_with_a_chain_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    recs = read(path)
    assert [r["n"] for r in recs] == [0, 1, 2] and [r["_line"] for r in recs] == [1, 2, 3]
    assert recs[0]["hash"] == digest(GENESIS, {k: v for k, v in recs[0].items() if k != "_line"})
    assert recs[1]["hash"] == digest(recs[0]["hash"], {k: v for k, v in recs[1].items() if k != "_line"})
    # a second writer (the next run) continues the chain
    Journal(path).append({"change_id": "c2", "event": "planned", "resource": {}})
    assert [r["change_id"] for r in read(path)] == ["c1", "c1", "c1", "c2"]


@pytest.mark.parametrize("tamper, line", [
    (lambda ls: [ls[0], ls[1].replace('"n": 1', '"n": 7'), ls[2]], 2),  # an edited record
    (lambda ls: [ls[0], ls[2]], 2),  # a record removed from the middle
    (lambda ls: [ls[1], ls[0], ls[2]], 1),  # reordered
    (lambda ls: [ls[0], ls[1], ls[1], ls[2]], 3),  # replayed
])
def test_an_edited_removed_reordered_or_replayed_record_breaks_the_chain(tmp_path: Path, tamper: Any,
                                                                         line: int) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    path.write_text("\n".join(tamper(lines(path))) + "\n")
    with pytest.raises(InputError) as exc:
        read(path)
    assert exc.value.line == line and "does not follow" in exc.value.message


def test_a_malformed_line_in_the_middle_is_an_error_never_a_silent_stop(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    ls = lines(path)
    path.write_text("\n".join([ls[0], '{"change_id": "c1", "ev', ls[1], ls[2]]) + "\n")
    with pytest.raises(InputError) as exc:
        read(path)
    assert exc.value.line == 2 and "invalid JSON" in exc.value.message
    path.write_text("\n".join([ls[0], "[1, 2]", ls[1], ls[2]]) + "\n")  # valid JSON, not a record
    with pytest.raises(InputError) as exc:
        read(path)
    assert exc.value.line == 2


def test_a_torn_last_line_is_reported_and_the_next_run_marks_it(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    with open(path, "a") as fh:
        fh.write('{"change_id": "c1", "event": "step-pe')  # the crash
    recs, warnings = load(path)
    assert len(recs) == 3 and len(warnings) == 1 and ":4: the last record was cut short" in warnings[0]
    Journal(path).append({"change_id": "c2", "event": "planned", "resource": {}})  # the next run appends after it
    recs, warnings = load(path)
    assert [r["event"] for r in recs] == ["planned", "step-pending", "step-done", "torn-record", "planned"]
    assert len(warnings) == 1 and ":4:" in warnings[0]
    assert set(changes(recs)) == {"c1", "c2"}  # the marker is not a change


def test_the_journal_is_never_opened_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "j.jsonl"
    os.symlink(victim, link)
    with pytest.raises(InputError) as exc:
        Journal(link).append({"change_id": "c", "event": "planned"})
    assert "symbolic link" in str(exc.value)
    assert victim.read_text() == "precious\n"
    write_three(tmp_path / "real.jsonl")
    os.symlink(tmp_path / "real.jsonl", tmp_path / "link.jsonl")
    with pytest.raises(InputError, match="symbolic link"):
        read(tmp_path / "link.jsonl")


def test_a_journal_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "j.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read(fifo)


def test_a_rechained_journal_reads_back(tmp_path: Path) -> None:
    """The chain catches accidents and naive edits only: a rewritten, rechained file reads (README says so)."""
    path = tmp_path / "j.jsonl"
    write_three(path)
    recs = read(path)
    recs[1]["n"] = 99
    path.write_text(rechain(recs))
    assert [r["n"] for r in read(path)] == [0, 99, 2]


@pytest.mark.parametrize("record", [
    {"change_id": "c", "event": "step-done", "step": [1], "call": {}},
    {"change_id": "c", "event": "undo-done", "step": "0"},
    {"change_id": "c", "event": "step-pending", "step": 0},
    {"change_id": "c", "event": "step-done", "step": True, "call": {}},
    {"change_id": "c", "event": "planned", "resource": "arn"},
    {"change_id": "c", "event": ["planned"]},
])
def test_a_record_of_the_wrong_shape_is_a_located_error_not_a_crash(tmp_path: Path, record: dict[str, Any]) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(rechain([{"change_id": "c", "event": "planned", "resource": {}}, record]))
    with pytest.raises(InputError) as exc:
        read(path)
    assert exc.value.line == 2
