"""Request limits: the token bucket (on a fake clock, no timing), adaptive cuts, resolution of audit.yaml keys."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from auditor.engine.config import load_config
from auditor.limits import DEFAULTS, Limit, Limits, TokenBucket, parse_overrides
from auditor.session import SessionFactory
from auditor.yamlsafe import InputError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(rate: float | None, burst: float | None = None) -> tuple[TokenBucket, Clock]:
    clock = Clock()
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep), clock


def test_a_bucket_lets_its_burst_through_then_paces_at_its_rate() -> None:
    b, clock = bucket(rate=2.0, burst=2.0)
    assert [b.reserve() for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]  # reservations queue in arrival order
    clock.now += 1.0  # two tokens refilled, both already promised
    assert b.reserve() == pytest.approx(0.5)


def test_acquire_sleeps_what_the_reservation_says() -> None:
    b, clock = bucket(rate=4.0, burst=1.0)
    b.acquire()
    b.acquire()
    assert clock.slept == [0.25]


def test_tokens_never_pile_up_beyond_the_burst() -> None:
    b, clock = bucket(rate=10.0)  # burst defaults to one second's worth
    clock.now += 3600
    assert sum(1 for _ in range(12) if b.reserve() == 0.0) == 10


def test_an_unlimited_bucket_never_waits_until_aws_throttles() -> None:
    b, clock = bucket(rate=None)
    assert all(b.reserve() == 0.0 for _ in range(1000))
    assert b.rate is None


def test_the_first_throttle_halves_what_was_sent_when_no_second_has_been_measured() -> None:
    b, clock = bucket(rate=None)
    for _ in range(32):  # a burst of 32 calls at once
        b.reserve()
    for _ in range(20):
        b.succeeded()
    b.throttled()
    assert b.rate == pytest.approx(16.0)  # 32 sent in the window / 2; the successes say nothing yet


def test_a_later_throttle_sets_the_rate_just_under_what_aws_accepted() -> None:
    b, clock = bucket(rate=None)
    b.reserve()
    clock.now += 1.5  # more than a window of traffic seen
    for _ in range(20):
        b.reserve()
        b.succeeded()
    b.throttled()
    assert b.rate == pytest.approx(19.0)  # 95 % of 20 accepted in the last second


def test_the_calls_throttled_together_cut_the_rate_once() -> None:
    b, clock = bucket(rate=40.0)
    clock.now += 2
    for _ in range(20):
        b.succeeded()
    b.throttled()
    first = b.rate
    for _ in range(10):
        b.throttled()
    assert b.rate == first == pytest.approx(19.0) and b.throttles == 11


def test_after_a_quiet_second_the_rate_grows_but_never_above_a_configured_rate() -> None:
    b, clock = bucket(rate=20.0)
    clock.now += 2
    for _ in range(10):
        b.succeeded()
    b.throttled()
    assert b.rate == pytest.approx(9.5)
    clock.now += 1.0  # the window after the cut: no growth yet
    b.reserve()
    assert b.rate == pytest.approx(9.5)
    clock.now += 1.0
    b.reserve()
    assert b.rate == pytest.approx(9.5 * 1.05)
    clock.now += 60.0
    b.reserve()
    assert b.rate == pytest.approx(20.0)  # capped at what audit.yaml (or the default) allows


def test_limits_resolve_api_then_prefix_then_service_then_default() -> None:
    lim = Limits(parse_overrides({"sagemaker:Describe*": {"rate": 20}, "sagemaker:DescribeModel": {"rate": 5},
                                  "s3": {"in_flight": 16}}))
    assert lim.resolve("sagemaker", "DescribeEndpoint") == ("sagemaker", DEFAULTS["sagemaker"].in_flight, 20, None)
    assert lim.resolve("sagemaker", "DescribeModel")[2] == 5
    assert lim.resolve("sagemaker", "ListEndpoints")[2] is None  # SageMaker publishes no rate: none by default
    assert lim.resolve("s3", "HeadObject") == ("s3", 16, 5500.0, None)  # in_flight overridden, rate kept
    assert lim.resolve("ec2", "DescribeSubnets") == ("ec2", 8, 20.0, 100.0)
    assert lim.resolve("kms", "DescribeKey") == ("kms", DEFAULTS["*"].in_flight, None, None)


def test_an_api_with_its_own_in_flight_gets_its_own_semaphore() -> None:
    lim = Limits(parse_overrides({"sagemaker:Search": {"in_flight": 2}}))
    assert lim._semaphore("r", "sagemaker", "DescribeEndpoint") is lim._semaphore("r", "sagemaker", "ListTags")
    assert lim._semaphore("r", "sagemaker", "Search") is not lim._semaphore("r", "sagemaker", "ListTags")
    assert lim._semaphore("eu-west-1", "sagemaker", "ListTags") is not lim._semaphore("r", "sagemaker", "ListTags")
    assert lim.bucket("r", "sagemaker", "DescribeEndpoint") is not lim.bucket("r", "sagemaker", "DescribeModel")


def test_a_throttled_attempt_reaches_its_api_bucket_through_the_session_hook() -> None:
    factory = SessionFactory(region="us-east-1")
    op = boto3.client("sagemaker", region_name="us-east-1").meta.service_model.operation_model("DescribeEndpoint")

    class Http:
        status_code = 400

    ctx: dict[str, Any] = {"context": {"client_region": "eu-west-1"}}
    for _ in range(4):
        factory.limits.bucket("eu-west-1", "sagemaker", "DescribeEndpoint").reserve()
    factory._on_attempt(operation=op, request_dict=ctx, response=(Http(), {"Error": {"Code": "ThrottlingException"}}))
    b = factory.limits.bucket("eu-west-1", "sagemaker", "DescribeEndpoint")
    assert b.throttles == 1 and b.rate is not None
    assert factory.limits.bucket("us-east-1", "sagemaker", "DescribeEndpoint").throttles == 0


def test_clients_retry_in_standard_mode_with_no_client_wide_rate_limiter() -> None:
    """Throttling is AWS's per API, and so are our buckets. botocore's adaptive mode adds a limiter per client: one
    throttled API (DescribeEndpoint) slowed every other API of the service (DescribeEndpointConfig, Model
    Monitor's describes). Measured with bench/scale.py --throttle 20 at 500 endpoints: 1.36 x the floor with
    adaptive mode, 1.09 x with standard retries behind our buckets."""
    from moto import mock_aws

    with mock_aws():
        client = SessionFactory(region="us-east-1", max_attempts=5).client("sagemaker")
        assert client.meta.config.retries["mode"] == "standard"
        assert client.meta.config.retries["total_max_attempts"] == 6  # botocore counts the first attempt too
        before_send = client.meta.events._emitter._handlers.prefix_search("before-send.sagemaker.DescribeEndpoint")
        owners = {type(getattr(h, "__self__", None)).__module__ for h in before_send}
        assert "botocore.retries.adaptive" not in owners  # adaptive mode's ClientRateLimiter would be here


def test_assumed_role_factories_keep_the_configured_limits() -> None:
    factory = SessionFactory(region="us-east-1")
    factory.limits.configure({"sagemaker": Limit(in_flight=3)})
    child = factory.assumed("arn:aws:iam::210987654321:role/Audit")
    assert child.limits.resolve("sagemaker", "DescribeEndpoint")[1] == 3
    assert child.limits is not factory.limits  # AWS's quotas are per account


def test_audit_yaml_limits_are_validated(tmp_path: Any) -> None:
    good = tmp_path / "audit.yaml"
    good.write_text("limits:\n  sagemaker: {in_flight: 16}\n  'sagemaker:Describe*': {rate: 20, burst: 5}\n")
    assert load_config(good).limits == {"sagemaker": {"in_flight": 16}, "sagemaker:Describe*": {"rate": 20, "burst": 5}}
    for bad in ("limits:\n  sagemaker: {inflight: 16}\n", "limits:\n  sagemaker: {rate: 0}\n",
                "limits:\n  'Sage Maker': {rate: 1}\n", "limits:\n  sagemaker: {}\n"):
        good.write_text(bad)
        with pytest.raises(InputError):
            load_config(good)
