"""Model Monitor collector: monitoring schedules and their four kinds of job definition."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, read_ahead

SM = "sagemaker"
SCHEDULE = "sagemaker.monitoring_schedule"
DESCRIBE_ONLY = ("schedule_expression", "last_execution_status")  # what only DescribeMonitoringSchedule answers
DESCRIBE_JOB = {
    "DataQuality": ("describe_data_quality_job_definition", "DataQuality"),
    "ModelQuality": ("describe_model_quality_job_definition", "ModelQuality"),
    "ModelBias": ("describe_model_bias_job_definition", "ModelBias"),
    "ModelExplainability": ("describe_model_explainability_job_definition", "ModelExplainability"),
}


@collector("monitoring", STAGE_RELATED, permissions=[
    "sagemaker:ListMonitoringSchedules", "sagemaker:DescribeMonitoringSchedule",
    "sagemaker:DescribeDataQualityJobDefinition", "sagemaker:DescribeModelQualityJobDefinition",
    "sagemaker:DescribeModelBiasJobDefinition", "sagemaker:DescribeModelExplainabilityJobDefinition",
], finds=[SCHEDULE, "sagemaker.monitoring_job_definition"], fills=[("sagemaker.endpoint", "rel:monitored_by")])
def collect_monitoring(ctx: Context) -> None:
    """Schedules linked to endpoints by EndpointName; job definitions with baselines and ground truth."""
    g = ctx.graph
    by_name: dict[str, str] = ctx.cache.get("endpoint_by_name", {})
    got = ctx.ahead(read_monitoring)
    if isinstance(got, CollectError):
        ctx.listing_failed(got, ("sagemaker.monitoring_schedule", "sagemaker.monitoring_job_definition"))
        return
    summaries, described, jobs = got
    for s in summaries:
        sid = s["MonitoringScheduleArn"]
        g.add_node(sid, "sagemaker.monitoring_schedule", name=s["MonitoringScheduleName"], account=ctx.account,
                   region=ctx.region, data={
                       "status": s.get("MonitoringScheduleStatus"),
                       "monitoring_type": s.get("MonitoringType") or "DataQuality",
                       "endpoint_name": s.get("EndpointName"),
                       "job_definition_name": s.get("MonitoringJobDefinitionName"),
                   })
        if s.get("EndpointName") in by_name:
            g.add_edge(by_name[s["EndpointName"]], "monitored_by", sid)
        d = described.get(s["MonitoringScheduleName"])
        if isinstance(d, CollectError):
            ctx.node_failed(sid, "describe", d)
            continue
        mtype = str(g.attrs(sid)["data"]["monitoring_type"])
        if d is None:  # its summary said all the run's rules read (see read_monitoring)
            ctx.not_collected(sid, *DESCRIBE_ONLY)
            key, inline = _summary_key(s), None
        else:
            cfg = d.get("MonitoringScheduleConfig") or {}
            mtype = _schedule_type(d)
            g.set_data(sid, monitoring_type=mtype, status=d.get("MonitoringScheduleStatus"),
                       schedule_expression=(cfg.get("ScheduleConfig") or {}).get("ScheduleExpression"),
                       last_execution_status=(d.get("LastMonitoringExecutionSummary") or {}).get(
                           "MonitoringExecutionStatus"))
            key, inline = _job_key(d), cfg.get("MonitoringJobDefinition")
        if key is not None:
            jid = _job_definition(ctx, key, jobs[key])
        elif inline:
            jid = _inline_definition(ctx, sid, mtype, inline)
        else:
            continue
        g.add_edge(sid, "uses_job_definition", jid)


@read_ahead("monitoring")
def read_monitoring(ctx: Context) -> tuple[list[Any], dict[str, Any], dict[tuple[str, str], Any]]:
    """The schedules, described where their summaries do not say enough, and the job definitions they name (AWS
    only: no graph).

    A summary gives the schedule's status, type, endpoint and job definition name: all a rule reads unless it reads
    the schedule expression or the last execution, which only the describe gives (as it gives an inline job
    definition, named by no summary). So a run whose rules read neither describes only the inline ones."""
    summaries = ctx.paginate(SM, "list_monitoring_schedules", "MonitoringScheduleSummaries")
    full = ctx.wants(SCHEDULE, *DESCRIBE_ONLY)
    described = ctx.fetch_all(
        lambda name: ctx.call(SM, "describe_monitoring_schedule", MonitoringScheduleName=name),
        [s["MonitoringScheduleName"] for s in summaries if full or _summary_key(s) is None])
    keys = [k for k in (_job_key(d) for d in described.values() if isinstance(d, dict)) if k is not None]
    keys += [k for k in (_summary_key(s) for s in summaries if s["MonitoringScheduleName"] not in described)
             if k is not None]
    jobs = ctx.fetch_all(lambda key: ctx.call(SM, DESCRIBE_JOB.get(key[0], DESCRIBE_JOB["DataQuality"])[0],
                                              JobDefinitionName=key[1]), keys)
    return summaries, described, jobs


def _schedule_type(d: dict[str, Any]) -> str:
    return str(d.get("MonitoringType") or (d.get("MonitoringScheduleConfig") or {}).get("MonitoringType")
               or "DataQuality")


def _summary_key(s: dict[str, Any]) -> tuple[str, str] | None:
    """(monitoring type, job definition name) of a listed schedule whose summary names both."""
    mtype, name = s.get("MonitoringType"), s.get("MonitoringJobDefinitionName")
    return (mtype, name) if isinstance(mtype, str) and mtype and isinstance(name, str) and name else None


def _job_key(d: dict[str, Any]) -> tuple[str, str] | None:
    """(monitoring type, job definition name) of a described schedule that names its job definition."""
    name = (d.get("MonitoringScheduleConfig") or {}).get("MonitoringJobDefinitionName")
    return (_schedule_type(d), name) if isinstance(name, str) and name else None


def _job_definition(ctx: Context, key: tuple[str, str], d: dict[str, Any] | CollectError) -> str:
    """The job definition node from its (already read) DescribeXxxJobDefinition answer."""
    mtype, name = key
    g = ctx.graph
    kind = mtype.replace("Model", "model-").replace("Data", "data-").lower().strip("-")
    jid = f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:{kind}-job-definition/{name.lower()}"
    if jid in g:
        return jid
    g.add_node(jid, "sagemaker.monitoring_job_definition", name=name, account=ctx.account, region=ctx.region,
               data={"monitoring_type": mtype})
    prefix = DESCRIBE_JOB.get(mtype, DESCRIBE_JOB["DataQuality"])[1]
    if isinstance(d, CollectError):
        ctx.describe_failed(jid, "sagemaker.monitoring_job_definition", name, d)
        return jid
    baseline = d.get(f"{prefix}BaselineConfig") or {}
    job_input = d.get(f"{prefix}JobInput") or {}
    g.set_data(jid, **_definition_facts(mtype, baseline, job_input))
    return jid


def _inline_definition(ctx: Context, schedule_id: str, mtype: str, spec: dict[str, Any]) -> str:
    jid = f"{schedule_id}/inline-job-definition"
    baseline = spec.get("BaselineConfig") or {}
    inputs = (spec.get("MonitoringInputs") or [{}])[0]
    ctx.graph.add_node(jid, "sagemaker.monitoring_job_definition", name=jid.rsplit("/", 2)[-2],
                       account=ctx.account, region=ctx.region,
                       data={"monitoring_type": mtype, **_definition_facts(mtype, baseline, inputs)})
    return jid


def _definition_facts(mtype: str, baseline: dict[str, Any], job_input: dict[str, Any]) -> dict[str, Any]:
    endpoint_input = job_input.get("EndpointInput") or {}
    ground_truth = (job_input.get("GroundTruthS3Input") or {}).get("S3Uri")
    return {
        "monitoring_type": mtype,
        "baseline_constraints_uri": (baseline.get("ConstraintsResource") or {}).get("S3Uri"),
        "baseline_statistics_uri": (baseline.get("StatisticsResource") or {}).get("S3Uri"),
        "ground_truth_uri": ground_truth,
        "endpoint_name": endpoint_input.get("EndpointName"),
    }
