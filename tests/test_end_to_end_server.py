"""The real CLI in a subprocess against a moto server, reached only through AWS_ENDPOINT_URL."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.permissions import action_for, audit_actions
from auditor.report import html
from auditor_demo import moto_ext

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ("test-secret-key-do-not-leak", "test-session-token-do-not-leak")


class EndpointSession:
    """A boto3 session whose clients all talk to the moto server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = boto3.Session()

    def client(self, service: str, region_name: str | None = None) -> Any:
        return self.session.client(service, region_name=region_name, endpoint_url=self.url)


@contextlib.contextmanager
def demo_server(own_process: bool = False) -> Iterator[str]:
    """A moto server seeded with the demo account. Port 0: the server binds a free port itself and reports it,
    so no other process can take the port between choosing and binding it. moto's state is global to a
    process, so a test that must not share state with the others gets a server in its own process."""
    from moto.server import ThreadedMotoServer

    moto_ext.install()  # the in-process server shares this process's moto, so the extension applies to it
    if own_process:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "moto_server.py")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{proc.stdout.readline().split()[1]}"
        stop = proc.kill
    else:
        srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        srv.start()
        url = f"http://127.0.0.1:{srv.get_host_and_port()[1]}"
        stop = srv.stop
    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="AKIATESTTESTTESTTEST", AWS_SECRET_ACCESS_KEY=SECRETS[0],
                      AWS_SESSION_TOKEN=SECRETS[1], AWS_DEFAULT_REGION="us-east-1")
    from auditor_demo.seed import Seeder

    seeder = Seeder(EndpointSession(url), dt.datetime.now(dt.UTC))
    seeder.run()
    seeder.backdate()
    try:
        yield url
    finally:
        stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with demo_server() as url:
        yield url


@pytest.fixture
def own_server() -> Iterator[str]:
    """A server for a test that changes account state (an Organization, member accounts): no other test sees it."""
    with demo_server(own_process=True) as url:
        yield url


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
    assert doc["scope"]["regions"] == ["eu-west-1", "us-east-1"]  # sorted, so shards merge to the same scope
    assert len({f["resource"]["arn"] for f in doc["findings"] if f["resource"]["type"] == "sagemaker.endpoint"}) == 21
    assert "API calls:" in proc.stdout and "for 21 endpoint(s)" in proc.stdout and "per endpoint" in proc.stdout
    assert "time: collect" in proc.stdout
    assert doc["timings"]["collect_seconds"] > 0 and doc["timings"]["workers"] == 8
    # every call the audit made is covered by the generated least-privilege policy
    allowed = set(audit_actions())
    made = {action_for(op) for op in doc["api_calls"]["by_operation"]}
    assert made <= allowed, made - allowed
    # no credential appears in any output
    outputs = [proc.stdout, proc.stderr] + [p.read_text() for p in tmp_path.iterdir()]
    assert not any(secret in text for secret in SECRETS for text in outputs)
    assert not any("AKIATESTTESTTESTTEST" in text for text in outputs)


# -- fault injection: the CLI talks to the moto server through a proxy that misbehaves like AWS can -----------

from tests.faultproxy import FaultProxy  # noqa: E402


def statuses(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["rule_id"], f["resource"]["arn"]): f["status"] for f in report["findings"]}


