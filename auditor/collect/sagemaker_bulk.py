"""Read-ahead for the SageMaker collector: every describe it will need, concurrently, and in bulk where AWS allows.

Only AWS is called here; the results are applied to the graph by the collector's own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any

from auditor.collect.base import CollectError, Context, tags_to_dict
from auditor.collect.tagging import bulk_tags

SM = "sagemaker"
SEARCH_PAGE = 100  # Search MaxResults: 1 to 100
SEARCH_MIN_MODELS = 4  # below this, one DescribeModel each is no dearer than a Search page
# Endpoint chains on the call pool at once. The pool serves tasks in order: a thousand chains queued at once would
# put the read-aheads' describes (Model Monitor schedules, then their job definitions) and the model Search behind
# all of them, which under a describe rate limit adds their own rate-limited time after the endpoints'.
CHAINS_QUEUED = 32
# What of an endpoint only DescribeEndpoint answers (a Search(Resource=Endpoint) record has the rest, and its tags):
# the deployment configuration and the rollback-alarm edges the CloudWatch collector draws from it.
DESCRIBE_ONLY = frozenset({"last_deployment_config", "deployment_config_present", "rel:rollback_alarm"})
SEARCHED_NOT_DESCRIBED = ("not collected: the endpoint was read from its Search record; no rule of the audit that "
                          "collected it reads its deployment configuration (collect again with the rules that do)")


def describe_endpoint(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda name: ctx.call(SM, "describe_endpoint", EndpointName=name)


def describe_config(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda name: ctx.call(SM, "describe_endpoint_config", EndpointConfigName=name)


def describe_model(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda name: ctx.call(SM, "describe_model", ModelName=name)


def describe_package(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda ref: ctx.call(SM, "describe_model_package", ModelPackageName=ref)


def list_group(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda group: {"packages": ctx.paginate(SM, "list_model_packages", "ModelPackageSummaryList",
                                                   ModelPackageGroupName=group)}


def list_tags(ctx: Context) -> Callable[[str], dict[str, str]]:
    return lambda arn: tags_to_dict(ctx.paginate(SM, "list_tags", "Tags", ResourceArn=arn))


def _ok(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in results.values() if isinstance(r, dict)]


def _strings(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str) and v]


def search_endpoints(ctx: Context) -> dict[str, dict[str, Any]]:
    """Search(Resource=Endpoint) pages: each endpoint's record (DescribeEndpoint's answer less what DESCRIBE_ONLY
    names, with the endpoint's tags), by name. A failed page ends the paging: the endpoints not read by then are
    described, as every endpoint was before (a failed Search costs calls, never data)."""
    return page_search(ctx, "Endpoint", ({}, None, 0, False), lambda seen, pages: False)[0]


def _page_endpoints(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for rec in page.get("Results") or []:
        ep = rec.get("Endpoint") if isinstance(rec, dict) else None
        if isinstance(ep, dict) and isinstance(ep.get("EndpointName"), str):
            out[ep["EndpointName"]] = ep
    return out


def searching(ctx: Context) -> bool:
    """Whether to read the endpoints' Search pages: only when some endpoints may need no DescribeEndpoint (a run
    reading everything, such as `snapshot`, describes them all and gets their tags in bulk)."""
    return ctx.options.get("reads") is not None and ctx.options.get("endpoint_describe_needed") is not None


def fresh_record(summary: dict[str, Any], records: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The listed endpoint's Search record when it is the endpoint the listing shows, unchanged since (same ARN,
    creation and modification time and status: the Search index may lag behind), naming its config, with
    well-formed tags. Otherwise None: the endpoint is described, as without a Search. The record's tags only
    decide whether to describe it; a tag change does not move the modification time, so the endpoint's tags
    are read in bulk all the same, and the decision is made again on them (prefetch)."""
    rec = records.get(summary.get("EndpointName"))  # type: ignore[arg-type]
    if rec is None or not isinstance(rec.get("EndpointConfigName"), str):
        return None
    if any(rec.get(k) != summary.get(k) for k in ("EndpointArn", "CreationTime", "LastModifiedTime",
                                                  "EndpointStatus")):
        return None
    tags = rec.get("Tags", [])  # AWS leaves out an empty list
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("Key"), str) and
                                             isinstance(t.get("Value"), str) for t in tags):
        return None
    return dict(rec, Tags=tags)


