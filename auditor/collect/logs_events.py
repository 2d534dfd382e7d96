"""CloudWatch Logs and EventBridge collectors: endpoint log groups; scheduled rules (idle-stop automation)."""

from __future__ import annotations

from auditor.collect.base import STAGE_SIGNALS, CollectError, Context, collector

LOG_PREFIX = "/aws/sagemaker/Endpoints/"


@collector("logs", STAGE_SIGNALS, permissions=["logs:DescribeLogGroups"])
def collect_logs(ctx: Context) -> None:
    """One paginated listing by prefix covers every endpoint's log group."""
    g = ctx.graph
    by_name: dict[str, str] = ctx.cache.get("endpoint_by_name", {})
    try:
        groups = ctx.paginate("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=LOG_PREFIX)
    except CollectError as err:
        ctx.listing_failed(err, ("logs.log_group",))
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


@collector("events", STAGE_SIGNALS, permissions=["events:ListRules", "events:ListTargetsByRule"])
def collect_events(ctx: Context) -> None:
    """EventBridge rules with their targets: evidence of scheduled automation such as idle-endpoint stop."""
    g = ctx.graph
    try:
        rules = ctx.paginate("events", "list_rules", "Rules")
    except CollectError as err:
        ctx.listing_failed(err, ("events.rule",))
        g.set_error(ctx.region_node, "rel:has_event_rule", err.reason)
        return
    for r in rules:
        rid = r["Arn"]
        g.add_node(rid, "events.rule", name=r["Name"], account=ctx.account, region=ctx.region, data={
            "state": r.get("State"), "schedule_expression": r.get("ScheduleExpression"),
            "event_pattern": r.get("EventPattern"), "description": r.get("Description"),
            "scheduled": bool(r.get("ScheduleExpression")),
        })
        g.add_edge(ctx.region_node, "has_event_rule", rid)
        try:
            targets = ctx.paginate("events", "list_targets_by_rule", "Targets", Rule=r["Name"])
        except CollectError as err:
            ctx.node_failed(rid, "targets", err)
            continue
        arns = [t.get("Arn", "") for t in targets]
        g.set_data(rid, targets=arns, targets_lambda=any(":lambda:" in a for a in arns))
