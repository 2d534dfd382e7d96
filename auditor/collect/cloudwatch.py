"""CloudWatch collector: alarms and dashboards linked to endpoints, and the endpoint metrics rules need."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from auditor.collect.base import STAGE_SIGNALS, CollectError, Context, collector, read_ahead

CW = "cloudwatch"
ENDPOINT_NS = "/aws/sagemaker/Endpoints"
INVOCATION_NS = "AWS/SageMaker"
ENDPOINT_DIMS = ("EndpointName", "Endpoint")  # Model Monitor metrics use "Endpoint"
LATENCY_DIMS = ("EndpointName", "VariantName")  # ModelLatency is published only per endpoint and variant
MAX_QUERIES = 500  # GetMetricData limit per call
ALARMS_PAGE = 100  # DescribeAlarms MaxRecords: 1 to 100 (botocore's CloudWatch model)


def start_cloudwatch(ctx: Context) -> None:
    """Early hook: the variants to measure are known once the roots stage is done."""
    plan = _plan(ctx)
    ctx.start("cloudwatch.metrics", _metric_reader(ctx, plan), list(plan))


@collector("cloudwatch", STAGE_SIGNALS, permissions=[
    "cloudwatch:DescribeAlarms", "cloudwatch:ListDashboards", "cloudwatch:GetDashboard", "cloudwatch:GetMetricData",
], early=start_cloudwatch, finds=["cloudwatch.alarm", "cloudwatch.dashboard"], fills=[
    ("sagemaker.endpoint", "rel:alarmed_by"), ("sagemaker.endpoint", "rel:rollback_alarm"),
    ("sagemaker.endpoint", "rel:shown_on"), ("sagemaker.endpoint", "dashboard_metrics"),
    ("sagemaker.endpoint", "invocations_window"), ("sagemaker.variant", "metrics"),
])
def collect_cloudwatch(ctx: Context) -> None:
    """Alarms (one paginated listing), dashboards (one get each), metrics (batched 500 queries per call)."""
    _alarms(ctx)
    _dashboards(ctx)
    _metrics(ctx)


def _endpoint_names(ctx: Context) -> dict[str, str]:
    return dict(ctx.cache.get("endpoint_by_name", {}))


def _alarms(ctx: Context) -> None:
    g = ctx.graph
    by_name = _endpoint_names(ctx)
    alarms = ctx.ahead(read_alarms)
    if isinstance(alarms, CollectError):
        err = alarms
        ctx.listing_failed(err, ("cloudwatch.alarm",))
        for arn in by_name.values():
            g.set_error(arn, "rel:alarmed_by", err.reason)
            g.set_error(arn, "rel:rollback_alarm", err.reason)
        return
    alarm_ids: dict[str, str] = {}
    for a in alarms:
        aid = a["AlarmArn"]
        metrics = _alarm_metrics(a)
        g.add_node(aid, "cloudwatch.alarm", name=a["AlarmName"], account=ctx.account, region=ctx.region, data={
            "metric_name": a.get("MetricName") or (metrics[0]["metric_name"] if metrics else None),
            "metric_names": sorted({m["metric_name"] for m in metrics if m["metric_name"]}),
            "namespace": a.get("Namespace") or (metrics[0]["namespace"] if metrics else None),
            "statistic": a.get("Statistic") or a.get("ExtendedStatistic") or
            (metrics[0]["stat"] if metrics else None),
            "state": a.get("StateValue"), "actions_enabled": a.get("ActionsEnabled"),
            "alarm_actions": a.get("AlarmActions", []), "threshold": a.get("Threshold"),
            "comparison": a.get("ComparisonOperator"), "composite": "AlarmRule" in a,
            **latency_statistics(metrics),
        })
        alarm_ids[a["AlarmName"]] = aid
        for m in metrics:
            ep = next((m["dimensions"][d] for d in ENDPOINT_DIMS if d in m["dimensions"]), None)
            if ep in by_name:
                g.add_edge(by_name[ep], "alarmed_by", aid)
    for arn in by_name.values():
        cfg = g.attrs(arn)["data"].get("last_deployment_config") or {}
        for ref in (cfg.get("AutoRollbackConfiguration") or {}).get("Alarms", []):
            name = ref.get("AlarmName", "")
            aid = alarm_ids.get(name)
            if aid is None:  # the rollback alarm was deleted: a dangling reference, visible as such
                aid = f"arn:aws:cloudwatch:{ctx.region}:{ctx.account}:alarm:{name}"
                g.add_node(aid, "cloudwatch.alarm", name=name, account=ctx.account, region=ctx.region, dangling=True)
            g.add_edge(arn, "rollback_alarm", aid)


@read_ahead("cloudwatch")
def read_alarms(ctx: Context) -> list[dict[str, Any]]:
    alarms: list[dict[str, Any]] = []
    token = None
    while True:
        page = ctx.call(CW, "describe_alarms", AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=ALARMS_PAGE,
                        **({"NextToken": token} if token else {}))
        alarms += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        token = page.get("NextToken")
        if not token:
            return alarms


def _alarm_metrics(a: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    if a.get("MetricName"):
        out.append({"metric_name": a["MetricName"], "namespace": a.get("Namespace"),
                    "stat": a.get("Statistic") or a.get("ExtendedStatistic"),
                    "dimensions": {d["Name"]: d["Value"] for d in a.get("Dimensions", [])}})
    for m in a.get("Metrics") or []:
        stat = m.get("MetricStat") or {}
        metric = stat.get("Metric") or {}
        if metric:
            out.append({"metric_name": metric.get("MetricName"), "namespace": metric.get("Namespace"),
                        "stat": stat.get("Stat"),
                        "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}})
    return out


def _tail_rank(stat: str) -> float:
    """How far into the tail a statistic looks: Maximum first, then pNN by percentile; anything else is 0."""
    if stat == "Maximum":
        return 101.0
    m = re.fullmatch(r"p(\d{1,3}(?:\.\d+)?)", stat)
    return float(m.group(1)) if m else 0.0


def latency_statistics(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """The statistics an alarm applies to ModelLatency as SageMaker publishes it (AWS/SageMaker, EndpointName and
    VariantName): a one-dimension query matches no data, so it does not count. `latency_statistic` is the one
    looking furthest into the tail (a metric-math alarm may combine several variants' queries)."""
    stats = sorted({str(m["stat"]) for m in metrics
                    if m["metric_name"] == "ModelLatency" and m["namespace"] == INVOCATION_NS and m["stat"]
                    and set(LATENCY_DIMS) <= set(m["dimensions"])})
    best = max(stats, key=_tail_rank, default=None)
    return {"latency_statistics": stats, "latency_statistic": best}


def _dashboards(ctx: Context) -> None:
    g = ctx.graph
    by_name = _endpoint_names(ctx)
    got = ctx.ahead(read_dashboards)
    if isinstance(got, CollectError):
        ctx.listing_failed(got, ("cloudwatch.dashboard",))
        for arn in by_name.values():
            g.set_error(arn, "dashboard_metrics", got.reason)
        return
    entries, bodies = got
    coverage: dict[str, dict[str, set[str]]] = {}
    failed: list[str] = []
    for e in entries:
        did = e.get("DashboardArn") or f"arn:aws:cloudwatch::{ctx.account}:dashboard/{e['DashboardName']}"
        g.add_node(did, "cloudwatch.dashboard", name=e["DashboardName"], account=ctx.account, region=ctx.region)
        got = bodies[e["DashboardName"]]
        if isinstance(got, CollectError):
            ctx.node_failed(did, "describe", got)
            failed.append(got.reason)
            continue
        body = got.get("DashboardBody") or "{}"
        shown = dashboard_metrics(body)
        g.set_data(did, endpoints=sorted(shown))
        for ep, metrics in shown.items():
            if ep in by_name:
                g.add_edge(by_name[ep], "shown_on", did)
                for metric, stats in metrics.items():
                    coverage.setdefault(ep, {}).setdefault(metric, set()).update(stats)
    for ep, arn in by_name.items():
        if failed and ep not in coverage:  # an unreadable dashboard might have shown it
            g.set_error(arn, "dashboard_metrics", failed[0])
        g.set_data(arn, dashboard_metrics={m: sorted(s) for m, s in sorted(coverage.get(ep, {}).items())})


@read_ahead("cloudwatch")
def read_dashboards(ctx: Context) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    entries = ctx.paginate(CW, "list_dashboards", "DashboardEntries")
    bodies = ctx.fetch_all(lambda name: ctx.call(CW, "get_dashboard", DashboardName=name),
                           [e["DashboardName"] for e in entries])
    return entries, bodies


def dashboard_metrics(body: str) -> dict[str, dict[str, set[str]]]:
    """{endpoint: {metric: {stats}}} from a dashboard body, honouring the "." repeat shorthand."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError:
        return {}
    out: dict[str, dict[str, set[str]]] = {}
    for w in doc.get("widgets", []) if isinstance(doc, dict) else []:
        props = w.get("properties") or {}
        default_stat = props.get("stat", "Average")
        prev: list[Any] = []
        for row in props.get("metrics", []) or []:
            if not isinstance(row, list):
                continue
            opts = row[-1] if row and isinstance(row[-1], dict) else {}
            parts = [p for p in row if not isinstance(p, dict)]
            parts = [prev[i] if p == "." and i < len(prev) else p for i, p in enumerate(parts)]
            prev = parts
            if len(parts) < 2:
                continue
            metric = str(parts[1])
            dims = dict(zip(parts[2::2], parts[3::2], strict=False))
            ep = next((dims[d] for d in ENDPOINT_DIMS if d in dims), None)
            if ep:
                out.setdefault(str(ep), {}).setdefault(metric, set()).add(str(opts.get("stat", default_stat)))
    return out


Batch = list[tuple[str, str, dict[str, Any]]]  # (variant, kind, query) sharing one time range
Plan = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Batch, dt.datetime, dt.datetime]]


def _plan(ctx: Context) -> Plan:
    """Per variant: hourly Invocations over the idle window, p95 CPU and mean GPU over the sizing window; grouped
    into GetMetricData calls, each keyed by its time range and what it asks about."""
    g = ctx.graph
    idle_h = int(ctx.options.get("idle_window_hours", 24))
    size_d = int(ctx.options.get("utilisation_window_days", 14))
    end = ctx.now.replace(second=0, microsecond=0)
    variants = [v for v in g.nodes_of_type("sagemaker.variant") if g.attrs(v)["region"] == ctx.region]
    queries: list[tuple[str, str, dict[str, Any], dt.datetime]] = []
    for v in variants:
        d = g.attrs(v)["data"]
        dims = [{"Name": "EndpointName", "Value": d["endpoint_name"]},
                {"Name": "VariantName", "Value": d["variant_name"]}]
        if d.get("async_inference"):
            # Asynchronous endpoints publish no Invocations: InvocationsProcessed (EndpointName only) counts their work.
            queries.append((v, "invocations", _q(INVOCATION_NS, "InvocationsProcessed", dims[:1], 3600, "Sum"),
                            end - dt.timedelta(hours=idle_h)))
        else:
            queries.append((v, "invocations", _q(INVOCATION_NS, "Invocations", dims, 3600, "Sum"),
                            end - dt.timedelta(hours=idle_h)))
        if d.get("serverless"):  # no instances: invocations only
            continue
        queries.append((v, "cpu", _q(ENDPOINT_NS, "CPUUtilization", dims, size_d * 86400, "p95"),
                        end - dt.timedelta(days=size_d)))
        if d.get("is_gpu"):
            queries.append((v, "gpu", _q(ENDPOINT_NS, "GPUUtilization", dims, size_d * 86400, "Average"),
                            end - dt.timedelta(days=size_d)))
    # One GetMetricData call serves up to 500 queries sharing a time range: group by start time.
    by_start: dict[dt.datetime, Batch] = {}
    for v, kind, q, start in queries:
        by_start.setdefault(start, []).append((v, kind, q))
    plan: Plan = {}
    for start, group in sorted(by_start.items()):
        for i in range(0, len(group), MAX_QUERIES):
            batch = group[i:i + MAX_QUERIES]
            plan[(start.isoformat(), tuple((v, kind) for v, kind, _ in batch))] = (batch, start, end)
    return plan


def _metric_reader(ctx: Context, plan: Plan) -> Callable[[Any], dict[str, dict[str, Any]]]:
    return lambda key: _read_batch(ctx, *plan[key])


def _metrics(ctx: Context) -> None:
    """Every batch on the call pool at once (or as started early), applied here in plan order."""
    plan = _plan(ctx)
    got = ctx.fetch_all(_metric_reader(ctx, plan), list(plan), started="cloudwatch.metrics")
    for key, (batch, _, _) in plan.items():
        _apply_batch(ctx, batch, got[key])
    _endpoint_totals(ctx)


def _q(ns: str, name: str, dims: list[dict[str, str]], period: int, stat: str) -> dict[str, Any]:
    return {"MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims},
                           "Period": period, "Stat": stat}, "ReturnData": True}


def _read_batch(ctx: Context, batch: Batch, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, Any]]:
    """Every page of one GetMetricData call: {query id: values and status} (AWS only: no graph)."""
    queries = [dict(q, Id=f"q{i}") for i, (_, _, q) in enumerate(batch)]
    results: dict[str, dict[str, Any]] = {}
    token = None
    while True:
        page = ctx.call(CW, "get_metric_data", MetricDataQueries=queries, StartTime=start, EndTime=end,
                        **({"NextToken": token} if token else {}))
        for r in page.get("MetricDataResults", []):
            prev = results.setdefault(r["Id"], {"Values": [], "StatusCode": r.get("StatusCode")})
            prev["Values"] += r.get("Values", [])
            prev["StatusCode"] = r.get("StatusCode")
        token = page.get("NextToken")
        if not token:
            return results


def _apply_batch(ctx: Context, batch: Batch, results: dict[str, dict[str, Any]] | CollectError) -> None:
    g = ctx.graph
    if isinstance(results, CollectError):
        for v, _, _ in batch:
            ctx.node_failed(v, "metrics", results)
        return
    for i, (v, kind, _) in enumerate(batch):
        r = results.get(f"q{i}")
        field = _FIELD[kind]
        if r is None or r.get("StatusCode") not in ("Complete", None):
            g.set_error(v, "metrics", f"GetMetricData returned {r and r.get('StatusCode')} for {kind}")
            continue
        vals = [float(x) for x in r["Values"]]
        metrics = g.attrs(v)["data"].setdefault("metrics", {})
        if kind == "invocations":
            # Missing datapoints mean no invocations (SageMaker emits nothing when idle).
            metrics[field] = sum(vals)
            top = sorted(vals, reverse=True)[:4]
            metrics["invocations_top4h_share"] = round(sum(top) / sum(vals), 3) if sum(vals) else None
            metrics["active_hours"] = sum(1 for x in vals if x > 0)
        elif kind == "cpu":
            units = g.attrs(v)["data"].get("vcpus")
            metrics[field] = round(max(vals), 2) if vals else None
            metrics["cpu_p95_per_vcpu"] = round(max(vals) / units, 2) if vals and units else None
        else:
            units = g.attrs(v)["data"].get("gpus")
            metrics[field] = round(max(vals), 2) if vals else None
            metrics["gpu_avg_per_gpu"] = round(max(vals) / units, 2) if vals and units else None


_FIELD = {"invocations": "invocations_window", "cpu": "cpu_p95", "gpu": "gpu_avg"}


def _endpoint_totals(ctx: Context) -> None:
    """Endpoint-level invocation totals: an error on any variant makes the total unknown."""
    g = ctx.graph
    for arn in g.nodes_of_type("sagemaker.endpoint"):
        if g.attrs(arn)["region"] != ctx.region:
            continue
        total = 0.0
        err = None
        variants = g.related(arn, "has_variant")
        for v in variants:
            a = g.attrs(v)
            if "metrics" in a["errors"]:
                err = a["errors"]["metrics"]
            total += (a["data"].get("metrics") or {}).get("invocations_window") or 0.0
        if err:
            g.set_error(arn, "invocations_window", err)
        elif variants:
            g.set_data(arn, invocations_window=total)
