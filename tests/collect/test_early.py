"""Reads started early: a later collector's reads begin once the roots stage is done, and the model Search pages
while the endpoints are described; either way the snapshot is the sequential run's."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from auditor import collect as collect_pkg
from auditor.collect import base, sagemaker_bulk
from auditor.collect.base import STAGE_RELATED, STAGE_ROOTS, STAGE_SIGNALS, CollectError, CollectorSpec, Context
from auditor.collect.sagemaker_bulk import ModelSearch, search_models
from auditor.graph import ResourceGraph
from auditor.session import SessionFactory
from tests.collect.test_bulk_reads import seed
from tests.collect.test_concurrency import run, same

REGION = "us-east-1"


def context(pool: ThreadPoolExecutor | None) -> Context:
    return Context(factory=SessionFactory(region=REGION), account="123456789012", region=REGION,
                   graph=ResourceGraph(), pool=pool)


def counting() -> tuple[dict[str, int], Any]:
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def read(key: str) -> str:
        with lock:
            calls[key] = calls.get(key, 0) + 1
        if key == "bad":
            raise CollectError("s3", "head_object", "AccessDenied", "denied")
        return key.upper()

    return calls, read


def test_fetch_all_takes_what_was_started_and_reads_only_the_rest() -> None:
    calls, read = counting()
    with ThreadPoolExecutor(4) as pool:
        ctx = context(pool)
        ctx.start("x", read, ["a", "b", "bad"])
        got = ctx.fetch_all(read, ["b", "c", "bad"], started="x")
        assert list(got) == ["b", "c", "bad"] and got["b"] == "B" and got["c"] == "C"
        assert isinstance(got["bad"], CollectError)  # a failure started early is handed over like any other
        assert calls == {"a": 1, "b": 1, "bad": 1, "c": 1}  # "b" and "bad" were not read twice
        ctx.fetch_all(read, ["b"], started="x")  # what was started is taken once: a second ask reads again
        assert calls["b"] == 2


def test_without_a_call_pool_nothing_starts_early() -> None:
    calls, read = counting()
    ctx = context(None)
    ctx.start("x", read, ["a", "b"])
    assert calls == {}
    assert ctx.fetch_all(read, ["a"], started="x") == {"a": "A"} and calls == {"a": 1}


def test_early_hooks_run_after_the_roots_stage_bulk_ones_last(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def step(name: str) -> Any:
        return lambda ctx: order.append(name)

    def broken(ctx: Context) -> None:
        order.append("early broken")
        raise ValueError("a malformed node")

    specs = [
        CollectorSpec("roots", STAGE_ROOTS, step("roots"), (), ""),
        CollectorSpec("bulk", STAGE_RELATED, step("bulk"), (), "", step("early bulk"), True),
        CollectorSpec("broken", STAGE_RELATED, step("broken"), (), "", broken),
        CollectorSpec("plain", STAGE_RELATED, step("plain"), (), ""),
        CollectorSpec("signals", STAGE_SIGNALS, step("signals"), (), "", step("early signals")),
    ]
    monkeypatch.setattr(collect_pkg, "COLLECTORS", specs)
    collect_pkg.collect(SessionFactory(region=REGION), [REGION], workers=1)
    assert order == ["roots", "early broken", "early signals", "early bulk",  # a failing hook stops no other
                     "bulk", "broken", "plain", "signals"]  # and its collector still runs at its turn


def test_only_a_collector_after_the_roots_stage_may_have_an_early_hook() -> None:
    with pytest.raises(ValueError, match="only a collector after the roots stage"):
        base.collector("too-early", STAGE_ROOTS, [], early=lambda ctx: None)(lambda ctx: None)


def test_an_artifact_in_a_deleted_bucket_is_dangling_either_way(aws: None) -> None:
    """Early, the object is HEADed before its bucket is known to be gone (404 there too): same snapshot."""
    seed(5)
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="lost", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1",
                                      "ModelDataUrl": "s3://deleted-bucket/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName="lost", ProductionVariants=[
        {"VariantName": "v", "ModelName": "lost", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="lost", EndpointConfigName="lost")
    one, _ = run(1)
    many, _ = run(8)
    same(one, many)
    obj = "arn:aws:s3:::deleted-bucket/model.tar.gz"
    assert many.attrs(obj)["dangling"] and many.attrs("arn:aws:s3:::deleted-bucket")["dangling"]
    assert not any(e.resource == obj for e in many.errors)  # gone, not unreadable


class Pages:
    """Search answers: `total` pages of 100 models each (m0, m1, ...), counted."""

    def __init__(self, total: int) -> None:
        self.total, self.asked = total, 0

    def __call__(self, service: str, operation: str, **kw: Any) -> dict[str, Any]:
        page = int(kw.get("NextToken", "0"))
        self.asked += 1
        models = [{"Model": {"Model": {"ModelName": f"m{page * 100 + i}"}}} for i in range(100)]
        return {"Results": models, **({"NextToken": str(page + 1)} if page + 1 < self.total else {})}


def test_model_search_stops_at_its_bound_while_the_endpoints_are_described(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(None)
    pages = Pages(50)
    monkeypatch.setattr(ctx, "call", pages)
    search = ModelSearch()
    search.listed(3)  # three endpoints listed, none described: at most three pages now
    seen, token, read, failed = search.run(ctx)
    assert read == pages.asked == 3 and token == "3" and len(seen) == 300 and not failed
    # once every describe is done the exact rule decides: of 2 models wanted m5 was found, and with 3 pages read
    # for the 1 missing, paging on would cost more than describing it
    found = search_models(ctx, {"m5", "m9999"}, (seen, token, read, failed))
    assert set(found) == {"m5"} and pages.asked == 3


def test_model_search_stops_as_soon_as_every_describe_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(None)
    pages = Pages(50)
    monkeypatch.setattr(ctx, "call", pages)
    search = ModelSearch()
    search.listed(1000)
    search.want(["m1"])
    for _ in range(1000):
        search.described()
    search.listing_done()
    assert search.run(ctx)[2] == pages.asked == 1  # settled after the first page: search_models takes over


def test_a_failed_early_search_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(None)
    asked: list[str] = []

    def denied(service: str, operation: str, **kw: Any) -> dict[str, Any]:
        asked.append(operation)
        raise CollectError("sagemaker", "search", "AccessDenied", "denied")

    monkeypatch.setattr(ctx, "call", denied)
    search = ModelSearch()
    search.listed(5)
    begun = search.run(ctx)
    assert begun[3] and search_models(ctx, {"m1"}, begun) == {} and asked == ["search"]


def test_the_early_search_saves_the_describes_it_found(aws: None) -> None:
    """The default run pages Search beside the describes and still describes no model it found."""
    seed(30)
    _, counter = collect_and_count(8)
    assert counter.calls["sagemaker:Search"] == 1 and counter.calls["sagemaker:DescribeModel"] == 0


def collect_and_count(workers: int) -> tuple[ResourceGraph, Any]:
    factory = SessionFactory(region=REGION, max_attempts=1)
    return collect_pkg.collect(factory, [REGION], workers=workers), factory.counter


def test_the_searched_models_are_the_ones_wanted() -> None:
    assert sagemaker_bulk._variant_models({"ProductionVariants": [{"ModelName": "a"}, {"ModelName": ""}, "x",
                                                                  {"ModelName": "b"}]}) == ["a", "b"]
    assert sagemaker_bulk._variant_models(CollectError("sagemaker", "d", "AccessDenied", "no")) == []


def test_endpoint_chains_are_queued_a_few_at_a_time(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool serves tasks in order: the chains are fed to it a few at a time, so the read-aheads' describes
    are served between them (under a describe rate limit, not after all of them)."""
    seed(12)
    one, _ = run(1)
    monkeypatch.setattr(sagemaker_bulk, "CHAINS_QUEUED", 2)
    lock = threading.Lock()
    now = {"n": 0, "most": 0}

    def before(**_: Any) -> None:
        with lock:
            now["n"] += 1
            now["most"] = max(now["most"], now["n"])
        time.sleep(0.02)  # a round trip's wait, so that unbounded chains would overlap

    def after(**_: Any) -> None:
        with lock:
            now["n"] -= 1

    hooks = [(f"{when}.sagemaker.{op}", fn) for op in ("DescribeEndpoint", "DescribeEndpointConfig")
             for when, fn in (("before-call", before), ("after-call", after))]
    many, _ = run(8, hooks)
    same(one, many)
    assert now["most"] <= 2 and now["n"] == 0