def describe_needed(ctx: Context, arn: str, name: str, tags: dict[str, str]) -> bool:
    """Whether a selected rule reads what only DescribeEndpoint answers of this endpoint (its scope takes the
    endpoint in, told from its tags; see evaluator.read_needed)."""
    need = ctx.options.get("endpoint_describe_needed")
    return need is None or bool(need(arn, name, ctx.account, ctx.region, tags, ctx.now))


def _plan(ctx: Context, summary: dict[str, Any], records: dict[str, dict[str, Any]],
          searched: set[str]) -> dict[str, Any] | None:
    """The record standing in for DescribeEndpoint (noted in `searched`), or None to describe the endpoint."""
    record = fresh_record(summary, records)
    if record is None:
        return None
    if describe_needed(ctx, record["EndpointArn"], record["EndpointName"], tags_to_dict(record["Tags"])):
        return None
    searched.add(record["EndpointName"])
    return record


def list_endpoints(ctx: Context) -> list[dict[str, Any]]:
    """ListEndpoints; with a call pool, each page's endpoints are described (endpoint, then its config, in one task)
    while the next page is read, and the region's read-aheads start with the first endpoint.

    Leaves ctx.cache["endpoints"] and ["configs"] keyed in listing order (so nothing downstream depends on which
    describe finished first); raises the listing's CollectError like paginate, after the started describes end."""
    if ctx.pool is None:
        return ctx.paginate(SM, "list_endpoints", "Endpoints")
    summaries: list[dict[str, Any]] = []
    chains: dict[str, Future[Any]] = {}
    configs: dict[str, Any] = {}
    claimed: set[str] = set()
    lock = threading.Lock()
    search = ModelSearch()
    queued = threading.Semaphore(CHAINS_QUEUED)

    def chain(name: str, record: dict[str, Any] | None) -> Any:
        try:
            got = record if record is not None else guarded(describe_endpoint(ctx), name)
            cfg = got.get("EndpointConfigName") if isinstance(got, dict) else None
            if isinstance(cfg, str) and cfg:
                with lock:
                    mine = cfg not in claimed
                    claimed.add(cfg)
                if mine:  # endpoints sharing a config: the first to get here describes it
                    configs[cfg] = answer = guarded(describe_config(ctx), cfg)
                    search.want(_variant_models(answer))
            return got
        finally:
            search.described()
            queued.release()

    records: Future[dict[str, dict[str, Any]]] | None = None
    searched: set[str] = set()
    try:
        for page in ctx.pages(SM, "list_endpoints", "Endpoints"):
            summaries += page
            by_name = {s["EndpointName"]: s for s in page if isinstance(s, dict) and s.get("EndpointName")}
            fresh = [n for n in dict.fromkeys(_strings(s.get("EndpointName") for s in page)) if n not in chains]
            if fresh:
                ctx.start_read_ahead()
                if records is None and searching(ctx):
                    # the chains wait for the records (they say what to describe); the read-aheads run meanwhile
                    records = ctx.pool.submit(search_endpoints, ctx)
            found = _records(records) if fresh else {}
            search.listed(len(fresh))
            for name in fresh:
                record = _plan(ctx, by_name[name], found, searched) if name in by_name else None
                while not queued.acquire(timeout=0.1):
                    ctx.check_cancelled()
                chains[name] = ctx.pool.submit(chain, name, record)
            if len(chains) >= SEARCH_MIN_MODELS and search.started is None:
                # the model pages are read while the endpoints are described, not after (see ModelSearch)
                search.started = ctx.pool.submit(search.run, ctx)
    finally:
        wait(list(chains.values()))
        search.listing_done()
    if search.started is not None:
        try:
            ctx.cache["model_search"] = search.started.result()
        except Exception:  # noqa: BLE001 - an unexpected Search answer: the models are described one by one
            ctx.cache["model_search"] = ({}, None, 1, True)
    endpoints = {name: fut.result() for name, fut in chains.items()}
    ctx.cache["endpoints"] = endpoints
    ctx.cache["endpoints_searched"] = searched
    ctx.cache["configs"] = {c: configs[c] for c in dict.fromkeys(
        _strings(d.get("EndpointConfigName") for d in _ok(endpoints)))}
    return summaries


