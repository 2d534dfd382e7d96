"""The benchmark's replay cache: equal requests share an answer, a request it never recorded is refused loudly."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from botocore.serialize import create_serializer

from bench.replay import Cache, Recorder, replay_server, request_key, stats


def _auth(date: str, service: str = "sagemaker") -> str:
    return f"AWS4-HMAC-SHA256 Credential=bench/{date}/us-east-1/{service}/aws4_request, SignedHeaders=host"


def _json_headers(date: str) -> dict[str, str]:
    return {"Authorization": _auth(date), "X-Amz-Target": "SageMaker.DescribeEndpoint",
            "Content-Type": "application/x-amz-json-1.1"}


def test_volatile_members_and_signing_date_do_not_change_the_key() -> None:
    a = request_key("POST", "/", _json_headers("20261130"), b'{"EndpointName": "e1", "ClientToken": "x"}')
    b = request_key("POST", "/", _json_headers("20261201"), b'{"ClientToken": "y", "EndpointName": "e1"}')
    other = request_key("POST", "/", _json_headers("20261130"), b'{"EndpointName": "e2"}')
    assert a == b
    assert a != other


def _metric_data(start: dt.datetime, metric: str) -> tuple[str, dict[str, str], bytes]:
    model = botocore.session.get_session().get_service_model("cloudwatch").operation_model("GetMetricData")
    req = create_serializer(model.metadata["protocol"]).serialize_to_request({
        "StartTime": start, "EndTime": start + dt.timedelta(hours=1),
        "MetricDataQueries": [{"Id": "q0", "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric},
                                                          "Period": 300, "Stat": "Sum"}}]}, model)
    headers = {"Authorization": _auth("20261130", "monitoring"), **req["headers"]}
    return req["url_path"], headers, req["body"]


def test_metric_windows_are_volatile_in_cbor_bodies() -> None:
    now = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    path, h1, body1 = _metric_data(now, "Invocations")
    _, h2, body2 = _metric_data(now + dt.timedelta(minutes=7), "Invocations")
    _, h3, body3 = _metric_data(now, "ModelLatency")
    assert body1 != body2  # the windows differ on the wire
    assert request_key("POST", path, h1, body1) == request_key("POST", path, h2, body2)
    assert request_key("POST", path, h1, body1) != request_key("POST", path, h3, body3)


@pytest.fixture
def upstream() -> Iterator[ThreadingHTTPServer]:
    """A stand-in for moto: answers each request with its own body, numbered, so a replay is recognisable."""
    count = {"n": 0}

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            count["n"] += 1
            out = json.dumps({"echo": json.loads(body), "n": count["n"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", f"r{count['n']}")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _post(port: int, body: bytes, date: str = "20261130") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/", body=body, headers=_json_headers(date))
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


def test_recorded_answers_replay_and_a_miss_is_refused_and_counted(upstream: ThreadingHTTPServer, tmp_path: Any) -> None:
    cache = Cache()
    with Recorder(upstream.server_address[1], cache) as rec:
        live = _post(int(rec.url.rsplit(":", 1)[1]), b'{"EndpointName": "e1"}')
    assert rec.recorded == 1
    cache.save(tmp_path / "c.json.gz")
    server = replay_server(Cache.load(tmp_path / "c.json.gz"), latency=0.01)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        status, headers, body = _post(port, b'{"EndpointName": "e1"}', date="20261201")
        assert (status, body) == (200, live[2])
        assert json.loads(body)["n"] == 1  # the recorded answer, not a new one
        assert headers["x-amzn-RequestId"] == "r1"
        miss = _post(port, b'{"EndpointName": "e2"}')
        assert miss[0] == 599  # never an invented answer
        got = stats(f"http://127.0.0.1:{port}")
        assert (got["served"], got["misses"]) == (2, 1)
        assert '"e2"' in got["miss_keys"][0]
        assert got["busy"] >= 0.02  # each answer waited the latency
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_is_counted_before_it_is_sent(upstream: ThreadingHTTPServer, tmp_path: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that reads the stats as soon as it has its answer sees that answer counted (it raced before)."""
    import bench.replay

    cache = Cache()
    with Recorder(upstream.server_address[1], cache) as rec:
        _post(int(rec.url.rsplit(":", 1)[1]), b'{"EndpointName": "e1"}')
    server = replay_server(cache, latency=0)
    port = server.server_address[1]
    seen: list[tuple[int, int]] = []
    send = bench.replay._answer

    def counted_then_sent(handler: Any, status: int, *rest: Any) -> None:
        if handler.path != "/__replay__/stats":
            got = stats(f"http://127.0.0.1:{port}")
            seen.append((got["served"], got["misses"]))
        send(handler, status, *rest)

    monkeypatch.setattr(bench.replay, "_answer", counted_then_sent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _post(port, b'{"EndpointName": "e1"}')
        _post(port, b'{"EndpointName": "e2"}')
        assert seen == [(1, 0), (2, 1)]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["--format", "bogus"], 2)])
def test_the_bench_reads_the_audits_own_peak_rss_and_keeps_its_exit_code(
        tmp_path: Any, args: list[str], code: int) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from bench.scale import PEAK_RSS

    peak = tmp_path / "peak"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, *args], cwd=root, capture_output=True,  # noqa: S603
                          env={**os.environ, "BENCH_PEAK_FILE": str(peak)}, check=False)
    assert done.returncode == code
    kib = int(peak.read_text())
    assert 10_000 < kib < 150_000  # the interpreter with the CLI loaded: about 23 MiB for --version