def audit_via(proxy: FaultProxy, out: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    proc = run_cli(proxy.url, "--region", "us-east-1,eu-west-1", "--output", str(out), "--format", "json",
                   "--quiet", *extra)
    return proc.returncode, json.loads((out / "report.json").read_text()), proc.stderr


@pytest.fixture(scope="module")
def clean(server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    port = int(server.rsplit(":", 1)[1])
    with FaultProxy(port, lambda op, n: None) as proxy:
        code, report, _ = audit_via(proxy, tmp_path_factory.mktemp("clean"))
    return code, report


def test_throttling_5xx_and_resets_are_absorbed_by_retries(server: str, clean: tuple[int, dict[str, Any]],
                                                           tmp_path: Path) -> None:
    port = int(server.rsplit(":", 1)[1])

    def flaky(op: str, n: int) -> tuple[Any, ...] | None:
        # about one request in six fails; kept moderate because every retry waits botocore's backoff, and the
        # suite must stay fast
        if n % 13 == 0:
            return ("status", 400, "ThrottlingException")
        if n % 17 == 0:
            return ("status", 503, "ServiceUnavailable")
        if n % 19 == 0:
            return ("reset",)
        return None

    with FaultProxy(port, flaky) as proxy:
        code, report, _ = audit_via(proxy, tmp_path)
    assert len(proxy.faults) > 25 and {f for _, f in proxy.faults} == {"status", "reset"}
    assert report["collection_errors"] == []
    assert statuses(report) == statuses(clean[1]) and code == clean[0]


def test_access_denied_on_one_service_errors_only_what_depends_on_it(server: str, clean: tuple[int, dict[str, Any]],
                                                                     tmp_path: Path) -> None:
    port = int(server.rsplit(":", 1)[1])
    denied = {"DescribeScalableTargets", "DescribeScalingPolicies"}
    with FaultProxy(port, lambda op, n: ("status", 400, "AccessDeniedException") if op in denied else None) as proxy:
        code, report, _ = audit_via(proxy, tmp_path)
    assert code == 3 and report["complete"] is False
    assert {e["code"] for e in report["collection_errors"]} == {"AccessDeniedException"}
    before, now = statuses(clean[1]), statuses(report)
    changed = {k for k in before if before[k] != now.get(k)}
    assert changed and all(now[k] == "error" for k in changed)
    assert {k[0] for k in changed} <= {"SM-04-min-instances", "SM-05-scalable-target", "SM-05-target-tracking"}
    assert all(now[k] != "pass" for k in before if k[0].startswith("SM-05") and before[k] == "pass")


def test_a_call_slower_than_the_read_timeout_becomes_an_error(server: str, tmp_path: Path) -> None:
    port = int(server.rsplit(":", 1)[1])
    with FaultProxy(port, lambda op, n: ("slow", 3) if op == "DescribeScalingPolicies" else None) as proxy:
        code, report, _ = audit_via(proxy, tmp_path, "--read-timeout", "1", "--max-attempts", "2")
    assert code == 3
    assert any(e["operation"] == "describe_scaling_policies" and "timeout" in (e["code"] + e["message"]).lower()
               for e in report["collection_errors"])


@pytest.mark.parametrize("body", ['{"EndpointName": "fraud-', "{}", '{"EndpointName": 42, "EndpointStatus": []}'])
def test_malformed_or_unexpected_responses_make_that_resource_an_error(server: str, tmp_path: Path, body: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    hits = {"n": 0}

    def broken(op: str, n: int) -> tuple[Any, ...] | None:
        if op == "DescribeEndpoint" and hits["n"] < 1:
            hits["n"] += 1
            return ("body", 200, body)
        return None

    with FaultProxy(port, broken) as proxy:
        code, report, stderr = audit_via(proxy, tmp_path, "--max-attempts", "1")
    assert "Traceback" not in stderr
    assert code == 3 and report["collection_errors"]
    endpoint_findings = [f for f in report["findings"] if f["resource"]["type"] == "sagemaker.endpoint"]
    assert any(f["status"] == "error" for f in endpoint_findings)
    assert len({f["resource"]["arn"] for f in endpoint_findings}) == 21  # the other endpoints were still audited


def _seed_member_accounts(url: str) -> list[str]:
    """Two member accounts with one endpoint each, created through roles assumed on the server."""
    s = EndpointSession(url)
    org = s.client("organizations", region_name="us-east-1")
    try:
        org.create_organization(FeatureSet="ALL")
    except org.exceptions.AlreadyInOrganizationException:
        pass
    members = []
    for name in ("shard-a", "shard-b"):
        acct = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        creds = s.client("sts", region_name="us-east-1").assume_role(
            RoleArn=f"arn:aws:iam::{acct}:role/Audit", RoleSessionName="seed")["Credentials"]
        sm = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"]).client("sagemaker", region_name="us-east-1",
                                                                           endpoint_url=url)
        sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=f"arn:aws:iam::{acct}:role/exec",
                        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"})
        sm.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[
            {"VariantName": "main", "ModelName": f"{name}-model", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 2}])
        sm.create_endpoint(EndpointName=f"{name}-endpoint", EndpointConfigName=f"{name}-cfg")
        members.append(acct)
    return members


def test_org_shards_merge_into_the_single_run(own_server: str, tmp_path: Path) -> None:
    server = own_server
    members = _seed_member_accounts(server)
    # --no-history: first_seen and drift depend on each run's own history, not on what was audited
    scope = ("--accounts", "org", "--role-name", "Audit", "--region", "us-east-1", "--format", "json,html", "-q",
             "--no-history")
    whole = run_cli(server, *scope, "--output", str(tmp_path / "whole"), "--workers", "4")
    assert whole.returncode == 3, whole.stderr
    shards = [run_cli(server, *scope, "--shard", f"{i}/3", "--output", str(tmp_path / f"shard{i}")) for i in range(3)]
    assert all(p.returncode in (0, 1, 3) for p in shards), [p.stderr for p in shards]
    merged = run_cli(server, "merge", *(str(tmp_path / f"shard{i}") for i in range(3)), "--output",
                     str(tmp_path / "merged"), "-q", "--no-history")
    assert merged.returncode == whole.returncode, merged.stderr
    a = json.loads((tmp_path / "whole" / "report.json").read_text())
    b = json.loads((tmp_path / "merged" / "report.json").read_text())
    assert set(a["scope"]["accounts"]) == {"123456789012", *members}
    for key in ("findings", "summary", "complete", "collection_errors", "manual_checks"):
        assert a[key] == b[key], key
    assert a["scope"]["accounts"] == b["scope"]["accounts"] and a["scope"]["coverage"] == b["scope"]["coverage"]
    page = (tmp_path / "merged" / "report.html").read_text()
    names = {r[2] for r in html.embedded(page)["resources"]}  # the findings are embedded as compressed data
    assert {"shard-a-endpoint", "shard-b-endpoint"} <= names
    # each shard audited a disjoint part; together, all of it
    parts = [json.loads((tmp_path / f"shard{i}" / "report.json").read_text())["scope"]["coverage"] for i in range(3)]
    assert sorted(c["account"] for p in parts for c in p) == sorted(a["scope"]["accounts"])
    # merging a shard twice is refused: it would count its findings twice
    again = run_cli(server, "merge", str(tmp_path / "whole"), str(tmp_path / "shard0"), str(tmp_path / "shard1"),
                    str(tmp_path / "shard2"), "--output", str(tmp_path / "bad"))
    assert again.returncode == 2 and "must not overlap" in again.stderr


def test_region_all_reads_every_enabled_region(server: str, tmp_path: Path) -> None:
    proc = run_cli(server, "--region", "all", "--output", str(tmp_path), "--format", "json", "-q",
                   "--rules", "SM-04-*")
    doc = json.loads((tmp_path / "report.json").read_text())
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(doc["scope"]["regions"]), proc.stderr
    assert len(doc["scope"]["regions"]) > 10
    # the demo's endpoints in both seeded regions are found; the empty regions add nothing
    names = {f["resource"]["name"].split("/")[0] for f in doc["findings"]}
    assert "fraud-detector-prod-eu" in names and "fraud-detector-prod" in names
