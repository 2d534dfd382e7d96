"""Attribute declarations of storage, keys, network and identity node types (S3, KMS, EC2, IAM)."""

from __future__ import annotations

from auditor.vocabulary import API, BOOLEAN, INTEGER, LIST, MAP, STRING, TIMESTAMP, Attr, derived, raw

ATTRIBUTES: dict[str, list[Attr]] = {
    "s3.bucket": [
        raw("versioning_status", STRING, "GetBucketVersioning Status (Disabled when never enabled)"),
        raw("mfa_delete", STRING, "GetBucketVersioning MFADelete (Disabled when not set)"),
        raw("default_encryption", STRING, "default SSEAlgorithm (AES256, aws:kms, aws:kms:dsse; none when unset)"),
        raw("default_kms_key", STRING, "default KMSMasterKeyID"),
        raw("bucket_key_enabled", BOOLEAN, "BucketKeyEnabled of the default encryption rule"),
        raw("public_access_block", API, "PublicAccessBlockConfiguration", fields=[
            raw(k, BOOLEAN, k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                         "RestrictPublicBuckets")]),
        derived("public_access_fully_blocked", BOOLEAN, "all four public access blocks are on"),
    ],
    "s3.object": [
        raw("uri", STRING, "the artifact's S3 URI as the model names it"),
        derived("bucket", STRING, "bucket parsed from the URI"),
        derived("key", STRING, "key (or prefix) parsed from the URI"),
        derived("is_prefix", BOOLEAN, "the URI names a prefix (S3Prefix data source or a trailing /)"),
        raw("version_id", STRING, "HeadObject VersionId"),
        raw("last_modified", TIMESTAMP, "HeadObject LastModified"),
        raw("size", INTEGER, "HeadObject ContentLength"),
        derived("sse", STRING, "the weakest ServerSideEncryption over the objects read (none if any unencrypted)"),
        derived("objects_checked", INTEGER, "objects read under the prefix (1 for an object)"),
        derived("objects_truncated", BOOLEAN, "the prefix holds more objects than the read bound (200)"),
        derived("explain", MAP, "attribute -> the collector's words for a derived value (the prefix bound)",
                of=raw("text", STRING, "explanation")),
    ],
    "kms.key": [
        raw("key_state", STRING, "KeyState (Enabled, Disabled, PendingDeletion, ...)"),
        raw("enabled", BOOLEAN, "Enabled"),
        raw("key_manager", STRING, "AWS or CUSTOMER"),
        raw("key_spec", STRING, "KeySpec"),
        raw("origin", STRING, "Origin (AWS_KMS, EXTERNAL, ...)"),
        raw("rotation_enabled", BOOLEAN, "GetKeyRotationStatus (true for AWS managed keys, which rotate yearly)"),
        derived("rotation_supported", BOOLEAN, "false for keys whose rotation AWS does not support"),
    ],
    "ec2.vpc": [
        raw("vpc_id", STRING, "VpcId"),
    ],
    "ec2.subnet": [
        raw("subnet_id", STRING, "SubnetId"),
        raw("availability_zone", STRING, "AvailabilityZone"),
        raw("availability_zone_id", STRING, "AvailabilityZoneId"),
        raw("vpc_id", STRING, "VpcId"),
        raw("cidr_block", STRING, "CidrBlock"),
    ],
    "ec2.security_group": [
        raw("group_id", STRING, "GroupId"),
        raw("group_name", STRING, "GroupName"),
        raw("vpc_id", STRING, "VpcId"),
        derived("open_ingress_rules", LIST, "ingress rules admitting the whole internet (0.0.0.0/0 or ::/0), "
                "described (the verdict is SM-10-security-groups')"),
    ],
    "ec2.vpc_endpoint": [
        raw("service_name", STRING, "ServiceName"),
        raw("endpoint_type", STRING, "VpcEndpointType"),
        raw("state", STRING, "State, lower case"),
        raw("private_dns_enabled", BOOLEAN, "PrivateDnsEnabled"),
    ],
    "iam.role": [
        raw("attached_policies", LIST, "attached managed policy names"),
        raw("inline_policies", LIST, "inline policy names"),
        derived("wildcard_grants", LIST, "statements allowing * (or service:*) actions on * resources, described "
                "(the verdict is SM-11-execution-role's)"),
    ],
}
