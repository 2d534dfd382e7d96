"""The real CLI in a subprocess against a moto server, reached only through AWS_ENDPOINT_URL."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor import moto_ext
from auditor.permissions import action_for, audit_actions

SECRETS = ("test-secret-key-do-not-leak", "test-session-token-do-not-leak")


class EndpointSession:
    """A boto3 session whose clients all talk to the moto server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = boto3.Session()

    def client(self, service: str, region_name: str | None = None) -> Any:
        return self.session.client(service, region_name=region_name, endpoint_url=self.url)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    moto_ext.install()  # the server runs in this process, so the extension applies to it
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    srv.start()
    url = f"http://127.0.0.1:{port}"
    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="AKIATESTTESTTESTTEST", AWS_SECRET_ACCESS_KEY=SECRETS[0],
                      AWS_SESSION_TOKEN=SECRETS[1], AWS_DEFAULT_REGION="us-east-1")
    from auditor.demo.seed import Seeder

    seeder = Seeder(EndpointSession(url), dt.datetime.now(dt.UTC))
    seeder.run()
    seeder.backdate()
    yield url
    srv.stop()
    os.environ.clear()
    os.environ.update(saved)


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="AKIATESTTESTTESTTEST", AWS_SECRET_ACCESS_KEY=SECRETS[0],
               AWS_SESSION_TOKEN=SECRETS[1], AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/nonexistent",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return subprocess.run([sys.executable, "-m", "auditor", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_cli_audits_a_moto_server_through_aws_endpoint_url(server: str, tmp_path: Path) -> None:
    proc = run_cli(server, "--region", "us-east-1,eu-west-1", "--output", str(tmp_path), "--stats",
                   "--save-snapshot", str(tmp_path / "snap.json"))
    assert proc.returncode == 3, proc.stderr  # incomplete: private registry image + deleted model
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["collection_errors"] == []
    assert doc["scope"]["regions"] == ["us-east-1", "eu-west-1"]
    assert len({f["resource"]["arn"] for f in doc["findings"] if f["resource"]["type"] == "sagemaker.endpoint"}) == 14
    assert "API calls:" in proc.stdout
    # every call the audit made is covered by the generated least-privilege policy
    allowed = set(audit_actions())
    made = {action_for(op) for op in doc["api_calls"]["by_operation"]}
    assert made <= allowed, made - allowed
    # no credential appears in any output
    outputs = [proc.stdout, proc.stderr] + [p.read_text() for p in tmp_path.iterdir()]
    assert not any(secret in text for secret in SECRETS for text in outputs)
    assert not any("AKIATESTTESTTESTTEST" in text for text in outputs)
