"""History in S3 for jobs whose disk does not survive: one gzip report per run plus an index, both written with
conditional writes so concurrent runs never lose each other's records."""

from __future__ import annotations

import json
import random
import time
from typing import TYPE_CHECKING, Any

from auditor.history import HistoryError, RunSummary, decompress

if TYPE_CHECKING:
    from auditor.report.model import Report

INDEX_VERSION = 1
ATTEMPTS = 12  # optimistic index updates before giving up; each retry re-reads the index


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def _status(exc: Exception) -> int:
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3History:
    def __init__(self, location: str, client: Any = None, profile: str | None = None) -> None:
        rest = location[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise HistoryError(f"{location}: expected s3://BUCKET/PREFIX")
        self.location = location
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client
        self._profile = profile

    @property
    def client(self) -> Any:
        if self._client is None:
            from auditor.session import SessionFactory

            self._client = SessionFactory(profile=self._profile).client("s3")
        return self._client

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _fail(self, what: str, exc: Exception) -> HistoryError:
        return HistoryError(f"{self.location}: cannot {what} ({_code(exc)})")

    def _read_index(self) -> tuple[list[dict[str, Any]], str | None]:
        """The index's runs and its ETag (None when there is no index yet)."""
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key("index.json"))
            body = resp["Body"].read()
        except Exception as exc:  # noqa: BLE001 - botocore raises ClientError subclasses per code
            if _code(exc) in ("NoSuchKey", "404"):
                return [], None
            raise self._fail("read the index", exc) from None
        try:
            doc = json.loads(body)
            runs = doc["runs"]
            if not isinstance(runs, list) or doc.get("version") != INDEX_VERSION:
                raise ValueError("unexpected layout")
        except (ValueError, KeyError, TypeError) as exc:
            raise HistoryError(f"{self.location}: index.json is not a history index ({exc})") from None
        return runs, resp["ETag"]

    def _update_index(self, change: Any, what: str) -> Any:
        """Read-modify-write of the index with IfMatch/IfNoneMatch: a concurrent writer makes ours fail with 412
        (or 409), and we re-read and re-apply instead of overwriting its run."""
        for attempt in range(ATTEMPTS):
            runs, etag = self._read_index()
            new_runs, result = change(runs)
            cond = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            body = json.dumps({"version": INDEX_VERSION, "runs": new_runs}, separators=(",", ":")).encode()
            try:
                self.client.put_object(Bucket=self.bucket, Key=self._key("index.json"), Body=body,
                                       ContentType="application/json", **cond)
                return result
            except Exception as exc:  # noqa: BLE001
                if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict") or _status(exc) in (409, 412):
                    time.sleep(min(2.0, 0.05 * 2 ** attempt) * random.random())  # jitter: writers desynchronise
                    continue
                raise self._fail(what, exc) from None
        raise HistoryError(f"{self.location}: cannot {what}: the index kept changing ({ATTEMPTS} attempts)")

    def record(self, summary: RunSummary, report: Report, blob: bytes) -> None:
        key = self._key(f"runs/{summary.run_id}.json.gz")
        try:  # a run id is written once: IfNoneMatch refuses to overwrite another run's report
            self.client.put_object(Bucket=self.bucket, Key=key, Body=blob, IfNoneMatch="*",
                                   ContentType="application/json", ContentEncoding="gzip")
        except Exception as exc:  # noqa: BLE001
            raise self._fail("store the report", exc) from None
        entry = {**summary.to_dict(), "report_key": key}
        self._update_index(lambda runs: ([*[r for r in runs if r.get("run_id") != summary.run_id], entry], None),
                           "record the run")

    def runs(self) -> list[RunSummary]:
        runs, _ = self._read_index()
        try:
            out = [RunSummary.from_dict(r) for r in runs]
        except TypeError as exc:
            raise HistoryError(f"{self.location}: a run in index.json is damaged ({exc})") from None
        return sorted(out, key=lambda r: (r.started_at, r.run_id))

    def report(self, run_id: str) -> dict[str, Any]:
        if not any(r.run_id == run_id for r in self.runs()):
            raise HistoryError(f"{self.location}: no run {run_id!r} (`audit history` lists them)")
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(f"runs/{run_id}.json.gz"))["Body"].read()
        except Exception as exc:  # noqa: BLE001
            raise self._fail(f"read run {run_id}", exc) from None
        return decompress(body, f"{self.location} run {run_id}")

    def findings(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.report(run_id)["findings"])

    def prune(self, before: str) -> int:
        def drop(runs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
            old = [r["run_id"] for r in runs if str(r.get("started_at", "")) < before]
            return [r for r in runs if r.get("run_id") not in old], old

        gone: list[str] = self._update_index(drop, "prune the index")
        for run_id in gone:  # the index no longer names them: deleting the objects afterwards loses nothing
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self._key(f"runs/{run_id}.json.gz"))
            except Exception as exc:  # noqa: BLE001
                raise self._fail(f"delete run {run_id}", exc) from None
        return len(gone)
