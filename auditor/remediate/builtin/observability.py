"""Observability remediators: the standard endpoint alarms, a dashboard per endpoint, log-group retention."""

from __future__ import annotations

import json
from typing import Any

from auditor.remediate.registry import Call, Inverse, Plan, Target, UndoOp, remediator

CW = "cloudwatch"
NS = "AWS/SageMaker"


# Which alarms answer which rule: an alarm is created only for a selected, non-waived finding's rule.
METRICS_FOR_RULE = {"SM-07-latency-alarm": ("ModelLatency",),
                    "SM-07-error-alarms": ("Invocation5XXErrors", "Invocation4XXErrors")}


def _variants(t: Target) -> list[str]:
    return [t.graph.attrs(v)["data"]["variant_name"] for v in t.graph.related(t.arn, "has_variant")]


@remediator("create-endpoint-alarms", ["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm",
                                        "cloudwatch:DeleteAlarms"],
            params={"latency_p99_us": 1_000_000, "errors_5xx": 0, "errors_4xx": 50, "alarm_actions": []},
            example="rules SM-07-latency-alarm, SM-07-error-alarms -> ModelLatency p99, 5XX and 4XX alarms per variant",
            inverses=(Inverse("cloudwatch:put_metric_alarm", (UndoOp("cloudwatch:delete_alarms", lambda f, _b: {
                "AlarmNames": [f["AlarmName"]]}),)),))
def create_alarms(t: Target) -> Plan:
    """Create per-variant alarms on ModelLatency (p99, microseconds), Invocation5XXErrors and Invocation4XXErrors
    (sums over 5 minutes), for the metrics that have no alarm yet and whose rule was selected and not waived
    (SM-07-latency-alarm: latency; SM-07-error-alarms: 5XX and 4XX; another rule: all three). Undo deletes only the
    alarms it created."""
    p = t.plan("create-endpoint-alarms", f"alarms for endpoint {t.name}")
    cw = t.client(CW, t.region)
    covered = {m for a in t.graph.related(t.arn, "alarmed_by")
               for m in t.graph.attrs(a)["data"].get("metric_names", [])}
    specs = [("ModelLatency", {"ExtendedStatistic": "p99"}, float(t.params["latency_p99_us"])),
             ("Invocation5XXErrors", {"Statistic": "Sum"}, float(t.params["errors_5xx"])),
             ("Invocation4XXErrors", {"Statistic": "Sum"}, float(t.params["errors_4xx"]))]
    wanted = {m for r in t.rule_ids() for m in METRICS_FOR_RULE.get(r, [s[0] for s in specs])}
    specs = [s for s in specs if s[0] in wanted]
    names = [f"{t.name}-{v}-{m}" for v in _variants(t) for m, _, _ in specs if m not in covered]
    found = cw.describe_alarms(AlarmNames=names).get("MetricAlarms", []) if names else []
    existing = {a["AlarmName"] for a in found}
    p.before = {"alarms_covering": sorted(covered), "existing_named": sorted(existing)}
    for v in _variants(t):
        for metric, stat, threshold in specs:
            name = f"{t.name}-{v}-{metric}"
            if metric in covered or name in existing:
                continue
            p.calls.append(Call(CW, "put_metric_alarm", {
                "AlarmName": name, "AlarmDescription": f"{metric} of {t.name}/{v} (created by sagemaker-auditor)",
                "Namespace": NS, "MetricName": metric, **stat, "Period": 300, "EvaluationPeriods": 3,
                "DatapointsToAlarm": 2, "Threshold": threshold, "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching", "AlarmActions": list(t.params["alarm_actions"]),
                "Dimensions": [{"Name": "EndpointName", "Value": t.name}, {"Name": "VariantName", "Value": v}]},
                t.region, f"alarm {name}", (Call(CW, "delete_alarms", {"AlarmNames": [name]}, t.region,
                                                  f"delete alarm {name}"),)))
    if not p.calls:
        p.skip_reason = "the standard alarms already exist"
    return p


