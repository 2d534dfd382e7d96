"""Collector registry and the per account-region context: calls, paging, errors recorded as data."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from auditor.collect.answers import check_answer
from auditor.collect.errors import CollectError, classify
from auditor.graph import EDGE_TYPES, ResourceGraph, region_id
from auditor.limits import Limits
from auditor.model import CollectionError
from auditor.session import SessionFactory

K = TypeVar("K", bound=Hashable)


def normalize(value: Any) -> Any:
    """Make a boto response JSON-exact: datetimes become ISO-8601 UTC strings, ResponseMetadata dropped."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


# Page-size limits the service model does not state (its MaxResults member has no `max`), from each API reference:
# Application Auto Scaling DescribeScalableTargets/DescribeScalingPolicies "between 1 and 50"; EC2
# DescribeVpcEndpoints "greater than 1,000 ... only 1,000 items".
PAGE_MAX = {
    ("application-autoscaling", "DescribeScalableTargets"): 50,
    ("application-autoscaling", "DescribeScalingPolicies"): 50,
    ("ec2", "DescribeVpcEndpoints"): 1000,
}
PAGE_KEYS = ("MaxResults", "MaxRecords", "MaxItems", "Limit", "limit")


def page_size(client: Any, operation: str, kwargs: dict[str, Any]) -> tuple[str, int] | None:
    """(parameter, its maximum) to ask for the largest page this list call accepts, from botocore's service model
    (the paginator's limit key, else a MaxResults-like member), or None when the API has no page size to set.

    Not for EC2 calls naming IDs (EC2 refuses MaxResults together with an ID list)."""
    model = client.meta.service_model
    api = client.meta.method_to_api_mapping.get(operation, operation)
    if model.service_name == "ec2" and any(k.endswith("Ids") for k in kwargs):
        return None
    op = model.operation_model(api)
    members = op.input_shape.members if op.input_shape is not None else {}
    param: str | None = None
    if client.can_paginate(operation):
        param = client.get_paginator(operation)._pagination_cfg.get("limit_key")  # noqa: SLF001 - botocore keeps it here
    param = param or next((k for k in PAGE_KEYS if k in members), None)
    if param is None or param not in members or param in kwargs:
        return None
    top = members[param].metadata.get("max") or PAGE_MAX.get((model.service_name, api))
    return (param, int(top)) if top else None


