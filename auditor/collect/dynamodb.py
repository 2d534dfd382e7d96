"""Policy 3's custom registry: a configured DynamoDB table's entries for the deployed models."""

from __future__ import annotations

import decimal
from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector
from auditor.collect.registry_match import artifact_key, image_refs

DDB = "dynamodb"
BATCH_KEYS = 100  # BatchGetItem: at most 100 keys per call
DEFAULT_ATTRIBUTES = {"version": "version", "metrics": "training_metrics", "deployment_config": "deployment_config",
                      "approval": "approval_status"}
FACET = "custom_registry_entry"


def graph_reads(spec: dict[str, Any] | None) -> frozenset[tuple[str, str]]:
    """What this collector reads of the graph for a registry_table spec: a registry keyed by model tag looks each
    model up by that tag (see _lookup_value), so the models' tags must be collected whatever the rules read."""
    return frozenset({("sagemaker.model", "tags")}) if spec and (spec.get("key") or {}).get("kind") == "tag" \
        else frozenset()


@collector("dynamodb", STAGE_RELATED, permissions=["dynamodb:DescribeTable", "dynamodb:BatchGetItem", "dynamodb:Scan"],
           finds=[], fills=[("sagemaker.container", FACET)])
def collect_registry_table(ctx: Context) -> None:
    """Only when audit.yaml names a registry table: BatchGetItem by key when the key is the table's whole primary
    key, else one paged Scan per account; a missing or unreadable table makes every lookup unknown, never absent."""
    spec = ctx.options.get("registry_table")
    g = ctx.graph
    if not spec:
        return
    containers = [c for c in g.nodes_of_type("sagemaker.container")
                  if g.attrs(c)["region"] == ctx.region and "describe" not in g.attrs(c)["errors"]]
    if not containers:
        return
    table, region = spec["table"], spec.get("region") or ctx.region
    key = spec.get("key") or {}
    kind, attr = key.get("kind", "model_name"), key.get("attribute", "model_name")
    try:
        desc = _once(ctx, ("describe", region, table),
                     lambda: ctx.call_in(region, DDB, "describe_table", TableName=table)["Table"])
        wanted = {c: _lookup_value(ctx, c, kind, key) for c in containers}
        whole_key = [k.get("AttributeName") for k in desc.get("KeySchema") or []] == [attr]
        if kind != "image_artifact" and whole_key:
            items = _batch_get(ctx, region, table, attr, sorted({v for v in wanted.values() if isinstance(v, str)}))
        else:
            items = _once(ctx, ("scan", region, table), lambda: _scan(ctx, region, table))
    except CollectError as err:
        ctx.listing_failed(err, ())
        for c in containers:
            g.set_error(c, FACET, f"registry table {table} ({region}): {err.reason}")
        return
    names = {**DEFAULT_ATTRIBUTES, **(spec.get("attributes") or {})}
    for c, value in wanted.items():
        if isinstance(value, CollectError):
            g.set_error(c, FACET, value.reason)
            continue
        found = [i for i in items if _matches(i, kind, attr, key, value, g.attrs(c)["data"])]
        best = max(found, key=lambda i: _version_order(i.get(names["version"])), default=None)
        g.set_data(c, custom_registry_entry=None if best is None else {
            "table": table, "key": attr if kind != "image_artifact" else "image+artifact",
            "version": None if best.get(names["version"]) is None else str(best.get(names["version"])),
            "approval_status": best.get(names["approval"]),
            "has_metrics": bool(best.get(names["metrics"])),
            "has_deployment_config": bool(best.get(names["deployment_config"]))})


def _once(ctx: Context, key: tuple[str, ...], read: Any) -> Any:
    got = ctx.once(("dynamodb.registry",) + key, read)
    if isinstance(got, CollectError):
        raise got
    return got


def _lookup_value(ctx: Context, container: str, kind: str, key: dict[str, Any]) -> str | CollectError | None:
    """The value that identifies the container's model in the table (None: nothing to look up)."""
    g = ctx.graph
    if kind == "image_artifact":
        return None
    models = g.incoming(container, "has_container")
    if not models:
        return None
    model = g.attrs(models[0])
    if kind == "model_name":
        return str(model["name"])
    if "tags" in model["errors"] or model["tags"] is None:
        return CollectError("sagemaker", "list_tags", "TagsUnreadable",
                            f"the model's tags could not be read: {model['errors'].get('tags', 'not collected')}")
    lowered = {k.lower(): v for k, v in model["tags"].items()}
    value = lowered.get(str(key.get("tag", "")).lower())
    return str(value) if value is not None else None


def _matches(item: dict[str, Any], kind: str, attr: str, key: dict[str, Any], value: Any,
             container: dict[str, Any]) -> bool:
    if kind != "image_artifact":
        return value is not None and str(item.get(attr)) == value
    art = artifact_key(container.get("artifact_uri"))
    item_art = artifact_key(str(item.get(key.get("artifact_attribute", "artifact_uri")) or ""))
    item_image = str(item.get(key.get("image_attribute", "image")) or "")
    return art is not None and art == item_art and bool(image_refs(container.get("image")) & image_refs(item_image))


def _batch_get(ctx: Context, region: str, table: str, attr: str, values: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), BATCH_KEYS):
        request: dict[str, Any] = {table: {"Keys": [{attr: {"S": v}} for v in values[i:i + BATCH_KEYS]]}}
        while request:  # unprocessed keys (throttling, size limits) are asked for again
            resp = ctx.call_in(region, DDB, "batch_get_item", RequestItems=request)
            out += [_plain(x) for x in (resp.get("Responses") or {}).get(table, [])]
            request = resp.get("UnprocessedKeys") or {}
    return out


def _scan(ctx: Context, region: str, table: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        resp = ctx.call_in(region, DDB, "scan", TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        out += [_plain(x) for x in resp.get("Items") or []]
        start = resp.get("LastEvaluatedKey")
        if not start:
            return out


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed JSON as plain JSON values (numbers as int or float), safe for a snapshot."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()

    def conv(v: Any) -> Any:
        if isinstance(v, decimal.Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, set, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, bytes | bytearray):
            return None  # binary attributes are not registry metadata we read
        return v

    return {k: conv(des.deserialize(v)) for k, v in item.items()}


def _version_order(v: Any) -> tuple[int, ...]:
    parts = [int(p) for p in str(v or "").lstrip("v").replace("-", ".").split(".") if p.isdigit()]
    return tuple(parts) or (-1,)
