"""S3 collector: artifact buckets (versioning, default encryption, public access block, tags) and objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, tags_to_dict

PREFIX_BOUND = 200  # objects read (HEAD) under a prefix artifact (S3Prefix data source, multi-model prefix)
PREFIX_PAGE = 1000  # ListObjectsV2 MaxKeys (S3's maximum)
NO_CONFIG = {
    "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration", "NoSuchTagSet",
}
# Each bucket read, its operation and the bucket attributes (and edges) it answers: a read none of whose answers a
# rule of the run reads is left out.
BUCKET_READS = (
    ("versioning", "get_bucket_versioning", ("versioning_status", "mfa_delete")),
    ("encryption", "get_bucket_encryption",
     ("default_encryption", "default_kms_key", "bucket_key_enabled", "rel:encrypted_by")),
    ("public_access_block", "get_public_access_block", ("public_access_block", "public_access_fully_blocked")),
    ("tagging", "get_bucket_tagging", ("tags",)),
)


# What the artifact reads (a HEAD per object, then each bucket's settings) lead to: the objects themselves, the
# buckets they are stored in and the KMS keys found through both. A run none of whose rules reads one of these types,
# or walks to an artifact, makes none of those reads (see artifacts_wanted). Most such runs leave this collector out
# whole (base.left_out); it still runs, reading nothing, when the kms collector runs for a rule that only walks
# from endpoint configs to their keys (kms needs this collector's key references in general, not for that rule).
ARTIFACT_TYPES = frozenset({"s3.object", "s3.bucket", "kms.key"})


def artifacts_wanted(ctx: Context) -> bool:
    """Whether a rule of the run reads an artifact object, its bucket or a key found through them, or walks to an
    artifact (options["reads"]; absent: everything is read)."""
    reads = ctx.options.get("reads")
    return reads is None or any(t in ARTIFACT_TYPES or a == "rel:artifact" for t, a in reads)


def _objects(ctx: Context) -> list[str]:
    """The region's artifact objects still to read."""
    g = ctx.graph
    return [o for o in g.nodes_of_type("s3.object") if g.attrs(o)["region"] == ctx.region
            and "sse" not in g.attrs(o)["data"] and not g.attrs(o)["errors"]]


def _buckets(ctx: Context, objects: list[str]) -> list[str]:
    """The buckets those objects are stored in, each once, sorted."""
    return sorted({ctx.graph.attrs(o)["data"]["bucket"] for o in objects})


