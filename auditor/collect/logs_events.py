"""CloudWatch Logs and EventBridge collectors: endpoint log groups; scheduled rules (idle-stop automation)."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import STAGE_SIGNALS, CollectError, Context, collector, read_ahead

LOG_PREFIX = "/aws/sagemaker/Endpoints/"


@collector("logs", STAGE_SIGNALS, permissions=["logs:DescribeLogGroups"], finds=["logs.log_group"],
           fills=[("sagemaker.endpoint", "rel:logs_to")])
def collect_logs(ctx: Context) -> None:
    """One paginated listing by prefix covers every endpoint's log group."""
    g = ctx.graph
    by_name: dict[str, str] = ctx.cache.get("endpoint_by_name", {})
    groups = ctx.ahead(read_log_groups)
    if isinstance(groups, CollectError):
        ctx.listing_failed(groups, ("logs.log_group",))
        return
    for lg in groups:
        name = lg["logGroupName"]
        lid = (lg.get("arn") or f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{name}").removesuffix(":*")
        g.add_node(lid, "logs.log_group", name=name, account=ctx.account, region=ctx.region, data={
            "retention_in_days": lg.get("retentionInDays"), "kms_key_id": lg.get("kmsKeyId"),
            "stored_bytes": lg.get("storedBytes"),
        })
        endpoint = name[len(LOG_PREFIX):]
        if endpoint in by_name:
            g.add_edge(by_name[endpoint], "logs_to", lid)


@read_ahead("logs")
def read_log_groups(ctx: Context) -> list[Any]:
    return ctx.paginate("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=LOG_PREFIX)


@collector("events", STAGE_SIGNALS, permissions=["events:ListRules", "events:ListTargetsByRule"],
           finds=["events.rule"], fills=[("aws.region", "rel:has_event_rule")])
def collect_events(ctx: Context) -> None:
    """EventBridge rules with their targets: evidence of scheduled automation such as idle-endpoint stop."""
    g = ctx.graph
    got = ctx.ahead(read_rules)
    if isinstance(got, CollectError):
        ctx.listing_failed(got, ("events.rule",))
        g.set_error(ctx.region_node, "rel:has_event_rule", got.reason)
        return
    rules, targets_of = got
    for r in rules:
        rid = r["Arn"]
        g.add_node(rid, "events.rule", name=r["Name"], account=ctx.account, region=ctx.region, data={
            "state": r.get("State"), "schedule_expression": r.get("ScheduleExpression"),
            "event_pattern": r.get("EventPattern"), "description": r.get("Description"),
            "scheduled": bool(r.get("ScheduleExpression")),
        })
        g.add_edge(ctx.region_node, "has_event_rule", rid)
        targets = targets_of[r["Name"]]
        if isinstance(targets, CollectError):
            ctx.node_failed(rid, "targets", targets)
            continue
        arns = [t.get("Arn", "") for t in targets]
        g.set_data(rid, targets=arns, targets_lambda=any(":lambda:" in a for a in arns))


@read_ahead("events")
def read_rules(ctx: Context) -> tuple[list[Any], dict[str, Any]]:
    """The region's rules and each one's targets (or the CollectError that kept them unknown)."""
    rules = ctx.paginate("events", "list_rules", "Rules")
    targets = ctx.fetch_all(lambda name: ctx.paginate("events", "list_targets_by_rule", "Targets", Rule=name),
                            [r["Name"] for r in rules])
    return rules, targets
