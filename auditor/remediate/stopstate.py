"""What an idle stop saves to bring the endpoint back: a compact state, the stop's calls built from it, and the
state as tags on the endpoint config (so `audit restore` needs no local file)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from auditor.remediate.registry import Call, wait_in_service

SM = "sagemaker"
AAS = "application-autoscaling"
DIM = "sagemaker:variant:DesiredInstanceCount"
STOPPED = "auditor:stopped-endpoint"
STOPPED_AT = "auditor:stopped-at"
STOPPED_BY = "auditor:stopped-by-run"  # the audit run that decided the stop (`audit history show RUN`)
HOW = "auditor:restore"
STATE = "auditor:restore-state-"  # + two digits: the state, compressed, in 256-character tag values
MAX_PARTS = 24  # SageMaker allows 50 tags per resource: leave room for the config's own
MAX_STATE = 256 * 1024  # decompressed: far beyond a real state; bounds a hostile tag's cost


def restore_state(desc: dict[str, Any], tags: list[dict[str, str]], targets: list[dict[str, Any]],
                  policies: list[dict[str, Any]], schedules: list[dict[str, Any]]) -> dict[str, Any]:
    """Exactly what recreating the endpoint needs, from the stop's reads (nothing AWS would regenerate)."""
    capacities = [{"VariantName": v["VariantName"],
                   **({"DesiredWeight": v["CurrentWeight"]} if "CurrentWeight" in v else {}),
                   **({"DesiredInstanceCount": v["CurrentInstanceCount"]} if "CurrentInstanceCount" in v else {})}
                  for v in desc.get("ProductionVariants", [])]
    pols = []
    for pol in policies:
        args = {k: pol[k] for k in ("PolicyName", "ResourceId", "PolicyType")}
        for k in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"):
            if pol.get(k):
                args[k] = pol[k]
        pols.append(args)
    return json.loads(json.dumps({
        "config": desc["EndpointConfigName"], "tags": tags, "deployment": desc.get("LastDeploymentConfig"),
        "capacities": capacities, "policies": pols,
        "targets": [{k: tg[k] for k in ("ResourceId", "MinCapacity", "MaxCapacity")} for tg in targets],
        "schedules": [s["MonitoringScheduleName"] for s in schedules if s["MonitoringScheduleStatus"] == "Scheduled"],
    }, default=str))


def encode(state: dict[str, Any]) -> list[dict[str, str]]:
    """The state as tags (deterministic: the same state gives the same tags); [] when it would not fit."""
    text = base64.b64encode(zlib.compress(json.dumps(state, sort_keys=True, separators=(",", ":")).encode(), 9))
    parts = [text[i:i + 256].decode() for i in range(0, len(text), 256)]
    if len(parts) > MAX_PARTS:
        return []
    return [{"Key": f"{STATE}{i:02d}", "Value": v} for i, v in enumerate(parts)]


def decode(tags: dict[str, str]) -> dict[str, Any] | None:
    """The state from a config's tags; None when absent or unreadable (tags are data: never trusted further)."""
    parts = [tags[k] for k in sorted(k for k in tags if k.startswith(STATE))]
    if not parts:
        return None
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode("".join(parts), validate=True), MAX_STATE)
        if inflater.unconsumed_tail:
            return None
        state = json.loads(raw)
    except (ValueError, zlib.error, RecursionError):
        return None
    return state if isinstance(state, dict) else None


def is_marker(key: Any) -> bool:
    """A tag key the stop writes (and only those): what undoing the stop's AddTags may delete, nothing else."""
    if not isinstance(key, str):
        return False
    part = key.removeprefix(STATE)
    return key in (STOPPED, STOPPED_AT, STOPPED_BY, HOW) or (part != key and len(part) == 2 and part.isdigit())


def stop_calls(name: str, region: str, cfg_arn: str, state: dict[str, Any], stopped_at: str,
               run_id: str | None = None) -> list[Call]:
    """The stop, call by call, each with the calls that reverse it; built only from the state (and when and by
    which run), so a restore from the config's tags rebuilds exactly what the stop journalled."""
    marker = [{"Key": STOPPED, "Value": name}, {"Key": STOPPED_AT, "Value": stopped_at},
              *([{"Key": STOPPED_BY, "Value": run_id}] if run_id else []),
              {"Key": HOW, "Value": "audit restore ENDPOINT [--region REGION]"}, *encode(state)]
    calls = [Call(SM, "add_tags", {"ResourceArn": cfg_arn, "Tags": marker}, region,
                  "mark the endpoint config with what was stopped, when, and how to restore it",
                  (Call(SM, "delete_tags", {"ResourceArn": cfg_arn, "TagKeys": [m["Key"] for m in marker]}, region,
                        "remove the stop markers"),))]
    for s in state["schedules"]:
        calls.append(Call(SM, "stop_monitoring_schedule", {"MonitoringScheduleName": s}, region,
                          f"stop monitoring schedule {s}",
                          (Call(SM, "start_monitoring_schedule", {"MonitoringScheduleName": s}, region,
                                f"start monitoring schedule {s}"),)))
    for pol in state["policies"]:
        key = {"PolicyName": pol["PolicyName"], "ServiceNamespace": SM, "ResourceId": pol["ResourceId"],
               "ScalableDimension": DIM}
        calls.append(Call(AAS, "delete_scaling_policy", key, region, f"remove scaling policy {pol['PolicyName']}",
                          (Call(AAS, "put_scaling_policy", {**pol, **key}, region,
                                f"restore scaling policy {pol['PolicyName']}"),)))
    for tg in state["targets"]:
        key = {"ServiceNamespace": SM, "ResourceId": tg["ResourceId"], "ScalableDimension": DIM}
        calls.append(Call(AAS, "deregister_scalable_target", key, region, f"remove scalable target {tg['ResourceId']}",
                          (Call(AAS, "register_scalable_target", {**key, "MinCapacity": tg["MinCapacity"],
                                                                   "MaxCapacity": tg["MaxCapacity"]}, region,
                                f"restore scalable target {tg['ResourceId']}"),)))
    create: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": state["config"], "Tags": state["tags"]}
    if state.get("deployment"):
        create["DeploymentConfig"] = state["deployment"]
    restore = [Call(SM, "create_endpoint", create, region, f"recreate endpoint {name}"), wait_in_service(name, region)]
    if any(len(c) > 1 for c in state["capacities"]):
        restore += [Call(SM, "update_endpoint_weights_and_capacities", {
            "EndpointName": name, "DesiredWeightsAndCapacities": state["capacities"]}, region,
            "re-apply weights and counts"), wait_in_service(name, region)]
    calls.append(Call(SM, "delete_endpoint", {"EndpointName": name}, region,
                      f"delete endpoint {name} (config {state['config']}, model and artifacts kept)", tuple(restore)))
    return calls
