"""Collection orchestration: every registered collector for each account-region, concurrently, into one graph."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Protocol

from auditor import __version__
from auditor.collect import (  # noqa: F401 - importing registers the collectors (each declares its stage)
    autoscaling,
    cloudtrail,
    cloudwatch,
    dynamodb,
    ec2,
    iam,
    iam_access,
    kms,
    logs_events,
    monitoring,
    s3,
    sagemaker,
)
from auditor.collect.base import (
    COLLECTORS,
    READ_AHEAD,
    STAGE_ROOTS,
    AccountMemo,
    CollectError,
    CollectorSpec,
    Context,
)
from auditor.collect.errors import classify
from auditor.graph import ResourceGraph
from auditor.limits import parse_overrides
from auditor.model import CollectionError
from auditor.scope import ALL_REGIONS, AccountTarget, enabled_regions
from auditor.session import SessionFactory

DEFAULT_WORKERS = 8
# Threads making AWS calls for the whole run. How many calls are in flight to each service of an account-region is
# set by its limits (auditor/limits.py); this only has to be at least the largest of them. Every call runs in this
# one interpreter under the GIL: botocore alone spends 1.50 ms of CPU per call from 32 threads and 1.83 ms from 64
# (bench/botocore_floor.py), and a 1,000-endpoint audit at 40 ms took as long with 64 threads as with 32 while
# spending ~1.5 s more CPU (README "How fast, and why").
CALL_THREADS = 32
# A region answering the first call with one of these is not usable by these credentials (an opt-in region not
# enabled, or an STS token the region does not accept): the unit stops there instead of failing every collector.
REGION_UNAVAILABLE = {"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"}


class Progress(Protocol):
    def __call__(self, unit: str, collector: str, done: int, total: int) -> None: ...


def required_permissions() -> list[str]:
    return sorted({p for c in COLLECTORS for p in c.permissions} | {
        "sts:GetCallerIdentity", "sts:AssumeRole", "organizations:ListAccounts", "ec2:DescribeRegions"})


def collect(
    factory: SessionFactory,
    regions: list[str],
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    workers: int = 1,
) -> ResourceGraph:
    """Snapshot the credentials' own account across `regions` (see `collect_scope`)."""
    return collect_scope([AccountTarget(None, factory)], regions, options, progress, now, workers)


def collect_scope(
    targets: list[AccountTarget],
    regions: list[str],
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    workers: int = 1,
) -> ResourceGraph:
    """Snapshot accounts x regions, `workers` account-regions at a time (1: everything in one thread, one call
    at a time).

    Never raises for AWS errors: an account that cannot be reached, a region that fails and every failed
    call are recorded in the graph, and the rest is collected. Each account-region is collected into its
    own graph by one thread (its per-resource calls fan out to the call pool, and its graph-free listings start
    early on the read-ahead pool; neither touches a graph); calls are paced by each account's limits
    (options["limits"], audit.yaml's `limits:`). The graphs are merged in sorted order, so the snapshot does not
    depend on thread timing.
    """
    now = now or dt.datetime.now(dt.UTC)
    workers = max(1, workers)
    graph = ResourceGraph(meta={
        "collected_at": now.isoformat().replace("+00:00", "Z"),
        "tool_version": __version__,
    })
    overrides = parse_overrides((options or {}).get("limits"))
    limits = [lim for lim in (getattr(t.factory, "limits", None) for t in targets) if lim is not None]
    for lim in limits:
        lim.configure(overrides)
    threads = max([CALL_THREADS, workers] + [lim.max_in_flight() for lim in limits])
    calls = ThreadPoolExecutor(threads, thread_name_prefix="aws-call") if workers > 1 else None
    units = ThreadPoolExecutor(workers, thread_name_prefix="account-region") if workers > 1 else None
    # read-aheads wait for their own calls on the call pool, so they never run on it (no pool waits on itself)
    ahead = ThreadPoolExecutor(workers * len(READ_AHEAD), thread_name_prefix="read-ahead") \
        if workers > 1 and READ_AHEAD else None
    cancel = threading.Event()
    counter = targets[0].factory.counter if targets else None
    try:
        _map(units, lambda t: _identify(t, regions), [t for t in targets if t.status == "pending"])
        jobs = [(t, r) for t in targets if t.status == "pending" for r in t.regions]
        memos = {id(t): AccountMemo() for t in targets}
        parts = _map(units, lambda job: _collect_unit(job[0], job[1], options or {}, now, calls, ahead, cancel,
                                                       memos[id(job[0])], progress), jobs)
        for (t, region), (_, unavailable, lean) in zip(jobs, parts, strict=True):
            if unavailable:
                t.failed_regions[region] = unavailable
            if lean:
                t.regions_without_endpoints.append(region)
    except BaseException:
        cancel.set()  # in-flight calls finish, queued ones are refused, so Ctrl-C ends the run promptly
        raise
    finally:
        for pool in (units, ahead, calls):
            if pool is not None:
                pool.shutdown(wait=not cancel.is_set(), cancel_futures=True)
    for t in targets:  # an account that could not be reached makes the run incomplete, never silently smaller
        if t.error is not None:
            graph.record(CollectionError(*t.error, t.account_id or "unknown", "", affects=("*",)))
    for part, _, _ in parts:
        graph.merge(part)
    for t in targets:
        if t.status == "pending":
            t.status = "audited"
    _describe_scope(graph, targets, regions)
    if counter is not None:
        graph.meta["api_calls"] = counter.to_dict()
    return graph


