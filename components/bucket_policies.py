"""Bucket policies and least-privilege S3 grants, built as plain data so they can be unit-tested and golden-filed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Access = Literal["read", "write", "read_write"]
ACCESS_LEVELS: tuple[str, ...] = ("read", "write", "read_write")

# Object-level data access that the VPC-endpoint rule fences in. Wildcards are safe here: they widen a Deny.
# Bucket configuration calls (PutBucketPolicy, ...) are deliberately not in the list, so the deployment itself can
# never be locked out of the bucket by its own policy.
DATA_ACTIONS = (
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:RestoreObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket*",
)

READ_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_OBJECT_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
DELETE_OBJECT_ACTIONS = ("s3:DeleteObject",)
LIST_ACTIONS = ("s3:ListBucket",)
KMS_READ_ACTIONS = ("kms:Decrypt",)
# Multipart uploads to an SSE-KMS bucket need kms:Decrypt as well: S3 decrypts the data key to assemble the parts.
KMS_WRITE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True, kw_only=True)
class BucketPolicySpec:
    """Everything one bucket's policy depends on (plain values: resolved Outputs)."""

    bucket_arn: str
    kms_key_arn: str | None
    """The key every upload must use; None for the SSE-S3 access-logs bucket (uploads must then be AES256)."""
    vpc_endpoint_id: str | None = None
    """When set, object access must come through this S3 gateway endpoint (AWS services and exemptions aside)."""
    exempt_principal_arns: Sequence[str] = ()
    """Role ARNs (wildcards allowed) that may reach objects from outside the VPC: admins, CI, the replication role."""
    log_delivery: LogDelivery | None = None
    """Set on the access-logs bucket: which source buckets S3 log delivery may write for."""


@dataclass(frozen=True, kw_only=True)
class LogDelivery:
    account_id: str
    source_bucket_arns: Sequence[str] = field(default_factory=tuple)


def bucket_policy(spec: BucketPolicySpec) -> dict[str, Any]:
    bucket, objects = spec.bucket_arn, f"{spec.bucket_arn}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket, objects],
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]
    if spec.kms_key_arn is not None:
        # Uploads without encryption headers get the bucket default (this key), hence the IfExists: the rules
        # only reject a request that asks for a different algorithm or a different key.
        statements += [
            {
                "Sid": "DenyUploadsNotEncryptedWithKms",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            },
            {
                "Sid": "DenyUploadsWithAnotherKmsKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": spec.kms_key_arn}
                },
            },
        ]
    else:
        statements.append(
            {
                # S3 server access log delivery only writes to SSE-S3 destinations.
                "Sid": "DenyUploadsNotEncryptedWithSseS3",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "AES256"}},
            }
        )
    if spec.vpc_endpoint_id is not None:
        # The network-perimeter pattern: AWS services (log delivery) and services acting for a principal keep
        # working; everyone else must come through the endpoint or be a named exception.
        condition: dict[str, Any] = {
            "StringNotEqualsIfExists": {"aws:SourceVpce": spec.vpc_endpoint_id},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"},
        }
        if spec.exempt_principal_arns:
            condition["ArnNotLikeIfExists"] = {"aws:PrincipalArn": sorted(spec.exempt_principal_arns)}
        statements.append(
            {
                "Sid": "DenyObjectAccessOutsideVpcEndpoint",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(DATA_ACTIONS),
                "Resource": [bucket, objects],
                "Condition": condition,
            }
        )
    if spec.log_delivery is not None:
        statements.append(
            {
                # Bucket-owner-enforced buckets take log delivery through the policy, not the log-delivery ACL.
                "Sid": "AllowServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": spec.log_delivery.account_id},
                    "ArnLike": {"aws:SourceArn": sorted(spec.log_delivery.source_bucket_arns)},
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def bucket_policy_json(spec: BucketPolicySpec) -> str:
    return json.dumps(bucket_policy(spec), indent=2)


def validate_prefix(prefix: str) -> None:
    """A grant prefix is a folder: empty (the whole bucket) or `a/b/`, without wildcards."""
    if prefix == "":
        return
    problems = []
    if prefix.startswith("/"):
        problems.append("must not start with '/'")
    if not prefix.endswith("/"):
        problems.append("must end with '/' (otherwise 'models/v1' would also grant 'models/v10')")
    if any(c in prefix for c in "*?$"):
        problems.append("must not contain wildcards or policy variables")
    if "//" in prefix:
        problems.append("must not contain empty path segments ('//')")
    if problems:
        raise ValueError(f"prefix {prefix!r}: " + "; ".join(problems))


def grant_statements(
    *,
    bucket_arn: str,
    kms_key_arn: str | None,
    region: str,
    access: str,
    prefix: str = "",
    dns_suffix: str = "amazonaws.com",
) -> list[dict[str, Any]]:
    """IAM statements giving `access` to one bucket (or one prefix of it), plus the matching KMS use.

    read: list (the prefix) and get objects/versions; kms:Decrypt.
    write: put objects, including multipart; kms:GenerateDataKey + kms:Decrypt. No list, no read, no delete.
    read_write: both, plus delete.
    KMS use is pinned to S3 in the bucket's region and to this bucket's encryption context, so a grant on one
    bucket cannot decrypt another bucket that shares the key.
    """
    if access not in ACCESS_LEVELS:
        raise ValueError(f"access {access!r}: must be one of {', '.join(ACCESS_LEVELS)}")
    validate_prefix(prefix)
    reads = access in ("read", "read_write")
    writes = access in ("write", "read_write")
    objects = f"{bucket_arn}/{prefix}*"
    statements: list[dict[str, Any]] = []
    if reads:
        listing: dict[str, Any] = {"Effect": "Allow", "Action": list(LIST_ACTIONS), "Resource": bucket_arn}
        if prefix:
            listing["Condition"] = {"StringLike": {"s3:prefix": f"{prefix}*"}}
        statements.append(listing)
    object_actions = [
        *(READ_OBJECT_ACTIONS if reads else ()),
        *(WRITE_OBJECT_ACTIONS if writes else ()),
        *(DELETE_OBJECT_ACTIONS if access == "read_write" else ()),
    ]
    statements.append({"Effect": "Allow", "Action": object_actions, "Resource": objects})
    if kms_key_arn is not None:
        kms_actions = sorted(set(KMS_WRITE_ACTIONS if writes else KMS_READ_ACTIONS))
        statements.append(
            {
                "Effect": "Allow",
                "Action": kms_actions,
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"},
                    # With S3 Bucket Keys the context is the bucket ARN; without, the object ARN.
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, objects]},
                },
            }
        )
    return statements
