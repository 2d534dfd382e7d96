"""KMS collector: every key referenced by a bucket, object or endpoint config, with rotation status."""

from __future__ import annotations

from auditor.collect.base import STAGE_KEYS, Context, _classify, collector, normalize


@collector("kms", STAGE_KEYS, permissions=["kms:DescribeKey", "kms:GetKeyRotationStatus"])
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
        return placeholder  # already described (e.g. from another region's artifacts)
    # A key ARN names its own region (an object may use a key of another region): ask that region's KMS.
    region = ref.split(":")[3] if ref.startswith("arn:aws:kms:") else ctx.region
    try:
        client = ctx.factory.client("kms", region=region)
        meta = normalize(client.describe_key(KeyId=ref))["KeyMetadata"]
    except Exception as exc:  # noqa: BLE001 - classified and recorded
        ctx.describe_failed(placeholder, "kms.key", ref, _classify("kms", "describe_key", exc))
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
    if meta.get("KeyManager") == "AWS":
        g.set_data(kid, rotation_enabled=True)  # AWS managed keys rotate automatically every year
    elif (meta.get("KeySpec") or "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" or meta.get("Origin") != "AWS_KMS":
        g.set_data(kid, rotation_enabled=False, rotation_supported=False)
    else:
        try:
            rot = client.get_key_rotation_status(KeyId=kid)
            g.set_data(kid, rotation_enabled=bool(rot.get("KeyRotationEnabled")))
        except Exception as exc:  # noqa: BLE001 - classified and recorded
            ctx.node_failed(kid, "rotation_enabled", _classify("kms", "get_key_rotation_status", exc))
    return kid
