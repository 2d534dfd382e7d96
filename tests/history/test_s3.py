"""The S3 history on moto: gzip reports plus an index, conditional writes so concurrent runs lose nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading
from typing import Any

import boto3
import pytest

from auditor.history import HistoryError, compress, cutoff, open_history, summarize
from auditor.history.s3 import S3History
from tests.history.factories import finding, report, typed

BUCKET = "audit-history"


@pytest.fixture
def bucket(aws: None) -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def record(store: S3History, name: str, when: dt.datetime | None = None) -> str:
    doc = report([finding(name)])
    s = summarize(doc, "audit", when=when)
    store.record(s, typed(doc), compress(typed(doc)))
    return s.run_id


def test_each_run_is_a_gzip_report_plus_an_index_entry(bucket: Any) -> None:
    store = open_history(f"s3://{BUCKET}/nightly/prod")
    assert isinstance(store, S3History)
    run_id = record(store, "a")
    keys = sorted(o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == ["nightly/prod/index.json", f"nightly/prod/runs/{run_id}.json.gz"]
    raw = bucket.get_object(Bucket=BUCKET, Key=f"nightly/prod/runs/{run_id}.json.gz")["Body"].read()
    assert json.loads(gzip.decompress(raw))["findings"][0]["resource"]["name"] == "a"
    assert [r.run_id for r in store.runs()] == [run_id]
    assert store.report(run_id)["findings"][0]["status"] == "fail"


def test_two_concurrent_writers_lose_neither_run(bucket: Any) -> None:
    barrier = threading.Barrier(2)
    ids: list[str] = []
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        store = S3History(f"s3://{BUCKET}/h", client=boto3.client("s3", region_name="us-east-1"))
        try:
            for i in range(4):
                barrier.wait(timeout=10)  # both writers hit the index at the same moment, four times
                ids.append(record(store, f"{name}{i}"))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(r.run_id for r in S3History(f"s3://{BUCKET}/h").runs()) == sorted(ids) and len(ids) == 8


def test_a_writer_whose_index_went_stale_retries_instead_of_overwriting(bucket: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    mine = S3History(f"s3://{BUCKET}/h")
    other = S3History(f"s3://{BUCKET}/h", client=boto3.client("s3", region_name="us-east-1"))
    first = record(other, "first")
    real_read = mine._read_index
    reads = []

    def read_then_lose_the_race() -> Any:
        out = real_read()
        reads.append(out[1])
        if len(reads) == 1:
            record(other, "meanwhile")  # lands between our read and our conditional write
        return out

    monkeypatch.setattr(mine, "_read_index", read_then_lose_the_race)
    ours = record(mine, "ours")
    assert len(reads) == 2 and reads[0] != reads[1]  # the first write was refused (412) and re-read
    names = {store_run.run_id for store_run in other.runs()}
    assert ours in names and first in names and len(names) == 3


def test_a_run_report_is_never_overwritten(bucket: Any) -> None:
    store = S3History(f"s3://{BUCKET}/h")
    doc = report([finding("a")])
    s = summarize(doc, "audit")
    store.record(s, typed(doc), compress(typed(doc)))
    with pytest.raises(HistoryError, match="cannot store the report"):
        store.record(s, typed(report([finding("b")])), compress(typed(report([finding("b")]))))
    assert store.report(s.run_id)["findings"][0]["resource"]["name"] == "a"


def test_prune_and_unreadable_index(bucket: Any) -> None:
    store = S3History(f"s3://{BUCKET}/h")
    now = dt.datetime.now(dt.UTC)
    old = record(store, "old", now - dt.timedelta(days=10))
    new = record(store, "new", now)
    assert store.prune(cutoff(5, now)) == 1
    assert [r.run_id for r in store.runs()] == [new]
    assert "Contents" not in bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"h/runs/{old}")
    bucket.put_object(Bucket=BUCKET, Key="h/index.json", Body=b"<html>not json</html>")
    with pytest.raises(HistoryError, match="index.json is not a history index"):
        store.runs()
    with pytest.raises(HistoryError, match="cannot read the index"):
        S3History("s3://no-such-bucket/h").runs()


def test_two_concurrent_audits_sharing_an_s3_history_both_get_recorded(bucket: Any, tmp_path: Any,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.cli import main

    snap = tmp_path / "snap.json"
    assert main(["snapshot", "--demo", "--output", str(snap), "--quiet"]) == 0
    location = f"s3://{BUCKET}/nightly"
    codes: list[int] = []

    def audit(i: int) -> None:
        codes.append(main(["--snapshot", str(snap), "--quiet", "--format", "json", "--rules", "SM-06-*",
                           "--output", str(tmp_path / f"out{i}"), "--history", location]))

    threads = [threading.Thread(target=audit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert codes == [1, 1]
    recorded = {r.run_id for r in S3History(location).runs()}
    reports = [json.loads((tmp_path / f"out{i}" / "report.json").read_text()) for i in range(2)]
    assert recorded == {d["history"]["run_id"] for d in reports} and len(recorded) == 2
    capsys.readouterr()
    assert main(["history", "--history", location, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["runs"]) == 2
