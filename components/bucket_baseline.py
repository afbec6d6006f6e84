"""What every bucket the platform creates gets, whoever creates it (the artifact store, the state bootstrap):
public access blocked, ACLs disabled, default encryption that refuses SSE-C, and versioning.

Creates, for a bucket named `name`: `<name>-public-access-block`, `<name>-ownership`, `<name>-encryption` and
(when asked) `<name>-versioning`. Lifecycle, logging and the bucket policy stay with the caller, which knows what
the bucket holds; the policy must wait for `public_access` (S3 rejects concurrent changes to a bucket's policy and
its public access block).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

__all__ = ["BucketBaseline", "bucket_baseline", "encryption_rule"]


def encryption_rule(kms_key_arn: pulumi.Input[str] | None) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgs:
    """SSE-KMS with `kms_key_arn` and a bucket key, or SSE-S3 without a key; SSE-C refused either way."""
    s3 = aws.s3
    if kms_key_arn is None:
        # AWS documents that server access log delivery needs an SSE-S3 destination bucket.
        return s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            ),
            blocked_encryption_types=["SSE-C"],
        )
    # Bucket keys cut KMS requests (and cost) by orders of magnitude for many small objects.
    return s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
        ),
        bucket_key_enabled=True,
        blocked_encryption_types=["SSE-C"],
    )


@dataclass(frozen=True)
class BucketBaseline:
    public_access: aws.s3.BucketPublicAccessBlock
    """What the bucket policy must depend on."""
    versioning: aws.s3.BucketVersioning | None
    """What lifecycle rules on noncurrent versions and Object Lock must depend on; None when not versioned."""

    @property
    def versioning_settled(self) -> list[pulumi.Resource]:
        """`depends_on` for what needs versioning on first (AWS applies noncurrent-version rules, and Object Lock,
        only to a versioned bucket): the versioning resource, or nothing for an unversioned bucket."""
        return [self.versioning] if self.versioning is not None else []


def bucket_baseline(
    name: str,
    bucket: aws.s3.Bucket,
    *,
    kms_key_arn: pulumi.Input[str] | None,
    versioning: bool,
    opts: pulumi.ResourceOptions,
    region: str | None = None,
) -> BucketBaseline:
    """The baseline children of `bucket`, named after `name`, each with `opts` (and `region` for a replica)."""
    s3 = aws.s3
    public_access = s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        region=region,
        opts=opts,
    )
    s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        region=region,
        opts=opts,
    )
    s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id, rules=[encryption_rule(kms_key_arn)], region=region, opts=opts
    )
    versions = None
    if versioning:
        versions = s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            region=region,
            opts=opts,
        )
    return BucketBaseline(public_access=public_access, versioning=versions)
