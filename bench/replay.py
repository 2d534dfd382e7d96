"""Record a seeded moto server's answers once, then replay them from a cache so a benchmark times the auditor alone.

    python bench/replay.py serve CACHE [--latency 0.04]     # prints "ready PORT"; GET /__replay__/stats

Each answer is stored under a normalised request: region and service (from the SigV4 credential scope, without
its date), method, path, query, the JSON-protocol target, and the body decoded (JSON, Smithy RPC v2 CBOR or
form-encoded) with its volatile members (CloudWatch StartTime/EndTime, client tokens) left out. A request the
cache does not hold is answered HTTP 599 and counted: a replay must never invent an answer, and the bench
refuses a run that had a miss.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.client
import json
import re
import sys
import threading
import time
from collections.abc import Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Members whose value changes from run to run while the answer does not: metric windows are computed from "now",
# idempotency tokens are random.
VOLATILE = frozenset({"StartTime", "EndTime", "ClientToken", "ClientRequestToken", "IdempotencyToken"})
# Headers the server or the transport sets per answer.
HOP = frozenset({"date", "server", "transfer-encoding", "connection", "content-length", "keep-alive"})
SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request")
STATS = "/__replay__/stats"


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _cbor(body: bytes) -> Any:
    from botocore.parsers import RpcV2CBORParser

    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def request_key(method: str, target: str, headers: Mapping[str, str] | Message[str, str], body: bytes) -> str:
    """The request with what varies between equal requests left out (see the module docstring)."""
    scope = SCOPE.search(headers.get("Authorization", ""))
    region, service = scope.groups() if scope else ("", "")
    url = urlsplit(target)
    query = sorted((k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k not in VOLATILE)
    payload: Any
    ctype = headers.get("Content-Type", "")
    if not body:
        payload = None
    elif "json" in ctype or headers.get("X-Amz-Target"):
        payload = _strip(json.loads(body))
    elif "cbor" in ctype or "/operation/" in url.path:
        payload = _strip(_cbor(body))
    elif "x-www-form-urlencoded" in ctype:
        payload = sorted((k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True) if k not in VOLATILE)
    else:
        payload = hashlib.sha256(body).hexdigest()
    return json.dumps([region, service, method, url.path, query, headers.get("X-Amz-Target", ""), payload],
                      sort_keys=True, default=str)


class Cache:
    """Answers by request key, saved as gzipped JSON; `meta` holds what the recording run found."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None, meta: dict[str, Any] | None = None) -> None:
        self.answers = answers or {}
        self.meta = meta or {}

    @classmethod
    def load(cls, path: Path) -> Cache:
        doc = json.loads(gzip.decompress(path.read_bytes()))
        return cls(doc["answers"], doc["meta"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(gzip.compress(json.dumps({"meta": self.meta, "answers": self.answers}).encode(), 6))
        tmp.replace(path)


def _read(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _answer(handler: BaseHTTPRequestHandler, status: int, headers: list[list[str]], body: bytes) -> None:
    handler.send_response(status)
    length = str(len(body))
    for k, v in headers:
        if k.lower() == "content-length":
            length = v if handler.command == "HEAD" else length  # a HEAD answer keeps the object's length
        elif k.lower() not in HOP:
            handler.send_header(k, v)
    handler.send_header("Content-Length", length)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no delayed-ACK stall

    def log_message(self, *args: Any) -> None:
        pass


class Recorder:
    """A proxy in front of the live moto server that stores every answer in `cache` (the first of equal requests;
    later ones are forwarded and counted as repeats)."""

    def __init__(self, upstream_port: int, cache: Cache) -> None:
        self.cache, self.lock = cache, threading.Lock()
        self.recorded = self.repeats = 0
        rec = self

        class Handler(_Base):
            def _handle(self) -> None:
                body = _read(self)
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
                conn.request(self.command, self.path, body=body,
                             headers={k: v for k, v in self.headers.items() if k.lower() != "connection"})
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                headers = [[k, v] for k, v in resp.getheaders() if k.lower() not in HOP or
                           (k.lower() == "content-length" and self.command == "HEAD")]
                key = request_key(self.command, self.path, self.headers, body)
                with rec.lock:
                    if key in rec.cache.answers:
                        rec.repeats += 1
                    else:
                        rec.recorded += 1
                        rec.cache.answers[key] = {"status": resp.status, "headers": headers,
                                                  "body": base64.b64encode(data).decode()}
                _answer(self, resp.status, headers, data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def replay_server(cache: Cache, latency: float, port: int = 0) -> ThreadingHTTPServer:
    """A threaded server answering from `cache` after `latency` seconds (time.sleep, which releases the GIL);
    GET /__replay__/stats tells served, misses (with up to 10 of their keys), and busy seconds and the highest
    number of requests in flight, from which the bench derives the average in flight."""
    answers = {k: (v["status"], v["headers"], base64.b64decode(v["body"])) for k, v in cache.answers.items()}
    lock = threading.Lock()
    stats: dict[str, Any] = {"served": 0, "misses": 0, "miss_keys": [], "busy": 0.0, "in_flight": 0, "peak": 0}

    class Handler(_Base):
        def _handle(self) -> None:
            body = _read(self)
            if self.path == STATS:
                with lock:
                    data = json.dumps(stats).encode()
                    if self.command == "DELETE":  # reset between runs
                        stats.update(served=0, misses=0, miss_keys=[], busy=0.0, peak=stats["in_flight"])
                _answer(self, 200, [["Content-Type", "application/json"]], data)
                return
            t0 = time.perf_counter()
            with lock:
                stats["in_flight"] += 1
                stats["peak"] = max(stats["peak"], stats["in_flight"])
            key, hit = None, None
            try:
                key = request_key(self.command, self.path, self.headers, body)
                if latency:
                    time.sleep(latency)
                hit = answers.get(key)
            finally:
                # counted before the answer is sent: a client that asks for the stats once answered sees it
                with lock:
                    stats["in_flight"] -= 1
                    stats["served"] += 1
                    stats["busy"] += time.perf_counter() - t0
                    if key is not None and hit is None:
                        stats["misses"] += 1
                        if len(stats["miss_keys"]) < 10:
                            stats["miss_keys"].append(key[:400])
            if hit is None:
                # not an AWS error code: the auditor records it as a failed read, never as an answer
                _answer(self, 599, [["Content-Type", "text/plain"]], b"replay cache miss")
                return
            _answer(self, *hit)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256  # many pooled connections open at once at the start of a run
    return server


def stats(url: str, reset: bool = False) -> dict[str, Any]:
    """The replay server's counters (and, with reset, zero them for the next run)."""
    host, port = urlsplit(url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("DELETE" if reset else "GET", STATS)
    out: dict[str, Any] = json.loads(conn.getresponse().read())
    conn.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("cache", type=Path)
    s.add_argument("--latency", type=float, default=0.0)
    s.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    server = replay_server(Cache.load(a.cache), a.latency, a.port)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
