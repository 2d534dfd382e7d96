"""A small local HTTP proxy in front of a moto server that injects AWS-shaped faults, per request, on demand."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

# A rule sees (operation, request number) and returns None (forward) or a fault:
#   ("status", code, json_error_type)  an AWS JSON-protocol error, e.g. (400, "ThrottlingException")
#   ("reset",)                          close the connection without answering
#   ("slow", seconds)                   wait, then forward (past the client's read timeout)
#   ("body", status, text)              answer with this raw body (malformed or unexpected responses)
Rule = Callable[[str, int], tuple[Any, ...] | None]


def operation_of(headers: Any, path: str, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocol: "SageMaker.DescribeEndpoint"
        return str(target).split(".")[-1]
    if "/operation/" in path:  # Smithy RPC v2 (CBOR), e.g. CloudWatch
        return path.rstrip("/").rsplit("/", 1)[-1]
    if body and b"Action=" in body:  # query protocol (EC2, IAM, STS)
        return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    return f"{headers.get('Host', '')}{path}".split("?")[0]  # REST (S3): host + path


def error_response(headers: Any, path: str, body: bytes, status: int, code: str) -> tuple[int, str, bytes]:
    """An error shaped like the service's protocol would send it, so the SDK parses it as AWS's own."""
    if headers.get("X-Amz-Target"):
        return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "message": "injected"}).encode()
    if "/operation/" in path:  # Smithy RPC v2 CBOR: an empty 503 is what a throttled front end sends
        return 503, "application/cbor", b""
    if body and b"Action=" in body:  # query protocol
        xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
               "<RequestId>injected</RequestId></ErrorResponse>")
        return status, "text/xml", xml.encode()
    if "Throttl" in code:  # S3 throttles with 503 SlowDown (HEAD answers carry no body to name the code)
        status, code = 503, "SlowDown"
    return status, "application/xml", f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()


class FaultProxy:
    def __init__(self, upstream_port: int, rule: Rule, qualified: bool = False) -> None:
        """qualified: a JSON-protocol operation reaches the rule with its target prefix ("SageMaker.DescribeEndpoint")."""
        self.rule = rule
        self.count = 0
        self.faults: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle's algorithm on, the client's delayed ACK
            # would add ~40 ms to every answer, which is exactly what the latency benchmark must not measure.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                op = operation_of(self.headers, self.path, body)
                if qualified and self.headers.get("X-Amz-Target"):
                    op = str(self.headers["X-Amz-Target"])
                with proxy.lock:
                    proxy.count += 1
                    n = proxy.count
                fault = proxy.rule(op, n)
                if fault is not None:
                    proxy.faults.append((op, fault[0]))
                    if fault[0] == "reset":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if fault[0] == "status":
                        status, ctype, payload = error_response(self.headers, self.path, body, fault[1], fault[2])
                        self.send_response(status)
                        self.send_header("Content-Type", ctype)
                        self.send_header("x-amzn-ErrorType", fault[2])
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                    if fault[0] == "body":
                        payload = fault[2].encode()
                        self.send_response(fault[1])
                        self.send_header("Content-Type", "application/x-amz-json-1.1")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                    if fault[0] == "slow":
                        time.sleep(fault[1])
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                # a HEAD answer has no body but keeps the object's length
                length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
                self.send_header("Content-Length", length)
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
