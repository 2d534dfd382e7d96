"""S3 collector: artifact buckets (versioning, default encryption, public access block, tags) and objects."""

from __future__ import annotations

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, tags_to_dict

PREFIX_SAMPLE = 20  # objects checked under an S3Prefix artifact
NO_CONFIG = {
    "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration", "NoSuchTagSet",
}


@collector("s3", STAGE_RELATED, permissions=[
    "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging", "s3:GetObject", "s3:ListBucket",
])
def collect_s3(ctx: Context) -> None:
    """Each bucket referenced by an artifact is described once; each artifact object is HEADed."""
    g = ctx.graph
    objects = [o for o in g.nodes_of_type("s3.object") if g.attrs(o)["region"] == ctx.region
               and "sse" not in g.attrs(o)["data"] and not g.attrs(o)["errors"]]
    for oid in objects:
        data = g.attrs(oid)["data"]
        bid = _bucket(ctx, data["bucket"])
        g.add_edge(oid, "stored_in", bid)
        if g.attrs(bid)["dangling"]:
            g.attrs(oid)["dangling"] = True
            continue
        _object(ctx, oid, data["bucket"], data["key"], data["is_prefix"])


def _bucket(ctx: Context, bucket: str) -> str:
    g = ctx.graph
    bid = f"arn:aws:s3:::{bucket}"
    if bid in g:
        return bid
    g.add_node(bid, "s3.bucket", name=bucket, account=ctx.account, region=ctx.region)
    try:
        v = ctx.call("s3", "get_bucket_versioning", Bucket=bucket)
        g.set_data(bid, versioning_status=v.get("Status") or "Disabled", mfa_delete=v.get("MFADelete") or "Disabled")
    except CollectError as err:
        if err.not_found:
            g.attrs(bid)["dangling"] = True
            return bid
        ctx.node_failed(bid, "versioning_status", err)
    try:
        enc = ctx.call("s3", "get_bucket_encryption", Bucket=bucket)
        rules = (enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
        default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
        g.set_data(bid, default_encryption=default.get("SSEAlgorithm"), default_kms_key=default.get("KMSMasterKeyID"),
                   bucket_key_enabled=bool(rules and rules[0].get("BucketKeyEnabled")))
        if default.get("KMSMasterKeyID"):
            ctx.cache.setdefault("kms_refs", []).append((bid, default["KMSMasterKeyID"]))
    except CollectError as err:
        if err.code in NO_CONFIG:
            g.set_data(bid, default_encryption=None, default_kms_key=None)
        else:
            ctx.node_failed(bid, "default_encryption", err)
    try:
        pab = ctx.call("s3", "get_public_access_block", Bucket=bucket).get("PublicAccessBlockConfiguration", {})
        g.set_data(bid, public_access_block=pab, public_access_fully_blocked=bool(pab) and all(pab.values()))
    except CollectError as err:
        if err.code in NO_CONFIG:
            g.set_data(bid, public_access_block=None, public_access_fully_blocked=False)
        else:
            ctx.node_failed(bid, "public_access_block", err)
    try:
        g.set_tags(bid, tags_to_dict(ctx.call("s3", "get_bucket_tagging", Bucket=bucket).get("TagSet")))
    except CollectError as err:
        if err.code in NO_CONFIG:
            g.set_tags(bid, {})
        else:
            ctx.node_failed(bid, "tags", err)
    return bid


def _object(ctx: Context, oid: str, bucket: str, key: str, is_prefix: bool) -> None:
    g = ctx.graph
    keys = [key]
    if is_prefix:
        try:
            listed = ctx.call("s3", "list_objects_v2", Bucket=bucket, Prefix=key, MaxKeys=PREFIX_SAMPLE)
        except CollectError as err:
            ctx.node_failed(oid, "sse", err)
            return
        keys = [o["Key"] for o in listed.get("Contents", [])]
        if not keys:
            g.attrs(oid)["dangling"] = True
            return
    algorithms: list[str | None] = []
    for k in keys:
        try:
            h = ctx.call("s3", "head_object", Bucket=bucket, Key=k)
        except CollectError as err:
            if err.not_found:
                g.attrs(oid)["dangling"] = True
            else:
                ctx.node_failed(oid, "sse", err)
            return
        algorithms.append(h.get("ServerSideEncryption"))
        if h.get("SSEKMSKeyId"):
            ctx.cache.setdefault("kms_refs", []).append((oid, h["SSEKMSKeyId"]))
        if k == keys[0]:
            g.set_data(oid, version_id=h.get("VersionId"), last_modified=h.get("LastModified"),
                       size=h.get("ContentLength"))
    # The weakest protection among the sampled objects decides: one plaintext object makes the artifact plaintext.
    order = {None: 0, "AES256": 1, "aws:kms": 2, "aws:kms:dsse": 3}
    weakest = min(algorithms, key=lambda a: order.get(a, 0))
    g.set_data(oid, sse=weakest, objects_checked=len(keys))
