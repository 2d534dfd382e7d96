"""Applying a plan call by call, rolling back newest first, and which errors count as "already so" (no AWS:
a recording fake client, so every call, its order and its arguments are visible)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auditor.remediate.execute import GONE, apply_plan, error_code, rollback, run_call, undo_change
from auditor.remediate.inverse import UndoStep
from auditor.remediate.journal import Journal, read
from auditor.remediate.registry import WAIT, Call, Plan
from tests.conftest import ACCOUNT, REGION

ENDPOINT = "fraud-prod"


def client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


class Fake:
    """A client factory: every client records (service, region, operation, params) in one shared list; `fail`
    maps an operation to the exceptions its successive calls raise (None: that call succeeds)."""

    def __init__(self, **fail: list[BaseException | None]) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, service: str, region: str) -> Any:
        fake = self

        class Client:
            def __getattr__(self, op: str) -> Any:
                def call(**params: Any) -> dict[str, Any]:
                    fake.calls.append((service, region, op, params))
                    queue = fake.fail.get(op) or []
                    exc = queue.pop(0) if queue else None
                    if exc is not None:
                        raise exc
                    return {}
                return call

            def get_waiter(self, name: str) -> Any:
                class Waiter:
                    def wait(self, **params: Any) -> None:
                        fake.calls.append((service, region, f"wait:{name}", params))
                return Waiter()

        return Client()

    def ops(self) -> list[str]:
        return [op for _, _, op, _ in self.calls]


def alarm(metric: str) -> Call:
    name = f"{ENDPOINT}-main-{metric}"
    return Call("cloudwatch", "put_metric_alarm", {
        "AlarmName": name, "Namespace": "AWS/SageMaker", "MetricName": metric, "Statistic": "Sum", "Period": 300,
        "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}, REGION,
        f"alarm {metric}", (Call("cloudwatch", "delete_alarms", {"AlarmNames": [name]}, REGION, f"delete {metric}"),))


def alarms_plan(*metrics: str, run_id: str | None = None) -> Plan:
    return Plan("SM-07-error-alarms", {"arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}",
                                       "name": ENDPOINT, "type": "sagemaker.endpoint", "account": ACCOUNT,
                                       "region": REGION}, "create-endpoint-alarms", f"alarms for {ENDPOINT}",
                [alarm(m) for m in metrics], before={"alarms": []}, change_id="c-1", notes=["a note"], run_id=run_id)


def events(path: Path) -> list[tuple[str, Any]]:
    return [(r["event"], r.get("step")) for r in read(path)]


def test_error_code_is_the_aws_code_or_the_exception_class() -> None:
    assert error_code(client_error("ThrottlingException")) == "ThrottlingException"
    assert error_code(ClientError({}, "Op")) == "Unknown"  # an answer without an Error block
    assert error_code(TimeoutError("slow")) == "TimeoutError"


def test_run_call_calls_the_operation_on_a_client_for_its_service_and_region() -> None:
    fake = Fake()
    run_call(fake, Call("s3", "put_bucket_versioning", {"Bucket": "b"}, "eu-west-1", "d"))
    assert fake.calls == [("s3", "eu-west-1", "put_bucket_versioning", {"Bucket": "b"})]


def test_run_call_tolerates_only_the_calls_own_ok_errors_and_the_given_ones() -> None:
    call = Call("cloudwatch", "delete_alarms", {}, REGION, "d", ok_errors=("ResourceNotFound",))
    run_call(Fake(delete_alarms=[client_error("ResourceNotFound")]), call)
    run_call(Fake(delete_alarms=[client_error("Gone")]), call, tolerate=("Gone",))
    with pytest.raises(ClientError):
        run_call(Fake(delete_alarms=[client_error("AccessDenied")]), call, tolerate=("Gone",))
    with pytest.raises(ClientError):  # a plain call tolerates nothing
        run_call(Fake(delete_alarms=[client_error("ResourceNotFound")]), Call("cloudwatch", "delete_alarms", {},
                                                                            REGION, "d"))


@pytest.mark.parametrize(("delay", "config"), [(None, {"Delay": 15, "MaxAttempts": 240}),
                                               ("0", {"Delay": 0, "MaxAttempts": 3600}),
                                               ("7", {"Delay": 7, "MaxAttempts": 514}),
                                               ("7200", {"Delay": 7200, "MaxAttempts": 1})])
def test_a_wait_call_polls_its_waiter_for_at_most_an_hour(monkeypatch: pytest.MonkeyPatch, delay: str | None,
                                                          config: dict[str, int]) -> None:
    if delay is None:
        monkeypatch.delenv("AUDITOR_WAIT_DELAY", raising=False)
    else:
        monkeypatch.setenv("AUDITOR_WAIT_DELAY", delay)
    fake = Fake()
    params = {"waiter": "endpoint_in_service", "EndpointName": ENDPOINT}
    run_call(fake, Call("sagemaker", WAIT, params, REGION, "wait"))
    assert fake.calls == [("sagemaker", REGION, "wait:endpoint_in_service",
                           {"EndpointName": ENDPOINT, "WaiterConfig": config})]
    assert params == {"waiter": "endpoint_in_service", "EndpointName": ENDPOINT}  # the plan's call is not consumed


def test_an_applied_plan_journals_the_plan_then_each_step_before_and_after(tmp_path: Path) -> None:
    fake, path = Fake(), tmp_path / "j.jsonl"
    plan = alarms_plan("Invocation4XXErrors", "Invocation5XXErrors", run_id="run-9")
    assert apply_plan(plan, Journal(path), fake) == ("applied", None)
    assert fake.ops() == ["put_metric_alarm", "put_metric_alarm"]
    assert [c[3]["MetricName"] for c in fake.calls] == ["Invocation4XXErrors", "Invocation5XXErrors"]
    recs = read(path)
    assert events(path) == [("planned", None), ("step-pending", 0), ("step-done", 0), ("step-pending", 1),
                            ("step-done", 1)]
    planned = recs[0]
    assert {k: planned[k] for k in ("change_id", "rule_id", "resource", "remediator", "description", "before",
                                    "notes", "run_id")} == {
        "change_id": "c-1", "rule_id": "SM-07-error-alarms", "resource": plan.resource,
        "remediator": "create-endpoint-alarms", "description": f"alarms for {ENDPOINT}", "before": {"alarms": []},
        "notes": ["a note"], "run_id": "run-9"}
    assert [Call.from_dict(c) for c in planned["calls"]] == plan.calls  # with each call's undo
    assert plan.calls[0].undo
    assert all(r["change_id"] == "c-1" for r in recs)
    assert [Call.from_dict(r["call"]) for r in recs[1:]] == [plan.calls[0]] * 2 + [plan.calls[1]] * 2


def test_a_plan_without_a_run_id_journals_none(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    assert apply_plan(alarms_plan("Invocation4XXErrors"), Journal(path), Fake())[0] == "applied"
    assert "run_id" not in read(path)[0]


def test_a_plan_the_remediator_does_not_declare_is_refused_before_any_call_or_record(tmp_path: Path) -> None:
    plan = alarms_plan("Invocation4XXErrors")
    plan.calls.append(Call("cloudwatch", "delete_dashboards", {"DashboardNames": ["x"]}, REGION, "not declared"))
    fake, path = Fake(), tmp_path / "j.jsonl"
    status, why = apply_plan(plan, Journal(path), fake)
    assert status == "failed" and str(why).startswith("not applied: cloudwatch:delete_dashboards is not a call")
    assert fake.calls == [] and not path.exists()


def test_a_failed_step_rolls_back_the_done_steps_newest_first(tmp_path: Path) -> None:
    fake = Fake(put_metric_alarm=[None, None, client_error("LimitExceeded", "too many alarms")])
    path = tmp_path / "j.jsonl"
    status, why = apply_plan(alarms_plan("A", "B", "C"), Journal(path), fake)
    assert (status, why) == ("failed", "step 3 (put_metric_alarm) failed: LimitExceeded: An error occurred "
                             "(LimitExceeded) when calling the Op operation: too many alarms; earlier steps rolled back")
    assert [(op, p.get("AlarmNames")) for _, _, op, p in fake.calls[3:]] == [
        ("delete_alarms", [f"{ENDPOINT}-main-B"]), ("delete_alarms", [f"{ENDPOINT}-main-A"])]
    assert events(path)[-4:] == [("step-pending", 2), ("step-failed", 2), ("undo-done", 1), ("undo-done", 0)]
    failed = read(path)[-3]
    assert failed["error"].startswith("LimitExceeded: ") and failed["call"]["params"]["MetricName"] == "C"


def test_a_rollback_that_fails_says_so(tmp_path: Path) -> None:
    fake = Fake(put_metric_alarm=[None, client_error("Throttling")], delete_alarms=[client_error("AccessDenied")])
    status, why = apply_plan(alarms_plan("A", "B"), Journal(tmp_path / "j.jsonl"), fake)
    assert status == "failed" and str(why).endswith("; ROLLBACK INCOMPLETE: see journal")
    assert str(why).startswith("step 2 (put_metric_alarm) failed: Throttling: ")
    assert events(tmp_path / "j.jsonl")[-1] == ("undo-failed", 0)


def test_an_interrupt_is_journalled_and_not_rolled_back(tmp_path: Path) -> None:
    fake, path = Fake(put_metric_alarm=[None, KeyboardInterrupt()]), tmp_path / "j.jsonl"
    with pytest.raises(KeyboardInterrupt):
        apply_plan(alarms_plan("A", "B"), Journal(path), fake)
    assert fake.ops() == ["put_metric_alarm", "put_metric_alarm"]  # no delete: the step may or may not have applied
    assert events(path)[-2:] == [("step-pending", 1), ("interrupted", 1)]
    assert read(path)[-1]["note"] == "interrupted while this call was in flight: it may or may not have applied"


def step(i: int, *undo: Call) -> UndoStep:
    return UndoStep(i, Call("s", f"forward{i}", {}, REGION, "f"), undo)


def test_rollback_runs_every_step_newest_first_whatever_order_it_is_given(tmp_path: Path) -> None:
    fake, path = Fake(), tmp_path / "j.jsonl"
    steps = [step(0, Call("s", "put_a", {}, REGION, "")), step(2, Call("s", "put_c1", {}, REGION, ""),
                                                                Call("s", "put_c2", {}, REGION, "")),
             step(1, Call("s", "put_b", {}, REGION, ""))]
    assert rollback("c", steps, Journal(path), fake) == []
    assert fake.ops() == ["put_c1", "put_c2", "put_b", "put_a"]
    assert events(path) == [("undo-done", 2), ("undo-done", 1), ("undo-done", 0)]
    assert undo_change("c-9", steps, Journal(tmp_path / "k.jsonl"), fake) == []
    assert fake.ops()[4:] == ["put_c1", "put_c2", "put_b", "put_a"]
    assert {r["change_id"] for r in read(tmp_path / "k.jsonl")} == {"c-9"}


@pytest.mark.parametrize("op", ["delete_alarms", "deregister_scalable_target"])
@pytest.mark.parametrize("code", GONE)
def test_undoing_a_delete_of_what_is_already_gone_succeeds(tmp_path: Path, op: str, code: str) -> None:
    fake = Fake(**{op: [client_error(code)]})
    assert rollback("c", [step(0, Call("s", op, {}, REGION, ""))], Journal(tmp_path / "j.jsonl"), fake) == []


def test_a_gone_error_on_an_undo_that_is_not_a_delete_is_a_failure(tmp_path: Path) -> None:
    fake = Fake(put_a=[client_error("ValidationException", "x" * 600)])
    path = tmp_path / "j.jsonl"
    errors = rollback("c", [step(0, Call("s", "put_a", {}, REGION, ""))], Journal(path), fake)
    assert len(errors) == 1 and errors[0].startswith("step 1 (put_a): ValidationException: ")
    assert len(errors[0]) == len("step 1 (put_a): ") + 500  # the AWS message is cut at 500 characters
    rec = read(path)[-1]
    assert (rec["event"], rec["step"], rec["call"]["operation"], rec["change_id"]) == ("undo-failed", 0, "put_a", "c")
    assert len(rec["error"]) == 500


def test_a_failed_undo_call_stops_its_step_but_not_the_other_steps(tmp_path: Path) -> None:
    fake, path = Fake(put_b1=[client_error("AccessDenied")]), tmp_path / "j.jsonl"
    steps = [step(0, Call("s", "put_a", {}, REGION, "")),
             step(1, Call("s", "put_b1", {}, REGION, ""), Call("s", "put_b2", {}, REGION, ""))]
    errors = rollback("c", steps, Journal(path), fake)
    assert fake.ops() == ["put_b1", "put_a"]  # put_b2 is skipped: it may depend on put_b1
    assert [e.split(":")[0] for e in errors] == ["step 2 (put_b1)"]
    assert events(path) == [("undo-failed", 1), ("undo-done", 0)]
