"""`audit undo` / `audit restore`: the journal is data, never instructions; plan, confirm, dry run, order, output."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from auditor import exitcodes
from auditor.cli import main
from auditor.remediate import undo
from auditor.remediate.execute import apply_plan
from auditor.remediate.journal import Journal, read
from auditor.remediate.registry import Call, Plan
from tests.conftest import ACCOUNT, REGION
from tests.history.factories import typed
from tests.remediate.test_journal import rechain
from tests.remediate.test_plan_view import all_rows

BUCKET = "acme-artifacts"
ENDPOINT = "fraud-prod"


def versioning_plan(bucket: str = BUCKET, steps: int = 1) -> Plan:
    call = Call("s3", "put_bucket_versioning", {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}},
                REGION, "enable", (Call("s3", "put_bucket_versioning", {
                    "Bucket": bucket, "VersioningConfiguration": {"Status": "Suspended"}}, REGION, "suspend"),))
    return Plan("SM-02-bucket-versioning", {"arn": f"arn:aws:s3:::{bucket}", "name": bucket, "type": "s3.bucket",
                                            "account": ACCOUNT, "region": REGION},
                "enable-bucket-versioning", f"enable versioning on bucket {bucket}", [call] * steps)


def alarms_plan(*metrics: str) -> Plan:
    calls = [Call("cloudwatch", "put_metric_alarm", {
        "AlarmName": f"{ENDPOINT}-main-{m}", "Namespace": "AWS/SageMaker", "MetricName": m, "Statistic": "Sum",
        "Period": 300, "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"},
        REGION, f"alarm {m}", (Call("cloudwatch", "delete_alarms", {"AlarmNames": [f"{ENDPOINT}-main-{m}"]}, REGION,
                                    f"delete alarm {m}"),)) for m in metrics]
    return Plan("SM-07-error-alarms", {"arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}",
                                       "name": ENDPOINT, "type": "sagemaker.endpoint", "account": ACCOUNT,
                                       "region": REGION}, "create-endpoint-alarms", f"alarms for {ENDPOINT}", calls)


class Recorder:
    """A client factory that records every API call made through it (service:Operation)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, service: str, region: str) -> Any:
        client = boto3.client(service, region_name=region)
        client.meta.events.register("provide-client-params", self._record)
        return client

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((f"{model.service_model.service_name}:{model.name}", dict(params)))


def applied(tmp_path: Path, *plans: Plan) -> Path:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    for p in plans:
        assert apply_plan(p, journal, lambda s, r: boto3.client(s, region_name=r)) == ("applied", None)
    return path


@pytest.fixture
def bucket(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket="prod-data")
    monkeypatch.setenv("AUDITOR_WAIT_DELAY", "0")
    return lambda: str(s3.get_bucket_versioning(Bucket=BUCKET).get("Status"))


def run(path: Path, account: str = ACCOUNT, **kw: Any) -> tuple[int, str, str, Recorder]:
    out, err = io.StringIO(), io.StringIO()
    rec = Recorder()
    code = undo.run(path, undo.UndoOptions(**{"yes": True, **kw}), rec, lambda _r: account,
                    Console(file=out, width=120), Console(file=err, width=120))
    return code, out.getvalue(), err.getvalue(), rec


