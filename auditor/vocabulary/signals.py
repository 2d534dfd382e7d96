"""Attribute declarations of regions and signal node types (trails, alarms, dashboards, logs, events, scaling)."""

from __future__ import annotations

from auditor.vocabulary import API, BOOLEAN, INTEGER, LIST, MAP, NUMBER, STRING, Attr, derived, raw

ATTRIBUTES: dict[str, list[Attr]] = {
    "aws.region": [
        derived("transform_job_count", INTEGER, "Batch Transform jobs listed in the region"),
        derived("endpoint_count", INTEGER, "0 when the region had no endpoint and was only listed"),
        derived("not_collected", LIST, "collectors skipped because the region had no endpoint"),
        derived("collectors_left_out", LIST, "collectors not run because no rule of the audit reads what they collect"),
    ],
    "cloudtrail.trail": [
        raw("multi_region", BOOLEAN, "IsMultiRegionTrail"),
        raw("home_region", STRING, "HomeRegion"),
        raw("organization_trail", BOOLEAN, "IsOrganizationTrail"),
        raw("log_file_validation", BOOLEAN, "LogFileValidationEnabled"),
        raw("is_logging", BOOLEAN, "GetTrailStatus IsLogging"),
        raw("advanced_event_selectors", LIST, "AdvancedEventSelectors"),
        derived("uses_basic_selectors", BOOLEAN, "the trail uses basic EventSelectors"),
        derived("captures_endpoint_data_events", BOOLEAN, "an advanced selector logs SageMaker endpoint data events"),
    ],
    "cloudwatch.alarm": [
        raw("metric_name", STRING, "MetricName (of the first metric for metric-math alarms)"),
        derived("metric_names", LIST, "every metric the alarm watches"),
        raw("namespace", STRING, "Namespace (of the first metric for metric-math alarms)"),
        raw("statistic", STRING, "Statistic or ExtendedStatistic"),
        derived("latency_statistics", LIST, "statistics applied to ModelLatency with both endpoint dimensions"),
        derived("latency_statistic", STRING, "of those, the one furthest into the tail"),
        raw("state", STRING, "StateValue"),
        raw("actions_enabled", BOOLEAN, "ActionsEnabled"),
        raw("alarm_actions", LIST, "AlarmActions"),
        raw("threshold", NUMBER, "Threshold"),
        raw("comparison", STRING, "ComparisonOperator"),
        derived("composite", BOOLEAN, "a composite alarm"),
    ],
    "cloudwatch.dashboard": [
        derived("endpoints", LIST, "endpoint names the dashboard's widgets show"),
    ],
    "logs.log_group": [
        raw("retention_in_days", INTEGER, "retentionInDays (none: never expire)"),
        raw("kms_key_id", STRING, "kmsKeyId"),
        raw("stored_bytes", INTEGER, "storedBytes"),
    ],
    "events.rule": [
        raw("state", STRING, "State (ENABLED, DISABLED)"),
        raw("schedule_expression", STRING, "ScheduleExpression"),
        raw("event_pattern", STRING, "EventPattern (JSON text)"),
        raw("description", STRING, "Description"),
        derived("scheduled", BOOLEAN, "the rule runs on a schedule"),
        raw("targets", LIST, "target ARNs"),
        derived("targets_lambda", BOOLEAN, "a target is a Lambda function"),
    ],
    "autoscaling.target": [
        raw("resource_id", STRING, "ResourceId (endpoint/NAME/variant/NAME)"),
        raw("min_capacity", INTEGER, "MinCapacity"),
        raw("max_capacity", INTEGER, "MaxCapacity"),
        raw("suspended", API, "SuspendedState", fields=[
            raw(k, BOOLEAN, k) for k in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                                         "ScheduledScalingSuspended")]),
    ],
    "autoscaling.policy": [
        raw("policy_type", STRING, "PolicyType (TargetTrackingScaling, StepScaling)"),
        raw("metric_name", STRING, "the tracked metric (custom, metric-math or predefined)"),
        raw("metric_namespace", STRING, "its namespace"),
        derived("metric_dimensions", LIST, "its dimension names"),
        derived("expected_metric", STRING, "GPUUtilization on GPU variants, else CPUUtilization"),
        raw("target_value", NUMBER, "TargetValue"),
        derived("target_per_unit", NUMBER, "TargetValue per vCPU/GPU (the metric is summed over them)"),
        derived("normalised_by_metric_math", BOOLEAN, "a metric-math expression already divides by the units"),
        derived("explain", MAP, "attribute -> the collector's words for a derived value",
                of=raw("text", STRING, "explanation")),
        raw("scale_out_cooldown", INTEGER, "ScaleOutCooldown"),
        raw("scale_in_cooldown", INTEGER, "ScaleInCooldown"),
        raw("disable_scale_in", BOOLEAN, "DisableScaleIn"),
    ],
}
