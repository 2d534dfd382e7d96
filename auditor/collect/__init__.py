"""Collection orchestration: run every registered collector for each account-region into one graph."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from auditor import __version__
from auditor.collect import (  # noqa: F401 - importing registers the collectors (each declares its stage)
    autoscaling,
    cloudtrail,
    cloudwatch,
    ec2,
    iam,
    kms,
    logs_events,
    monitoring,
    s3,
    sagemaker,
)
from auditor.collect.base import COLLECTORS, CollectError, Context, _classify
from auditor.graph import ResourceGraph
from auditor.model import CollectionError
from auditor.session import SessionFactory

Progress = Callable[[str, str], None]


def required_permissions() -> list[str]:
    return sorted({p for c in COLLECTORS for p in c.permissions} | {"sts:GetCallerIdentity"})


def collect(
    factory: SessionFactory,
    regions: list[str],
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> ResourceGraph:
    """Snapshot one account across `regions`. Never raises for AWS errors: they are recorded in the graph."""
    now = now or dt.datetime.now(dt.UTC)
    graph = ResourceGraph(meta={
        "collected_at": now.isoformat().replace("+00:00", "Z"),
        "tool_version": __version__,
        "regions": list(regions),
    })
    try:
        account = factory.account_id()
    except Exception as exc:  # noqa: BLE001 - no identity means nothing can be collected: say so
        err = _classify("sts", "get_caller_identity", exc)
        graph.meta["account"] = "unknown"
        graph.record(CollectionError("sts", "GetCallerIdentity", err.code, err.message, "", "",
                                     affects=("*",)))
        return graph
    graph.meta["account"] = account
    for region in regions:
        ctx = Context(factory=factory, account=account, region=region, graph=graph, now=now,
                      options=dict(options or {}))
        for spec in COLLECTORS:
            if progress:
                progress(region, spec.name)
            try:
                spec.func(ctx)
            except CollectError as err:  # a collector let one escape: still data, not a crash
                ctx.listing_failed(err, ("*",))
            except Exception as exc:  # noqa: BLE001 - a malformed or unexpected response: incomplete, never a pass
                graph.record(CollectionError(spec.name, "collect", "UnexpectedResponse",
                                             f"{type(exc).__name__}: {exc}"[:500], account, region, affects=("*",)))
    graph.meta["api_calls"] = factory.counter.to_dict()
    return graph