def _map(pool: Executor | None, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """fn over items, on the pool when there is one; results in input order."""
    return list(pool.map(fn, items)) if pool is not None and len(items) > 1 else [fn(i) for i in items]


def _identify(t: AccountTarget, regions: list[str]) -> None:
    """Who the credentials are (assuming the role if there is one) and which regions to read; only `t` changes."""
    try:
        t.account_id = t.factory.account_id()
    except Exception as exc:  # noqa: BLE001 - no identity means nothing can be collected: say so
        service, operation = ("sts", "AssumeRole") if t.factory.role_arn else ("sts", "GetCallerIdentity")
        err = classify(service, operation, exc)
        t.fail(service, operation, err.code, err.message)
        return
    if ALL_REGIONS not in regions:
        t.regions = list(regions)
        return
    try:
        t.regions = enabled_regions(t.factory)
    except Exception as exc:  # noqa: BLE001
        err = classify("ec2", "DescribeRegions", exc)
        t.fail("ec2", "DescribeRegions", err.code, err.message)


def _collect_unit(t: AccountTarget, region: str, options: dict[str, Any], now: dt.datetime,
                  calls: Executor | None, ahead: Executor | None, cancel: threading.Event, memo: AccountMemo,
                  progress: Progress | None) -> tuple[ResourceGraph, str, bool]:
    """One account-region into its own graph; collectors run in stage order, each sees the earlier ones' nodes.

    Also returns why the region is unusable ("" when it is not) and whether it had no endpoint to read further."""
    assert t.account_id is not None
    graph = ResourceGraph()
    ctx = Context(factory=t.factory, account=t.account_id, region=region, graph=graph, now=now,
                  options=dict(options), pool=calls, cancel=cancel, memo=memo, ahead_pool=ahead)
    unit = f"{t.account_id}/{region}"
    try:
        unavailable, lean = _run_collectors(ctx, t, region, unit, progress)
    finally:
        ctx.release()
    return graph, unavailable, lean


def _run_collectors(ctx: Context, t: AccountTarget, region: str, unit: str,
                    progress: Progress | None) -> tuple[str, bool]:
    assert t.account_id is not None
    graph, cancel = ctx.graph, ctx.cancel
    unavailable, lean = "", False
    skipped = ctx.left_out
    for i, spec in enumerate(COLLECTORS):
        if cancel.is_set():
            break
        if spec.name in skipped:
            continue
        if progress:
            progress(unit, spec.name, i, len(COLLECTORS))
        try:
            spec.func(ctx)
        except CollectError as err:  # a collector let one escape: still data, not a crash
            ctx.listing_failed(err, ("*",))
        except Exception as exc:  # noqa: BLE001 - a malformed or unexpected response: incomplete, never a pass
            graph.record(CollectionError(spec.name, "collect", "UnexpectedResponse",
                                         f"{type(exc).__name__}: {exc}"[:500], t.account_id, region, affects=("*",)))
        # only the first collector's own calls tell about the region (later ones call other regions too)
        refused = next((e for e in graph.errors if e.code in REGION_UNAVAILABLE), None) if i == 0 else None
        if refused is not None:
            unavailable = f"{refused.service}:{refused.operation}: {refused.code}: {refused.message}"[:500]
            graph.record(CollectionError(refused.service, refused.operation, refused.code, refused.message,
                                         t.account_id, region, affects=("*",)))
            break
        if _nothing_more_to_read(ctx, spec, COLLECTORS[i + 1:]):
            lean = True
            break
        if spec.stage == STAGE_ROOTS and COLLECTORS[i + 1:] and COLLECTORS[i + 1].stage != STAGE_ROOTS:
            _start_early(ctx, COLLECTORS[i + 1:])
    if skipped and ctx.region_node in graph:
        _mark_left_out(ctx, skipped)
    if progress:
        progress(unit, "done", len(COLLECTORS), len(COLLECTORS))
    return unavailable, lean


def _mark_left_out(ctx: Context, skipped: frozenset[str]) -> None:
    """Say in the snapshot what the collectors left out would have read, so that a later evaluation with rules that
    read it gets `error`, never an absent value: the region lists them (the types they find: see
    app._flag_collectors_left_out), the nodes of those types that other collectors found are unread, and the
    attributes and edges they fill on other collectors' nodes are not collected."""
    g = ctx.graph
    g.set_data(ctx.region_node, collectors_left_out=sorted(skipped))
    here = (ctx.account, ctx.region)
    for spec in COLLECTORS:
        if spec.name not in skipped:
            continue
        marks = [(t, "describe") for t in sorted(spec.finds or ())] + sorted(spec.fills)
        for type_, facet in marks:
            for n in g.nodes_of_type(type_):
                a = g.attrs(n)
                if (a["account"], a["region"]) == here and not a["dangling"] and "describe" not in a["errors"]:
                    ctx.not_collected(n, facet)


def _start_early(ctx: Context, rest: list[CollectorSpec]) -> None:
    """The later collectors' early hooks, in stage order (bulk ones last): their reads start now, beside the stages
    before them.

    A hook that fails starts nothing more: its collector reads at its turn, and any error is reported there."""
    for spec in sorted(rest, key=lambda c: c.early_bulk):  # stable: stage order within each kind
        if spec.early is None or spec.name in ctx.left_out or ctx.cancel.is_set():
            continue
        try:
            spec.early(ctx)
        except Exception:  # noqa: BLE001, S112 - the collector itself meets (and records) the same failure
            continue


def _nothing_more_to_read(ctx: Context, done: CollectorSpec, rest: list[CollectorSpec]) -> bool:
    """After the root stage: a region where endpoints were listed and there are none has nothing the rules
    can judge (when the run's rules say so, see needs_regions_without_endpoints)."""
    if not ctx.options.get("skip_regions_without_endpoints") or not rest:
        return False
    if done.stage != STAGE_ROOTS or rest[0].stage == STAGE_ROOTS:
        return False
    if ctx.graph.errors or ctx.graph.nodes_of_type("sagemaker.endpoint"):
        return False
    ctx.graph.set_data(ctx.region_node, endpoint_count=0,
                       not_collected=[c.name for c in rest])  # said in the snapshot, not silently absent
    return True


def _describe_scope(graph: ResourceGraph, targets: list[AccountTarget], regions: list[str]) -> None:
    accounts = sorted({t.account_id for t in targets if t.account_id and t.status == "audited"})
    graph.meta["account"] = accounts[0] if len(accounts) == 1 else ("unknown" if not accounts else "multiple")
    graph.meta["accounts"] = accounts
    seen = sorted({r for t in targets for r in t.regions})
    graph.meta["regions"] = seen or [r for r in regions if r != ALL_REGIONS]
    graph.meta["coverage"] = [t.to_dict() for t in targets]
