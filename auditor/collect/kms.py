"""KMS collector: every key referenced by a bucket, object or endpoint config, with rotation status."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import STAGE_KEYS, CollectError, Context, collector


@collector("kms", STAGE_KEYS, permissions=["kms:DescribeKey", "kms:GetKeyRotationStatus"], finds=["kms.key"],
           fills=[(t, "rel:encrypted_by") for t in ("s3.bucket", "s3.object", "sagemaker.endpoint_config")],
           needs=["s3"])  # the buckets' and objects' key references are the s3 collector's
def collect_kms(ctx: Context) -> None:
    """Key references may be ids, ARNs or aliases; DescribeKey resolves each to its canonical ARN once."""
    g = ctx.graph
    resolved: dict[str, str] = ctx.cache.setdefault("kms_resolved", {})
    for src, ref in ctx.cache.get("kms_refs", []):
        if ref not in resolved:
            resolved[ref] = _key(ctx, ref)
        g.add_edge(src, "encrypted_by", resolved[ref])


def _key(ctx: Context, ref: str) -> str:
    g = ctx.graph
    placeholder = ref if ref.startswith("arn:") else f"arn:aws:kms:{ctx.region}:{ctx.account}:key/{ref}"
    if placeholder in g and not g.attrs(placeholder)["errors"] and g.attrs(placeholder)["data"]:
        return placeholder  # already described (e.g. from another artifact)
    # A key ARN names its own region (an object may use a key of another region): ask that region's KMS.
    region = ref.split(":")[3] if ref.startswith("arn:aws:kms:") else ctx.region
    read = ctx.once(("kms.key", region, ref), lambda: _read_key(ctx, region, ref))
    meta = read["meta"]
    if isinstance(meta, CollectError):
        ctx.describe_failed(placeholder, "kms.key", ref, meta)
        return placeholder
    kid = meta["Arn"]
    if kid in g:
        return kid
    g.add_node(kid, "kms.key", name=meta.get("KeyId", ref), account=ctx.account, region=ctx.region, data={
        "key_state": meta.get("KeyState"),
        "enabled": meta.get("Enabled"),
        "key_manager": meta.get("KeyManager"),
        "key_spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
        "origin": meta.get("Origin"),
    })
    rotation = read["rotation"]
    if meta.get("KeyManager") == "AWS":
        g.set_data(kid, rotation_enabled=True)  # AWS managed keys rotate automatically every year
    elif rotation is None:
        g.set_data(kid, rotation_enabled=False, rotation_supported=False)
    elif isinstance(rotation, CollectError):
        ctx.node_failed(kid, "rotation_enabled", rotation)
    else:
        g.set_data(kid, rotation_enabled=bool(rotation.get("KeyRotationEnabled")))
    return kid


def _read_key(ctx: Context, region: str, ref: str) -> dict[str, Any]:
    """DescribeKey, and the rotation status where rotation applies (customer-managed symmetric AWS_KMS keys)."""
    try:
        meta = ctx.call_in(region, "kms", "describe_key", KeyId=ref)["KeyMetadata"]
    except CollectError as err:
        return {"meta": err, "rotation": None}
    except (KeyError, TypeError) as exc:
        return {"meta": CollectError("kms", "describe_key", "UnexpectedResponse", str(exc)), "rotation": None}
    if meta.get("KeyManager") == "AWS" or (meta.get("KeySpec") or "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" \
            or meta.get("Origin") != "AWS_KMS":
        return {"meta": meta, "rotation": None}
    try:
        return {"meta": meta, "rotation": ctx.call_in(region, "kms", "get_key_rotation_status", KeyId=meta["Arn"])}
    except CollectError as err:
        return {"meta": meta, "rotation": err}