def _records(records: Future[dict[str, dict[str, Any]]] | None) -> dict[str, dict[str, Any]]:
    if records is None:
        return {}
    try:
        return records.result()
    except Exception:  # noqa: BLE001 - an unexpected Search answer: every endpoint is described
        return {}


def guarded(fn: Callable[[str], Any], key: str) -> Any:
    try:
        return fn(key)
    except CollectError as err:
        return err


def prefetch(ctx: Context, summaries: list[dict[str, Any]]) -> None:
    """Fill ctx.cache with endpoints, configs, models, packages, groups and tags, each read once."""
    names = _strings(s.get("EndpointName") for s in summaries)
    endpoints = ctx.cache.get("endpoints")
    if endpoints is None:  # no call pool: the same reads as list_endpoints makes, one after another
        found = search_endpoints(ctx) if summaries and searching(ctx) else {}
        records: dict[str, dict[str, Any]] = {}
        searched: set[str] = set()
        for s in summaries:
            record = _plan(ctx, s, found, searched) if isinstance(s, dict) else None
            if record is not None:
                records[record["EndpointName"]] = record
        described = ctx.fetch_all(describe_endpoint(ctx), [n for n in names if n not in records])
        endpoints = ctx.cache["endpoints"] = {n: records[n] if n in records else described[n]
                                              for n in dict.fromkeys(names)}
        ctx.cache["endpoints_searched"] = searched
    configs = ctx.cache.get("configs")
    if configs is None:
        configs = ctx.cache["configs"] = ctx.fetch_all(
            describe_config(ctx), _strings(d.get("EndpointConfigName") for d in _ok(endpoints)))
    model_names = _strings(pv.get("ModelName") for d in _ok(configs) for pv in d.get("ProductionVariants") or []
                           if isinstance(pv, dict))
    models = ctx.cache["models"] = fetch_models(ctx, model_names)
    package_refs = _strings(c.get("ModelPackageName") for m in _ok(models)
                            for c in (m.get("Containers") or []) + [m.get("PrimaryContainer") or {}]
                            if isinstance(c, dict))
    packages = ctx.cache["packages"] = ctx.fetch_all(describe_package(ctx), package_refs)
    groups = _strings(p.get("ModelPackageGroupName") for p in _ok(packages))
    ctx.cache["groups"] = ctx.fetch_all(list_group(ctx), groups)
    # only the tags a rule of the run reads (the collector leaves the others unknown)
    arns = _strings(s.get("EndpointArn") for s in summaries) if ctx.wants("sagemaker.endpoint", "tags") else []
    if ctx.wants("sagemaker.endpoint_config", "tags"):
        arns += _strings(c.get("EndpointConfigArn") for c in _ok(configs))
    if ctx.wants("sagemaker.model", "tags"):
        arns += _strings(m.get("ModelArn") for m in _ok(models) if "Tags" not in m)
    if ctx.wants("sagemaker.model_package_group", "tags"):
        arns += [f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:model-package-group/{g.lower()}" for g in groups]
    tags = ctx.cache["tags"] = bulk_tags(ctx, arns, list_tags(ctx))
    _recheck(ctx, summaries, tags)


def _recheck(ctx: Context, summaries: list[dict[str, Any]], tags: dict[str, Any]) -> None:
    """Decide again, on the tags read in bulk, for each endpoint taken from its Search record: a tag change does not
    move an endpoint's modification time, so a lagging record's tags may be older than the endpoint's. An endpoint
    those tags take into a reader's scope (or whose tags could not be read) is described now."""
    searched: set[str] = ctx.cache["endpoints_searched"]
    if not searched or not ctx.wants("sagemaker.endpoint", "tags"):
        return  # a scope reading tags reads them: with none read, the decision never rested on tags
    redo = []
    for s in summaries:
        name, arn = s.get("EndpointName"), s.get("EndpointArn")
        if name in searched and isinstance(arn, str):
            got = tags.get(arn)
            if not isinstance(got, dict) or describe_needed(ctx, arn, name, got):
                redo.append(name)
    if redo:
        ctx.cache["endpoints"].update(ctx.fetch_all(describe_endpoint(ctx), redo))
        searched.difference_update(redo)


def _variant_models(config: Any) -> list[str]:
    if not isinstance(config, dict):
        return []
    return _strings(pv.get("ModelName") for pv in config.get("ProductionVariants") or [] if isinstance(pv, dict))


def fetch_models(ctx: Context, names: list[str]) -> dict[str, Any]:
    """Models by name: from SageMaker Search pages (100 models with their tags per call), DescribeModel for the rest."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, Any] = {}
    begun = ctx.cache.pop("model_search", None)
    if len(wanted) >= SEARCH_MIN_MODELS or begun is not None:
        found = search_models(ctx, set(wanted), begun)
    found.update(ctx.fetch_all(describe_model(ctx), [n for n in wanted if n not in found]))
    return found


Searched = tuple[dict[str, dict[str, Any]], str | None, int, bool]  # records by name, next token, pages, failed


def search_models(ctx: Context, wanted: set[str], begun: Searched | None = None) -> dict[str, dict[str, Any]]:
    """Page through Search(Resource=Model) until every wanted model is found, or paging costs more than it saves.

    The stop rule (pages read >= models still missing) bounds the cost at about twice the one-describe-per-model
    price even in an account with many undeployed models; a deleted model is never found and is described
    (and reported dangling) like any other miss. A failed Search only means the models are described one by one.
    `begun` is what ModelSearch read while the endpoints were described: paging goes on from there.
    """
    def enough(seen: dict[str, Any], pages: int) -> bool:
        missing = sum(1 for name in wanted if name not in seen)
        return not missing or pages >= missing

    seen = page_search(ctx, "Model", begun if begun is not None else ({}, None, 0, False), enough)[0]
    return {name: m for name, m in seen.items() if name in wanted}


def page_search(ctx: Context, resource: str, state: Searched,
                enough: Callable[[dict[str, Any], int], bool]) -> Searched:
    """Search(Resource=resource) pages from `state` on, records by name: the first page, then the next while there
    is one and `enough(records seen, pages read)` says to go on. A failed page ends the paging, marked failed; a
    token already followed ends it too (it would page forever)."""
    seen, token, pages, failed = state
    followed: set[str] = set()
    while not failed and (pages == 0 or (token and not enough(seen, pages))):
        try:
            page = ctx.call(SM, "search", Resource=resource, MaxResults=SEARCH_PAGE,
                            **({"NextToken": token} if token else {}))
        except CollectError:
            return seen, None, pages, True
        if token:
            followed.add(token)
        pages += 1
        seen.update(_RECORDS[resource](page))
        token = page.get("NextToken")
        if token in followed:
            token = None
    return seen, token, pages, failed


def _page_models(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for rec in page.get("Results") or []:
        model = ((rec or {}).get("Model") or {}).get("Model") if isinstance(rec, dict) else None
        if isinstance(model, dict) and isinstance(model.get("ModelName"), str):
            model.setdefault("Tags", [])
            out[model["ModelName"]] = model
    return out


# How each resource's Search records are read from a page, by name.
_RECORDS: dict[str, Callable[[dict[str, Any]], dict[str, dict[str, Any]]]] = {
    "Model": _page_models, "Endpoint": _page_endpoints}


class ModelSearch:
    """Search(Resource=Model) paged on the call pool while ListEndpoints' endpoints are described, so the model
    pages are not a chain of round trips after the last describe.

    Which models are wanted is only known as the configs are described, so until then the stop rule of
    search_models is applied to a bound that can only be too high: the models still missing among the configs
    described so far, plus one per endpoint not yet described (most endpoints deploy one model each). Once
    every describe is done the bound is exact, and search_models carries on (or stops) from where this left off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self._pending = 0  # endpoints listed and not yet described
        self._listing = True
        self.started: Future[Searched] | None = None

    def listed(self, n: int) -> None:
        with self._lock:
            self._pending += n

    def listing_done(self) -> None:
        with self._lock:
            self._listing = False

    def want(self, names: list[str]) -> None:
        with self._lock:
            self._wanted.update(names)

    def described(self) -> None:
        with self._lock:
            self._pending -= 1

    def _bound(self, seen: dict[str, Any]) -> tuple[int, bool]:
        """(models that may still be missing, whether every describe is done)."""
        with self._lock:
            missing = sum(1 for n in self._wanted if n not in seen)
            return missing + self._pending, not self._listing and self._pending <= 0

    def run(self, ctx: Context) -> Searched:
        def enough(seen: dict[str, Any], pages: int) -> bool:
            bound, settled = self._bound(seen)
            return settled or pages >= bound

        return page_search(ctx, "Model", ({}, None, 0, False), enough)
