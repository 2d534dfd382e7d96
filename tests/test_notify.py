"""Notifications: one concise message (SNS via moto, a Slack-compatible webhook on 127.0.0.1) only when a human is
needed; counts and the worst new findings, never every finding, never a secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.cli import main
from auditor.notify import NotifyError, compose, parse_target, reasons, slack_text
from tests.history.factories import finding, report, typed

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"


class Hook:
    """A local webhook: records each POSTed JSON body; answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "snap.json"
    assert main(["snapshot", "--demo", "--output", str(path), "--quiet"]) == 0
    return path


def test_targets_parse_and_a_webhook_is_named_without_its_secret_path() -> None:
    t = parse_target("webhook:https://hooks.slack.com" + SECRET_PATH)
    assert t.label == "webhook:https://hooks.slack.com" and "secret" not in t.label
    assert parse_target("sns:arn:aws:sns:eu-west-1:123456789012:audit").kind == "sns"
    for bad in ("sns:not-an-arn", "webhook:ftp://x/y", "email:me@example.com", "webhook:https://"):
        with pytest.raises(NotifyError, match="allowed sns:arn:aws:sns"):
            parse_target(bad)


def test_message_has_counts_and_at_most_five_worst_new_findings() -> None:
    fs = [finding(f"low{i}", severity="low") for i in range(6)] + [finding("crit", severity="critical"),
                                                                   finding("old")]
    doc = report(fs)
    for f in doc["findings"]:
        f["drift"] = "still_failing" if f["resource"]["name"] == "old" else "new"
    doc["drift"] = {"since": "2026-11-24T02:00:00Z"}
    subject, text = compose(typed(doc), None, "/srv/audit/report.html")
    lines = text.splitlines()
    assert lines[0] == "sagemaker-auditor: 7 new violation(s) since 2026-11-24T02:00:00Z"
    assert "fail 8 (critical 1, high 1, low 6)" in text  # worst first, in the Severity order
    worst = [ln for ln in lines if ln.startswith("- ")]
    assert len(worst) == 5 and worst[0].startswith("- [critical] SM-04-min-instances: crit")
    assert "old" not in text and lines[-1] == "report: /srv/audit/report.html"
    assert subject == "sagemaker-auditor: 7 new"


def test_quiet_when_nothing_is_new_and_the_audit_is_complete() -> None:
    doc = report([finding("a")])
    doc["findings"][0]["drift"] = "still_failing"
    assert reasons(typed(doc), None) == []
    assert reasons(typed(report([finding("a", "pass")], complete=False)), None) == ["incomplete"]
    assert reasons(None, "RuntimeError") == ["failed"]


def test_names_cannot_ping_a_channel_or_break_the_terminal() -> None:
    doc = report([finding("<!channel> & <https://evil|click>\x1b[31m")])
    doc["findings"][0]["drift"] = "new"
    text = slack_text(compose(typed(doc), None, None)[1])
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text and "\x1b" not in text


def test_sns_gets_one_message_for_new_violations_and_none_the_night_after(aws: None, snap: Path,
                                                                         tmp_path: Path) -> None:
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="audit")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    args = ["--snapshot", str(snap), "--quiet", "--rules", "SM-06-*,SM-13-*", "--format", "json",
            "--output", str(tmp_path / "out"), "--notify", f"sns:{topic}"]
    assert main(args) == 1
    msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 1
    body = json.loads(msgs[0]["Body"])
    assert body["Subject"].startswith("sagemaker-auditor: ") and "new violation(s)" in body["Message"]
    assert f"report: {(tmp_path / 'out' / 'report.json').resolve()}" in body["Message"]
    assert "do-not-leak" not in body["Message"] and "AKIA" not in body["Message"]
    report_doc = json.loads((tmp_path / "out" / "report.json").read_text())
    fails = report_doc["summary"]["by_status"]["fail"]
    assert fails > 5 and f"worst new (5 of {fails}):" in body["Message"]  # never every finding
    assert len(body["Message"].splitlines()) == 10  # 3 lines of counts, 1 + 5 worst, the report
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=msgs[0]["ReceiptHandle"])
    assert main(args) == 1  # same violations the next night: nothing new, complete, so no message
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)


def test_webhook_gets_slack_json_and_a_failed_delivery_exits_4_when_otherwise_compliant(
        hook: Hook, snap: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--snapshot", str(snap), "--rules", "SM-06-*,SM-13-*", "--format", "json", "--fail-on", "critical",
            "--output", str(tmp_path / "out"), "--notify", f"webhook:{hook.url}"]
    assert main(args) == 0  # violations below --fail-on: compliant, yet new, so worth a message
    [body] = hook.bodies
    assert set(body) == {"text"} and "new violation(s)" in body["text"]
    hook.status = 500
    assert main([*args, "--history", str(tmp_path / "fresh.sqlite3")]) == 4  # fresh history: new again
    out = capsys.readouterr()
    assert "notification failed: webhook:http://127.0.0.1: HTTP 500" in out.err
    assert "secret" not in out.out + out.err


def test_a_failed_audit_is_notified(hook: Hook, snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    import auditor.engine.evaluator as evaluator

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire, token=abc123")

    monkeypatch.setattr(evaluator, "evaluate_rules", broken)
    code = main(["--snapshot", str(snap), "--quiet", "--output", str(tmp_path / "o"), "--notify",
                 f"webhook:{hook.url}"])
    assert code == 8  # an unexpected failure: one line on stderr and its own exit code
    [body] = hook.bodies
    assert body["text"] == "sagemaker-auditor: the audit FAILED (RuntimeError); no report was produced"
