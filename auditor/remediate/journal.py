"""The remediation journal: hash-chained JSON lines, appended and fsynced before and after every call; read back
for undo."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from auditor.yamlsafe import InputError

GENESIS = "0" * 64
TORN = "torn-record"  # journal-level event: the line before it is a record a crash cut short
JOURNAL_EVENTS = (TORN,)
STEP_EVENTS = ("step-pending", "step-done", "step-failed", "undo-done", "undo-failed")
MAX_JOURNAL = 256 * 1024 * 1024  # far beyond any real run; bounds the memory a hostile file can take


def digest(prev: str, record: dict[str, Any]) -> str:
    """The chain link: a record's hash covers the previous record's hash, so an edited, removed or reordered
    record breaks every link after it."""
    body = json.dumps({k: v for k, v in record.items() if k != "hash"}, sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def _open(path: Path, flags: int) -> int:
    """Open without following a symlink at the last component (O_NOFOLLOW): a planted link must not redirect
    our writes (or reads) to another file. Only regular files are journals."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        why = "is a symbolic link (journals are never opened through links)" if exc.errno == 40 else exc.strerror
        raise InputError(path, None, f"cannot open journal: {why}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(path, None, "cannot open journal: not a regular file")
    return fd


def _read_text(path: Path) -> str:
    fd = _open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_JOURNAL + 1)
    if len(data) > MAX_JOURNAL:
        raise InputError(path, None, f"journal larger than {MAX_JOURNAL // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None


class Journal:
    """Appends records to a local journal, created mode 0600; each record carries `hash`, the chain link."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: str | None = None  # hash of the last record, read on the first append
        path.parent.mkdir(parents=True, exist_ok=True)

    def _tail(self) -> str:
        """The hash to chain from. A torn last line (a crash mid-write) is closed and marked, so it is never taken
        for a corrupted record in the middle."""
        if not self.path.exists() and not self.path.is_symlink():
            return GENESIS
        text = _read_text(self.path)
        records, _ = parse(self.path, text)
        last = records[-1]["hash"] if records else GENESIS
        lines = text.split("\n")
        if text and not text.endswith("\n"):
            self._write("\n")
            marker = {"change_id": "", "event": TORN, "line": len(lines),
                      "note": "the line before was cut short by a crash; it is not a record"}
            marker["hash"] = digest(last, marker)
            self._write(json.dumps(marker, sort_keys=True) + "\n")
            last = marker["hash"]
        return last

    def _write(self, text: str) -> None:
        fd = _open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)  # flushed to disk: an interrupted run still leaves every completed line
        finally:
            os.close(fd)

    def append(self, record: dict[str, Any]) -> None:
        if self._last is None:
            self._last = self._tail()
        record = {"ts": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"), **record}
        record = json.loads(json.dumps(record, default=str))  # what is hashed is exactly what is read back
        record["hash"] = digest(self._last, record)
        self._write(json.dumps(record, sort_keys=True) + "\n")  # one write per record
        self._last = record["hash"]


def parse(path: Path | str, text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every record, checked against the chain, with its line number (`_line`); and warnings. A malformed line is
    an error wherever it is, except the last line (a crash cut it short: reported, never silently dropped) and a
    line the writer marked as torn."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[dict[str, Any]] = []
    warnings: list[str] = []
    prev = GENESIS
    bad_line: int | None = None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            if i == len(lines):
                warnings.append(f"{path}:{i}: the last record was cut short (a crash while writing it); the "
                                "call it recorded is treated as possibly applied")
                break
            bad_line = i
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("change_id"), str) or \
                not isinstance(rec.get("event"), str):
            raise InputError(path, i, "not a journal record (needs change_id and event)")
        if rec["event"] in STEP_EVENTS and not (type(rec.get("step")) is int and rec["step"] >= 0
                                                and (rec["event"].startswith("undo") or
                                                     isinstance(rec.get("call"), dict))):
            raise InputError(path, i, f"a {rec['event']} record needs a step number and its call")
        if rec["event"] == "planned" and not isinstance(rec.get("resource"), dict):
            raise InputError(path, i, "a planned record needs its resource")
        if bad_line is not None and not (rec["event"] == TORN and rec.get("line") == bad_line):
            raise InputError(path, bad_line, "not a journal record (invalid JSON): refusing to skip it and read "
                             "the records after it")
        if rec.get("hash") != digest(prev, rec):
            raise InputError(path, i, "journal record does not follow the one before it (edited, removed, "
                             "inserted or reordered records): refusing to act on it")
        if rec["event"] == TORN:
            warnings.append(f"{path}:{bad_line}: a record cut short by a crash (marked by the next run)")
            bad_line = None
        prev = rec["hash"]
        out.append({**rec, "_line": i})
    if bad_line is not None:
        raise InputError(path, bad_line, "not a journal record (invalid JSON)")
    return out, warnings


def load(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The journal's records (chain verified) and warnings to show the user."""
    return parse(path, _read_text(path))


def read(path: Path) -> list[dict[str, Any]]:
    return load(path)[0]


def changes(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fold the records into one state per change: plan, steps done/failed/pending, undo state."""
    state: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["event"] in JOURNAL_EVENTS:
            continue
        c = state.setdefault(r["change_id"], {"change_id": r["change_id"], "steps": {}, "undone": {},
                                              "events": []})
        c["events"].append(r["event"])
        if r["event"] == "planned":
            if c["steps"]:  # ids are content-derived: the same change applied again (after an undo) starts afresh
                c["steps"], c["undone"] = {}, {}
            c.update(plan=r)
        elif r["event"] in ("step-pending", "step-done", "step-failed"):
            step = c["steps"].setdefault(r["step"], {"call": r.get("call"), "line": r.get("_line")})
            step["status"] = r["event"].removeprefix("step-")
            if r.get("call") != step["call"]:  # every record of a step repeats its call: they must agree
                step["conflict"] = r.get("_line")
            if "error" in r:
                step["error"] = r["error"]
        elif r["event"] in ("undo-done", "undo-failed"):
            c["undone"][r["step"]] = r["event"].removeprefix("undo-")
            if "error" in r:
                c.setdefault("undo_errors", {})[r["step"]] = r["error"]
        elif r["event"] == "outcome":
            c["outcome"] = r["outcome"]
    return state


def is_s3(target: str | Path) -> bool:
    # "s3://b/k" as typed; "s3:/b/k" once argparse's Path() has collapsed the double slash
    return str(target).startswith("s3:/")


def s3_location(target: str | Path) -> tuple[str, str]:
    bucket, _, key = str(target).split(":/", 1)[1].lstrip("/").partition("/")
    return bucket, key


class S3Journal(Journal):
    """The journal as one S3 object, rewritten whole on every record (S3 has no append): a PutObject that succeeded
    is as durable as an fsynced line, and a nightly job's journal survives the machine. `s3://bucket/prefix` starts
    a new object under the prefix; `s3://bucket/key.jsonl` continues that object (undo records its own calls)."""

    def __init__(self, target: str | Path, client: Any) -> None:
        bucket, key = s3_location(target)
        if not bucket:
            raise InputError(str(target), None, "an S3 journal is s3://BUCKET/PREFIX or s3://BUCKET/KEY.jsonl")
        self.client, self.bucket, self._text = client, bucket, ""
        if key.endswith(".jsonl"):
            self._text = read_s3(client, bucket, key)
        else:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            key = f"{key.rstrip('/')}/remediation-journal-{stamp}-{os.urandom(3).hex()}.jsonl".lstrip("/")
        self.key = key
        self.uri = f"s3://{bucket}/{key}"
        self.path = Path(self.uri)
        self._last: str | None = None

    def _tail(self) -> str:
        records, _ = parse(self.uri, self._text)  # the URI as typed (a Path would collapse "s3://" to "s3:/")
        return str(records[-1]["hash"]) if records else GENESIS

    def _write(self, text: str) -> None:
        self._text += text
        self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._text.encode("utf-8"),
                               ContentType="application/x-ndjson")


def read_s3(client: Any, bucket: str, key: str) -> str:
    from botocore.exceptions import ClientError

    uri = f"s3://{bucket}/{key}"
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_JOURNAL + 1)
    except ClientError as exc:
        raise InputError(uri, None, f"cannot read journal: {exc.response.get('Error', {}).get('Code')}") from None
    if len(body) > MAX_JOURNAL:
        raise InputError(uri, None, f"journal larger than {MAX_JOURNAL // 2**20} MiB")
    try:
        return str(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(uri, None, "not UTF-8 text") from None


def open_journal(target: str | Path, client_for: Any) -> Journal:
    """A local journal, or an S3 one for s3:// targets (client_for(service, region) makes the S3 client)."""
    return S3Journal(target, client_for("s3", "us-east-1")) if is_s3(target) else Journal(Path(target))


def load_any(target: str | Path, client_for: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The records and warnings of a local or S3 journal."""
    if is_s3(target):
        bucket, key = s3_location(target)
        uri = f"s3://{bucket}/{key}"
        return parse(uri, read_s3(client_for("s3", "us-east-1"), bucket, key))
    return load(Path(target))
