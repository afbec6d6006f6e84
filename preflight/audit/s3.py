"""S3 in pulumi-aws v7: the bucket and each of its configurations are separate resources, each read on its own
(the resource's `bucket` input names the bucket)."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, key_id, policy_document, statement_difference

NO_BUCKET = "NoSuchBucket"


def _bucket(ctx: Context) -> str:
    return str(ctx.record.inputs.get("bucket") or ctx.record.id or "").split(",")[0]


def _read_bucket(ctx: Context) -> Any:
    # GetBucketTagging answers NoSuchBucket for a deleted bucket and needs no permission on object data.
    found = ctx.call("s3", "GetBucketTagging", missing=(NO_BUCKET,), empty=("NoSuchTagSet",), Bucket=ctx.record.id)
    if found is ABSENT:
        return ABSENT
    return {"_tags": {t["Key"]: t["Value"] for t in found.get("TagSet", [])}}


def _read_encryption(ctx: Context) -> Any:
    found = ctx.call(
        "s3",
        "GetBucketEncryption",
        missing=(NO_BUCKET, "ServerSideEncryptionConfigurationNotFoundError"),
        Bucket=_bucket(ctx),
    )
    if found is ABSENT:
        return ABSENT
    rules = []
    for rule in found.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        rules.append(
            {
                "applyServerSideEncryptionByDefault": {
                    "sseAlgorithm": default.get("SSEAlgorithm"),
                    "kmsMasterKeyId": default.get("KMSMasterKeyID"),
                },
                "bucketKeyEnabled": rule.get("BucketKeyEnabled", False),
            }
        )
    return {"rules": rules}


def _read_public_access_block(ctx: Context) -> Any:
    found = ctx.call(
        "s3", "GetPublicAccessBlock", missing=(NO_BUCKET, "NoSuchPublicAccessBlockConfiguration"), Bucket=_bucket(ctx)
    )
    if found is ABSENT:
        return ABSENT
    config = found.get("PublicAccessBlockConfiguration", {})
    return {
        "blockPublicAcls": config.get("BlockPublicAcls", False),
        "blockPublicPolicy": config.get("BlockPublicPolicy", False),
        "ignorePublicAcls": config.get("IgnorePublicAcls", False),
        "restrictPublicBuckets": config.get("RestrictPublicBuckets", False),
    }


def _read_ownership(ctx: Context) -> Any:
    found = ctx.call(
        "s3", "GetBucketOwnershipControls", missing=(NO_BUCKET, "OwnershipControlsNotFoundError"), Bucket=_bucket(ctx)
    )
    if found is ABSENT:
        return ABSENT
    rules = found.get("OwnershipControls", {}).get("Rules", [])
    return {"rule": {"objectOwnership": rules[0].get("ObjectOwnership") if rules else None}}


def _read_versioning(ctx: Context) -> Any:
    found = ctx.call("s3", "GetBucketVersioning", missing=(NO_BUCKET,), Bucket=_bucket(ctx))
    if found is ABSENT:
        return ABSENT
    # A bucket that never had versioning answers with no Status at all.
    return {
        "versioningConfiguration": {
            "status": found.get("Status", "Disabled"),
            "mfaDelete": found.get("MFADelete", "Disabled"),
        }
    }


def _read_policy(ctx: Context) -> Any:
    found = ctx.call("s3", "GetBucketPolicy", missing=(NO_BUCKET, "NoSuchBucketPolicy"), Bucket=_bucket(ctx))
    return ABSENT if found is ABSENT else {"policy": found.get("Policy")}


def _read_logging(ctx: Context) -> Any:
    found = ctx.call("s3", "GetBucketLogging", missing=(NO_BUCKET,), Bucket=_bucket(ctx))
    if found is ABSENT or not found.get("LoggingEnabled"):
        return ABSENT
    enabled = found["LoggingEnabled"]
    return {"targetBucket": enabled.get("TargetBucket"), "targetPrefix": enabled.get("TargetPrefix")}


_SSE = "rules[].applyServerSideEncryptionByDefault"

READERS = (
    Reader("aws:s3/bucket:Bucket", "bucket", _read_bucket),
    Reader("aws:s3/bucketV2:BucketV2", "bucket", _read_bucket),
    Reader(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket default encryption",
        _read_encryption,
        (
            Field(f"{_SSE}.sseAlgorithm", category="encryption"),
            Field(f"{_SSE}.kmsMasterKeyId", lambda v: [key_id(x) for x in v], category="encryption"),
            Field("rules[].bucketKeyEnabled", lambda v: [bool(x) for x in v], category="encryption"),
        ),
    ),
    Reader(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "bucket public access block",
        _read_public_access_block,
        tuple(
            Field(name, default=False)
            for name in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ),
    ),
    Reader(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "bucket ownership controls",
        _read_ownership,
        (Field("rule.objectOwnership"),),
    ),
    Reader(
        "aws:s3/bucketVersioning:BucketVersioning",
        "bucket versioning",
        _read_versioning,
        (
            Field("versioningConfiguration.status", default="Disabled", category="reliability"),
            Field("versioningConfiguration.mfaDelete", default="Disabled", category="reliability"),
        ),
    ),
    Reader(
        "aws:s3/bucketPolicy:BucketPolicy",
        "bucket policy",
        _read_policy,
        (Field("policy", policy_document, show=statement_difference),),
    ),
    Reader(
        "aws:s3/bucketLogging:BucketLogging",
        "bucket access logging",
        _read_logging,
        (Field("targetBucket"), Field("targetPrefix")),
    ),
)