def dashboard_body(endpoint: str, region: str, variants: list[str]) -> dict[str, Any]:
    latency, traffic = [], []
    for v in variants:
        dims = ["EndpointName", endpoint, "VariantName", v]
        latency += [[NS, "ModelLatency", *dims, {"stat": s, "label": f"{v} {s}"}] for s in ("p50", "p95", "p99")]
        traffic += [[NS, m, *dims, {"stat": "Sum", "label": f"{v} {m}"}]
                    for m in ("Invocations", "Invocation5XXErrors", "Invocation4XXErrors")]
    return {"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
            "title": f"{endpoint}: model latency (µs)", "region": region, "metrics": latency, "period": 60}},
        {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {
            "title": f"{endpoint}: invocations and errors", "region": region, "metrics": traffic, "period": 60}},
    ]}


@remediator("create-endpoint-dashboard", ["cloudwatch:GetDashboard", "cloudwatch:PutDashboard",
                                           "cloudwatch:DeleteDashboards"],
            example="rule SM-07-dashboard -> a dashboard with latency p50/p95/p99, invocations and errors",
            inverses=(Inverse("cloudwatch:put_dashboard", (
                UndoOp("cloudwatch:put_dashboard", lambda f, _b: {"DashboardName": f["DashboardName"]},
                       ("DashboardBody",)),
                UndoOp("cloudwatch:delete_dashboards", lambda f, _b: {"DashboardNames": [f["DashboardName"]]}))),))
def create_dashboard(t: Target) -> Plan:
    """Create (or complete) the dashboard `sagemaker-ENDPOINT` with latency p50/p95/p99, invocations and 4XX/5XX
    errors per variant. Undo deletes it, or restores its previous body if it existed."""
    from botocore.exceptions import ClientError

    name = f"sagemaker-{t.name}"
    p = t.plan("create-endpoint-dashboard", f"dashboard {name}")
    cw = t.client(CW, t.region)
    try:
        previous: str | None = cw.get_dashboard(DashboardName=name)["DashboardBody"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        previous = None
    body = json.dumps(dashboard_body(t.name, t.region, _variants(t)), sort_keys=True)
    p.before = {"dashboard_body": previous}
    if previous is not None and json.loads(previous) == json.loads(body):
        p.skip_reason = "the dashboard already shows what the policy asks"
        return p
    undo = (Call(CW, "put_dashboard", {"DashboardName": name, "DashboardBody": previous}, t.region,
                 "restore the previous dashboard"),) if previous is not None else (
        Call(CW, "delete_dashboards", {"DashboardNames": [name]}, t.region, "delete the dashboard"),)
    p.calls.append(Call(CW, "put_dashboard", {"DashboardName": name, "DashboardBody": body}, t.region,
                        f"dashboard {name}", undo))
    return p


@remediator("set-log-retention", ["logs:DescribeLogGroups", "logs:CreateLogGroup", "logs:PutRetentionPolicy",
                                   "logs:DeleteRetentionPolicy"],
            params={"retention_days": 90},
            example="rule SM-07-log-group -> put_retention_policy 90 days on /aws/sagemaker/Endpoints/NAME",
            inverses=(Inverse("logs:create_log_group"),  # kept on undo: by then it may hold logs
                      Inverse("logs:put_retention_policy", (UndoOp("logs:delete_retention_policy", lambda f, _b: {
                          "logGroupName": f["logGroupName"]}),))))
def set_log_retention(t: Target) -> Plan:
    """Give the endpoint's log group a retention period (creating the group if SageMaker has not yet). Undo removes
    the retention policy; a created group is kept, because by then it may hold logs (no data is ever deleted)."""
    group = f"/aws/sagemaker/Endpoints/{t.name}"
    days = int(t.params["retention_days"])
    p = t.plan("set-log-retention", f"retention {days} days on {group}")
    logs = t.client("logs", t.region)
    found = [g for g in logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
             if g["logGroupName"] == group]
    p.before = {"exists": bool(found), "retention_in_days": found[0].get("retentionInDays") if found else None}
    if found and found[0].get("retentionInDays"):
        p.skip_reason = f"retention is already {found[0]['retentionInDays']} days"
        return p
    if not found:
        p.calls.append(Call("logs", "create_log_group", {"logGroupName": group}, t.region, f"create {group}",
                            ok_errors=("ResourceAlreadyExistsException",)))
        p.notes.append("undo keeps the created log group: it may hold logs by then")
    p.calls.append(Call("logs", "put_retention_policy", {"logGroupName": group, "retentionInDays": days}, t.region,
                        f"retention {days} days", (Call("logs", "delete_retention_policy", {"logGroupName": group},
                                                        t.region, "remove the retention policy"),)))
    return p
