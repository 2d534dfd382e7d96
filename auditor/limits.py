"""Per-service concurrency and per-API client-side rate limits, shaped after AWS's documented request quotas."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    """in_flight: calls at once per account-region (None: inherit); rate: requests per second per API (None: no
    client-side rate until AWS throttles, then the measured accepted rate); burst: tokens a bucket may hold."""

    in_flight: int | None = None
    rate: float | None = None
    burst: float | None = None


# Keys are "service" (the boto3 client name), "service:Operation" (an API, which then overrides its service) or
# "service:Prefix*" (every API of the service whose name starts so, e.g. sagemaker:Describe*).
# AWS's request quotas are per account and Region, so every limit applies per account-region. Where AWS publishes
# no rate the default has none: calls are capped only by in-flight, and the first ThrottlingException turns on
# a bucket at the rate AWS was measured to accept (see TokenBucket.throttled); botocore's standard retries
# (exponential backoff with jitter) send the throttled attempt again.
DEFAULTS: dict[str, Limit] = {
    # Any service not named below.
    "*": Limit(in_flight=8),
    # SageMaker publishes no control-plane request rates ("Amazon SageMaker endpoints and quotas",
    # docs.aws.amazon.com/general/latest/gr/sagemaker.html, lists resource quotas only): 32 in flight, no rate.
    "sagemaker": Limit(in_flight=32),
    # S3: "at least 5,500 GET/HEAD requests per second per partitioned prefix"
    # (docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html). S3 would take far more in
    # flight than one process can feed: 32 is what the call pool (collect.CALL_THREADS) keeps busy.
    "s3": Limit(in_flight=32, rate=5500.0),
    # CloudWatch API quotas (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html):
    # DescribeAlarms 9 TPS, GetMetricData 50 TPS, GetDashboard and ListDashboards 10 TPS.
    "cloudwatch": Limit(in_flight=8),
    "cloudwatch:DescribeAlarms": Limit(rate=9.0),
    "cloudwatch:GetMetricData": Limit(rate=50.0),
    "cloudwatch:GetDashboard": Limit(rate=10.0),
    "cloudwatch:ListDashboards": Limit(rate=10.0),
    # CloudWatch Logs quotas (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html):
    # DescribeLogGroups 10 TPS.
    "logs": Limit(in_flight=4),
    "logs:DescribeLogGroups": Limit(rate=10.0),
    # EC2 request token bucket for non-mutating (Describe*) actions: bucket 100, refill 20 per second
    # (docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
    "ec2": Limit(in_flight=8, rate=20.0, burst=100.0),
    # IAM is global and publishes no request rate (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    # lists object quotas only); every account-region of an account shares these reads through the account memo.
    "iam": Limit(in_flight=4),
    # Application Auto Scaling, the Resource Groups Tagging API, CloudTrail, EventBridge, KMS and DynamoDB's
    # control plane are read a handful of times per region: the "*" default, no published rate assumed.
}


def parse_overrides(raw: Any) -> dict[str, Limit]:
    """The `limits:` mapping of audit.yaml ({key: {in_flight, rate, burst}}); the schema has validated its shape."""
    out: dict[str, Limit] = {}
    for key, v in (raw or {}).items():
        out[str(key)] = Limit(v.get("in_flight"), v.get("rate"), v.get("burst"))
    return out


class TokenBucket:
    """A token bucket that hands out tokens in arrival order; `rate` None means unlimited until AWS throttles.

    On a throttle the rate becomes 95 % of what AWS accepted over the last second (never above 95 % of the
    current rate), at most once a second (the calls in flight together are throttled together). Before the bucket
    has seen a second of traffic that measure means nothing (a burst's throttles come back before its successes),
    so the first cut is to half of what was sent; being throttled again a second later measures AWS's rate. With
    no throttle for a second the rate grows 5 % a second, probing for headroom, never above a configured rate. The
    clock and sleep are injectable so that tests are deterministic.
    """

    MIN_RATE = 1.0
    WINDOW = 1.0
    CUT = 0.95
    GROWTH = 1.05

    def __init__(self, rate: float | None, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.rate = rate
        self._ceiling = rate
        self._burst = burst
        self._tokens = self.burst
        self._stamp = clock()
        self._cut_at: float | None = None
        self._ok: deque[float] = deque()
        self._sent: deque[float] = deque()
        self._born = self._stamp  # buckets are made on their API's first call
        self.throttles = 0

    @property
    def burst(self) -> float:
        if self._burst is not None:
            return self._burst
        return max(1.0, self.rate or 1.0)  # one second's worth

    def _advance(self, now: float) -> None:
        if self.rate is None:
            self._stamp = now
            return
        if self._cut_at is not None:  # adaptive: grow again once a second has passed without a throttle
            since = max(self._cut_at + self.WINDOW, self._stamp)
            if now > since:
                self.rate *= self.GROWTH ** ((now - since) / self.WINDOW)
                if self._ceiling is not None:
                    self.rate = min(self.rate, self._ceiling)
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self) -> float:
        """Take a token; returns how long the caller must wait before sending (0: now)."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            self._sent.append(now)
            self._forget(now)
            if self.rate is None:
                return 0.0
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)

    def _forget(self, now: float) -> None:
        for times in (self._ok, self._sent):
            while times and now - times[0] > self.WINDOW:
                times.popleft()

    def succeeded(self) -> None:
        with self._lock:
            now = self._clock()
            self._ok.append(now)
            self._forget(now)

    def throttled(self) -> None:
        """AWS refused a request for its rate: slow to what it accepted."""
        with self._lock:
            now = self._clock()
            self.throttles += 1
            if self._cut_at is not None and now - self._cut_at < self.WINDOW:
                return
            self._advance(now)
            self._forget(now)
            if now - self._born >= self.WINDOW and self._ok:
                target = self.CUT * len(self._ok) / self.WINDOW
            elif self._sent:  # too early to tell, or nothing got through: half of what was sent
                target = len(self._sent) / self.WINDOW / 2
            else:
                target = self.rate / 2 if self.rate is not None else self.MIN_RATE
            if self.rate is not None:
                target = min(target, self.CUT * self.rate)
            self.rate = max(self.MIN_RATE, target)
            self._tokens = min(self._tokens, 0.0)
            self._cut_at = now


THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
})  # botocore's own list of throttling codes (botocore/retries/standard.py, _THROTTLED_ERROR_CODES)


class Limits:
    """The limits of one account: an in-flight semaphore per service (or API) and a token bucket per API, each
    per Region. Thread-safe; `slot` is what every collector call goes through."""

    def __init__(self, overrides: dict[str, Limit] | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._table = dict(DEFAULTS)
        self.overrides: dict[str, Limit] = {}
        self._sems: dict[tuple[str, str], threading.Semaphore] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.configure(overrides or {})

    def configure(self, overrides: dict[str, Limit]) -> None:
        """Apply audit.yaml's overrides (a key's unset fields keep the default); only before any call is made."""
        with self._lock:
            self.overrides.update(overrides)
            for key, lim in overrides.items():
                base = self._table.get(key, Limit())
                self._table[key] = Limit(lim.in_flight if lim.in_flight is not None else base.in_flight,
                                         lim.rate if lim.rate is not None else base.rate,
                                         lim.burst if lim.burst is not None else base.burst)
            self._sems.clear()
            self._buckets.clear()

    def resolve(self, service: str, api: str) -> tuple[str, int, float | None, float | None]:
        """(semaphore key, in-flight, rate, burst) for service:api: the API's own setting (or the longest
        "service:Prefix*" matching it), then its service's, then "*"."""
        own = self._table.get(f"{service}:{api}")
        if own is None:
            prefixes = [k for k in self._table if k.endswith("*") and k.startswith(f"{service}:")
                        and f"{service}:{api}".startswith(k[:-1])]
            own = self._table[max(prefixes, key=len)] if prefixes else None
        chain = [own, self._table.get(service), self._table["*"]]
        own_flight = chain[0] is not None and chain[0].in_flight is not None
        in_flight = next(c.in_flight for c in chain if c is not None and c.in_flight is not None)
        rate = next((c.rate for c in chain if c is not None and c.rate is not None), None)
        burst = next((c.burst for c in chain if c is not None and c.burst is not None), None)
        return (f"{service}:{api}" if own_flight else service), in_flight, rate, burst

    def max_in_flight(self) -> int:
        return max(v.in_flight for v in self._table.values() if v.in_flight is not None)

    def bucket(self, region: str, service: str, api: str) -> TokenBucket:
        key = (region, f"{service}:{api}")
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                _, _, rate, burst = self.resolve(service, api)
                b = self._buckets[key] = TokenBucket(rate, burst, self._clock, self._sleep)
            return b

    def _semaphore(self, region: str, service: str, api: str) -> threading.Semaphore:
        sem_key, in_flight, _, _ = self.resolve(service, api)
        with self._lock:
            sem = self._sems.get((region, sem_key))
            if sem is None:
                sem = self._sems[(region, sem_key)] = threading.Semaphore(max(1, in_flight))
            return sem

    @contextmanager
    def slot(self, region: str, service: str, api: str) -> Iterator[None]:
        """Wait for the API's rate, then for a free in-flight place of its service in this Region."""
        self.bucket(region, service, api).acquire()
        with self._semaphore(region, service, api):
            yield

    def on_attempt(self, region: str, service: str, api: str, code: str | None) -> None:
        """Every HTTP attempt's outcome (from botocore's needs-retry event): feeds the adaptive buckets."""
        b = self.bucket(region, service, api)
        if code in THROTTLE_CODES:
            b.throttled()
        elif code is None:
            b.succeeded()