def edit(path: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    """Tamper as an attacker who rewrites the whole file would: edit, then recompute the chain."""
    recs = read(path)
    change(recs)
    first = {}
    for r in recs:  # every record of a step repeats its call: the attacker keeps them consistent
        if "call" in r:
            r["call"] = first.setdefault((r["change_id"], r["step"]), r["call"])
    path.write_text(rechain(recs))


def _undo_of_step0(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded undo calls of step 0 (in the step-pending record, which undo reads)."""
    return next(r for r in recs if r["event"] == "step-pending")["call"]["undo"]  # type: ignore[no-any-return]


HOSTILE = {
    "an undo that creates an IAM user": lambda recs: _undo_of_step0(recs).__setitem__(0, {
        "service": "iam", "operation": "create_user", "params": {"UserName": "eve"}, "region": REGION,
        "description": "x"}),
    "an undo on another bucket": lambda recs: _undo_of_step0(recs)[0]["params"].__setitem__("Bucket", "prod-data"),
    "an undo in another region": lambda recs: _undo_of_step0(recs)[0].__setitem__("region", "eu-west-1"),
    "an undo with an extra parameter": lambda recs: _undo_of_step0(recs)[0]["params"].__setitem__(
        "ExpectedBucketOwner", "999999999999"),
    "an undo that enables instead of suspending": lambda recs: _undo_of_step0(recs)[0]["params"].__setitem__(
        "VersioningConfiguration", {"Status": "Enabled", "MFADelete": "Disabled"}),
    "an undeclared forward call": lambda recs: [r["call"].__setitem__("operation", "delete_object") for r in recs
                                                if "call" in r],
    "an unknown remediator": lambda recs: recs[0].__setitem__("remediator", "shell"),
    "a resource in another account": lambda recs: recs[0]["resource"].__setitem__("account", "999999999999"),
    "a delete of an endpoint as undo": lambda recs: _undo_of_step0(recs).append({
        "service": "sagemaker", "operation": "delete_endpoint", "params": {"EndpointName": "prod"},
        "region": REGION, "description": "x"}),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_an_edited_journal_is_refused_before_any_call(bucket: Callable[[], str], tmp_path: Path,
                                                      attack: str) -> None:
    path = applied(tmp_path, versioning_plan())
    edit(path, HOSTILE[attack])
    code, out, err, rec = run(path)
    assert code == exitcodes.INVALID_INPUT, (out, err)
    assert rec.calls == [] and bucket() == "Enabled"
    assert "refused" in err and "nothing was run" in err and str(path) in err


def test_the_cli_refuses_a_tampered_journal_with_the_line_and_exit_2(bucket: Callable[[], str], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = applied(tmp_path, versioning_plan())
    edit(path, HOSTILE["an undo on another bucket"])
    assert main(["undo", str(path), "--yes"]) == exitcodes.INVALID_INPUT
    err = capsys.readouterr().err
    assert f"{path}:2:" in " ".join(err.split()) and "Bucket='prod-data'" in err
    path.write_text(path.read_text().replace("prod-data", BUCKET, 1))  # a naive edit: the chain catches it
    assert main(["undo", str(path), "--yes"]) == exitcodes.INVALID_INPUT
    assert "does not follow" in capsys.readouterr().err and bucket() == "Enabled"


def test_a_journal_from_another_account_is_refused(bucket: Callable[[], str], tmp_path: Path) -> None:
    path = applied(tmp_path, versioning_plan())
    code, _, err, rec = run(path, account="999999999999")
    assert code == exitcodes.INVALID_INPUT and rec.calls == [] and "999999999999" in err


def test_undo_reverses_multi_step_changes_newest_first(bucket: Callable[[], str], tmp_path: Path) -> None:
    path = applied(tmp_path, alarms_plan("Invocation5XXErrors", "Invocation4XXErrors"), alarms_plan("ModelLatency"))
    code, out, _, rec = run(path)
    assert code == exitcodes.OK, out
    deleted = [p["AlarmNames"][0].split("-")[-1] for op, p in rec.calls if op == "cloudwatch:DeleteAlarms"]
    # the newest change first, and within a change its last step first
    assert deleted == ["ModelLatency", "Invocation4XXErrors", "Invocation5XXErrors"]
    assert boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"] == []


def test_dry_run_shows_the_full_plan_and_changes_nothing(bucket: Callable[[], str], tmp_path: Path) -> None:
    path = applied(tmp_path, versioning_plan())
    before = path.read_bytes()
    code, out, _, rec = run(path, dry_run=True)
    assert code == exitcodes.OK and rec.calls == [] and bucket() == "Enabled" and path.read_bytes() == before
    flat = " ".join(out.split())
    for text in ("Undo plan", ACCOUNT, REGION, "nothing was changed"):
        assert text in flat, text
    # the same table as the remediation plan: the call by its AWS name, every parameter whole
    [row] = all_rows(out, "PutBucketVersioning")
    change, account, region, resource, call, params = ("".join(cell) for cell in row)
    assert (account, region, resource) == (ACCOUNT, REGION, BUCKET) and "enable-bucket-versioning" in change
    assert call.startswith("1.s3:PutBucketVersioning") and "# undo of step 1" in call and call.endswith("suspend")
    assert json.loads(params) == {"Bucket": BUCKET, "VersioningConfiguration": {"Status": "Suspended"}}


def test_no_tty_and_no_yes_is_refused_with_its_own_exit_code(bucket: Callable[[], str], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = applied(tmp_path, versioning_plan())
    assert main(["undo", str(path)]) == exitcodes.REFUSED
    assert "pass --yes" in capsys.readouterr().err and bucket() == "Enabled"


def test_undo_says_already_undone_and_prints_the_reason_of_a_failure(bucket: Callable[[], str],
                                                                     tmp_path: Path) -> None:
    path = applied(tmp_path, versioning_plan(), versioning_plan("prod-data"))
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_bucket(Bucket="prod-data")  # its undo will fail
    code, out, _, _ = run(path)
    flat = " ".join(out.split())
    assert code == exitcodes.INCOMPLETE and bucket() == "Suspended"
    assert "FAILED to undo" in flat and "NoSuchBucket" in flat and "undone:" in flat
    code, out, _, rec = run(path, changes=[read(path)[0]["change_id"]])
    assert code == exitcodes.OK and rec.calls == [] and "already undone" in out


def test_hostile_text_in_a_journal_reaches_the_terminal_cleaned(bucket: Callable[[], str], tmp_path: Path) -> None:
    path = applied(tmp_path, versioning_plan())
    evil = "\x1b]0;pwned\x07\x1b[2J\u202eexe.txt\x00[bold red]loud[/]"

    def inject(recs: list[dict[str, Any]]) -> None:
        recs[0]["description"] = evil
        _undo_of_step0(recs)[0]["description"] = evil

    edit(path, inject)
    for dry in (True, False):
        code, out, err, _ = run(path, dry_run=dry)
        assert code == exitcodes.OK and "exe.txt" in out
        for bad in ("\x1b", "\x07", "\u202e", "\x00"):
            assert bad not in out + err
    assert "[bold red]loud[/]" in out  # markup printed literally, not interpreted


def test_a_step_whose_records_disagree_is_refused(bucket: Callable[[], str], tmp_path: Path) -> None:
    path = applied(tmp_path, versioning_plan())
    recs = read(path)
    _undo_of_step0(recs)[0]["params"]["Bucket"] = "prod-data"  # only the step-pending copy
    path.write_text(rechain(recs))
    code, _, err, rec = run(path)
    assert code == exitcodes.INVALID_INPUT and rec.calls == [] and "records a different call" in err


def test_a_plan_with_an_undeclared_call_is_refused_before_it_runs(bucket: Callable[[], str], tmp_path: Path) -> None:
    plan = versioning_plan()
    plan.calls.append(Call("s3", "put_bucket_tagging", {"Bucket": BUCKET, "Tagging": {"TagSet": []}}, REGION, "tag"))
    rec = Recorder()
    status, why = apply_plan(plan, Journal(tmp_path / "j.jsonl"), rec)
    assert status == "failed" and "s3:put_bucket_tagging is not a call remediator" in str(why)
    assert rec.calls == [] and bucket() == "None"


def test_a_journal_in_s3_is_written_by_remediation_and_read_by_undo(bucket: Callable[[], str], tmp_path: Path) -> None:
    from auditor.engine.config import Config
    from auditor.engine.loader import load_rules
    from auditor.remediate.flow import RemediationOptions, remediate
    from tests.remediate.test_selection import finding, graph

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="journals")
    doc = {"findings": [finding("SM-07-error-alarms", "fail", "create-endpoint-alarms")]}
    out = io.StringIO()
    changes = remediate(typed(doc), load_rules(), Config(),
                        graph(), RemediationOptions(yes=True, journal=Path("s3://journals/nightly")),
                        lambda s, r: boto3.client(s, region_name=r), Console(file=out, width=120), quiet=True).changes
    assert [c.outcome for c in changes] == ["applied"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="journals")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("nightly/remediation-journal-") and keys[0].endswith(".jsonl")
    assert not list(tmp_path.iterdir()) and not Path("remediation-journal.jsonl").exists()  # nothing local
    cw = boto3.client("cloudwatch", region_name=REGION)
    assert len(cw.describe_alarms()["MetricAlarms"]) == 2
    assert main(["undo", f"s3://journals/{keys[0]}", "--yes"]) == exitcodes.OK
    assert cw.describe_alarms()["MetricAlarms"] == []
    body = s3.get_object(Bucket="journals", Key=keys[0])["Body"].read().decode()
    assert body.count('"event": "undo-done"') == 2  # undo recorded itself in the same object, chain intact
    assert main(["undo", f"s3://journals/{keys[0]}", "--yes"]) == exitcodes.OK  # already undone: reads it again


def test_undo_refuses_when_the_credentials_account_cannot_be_read(bucket: Callable[[], str], tmp_path: Path) -> None:
    from botocore.exceptions import NoCredentialsError

    path = applied(tmp_path, versioning_plan())

    def no_credentials(_region: str) -> str:
        raise NoCredentialsError

    err = io.StringIO()
    code = undo.run(path, undo.UndoOptions(yes=True), Recorder(), no_credentials, Console(file=io.StringIO()),
                    Console(file=err, width=200))
    assert code == exitcodes.NO_CREDENTIALS and "nothing was run" in err.getvalue() and bucket() == "Enabled"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer, code, status", [("no\n", exitcodes.REFUSED, "Enabled"),
                                                  ("yes\n", exitcodes.OK, "Suspended")])
def test_the_prompt_names_account_region_and_count_and_only_yes_proceeds(
        bucket: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, code: int,
        status: str) -> None:
    path = applied(tmp_path, versioning_plan())
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    got, out, err, _ = run(path, yes=False)
    assert got == code and bucket() == status
    assert f"Run 1 call(s) in account(s) {ACCOUNT}, region(s) {REGION}?" in out
