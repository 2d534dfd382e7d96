"""The journal file: hash chain, no symlinks, mode 0600, and a reader that never silently drops records."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.remediate import journal
from auditor.remediate.journal import (
    GENESIS,
    Journal,
    S3Journal,
    changes,
    digest,
    is_s3,
    load,
    load_any,
    open_journal,
    read,
    read_s3,
    s3_location,
)
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


# --- the exact contract: chain format, located messages, limits, the fold into changes, the S3 journal ---------

def test_the_chain_link_format_is_pinned() -> None:
    """Journals outlive releases: a link computed differently would make every older journal unreadable."""
    record = {"change_id": "c", "event": "planned", "n": [1, "é"], "hash": "ignored"}
    assert digest(GENESIS, record) == "072dea008ed71b3b153a3f1851173e2ec7af35b09fa7b03f2695efbb51669afd"
    when = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)  # a value JSON lacks is hashed as the text append stores
    assert digest(GENESIS, {"ts": when}) == digest(GENESIS, {"ts": str(when)})


def test_append_stamps_utc_and_stores_what_it_hashed(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "j.jsonl"  # parents are created
    before = dt.datetime.now(dt.UTC)
    Journal(path).append({"change_id": "c", "event": "planned", "resource": {"at": Path("/x")}})
    rec = read(path)[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", rec["ts"])
    assert before <= dt.datetime.fromisoformat(rec["ts"]) <= dt.datetime.now(dt.UTC)
    assert rec["resource"] == {"at": "/x"}


def test_every_refusal_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    ls = lines(path)
    cases = {
        "\n".join([ls[0], '{"ev', ls[1], ls[2]]): f"{path}:2: not a journal record (invalid JSON): refusing to skip "
                                                  "it and read the records after it",
        "\n".join([ls[0], '{"ev', "", ""]): f"{path}:2: not a journal record (invalid JSON)",
        "\n".join([ls[0], ls[2]]): f"{path}:2: journal record does not follow the one before it (edited, removed, "
                                   "inserted or reordered records): refusing to act on it",
        "[1]": f"{path}:1: not a journal record (needs change_id and event)",
    }
    for text, message in cases.items():
        path.write_text(text + "\n")
        with pytest.raises(InputError) as exc:
            read(path)
        assert str(exc.value) == message
    for record, message in [({"change_id": "c", "event": "step-done", "step": 0}, "a step-done record needs a step "
                             "number and its call"),
                            ({"change_id": "c", "event": "planned"}, "a planned record needs its resource")]:
        path.write_text(rechain([record]))
        with pytest.raises(InputError) as exc:
            read(path)
        assert str(exc.value) == f"{path}:1: {message}"


def test_opening_errors_name_the_file_and_the_reason(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read(tmp_path / "missing.jsonl")
    assert str(exc.value) == f"{tmp_path / 'missing.jsonl'}: cannot open journal: No such file or directory"
    write_three(tmp_path / "real.jsonl")
    os.symlink(tmp_path / "real.jsonl", tmp_path / "link.jsonl")
    with pytest.raises(InputError) as exc:
        read(tmp_path / "link.jsonl")
    assert str(exc.value) == (f"{tmp_path / 'link.jsonl'}: cannot open journal: is a symbolic link (journals are "
                              "never opened through links)")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError) as exc:
        read(tmp_path / "fifo")
    assert str(exc.value) == f"{tmp_path / 'fifo'}: cannot open journal: not a regular file"


def test_a_journal_is_read_up_to_its_size_limit_and_refused_past_it(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "MAX_JOURNAL", 2 * 2**20)
    path = tmp_path / "j.jsonl"
    path.write_text("\n" * (2 * 2**20))
    assert load(path) == ([], [])  # exactly at the limit: read whole
    path.write_text("\n" * (2 * 2**20 + 1))
    with pytest.raises(InputError) as exc:
        load(path)
    assert str(exc.value) == f"{path}: journal larger than 2 MiB"


def test_a_journal_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"\n{}\n\xff\n")  # lines are counted before the bad byte, not after it
    with pytest.raises(InputError) as exc:
        load(path)
    assert str(exc.value) == f"{path}:3: not UTF-8 text"


def test_blank_lines_are_skipped_and_never_end_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    ls = lines(path)
    path.write_text("\n".join([ls[0], "", "  ", ls[1], ls[2]]) + "\n")
    assert [r["_line"] for r in read(path)] == [1, 4, 5]


def test_a_malformed_last_line_is_taken_as_torn_with_or_without_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    for tail in ('{"ev', '{"ev\n'):
        path.write_text("\n".join(lines(path)[:3]) + "\n" + tail)
        recs, warnings = load(path)
        assert len(recs) == 3 and warnings == [f"{path}:4: the last record was cut short (a crash while writing "
                                               "it); the call it recorded is treated as possibly applied"]


def test_only_a_torn_marker_naming_the_bad_line_excuses_it(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    ok = {"change_id": "", "event": "torn-record", "line": 2}
    for excuse in ({**ok, "line": 1}, {**ok, "event": "planned", "resource": {}}):
        path.write_text('{"change_id": "c", "event": "planned", "resource": {}, "hash": "x"}\n')
        recs = [{"change_id": "c", "event": "planned", "resource": {}}]
        text = rechain(recs).splitlines()[0] + '\n{"ev\n' + json.dumps(
            {**excuse, "hash": digest(json.loads(rechain(recs))["hash"], excuse)}) + "\n"
        path.write_text(text)
        with pytest.raises(InputError, match="refusing to skip it"):
            read(path)
    text = rechain([{"change_id": "c", "event": "planned", "resource": {}}])
    path.write_text(text + '{"ev\n' + json.dumps({**ok, "hash": digest(json.loads(text)["hash"], ok)}) + "\n")
    recs, warnings = load(path)
    assert [r["event"] for r in recs] == ["planned", "torn-record"]
    assert warnings == [f"{path}:2: a record cut short by a crash (marked by the next run)"]


def test_an_undo_record_needs_no_call(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(rechain([{"change_id": "c", "event": "undo-done", "step": 0}]))
    assert read(path)[0]["event"] == "undo-done"


def test_the_next_run_marks_a_torn_line_and_chains_from_the_last_good_record(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"change_id": "c", "ev')  # the very first record was cut short
    Journal(path).append({"change_id": "c", "event": "planned", "resource": {}})
    raw = lines(path)
    marker = json.loads(raw[1])
    assert marker == {"change_id": "", "event": "torn-record", "line": 1, "hash": digest(GENESIS, marker),
                      "note": "the line before was cut short by a crash; it is not a record"}
    assert json.loads(raw[2])["hash"] == digest(marker["hash"], json.loads(raw[2]))


def test_appending_to_a_broken_journal_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_three(path)
    ls = lines(path)
    path.write_text("\n".join([ls[0], ls[2]]) + "\n")
    with pytest.raises(InputError) as exc:
        Journal(path).append({"change_id": "c", "event": "planned", "resource": {}})
    assert str(exc.value).startswith(f"{path}:2: journal record does not follow")


def test_changes_folds_the_records_into_one_state_per_change() -> None:
    call, other = {"operation": "a"}, {"operation": "b"}
    records = [
        {"change_id": "", "event": "torn-record", "line": 1, "_line": 2},
        {"change_id": "c1", "event": "planned", "resource": {}, "_line": 3},
        {"change_id": "c1", "event": "step-pending", "step": 0, "call": call, "_line": 4},
        {"change_id": "c1", "event": "step-done", "step": 0, "call": call, "_line": 5},
        {"change_id": "c1", "event": "step-pending", "step": 1, "call": call, "_line": 6},
        {"change_id": "c1", "event": "step-failed", "step": 1, "call": other, "error": "E: x", "_line": 7},
        {"change_id": "c1", "event": "undo-failed", "step": 0, "error": "U: y", "_line": 8},
        {"change_id": "c1", "event": "outcome", "outcome": "failed", "_line": 9},
        {"change_id": "c2", "event": "planned", "resource": {"n": 1}, "_line": 10},
        {"change_id": "c2", "event": "step-pending", "step": 0, "call": call, "_line": 11},
        {"change_id": "c2", "event": "step-done", "step": 0, "call": call, "_line": 12},
        {"change_id": "c2", "event": "undo-done", "step": 0, "_line": 13},
        {"change_id": "c2", "event": "planned", "resource": {"n": 2}, "_line": 14},  # applied again after the undo
        {"change_id": "c2", "event": "step-pending", "step": 0, "call": call, "_line": 15},
    ]
    assert changes(records) == {
        "c1": {"change_id": "c1", "plan": records[1], "outcome": "failed", "undone": {0: "failed"},
               "undo_errors": {0: "U: y"},
               "events": ["planned", "step-pending", "step-done", "step-pending", "step-failed", "undo-failed",
                          "outcome"],
               "steps": {0: {"call": call, "line": 4, "status": "done"},
                         1: {"call": call, "line": 6, "status": "failed", "conflict": 7, "error": "E: x"}}},
        "c2": {"change_id": "c2", "plan": records[12], "undone": {}, "steps": {0: {"call": call, "line": 15,
                                                                                  "status": "pending"}},
               "events": ["planned", "step-pending", "step-done", "undo-done", "planned", "step-pending"]},
    }


def test_a_planned_record_before_any_step_keeps_the_undo_state() -> None:
    records = [{"change_id": "c", "event": "undo-done", "step": 0, "_line": 1},
               {"change_id": "c", "event": "planned", "resource": {}, "_line": 2}]
    assert changes(records)["c"]["undone"] == {0: "done"}


class FakeS3:
    """put_object/get_object over a dict, raising as S3 does for a missing key."""

    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None) -> None:
        self.objects = objects or {}
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kw: Any) -> None:
        self.puts.append(kw)
        self.objects[(kw["Bucket"], kw["Key"])] = kw["Body"]

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        from botocore.exceptions import ClientError

        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


def test_s3_targets_are_recognised_as_typed_and_after_argparse() -> None:
    assert is_s3("s3://b/k") and is_s3(Path("s3://b/k")) and not is_s3("./s3/b") and not is_s3("xs3://b")
    assert s3_location("s3://bkt/a/b.jsonl") == ("bkt", "a/b.jsonl")
    assert s3_location(Path("s3://bkt/a/b.jsonl")) == ("bkt", "a/b.jsonl")
    assert s3_location("s3://bkt") == ("bkt", "")
    assert s3_location("s3://bkt/a:/b.jsonl") == ("bkt", "a:/b.jsonl")  # only the scheme's ":/" is split on


def test_an_s3_prefix_starts_a_new_object_rewritten_whole_on_each_record(monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = FakeS3()
    clients: list[tuple[str, str]] = []
    j = open_journal("s3://bkt/nightly/", lambda s, r: clients.append((s, r)) or s3)
    assert clients == [("s3", "us-east-1")] and isinstance(j, S3Journal)
    assert re.fullmatch(r"nightly/remediation-journal-\d{8}T\d{6}Z-[0-9a-f]{6}\.jsonl", j.key)
    assert j.uri == f"s3://bkt/{j.key}" and j.path == Path(j.uri)
    j.append({"change_id": "c", "event": "planned", "resource": {}})
    j.append({"change_id": "c", "event": "outcome", "outcome": "applied"})
    assert [p["Key"] for p in s3.puts] == [j.key] * 2 and {p["Bucket"] for p in s3.puts} == {"bkt"}
    assert {p["ContentType"] for p in s3.puts} == {"application/x-ndjson"}
    assert s3.puts[0]["Body"] in s3.puts[1]["Body"]  # the whole object each time
    recs, warnings = load_any(j.uri, lambda s, r: clients.append((s, r)) or s3)
    assert clients == [("s3", "us-east-1")] * 2
    assert [r["event"] for r in recs] == ["planned", "outcome"] and warnings == []
    assert recs[1]["hash"] == digest(recs[0]["hash"], {k: v for k, v in recs[1].items() if k != "_line"})
    assert S3Journal("s3://bkt", s3).key.startswith("remediation-journal-")  # no prefix: at the bucket's root
    assert S3Journal("s3://bkt/X/", s3).key.startswith("X/remediation-journal-")  # the prefix as given


def test_an_s3_journal_key_is_stamped_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a local stamp would be another day
    time.tzset()
    try:
        key = S3Journal("s3://bkt/p", FakeS3()).key
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = dt.datetime.strptime(key.split("-")[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 60


def test_an_s3_key_continues_that_object_and_its_chain() -> None:
    s3 = FakeS3()
    s3.objects[("bkt", "j.jsonl")] = b""
    j = S3Journal("s3://bkt/j.jsonl", s3)
    j.append({"change_id": "c", "event": "planned", "resource": {}})
    again = S3Journal(Path("s3://bkt/j.jsonl"), s3)
    assert again.key == "j.jsonl"
    again.append({"change_id": "c", "event": "outcome", "outcome": "applied"})
    recs, _ = load_any("s3://bkt/j.jsonl", lambda s, r: s3)
    assert [(r["event"], r["_line"]) for r in recs] == [("planned", 1), ("outcome", 2)]
    assert recs[1]["hash"] == digest(recs[0]["hash"], {k: v for k, v in recs[1].items() if k != "_line"})


def test_s3_journal_errors_name_the_object() -> None:
    with pytest.raises(InputError) as exc:
        S3Journal("s3://", FakeS3())
    assert str(exc.value) == "s3://: an S3 journal is s3://BUCKET/PREFIX or s3://BUCKET/KEY.jsonl"
    with pytest.raises(InputError) as exc:
        load_any("s3://bkt/none.jsonl", lambda s, r: FakeS3())
    assert str(exc.value) == "s3://bkt/none.jsonl: cannot read journal: NoSuchKey"
    from botocore.exceptions import ClientError

    class Bare(FakeS3):
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
            raise ClientError({}, "GetObject")  # an error answer without an Error block

    with pytest.raises(InputError) as exc:
        read_s3(Bare(), "bkt", "k.jsonl")
    assert str(exc.value) == "s3://bkt/k.jsonl: cannot read journal: None"
    with pytest.raises(InputError) as exc:
        S3Journal("s3://bkt/bad.jsonl", FakeS3({("bkt", "bad.jsonl"): b"\xff"}))
    assert str(exc.value) == "s3://bkt/bad.jsonl: not UTF-8 text"
    broken = rechain([{"change_id": "c", "event": "planned", "resource": {}}]).replace('"c"', '"d"')
    with pytest.raises(InputError) as exc:
        load_any("s3://bkt/b.jsonl", lambda s, r: FakeS3({("bkt", "b.jsonl"): broken.encode()}))
    assert str(exc.value).startswith("s3://bkt/b.jsonl:1: journal record does not follow")
    with pytest.raises(InputError) as exc:
        S3Journal("s3://bkt/b.jsonl", FakeS3({("bkt", "b.jsonl"): broken.encode()})).append({"change_id": "c",
                                                                                             "event": "x"})
    assert str(exc.value).startswith("s3://bkt/b.jsonl:1: journal record does not follow")


def test_an_s3_journal_past_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "MAX_JOURNAL", 2 * 2**20)
    assert read_s3(FakeS3({("b", "k"): b"\n" * (2 * 2**20)}), "b", "k") == "\n" * (2 * 2**20)
    with pytest.raises(InputError) as exc:
        read_s3(FakeS3({("b", "k"): b"\n" * (2 * 2**20 + 1)}), "b", "k")
    assert str(exc.value) == "s3://b/k: journal larger than 2 MiB"


def test_a_local_target_is_a_local_journal(tmp_path: Path) -> None:
    j = open_journal(tmp_path / "j.jsonl", lambda s, r: pytest.fail("no client for a local journal"))
    assert type(j) is Journal and j.path == tmp_path / "j.jsonl"
    write_three(tmp_path / "k.jsonl")
    assert load_any(str(tmp_path / "k.jsonl"), None) == load(tmp_path / "k.jsonl")