def _bucket_reader(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda b: ctx.once(("s3.bucket", b), lambda: _read_bucket(ctx, b))


def _object_reader(ctx: Context, objects: list[str]) -> Callable[[str], Any]:
    wanted = {oid: dict(ctx.graph.attrs(oid)["data"]) for oid in objects}  # copied: pool threads never read the graph
    return lambda oid: _read_object(ctx, wanted[oid])


def start_s3(ctx: Context) -> None:
    """Early hook: the artifacts are known once the roots stage is done, so their buckets and objects are read
    beside the IAM, Model Monitor and EC2 reads. An object is HEADed before its bucket is known to exist: in a
    deleted bucket the HEAD answers 404 (dangling), as the bucket's own read does."""
    if not artifacts_wanted(ctx):
        return
    objects = _objects(ctx)
    ctx.start("s3.buckets", _bucket_reader(ctx), _buckets(ctx, objects))
    ctx.start("s3.objects", _object_reader(ctx, objects), objects)


@collector("s3", STAGE_RELATED, permissions=[
    "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging", "s3:GetObject", "s3:ListBucket",
], early=start_s3, early_bulk=True, finds=["s3.bucket", "s3.object"])
def collect_s3(ctx: Context) -> None:
    """Each bucket referenced by an artifact is described once per account; each artifact object is HEADed."""
    g = ctx.graph
    objects = _objects(ctx)
    if not artifacts_wanted(ctx):
        # Nothing read: whether each object exists, and all it would have led to, stays unknown (never absent).
        for oid in objects:
            ctx.not_collected(oid, "describe")
        return
    buckets = _buckets(ctx, objects)
    reads = ctx.fetch_all(_bucket_reader(ctx), buckets, started="s3.buckets")
    for bucket in buckets:
        _bucket(ctx, bucket, reads[bucket])
    live = []
    for oid in objects:
        bid = f"arn:aws:s3:::{g.attrs(oid)['data']['bucket']}"
        g.add_edge(oid, "stored_in", bid)
        if g.attrs(bid)["dangling"]:
            g.attrs(oid)["dangling"] = True
        else:
            live.append(oid)
    heads = ctx.fetch_all(_object_reader(ctx, live), live, started="s3.objects")
    for oid in live:
        _object(ctx, oid, heads[oid])


def _read_bucket(ctx: Context, bucket: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, op, answers in BUCKET_READS:
        if key != "versioning" and not ctx.wants("s3.bucket", *answers):
            continue  # versioning is read whatever the rules: its answer says whether the bucket exists
        try:
            out[key] = ctx.call("s3", op, Bucket=bucket)
        except CollectError as err:
            out[key] = err
            if key == "versioning" and err.not_found:
                break  # the bucket is gone: nothing else to ask
    return out


def _bucket(ctx: Context, bucket: str, read: dict[str, Any]) -> None:
    g = ctx.graph
    bid = f"arn:aws:s3:::{bucket}"
    if bid in g:
        return
    g.add_node(bid, "s3.bucket", name=bucket, account=ctx.account, region=ctx.region)
    v = read["versioning"]
    if isinstance(v, CollectError):
        if v.not_found:
            g.attrs(bid)["dangling"] = True
            return
        ctx.node_failed(bid, "versioning_status", v)
    else:
        g.set_data(bid, versioning_status=v.get("Status") or "Disabled", mfa_delete=v.get("MFADelete") or "Disabled")
    for key, _, answers in BUCKET_READS:
        if key not in read:  # left out: no rule of the run reads what it answers
            ctx.not_collected(bid, *answers)
    enc = _setting(ctx, bid, read.get("encryption"), "default_encryption")
    if enc is not None:
        rules = (enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
        default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
        g.set_data(bid, default_encryption=default.get("SSEAlgorithm"), default_kms_key=default.get("KMSMasterKeyID"),
                   bucket_key_enabled=bool(rules and rules[0].get("BucketKeyEnabled")))
        if default.get("KMSMasterKeyID"):
            ctx.cache.setdefault("kms_refs", []).append((bid, default["KMSMasterKeyID"]))
    pab = _setting(ctx, bid, read.get("public_access_block"), "public_access_block")
    if pab is not None:
        conf = pab.get("PublicAccessBlockConfiguration")
        g.set_data(bid, public_access_block=conf, public_access_fully_blocked=bool(conf and all(conf.values())))
    tagging = _setting(ctx, bid, read.get("tagging"), "tags")
    if tagging is not None:
        g.set_tags(bid, tags_to_dict(tagging.get("TagSet")))


def _setting(ctx: Context, bid: str, got: dict[str, Any] | CollectError | None, facet: str) -> dict[str, Any] | None:
    """A bucket setting's answer; {} when the bucket has none set; None when not read, or (the facet marked
    unreadable) on error."""
    if not isinstance(got, CollectError):
        return got
    if got.code in NO_CONFIG:  # S3 answers "not configured" with an error code
        return {}
    ctx.node_failed(bid, facet, got)
    return None


def _list_prefix(ctx: Context, bucket: str, prefix: str) -> tuple[list[str], bool]:
    """The object keys under a prefix, page by page, up to PREFIX_BOUND; and whether more were left unread."""
    keys: list[str] = []
    token: str | None = None
    while True:
        args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PREFIX_PAGE}
        if token:
            args["ContinuationToken"] = token
        page = ctx.call("s3", "list_objects_v2", **args)
        keys += [o["Key"] for o in page.get("Contents") or [] if not o["Key"].endswith("/")]  # not folder markers
        token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
        if not token or len(keys) > PREFIX_BOUND:
            return keys[:PREFIX_BOUND], bool(token) or len(keys) > PREFIX_BOUND


def _read_object(ctx: Context, data: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], bool] | None:
    """HEAD the object (or the objects under the prefix, bounded); None when there is nothing there. The flag
    says that the prefix holds more objects than the bound."""
    bucket, key = data["bucket"], data["key"]
    keys, more = [key], False
    if data["is_prefix"]:
        keys, more = _list_prefix(ctx, bucket, key)
        if not keys:
            return None
    out = []
    for k in keys:
        try:
            out.append((k, ctx.call("s3", "head_object", Bucket=bucket, Key=k)))
        except CollectError as err:
            if err.not_found:
                return None
            raise
    return out, more


def _object(ctx: Context, oid: str,
            got: tuple[list[tuple[str, dict[str, Any]]], bool] | CollectError | None) -> None:
    g = ctx.graph
    if got is None:
        g.attrs(oid)["dangling"] = True
        return
    if isinstance(got, CollectError):
        ctx.node_failed(oid, "sse", got)
        return
    read, more = got
    algorithms: list[str | None] = []
    for i, (_, h) in enumerate(read):
        algorithms.append(h.get("ServerSideEncryption"))
        if h.get("SSEKMSKeyId"):
            ctx.cache.setdefault("kms_refs", []).append((oid, h["SSEKMSKeyId"]))
        if i == 0:
            g.set_data(oid, version_id=h.get("VersionId"), last_modified=h.get("LastModified"),
                       size=h.get("ContentLength"))
    # The weakest protection among the sampled objects decides: one plaintext object makes the artifact plaintext.
    order = {None: 0, "AES256": 1, "aws:kms": 2, "aws:kms:dsse": 3}
    weakest = min(algorithms, key=lambda a: order.get(a, 0))
    g.set_data(oid, sse=weakest, objects_checked=len(read))
    if g.attrs(oid)["data"].get("is_prefix"):
        bound = f"the first {PREFIX_BOUND} objects (the bound); more objects under it were not read" if more else \
            f"all {len(read)} objects under it (bound {PREFIX_BOUND})"
        g.set_data(oid, objects_truncated=more, explain={
            "sse": f"prefix {g.attrs(oid)['data']['uri']}: sse is {weakest!r}, the weakest over {bound}"})