class AccountMemo:
    """Reads shared by the region units of one account: IAM is global, buckets are read by name, trails and keys
    are read in their home region. Each is read once; a unit that asks while another reads waits for that read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[Hashable, Future[Any]] = {}

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        with self._lock:
            fut = self._reads.get(key)
            owner = fut is None
            if fut is None:
                fut = self._reads[key] = Future()
        if owner:
            try:
                fut.set_result(read())
            except BaseException as exc:  # noqa: BLE001 - handed to every reader, re-raised below
                fut.set_exception(exc)
        return fut.result()


NOT_COLLECTED = ("not collected: no rule of the audit that collected it reads it (collect again with the rules "
                 "that do)")


@dataclass
class Context:
    """Everything a collector needs for one account-region; collectors share nothing else."""

    factory: SessionFactory
    account: str
    region: str
    graph: ResourceGraph
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    options: dict[str, Any] = field(default_factory=dict)
    # Describe results shared between collectors of the same run (e.g. KMS keys by alias).
    cache: dict[str, Any] = field(default_factory=dict)
    # The run's bounded call pool for per-resource calls (None: one call at a time, in this thread).
    pool: Executor | None = None
    # Set when the run is interrupted: no new call starts.
    cancel: threading.Event = field(default_factory=threading.Event)
    # Shared by every region of this account (see AccountMemo).
    memo: AccountMemo = field(default_factory=AccountMemo)
    # Where read-ahead reads run (None: each runs when its collector asks for it); see start_read_ahead.
    ahead_pool: Executor | None = None
    _ahead: dict[Callable[[Context], Any], Future[Any]] = field(default_factory=dict)
    # Reads a later collector's early hook started on the call pool (see start / fetch_all's `started`).
    _started: dict[str, Pending[Any]] = field(default_factory=dict)

    @property
    def region_node(self) -> str:
        return region_id(self.account, self.region)

    def release(self) -> None:
        """The unit is collected: what it read is in its graph. Drop the raw answers and the reads' futures now;
        they hold closures that hold this context, a cycle that would keep every answer alive until a full
        garbage collection (or, with the run's heap frozen, until the run ends)."""
        self.cache.clear()
        self._ahead.clear()
        self._started.clear()

    def wants(self, type_: str, *attrs: str) -> bool:
        """Whether a rule of this run reads any of these attributes (or "tags") of `type_` nodes: a read that only
        serves unread attributes is left out (options["reads"] from the rules; absent: everything is read)."""
        reads = self.options.get("reads")
        return reads is None or any((type_, a) in reads for a in attrs)

    @property
    def left_out(self) -> frozenset[str]:
        """The collectors this run leaves out (options["left_out"], see base.left_out)."""
        return self.options.get("left_out") or frozenset()

    def not_collected(self, node_id: str, *facets: str, why: str = NOT_COLLECTED) -> None:
        """Mark facets left out because no rule of the run reads them: a later evaluation of the snapshot with a
        rule that does gets `error`, never a value that was not read."""
        for facet in facets:
            self.graph.set_error(node_id, facet, why)

    def client(self, service: str) -> Any:
        return self.factory.client(service, region=self.region)

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise KeyboardInterrupt("collection cancelled")

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        return self.call_in(self.region, service, operation, **kwargs)

    def call_in(self, region: str, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """A call to another region of the same account (a trail's or a key's home region)."""
        self.check_cancelled()
        client = self.factory.client(service, region=region)
        try:
            with self._slot(client, region, service, operation):
                resp = getattr(client, operation)(**kwargs)
            check_answer(client, service, operation, resp)
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded by the caller
            raise classify(service, operation, exc) from exc
        return normalize(resp)

    def _slot(self, client: Any, region: str, service: str, operation: str) -> AbstractContextManager[None]:
        """The account's rate and in-flight limits for this API (none for a factory without limits, in tests)."""
        limits: Limits | None = getattr(self.factory, "limits", None)
        if limits is None:
            return nullcontext()
        return limits.slot(region, service, client.meta.method_to_api_mapping.get(operation, operation))

    def paginate(self, service: str, operation: str, key: str, **kwargs: Any) -> list[Any]:
        """Follow every page (NextToken/Marker) of a list call and return the concatenated `key` items."""
        return [item for page in self.pages(service, operation, key, **kwargs) for item in page]

    def pages(self, service: str, operation: str, key: str, **kwargs: Any) -> Iterator[list[Any]]:
        """Each page's `key` items as it arrives, pages asked at the largest size the API accepts (page_size)."""
        self.check_cancelled()
        client = self.client(service)
        size = page_size(client, operation, kwargs)
        try:
            if client.can_paginate(operation):
                config = {"PaginationConfig": {"PageSize": size[1]}} if size else {}
                it = iter(client.get_paginator(operation).paginate(**kwargs, **config))
                while True:
                    self.check_cancelled()
                    with self._slot(client, self.region, service, operation):
                        page = next(it, None)
                    if page is None:
                        return
                    check_answer(client, service, operation, page)
                    yield normalize(page.get(key) or [])
            else:
                token: str | None = None
                while True:
                    self.check_cancelled()
                    args = dict(kwargs, **({"NextToken": token} if token else {}), **dict([size] if size else []))
                    with self._slot(client, self.region, service, operation):
                        page = getattr(client, operation)(**args)
                    check_answer(client, service, operation, page)
                    yield normalize(page.get(key) or [])
                    token = page.get("NextToken")
                    if not token:
                        return
        except CollectError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise classify(service, operation, exc) from exc

    def start_read_ahead(self) -> None:
        """Start every registered read-ahead (READ_AHEAD) of this account-region now, beside the caller's work.

        Called once the region is known to have endpoints, so a region with none spends no call on them. Each read
        only calls AWS (never the graph); its collector applies the result in stage order on the unit's thread, so
        the snapshot is the same as when every read runs at its collector's turn."""
        if self.ahead_pool is None or self._ahead:
            return
        for fn in READ_AHEAD:
            if not set(SERVES[fn]) <= self.left_out:  # a read serving only collectors left out would be a wasted call
                self._ahead[fn] = self.ahead_pool.submit(_guarded, fn, self)

    def ahead(self, fn: Callable[[Context], Any]) -> Any:
        """`fn(self)`'s result (or the CollectError it raised): read ahead if it was started, else read now."""
        fut = self._ahead.get(fn)
        return fut.result() if fut is not None else _guarded(fn, self)

    def once(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """`read()` once per account for this key; returns its result or the CollectError it raised."""
        def safe() -> Any:
            try:
                return read()
            except CollectError as err:
                return err

        return self.memo.get(key, safe)

    def fetch_all(self, fn: Callable[[K], Any], keys: Iterable[K], started: str | None = None) -> dict[K, Any]:
        """Call `fn` once per distinct key on the call pool: {key: result, or the CollectError it raised}.

        `fn` may only call AWS and must not touch the graph: the collector's own thread applies the results,
        so nothing mutable is shared between threads. With `started`, the keys that an early hook already started
        under that name (see start) take those results, and only the others are read now.
        """
        unique = list(dict.fromkeys(keys))
        early = self._started.pop(started, None) if started is not None else None
        got = early.results() if early is not None else {}
        rest = self._begin(fn, [k for k in unique if k not in got]).results()
        return {k: got[k] if k in got else rest[k] for k in unique}

    def start(self, name: str, fn: Callable[[K], Any], keys: Iterable[K]) -> None:
        """Start `fn` over `keys` on the call pool now, without waiting; `fetch_all(..., started=name)` takes the
        results. For a collector's early hook (see `collector`): reads that the roots stage has already decided
        run beside the stages before their collector's turn. Without a pool nothing starts: the collector reads
        at its turn, as always."""
        if self.pool is not None:
            self._started[name] = self._begin(fn, keys)

    def _begin(self, fn: Callable[[K], Any], keys: Iterable[K]) -> Pending[K]:
        unique = list(dict.fromkeys(keys))

        def safe(key: K) -> Any:
            try:
                return fn(key)
            except CollectError as err:
                return err

        if self.pool is None or len(unique) < 2:
            return Pending({k: safe(k) for k in unique})
        return Pending({k: self.pool.submit(safe, k) for k in unique})

    def listing_failed(self, err: CollectError, affects: tuple[str, ...]) -> None:
        """A list call failed: the listed types are incomplete for this account-region."""
        self.graph.record(self._error(err, affects))

    def describe_failed(self, node_id: str, type_: str, name: str, err: CollectError) -> None:
        """A referenced resource could not be described: a dangling reference if it is gone, else unreadable."""
        if node_id not in self.graph:
            self.graph.add_node(node_id, type_, name=name, account=self.account, region=self.region)
        if err.not_found:
            self.graph.attrs(node_id)["dangling"] = True
        else:
            self.node_failed(node_id, "describe", err)

    def node_failed(self, node_id: str, facet: str, err: CollectError) -> None:
        """A describe/get call for one node failed: mark the facet so no rule reads it as absent."""
        self.graph.set_error(node_id, facet, err.reason)
        self.graph.record(self._error(err, (), resource=node_id))

    def _error(self, err: CollectError, affects: tuple[str, ...], resource: str | None = None) -> CollectionError:
        return CollectionError(
            service=err.service, operation=err.operation, code=err.code, message=err.message[:500],
            account=self.account, region=self.region, affects=affects, resource=resource,
        )


class Pending(Generic[K]):
    """Reads under way on the call pool (or already done): results() waits for every one, in key order."""

    def __init__(self, reads: dict[K, Any]) -> None:
        self._reads = reads

    def results(self) -> dict[K, Any]:
        return {k: v.result() if isinstance(v, Future) else v for k, v in self._reads.items()}


def _guarded(fn: Callable[[Context], Any], ctx: Context) -> Any:
    try:
        return fn(ctx)
    except CollectError as err:
        return err


# Reads that need nothing from the graph (listings by region), registered by their collectors' modules, each with
# the collectors it serves: it starts only when one of them runs.
AheadFn = Callable[[Context], Any]
READ_AHEAD: list[AheadFn] = []
SERVES: dict[AheadFn, tuple[str, ...]] = {}


def read_ahead(*collectors: str) -> Callable[[AheadFn], AheadFn]:
    """Register a graph-free read that may start as soon as the region is known to have endpoints, for the named
    collectors."""

    def wrap(fn: AheadFn) -> AheadFn:
        READ_AHEAD.append(fn)
        SERVES[fn] = collectors
        return fn
    return wrap


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    stage: int
    func: Callable[[Context], None]
    permissions: tuple[str, ...]
    doc: str
    # Run on the unit's thread as soon as the roots stage is done: reads the graph (only what that stage made) and
    # starts the collector's AWS reads (Context.start), so they overlap the stages before its turn.
    early: Callable[[Context], None] | None = None
    # Its early reads are many (one per resource): started after the other hooks', because the call pool is first
    # come, first served and a few short chains queued behind a thousand HEADs would end after them.
    early_bulk: bool = False
    # What it collects, so that a run whose rules read none of it leaves the collector out (None: never left out):
    # `finds` the node types it lists or describes (all their attributes), `fills` the (type, attribute) and
    # (type, rel:<edge>) it sets on nodes other collectors find, `needs` the collectors whose findings it reads.
    finds: frozenset[str] | None = None
    fills: frozenset[tuple[str, str]] = frozenset()
    needs: tuple[str, ...] = ()

    def serves(self, reads: Collection[tuple[str, str]]) -> list[tuple[str, str]]:
        """The reads (type, attribute) this collector's findings answer: an attribute of a type it finds, what it
        fills, and a walk along an edge to a type it finds (the walk asks whether those nodes exist, which only
        this collector's read of them says: an artifact object is made by the roots stage, its existence by s3's
        HEAD)."""
        finds = self.finds or frozenset()
        return sorted(r for r in reads if r[0] in finds or r in self.fills or
                      (r[1].startswith("rel:") and r[1][4:] in EDGE_TYPES and EDGE_TYPES[r[1][4:]].target in finds))


COLLECTORS: list[CollectorSpec] = []

# Collectors run by stage: later stages read the nodes and references earlier ones left in the graph.
STAGE_ROOTS = 10  # SageMaker endpoints and what they deploy
STAGE_RELATED = 20  # resources found from the roots (schedules, scaling, S3, EC2, IAM, trails)
STAGE_KEYS = 30  # KMS keys referenced by buckets, objects and configs
STAGE_SIGNALS = 40  # alarms, dashboards, metrics, logs and events about the endpoints


def collector(name: str, stage: int, permissions: list[str], early: Callable[[Context], None] | None = None,
              early_bulk: bool = False, finds: Iterable[str] | None = None, fills: Iterable[tuple[str, str]] = (),
              needs: Iterable[str] = ()) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register a collector, the IAM actions it calls, for a collector after the roots stage whose reads that
    stage decides its early hook (see CollectorSpec.early), and what it collects (CollectorSpec.finds)."""

    def wrap(func: Callable[[Context], None]) -> Callable[[Context], None]:
        if any(c.name == name for c in COLLECTORS):
            raise ValueError(f"collector {name!r} registered twice")
        if early is not None and stage <= STAGE_ROOTS:
            raise ValueError(f"collector {name!r}: only a collector after the roots stage has an early hook")
        if finds is not None and stage <= STAGE_ROOTS:
            raise ValueError(f"collector {name!r}: the roots stage always runs (every other stage reads it)")
        COLLECTORS.append(CollectorSpec(name, stage, func, tuple(sorted(permissions)), (func.__doc__ or "").strip(),
                                        early, early_bulk, None if finds is None else frozenset(finds),
                                        frozenset(fills), tuple(needs)))
        COLLECTORS.sort(key=lambda c: (c.stage, c.name))
        return func

    return wrap


def left_out(reads: Collection[tuple[str, str]] | None) -> frozenset[str]:
    """The collectors a run whose rules read `reads` (type, attribute) leaves out: those that say what they
    collect, serve none of the reads and are needed by no collector that runs (None: every collector runs)."""
    if reads is None:
        return frozenset()
    by_name = {c.name: c for c in COLLECTORS}
    run = {c.name for c in COLLECTORS if c.finds is None or c.serves(reads)}
    todo = list(run)
    while todo:
        for need in by_name[todo.pop()].needs:
            if need not in run:
                run.add(need)
                todo.append(need)
    return frozenset(by_name) - run


def tags_to_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key", t.get("key", ""))): str(t.get("Value", t.get("value", ""))) for t in tags or []}


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    if not uri.startswith("s3://"):
        return None
    rest = uri[5:]
    bucket, _, key = rest.partition("/")
    return (bucket, key) if bucket else None
