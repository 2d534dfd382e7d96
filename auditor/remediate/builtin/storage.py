"""Storage remediators: bucket versioning, default bucket encryption, KMS key rotation (objects never rewritten)."""

from __future__ import annotations

from typing import Any

from auditor.remediate.registry import Call, Inverse, Plan, Target, UndoOp, remediator

NO_ENCRYPTION = "ServerSideEncryptionConfigurationNotFoundError"


@remediator("enable-bucket-versioning", ["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
            example="rule SM-02-bucket-versioning -> put_bucket_versioning Status=Enabled",
            inverses=(Inverse("s3:put_bucket_versioning", (UndoOp("s3:put_bucket_versioning", lambda f, _b: {
                "Bucket": f["Bucket"], "VersioningConfiguration": {"Status": "Suspended"}}),)),))
def enable_versioning(t: Target) -> Plan:
    """Enable S3 versioning on an artifact bucket. Undo suspends it (S3 cannot return a bucket to "never versioned")."""
    bucket = t.name
    p = t.plan("enable-bucket-versioning", f"enable versioning on bucket {bucket}")
    s3 = t.client("s3", t.region)
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"
    p.before = {"versioning_status": status}
    if status == "Enabled":
        p.skip_reason = "versioning is already enabled"
        return p
    undo = Call("s3", "put_bucket_versioning", {"Bucket": bucket, "VersioningConfiguration": {"Status": "Suspended"}},
                t.region, "suspend versioning (the closest S3 allows to the previous state)")
    p.calls.append(Call("s3", "put_bucket_versioning", {"Bucket": bucket, "VersioningConfiguration": {
        "Status": "Enabled"}}, t.region, "enable versioning", (undo,)))
    if status == "Disabled":
        p.notes.append("undo can only suspend versioning: S3 has no way back to a never-versioned bucket")
    return p


@remediator("enable-bucket-encryption", ["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"],
            params={"kms_key_id": None},
            example="rule SM-12-bucket-encryption -> put_bucket_encryption SSE-KMS (kms_key_id) or SSE-S3",
            inverses=(Inverse("s3:put_bucket_encryption", (UndoOp("s3:delete_bucket_encryption", lambda f, _b: {
                "Bucket": f["Bucket"]}),)),))
def enable_encryption(t: Target) -> Plan:
    """Set default bucket encryption: SSE-KMS with the configured key, else SSE-S3 (existing objects untouched)."""
    from botocore.exceptions import ClientError

    bucket = t.name
    s3 = t.client("s3", t.region)
    p = t.plan("enable-bucket-encryption", f"set default encryption on bucket {bucket}")
    try:
        current: dict[str, Any] | None = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != NO_ENCRYPTION:
            raise
        current = None
    p.before = {"encryption": current}
    if current and current.get("Rules"):
        p.skip_reason = "default encryption is already set"
        return p
    key = t.params.get("kms_key_id")
    rule: dict[str, Any] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key} if key else {"SSEAlgorithm": "AES256"}
    undo = Call("s3", "delete_bucket_encryption", {"Bucket": bucket}, t.region, "remove default encryption again")
    p.calls.append(Call("s3", "put_bucket_encryption", {"Bucket": bucket, "ServerSideEncryptionConfiguration": {
        "Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": bool(key)}]}}, t.region,
        f"default encryption {rule['SSEAlgorithm']}", (undo,)))
    p.notes.append("only new objects are encrypted by a bucket default; existing artifacts are left as they are")
    return p


@remediator("enable-key-rotation", ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
                                    "kms:DisableKeyRotation"],
            example="rule SM-12-production-kms -> enable_key_rotation on the artifacts' customer managed keys",
            inverses=(Inverse("kms:enable_key_rotation", (UndoOp("kms:disable_key_rotation", lambda f, _b: {
                "KeyId": f["KeyId"]}),)),))
def enable_rotation(t: Target) -> Plan:
    """Turn on yearly rotation for the customer managed KMS keys protecting a production endpoint's artifacts."""
    g = t.graph
    p = t.plan("enable-key-rotation", f"enable KMS key rotation for {t.name}'s artifacts")
    keys: set[str] = set()
    plaintext = []
    for v in g.related(t.arn, "has_variant"):
        for m in g.related(v, "serves_model"):
            for c in g.related(m, "has_container"):
                for o in g.related(c, "artifact"):
                    keys.update(g.related(o, "encrypted_by"))
                    if g.attrs(o)["data"].get("sse") not in ("aws:kms", "aws:kms:dsse"):
                        plaintext.append(g.attrs(o)["name"])
    kms = t.client("kms", t.region)
    rotation = {}
    for k in sorted(keys):
        meta = kms.describe_key(KeyId=k)["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER":
            continue
        on = bool(kms.get_key_rotation_status(KeyId=k).get("KeyRotationEnabled"))
        rotation[k] = on
        if not on:
            p.calls.append(Call("kms", "enable_key_rotation", {"KeyId": k}, t.region, f"enable rotation of {k}",
                                (Call("kms", "disable_key_rotation", {"KeyId": k}, t.region, "disable rotation"),)))
    p.before = {"rotation": rotation}
    if plaintext:
        p.notes.append("artifacts not encrypted with SSE-KMS need re-encryption, which is not automated (objects "
                       f"are never rewritten): {', '.join(plaintext[:5])}")
    if not p.calls:
        p.skip_reason = "no key needs rotation" + ("; " + p.notes[-1] if plaintext else "")
    return p
