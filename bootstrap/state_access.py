"""Who may touch which object of the Pulumi state bucket, and which key: plain functions, tested directly.

Pulumi's self-managed (DIY) backend with project-scoped stacks keeps, under the bucket root:
  .pulumi/meta.yaml                                        the layout version, read by every client
  .pulumi/stacks/<project>/<stack>.json[.gz|.zst]          the current checkpoint
  .pulumi/history/<project>/<stack>/...                    one history and checkpoint file per update
  .pulumi/backups/<project>/<stack>/...                    the checkpoint before each write
  .pulumi/journal/<project>/<stack>/...                    incremental entries while an update runs
  .pulumi/locks/organization/<project>/<stack>/<id>.json   the lock an operation holds (the fully qualified name)
(pkg/backend/diy/store.go and lock.go in pulumi/pulumi.) Each stack's CI roles get exactly their own stack's
paths; nobody gets the bucket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from components.settings import FieldError, Section

_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]+$")
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
DIY_ORGANIZATION = "organization"
"""The DIY backend's only organisation name: it appears in lock paths."""


class StackAccess(Section):
    """One platform stack's entry: its CI roles, once its first `pulumi up` has created them."""

    preview_role_arn: str | None = None
    """The stack's `ciRoleArns.preview` output. Default: none yet, so no CI preview can read the state."""
    deploy_role_arn: str | None = None
    """The stack's `ciRoleArns.deploy` output. Default: none yet, so no CI deploy can write the state."""

    @field_validator("preview_role_arn", "deploy_role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(
                "not an IAM role ARN; paste the stack's `ciRoleArns` output (arn:aws:iam::<acct>:role/...)"
            )
        return value


class BackendSettings(Section):
    """`ml-platform-bootstrap:backend`: the state bucket and the keys."""

    project: str = "ml-platform"
    """The Pulumi project whose stacks the bucket holds (`name:` in the platform's Pulumi.yaml)."""
    stacks: dict[str, StackAccess]
    """Stack name -> its CI roles. Each stack gets its own secrets-provider key. Required: list every stack."""
    key_deletion_window_days: int = Field(default=30, ge=7, le=30)
    """Default 30, the longest AWS allows: losing a key loses every secret and the state it encrypted."""
    noncurrent_version_expiry_days: int = Field(default=365, ge=30, le=3650)
    """Default 365: old state versions are the last resort of a rollback; kept a year, at least 30 days."""
    access_log_retention_days: int = Field(default=365, ge=1, le=3650)
    """Default 365: who read or wrote the state, kept a year."""
    object_lock_days: int | None = Field(default=None, ge=1, le=3650)
    """Default none. When set, the state bucket is created with Object Lock (GOVERNANCE, this many days): no
    version of the state can be deleted early. Can only be chosen when the bucket is created."""

    @model_validator(mode="after")
    def _stack_names(self) -> BackendSettings:
        if not self.stacks:
            raise FieldError("stacks", {}, "list the platform's stacks, e.g. dev, staging, prod")
        for name in self.stacks:
            if not _STACK_NAME.match(name):
                raise FieldError(f"stacks.{name}", name, "not a Pulumi stack name (letters, digits, '_', '.', '-')")
        return self


def stack_paths(project: str, stack: str) -> dict[str, str]:
    """The object key patterns of one stack's state, by kind (see the module docstring)."""
    return {
        "checkpoint": f".pulumi/stacks/{project}/{stack}.json*",
        "history": f".pulumi/history/{project}/{stack}/*",
        "backups": f".pulumi/backups/{project}/{stack}/*",
        "journal": f".pulumi/journal/{project}/{stack}/*",
        "locks": f".pulumi/locks/{DIY_ORGANIZATION}/{project}/{stack}/*",
    }


def stack_grants(bucket_arn: str, project: str, stack: str, access: StackAccess) -> list[dict[str, Any]]:
    """Bucket-policy statements for one stack's CI roles: preview reads the checkpoint and takes the lock; deploy
    also writes the checkpoint, history, backups and journal. Both list only their own stack's prefixes, plus the
    project's stack files (which stacks exist, not what they hold: `pulumi stack select` looks there)."""
    paths = stack_paths(project, stack)
    meta = f"{bucket_arn}/.pulumi/meta.yaml"
    # The CLI lists `<dir>/` prefixes (pkg/backend/diy/bucket.go, listBucket): its stack's directories, and the
    # project's stack files when it selects a stack.
    listable = [p.removesuffix("*") for k, p in paths.items() if k != "checkpoint"] + [f".pulumi/stacks/{project}/"]
    statements: list[dict[str, Any]] = []
    for role, arn in (("Preview", access.preview_role_arn), ("Deploy", access.deploy_role_arn)):
        if arn is None:
            continue
        sid = f"{role}{_sid(stack)}"
        if role == "Preview":
            reads = [meta, f"{bucket_arn}/{paths['checkpoint']}"]
            writes = [f"{bucket_arn}/{paths['locks']}"]
        else:
            reads = [meta]
            writes = [f"{bucket_arn}/{p}" for p in paths.values()]
        statements += [
            {
                "Sid": f"{sid}ListOwnState",
                "Effect": "Allow",
                "Principal": {"AWS": arn},
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": sorted(f"{p}*" for p in listable)}},
            },
            {
                "Sid": f"{sid}ReadState",
                "Effect": "Allow",
                "Principal": {"AWS": arn},
                "Action": "s3:GetObject",
                "Resource": sorted(reads),
            },
            {
                "Sid": f"{sid}WriteOwnState",
                "Effect": "Allow",
                "Principal": {"AWS": arn},
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": sorted(writes),
            },
        ]
    return statements


def _sid(stack: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", stack) if part)


def state_key_statements(
    *, bucket_arn: str, region: str, stacks: Mapping[str, StackAccess], dns_suffix: str = "amazonaws.com"
) -> list[dict[str, Any]]:
    """Key-policy statements letting the CI roles use the state key, only through S3 and only for this bucket
    (with S3 Bucket Keys the encryption context is the bucket ARN)."""
    roles = sorted({a for s in stacks.values() for a in (s.preview_role_arn, s.deploy_role_arn) if a is not None})
    if not roles:
        return []
    return [
        {
            "Sid": "CiRolesUseStateKeyThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": roles},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
            },
        }
    ]


def secrets_key_statements(access: StackAccess) -> list[dict[str, Any]]:
    """Key-policy statements for one stack's secrets provider: its CI roles decrypt the stack's data key.

    Pulumi encrypts the stack's data key once, at `pulumi stack init --secrets-provider` (an administrator, through
    the account's IAM), then only ever decrypts it; so CI needs `kms:Decrypt` and nothing else."""
    roles = sorted(a for a in (access.preview_role_arn, access.deploy_role_arn) if a is not None)
    if not roles:
        return []
    return [
        {
            "Sid": "CiRolesDecryptStackSecrets",
            "Effect": "Allow",
            "Principal": {"AWS": roles},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    ]


def secrets_alias(project: str, stack: str) -> str:
    return f"alias/{project}/{stack}/pulumi-secrets"


def backend_url(bucket: str, region: str, key_arn: str) -> str:
    """`pulumi login` URL: every write asks for SSE-KMS with the state key, as the platform's permission boundary
    (and the bucket policy) require of every upload."""
    return f"s3://{bucket}?region={region}&awssdk=v2&ssetype=aws:kms&kmskeyid={key_arn}"
