"""`ml-platform:storage`: KMS keys, the artifact store's buckets and the ECR image registries.

Every default here is the secure one; environment differences (a short key deletion window in dev, no VPC-endpoint
restriction in dev, longer version retention in prod, object lock in prod) live in `infra/config/profiles.py`.
"""

from __future__ import annotations

import re

from pydantic import field_validator, model_validator

from components.settings import FieldError, Section
from infra.config.regions import Region

BUCKET_PURPOSES = ("datasets", "models", "data-capture", "access-logs")
"""Every bucket the artifact store knows how to build. `access-logs` receives the others' server access logs."""

MAX_RETENTION_DAYS = 3650
"""Ten years: the longest retention the platform accepts for versions, logs and object lock."""

_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@*/-]+$")
# ECR's own rule for repository names (one or more slash-separated components).
_REPOSITORY_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def _days_between(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high} days ({what})")
    return value


class ObjectLockConfig(Section):
    """S3 Object Lock on the models bucket, in GOVERNANCE mode.

    Governance (not compliance) mode: a published model version cannot be overwritten or deleted during the
    retention period, yet an administrator holding `s3:BypassGovernanceRetention` can still remove it (a leaked
    secret baked into a model, say). Compliance mode could not be undone even by the account root.
    """

    retention_days: int = 30
    """Default retention applied to every new object version in the models bucket."""

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _days_between(value, 1, MAX_RETENTION_DAYS, "how long each model version is locked against deletion")


class ReplicationConfig(Section):
    """Cross-region replication of the models bucket (disaster recovery for what endpoints serve)."""

    destination_region: Region
    """Region of the replica bucket (with its own KMS key there). Must differ from the stack's region."""


class StorageConfig(Section):
    """KMS keys, the artifact store's buckets and the ECR image registries."""

    key_deletion_window_days: int = 30
    """Days a scheduled key deletion can still be cancelled. 7-30 (AWS limits); below 30 only in dev."""

    buckets: tuple[str, ...] = BUCKET_PURPOSES
    """Bucket purposes the artifact store creates: any of datasets, models, data-capture, access-logs.
    `access-logs` is required whenever another bucket is listed (it receives their server access logs)."""

    versioning: bool = True
    """Object versioning on every bucket. Turning it off is an explicit opt-out; object lock and replication need it."""

    noncurrent_version_expiry_days: int = 90
    """Days an overwritten or deleted object version is kept before lifecycle deletes it (1-3650)."""

    access_log_retention_days: int = 365
    """Days server access logs are kept in the access-logs bucket (1-3650)."""

    models_object_lock: ObjectLockConfig | None = None
    """Object lock (governance mode) for the models bucket, e.g. `{"retentionDays": 30}`. Default: off
    (on in the prod profile). Needs `versioning`."""

    models_replication: ReplicationConfig | None = None
    """Cross-region replication of the models bucket, e.g. `{"destinationRegion": "us-west-2"}`. Default: off."""

    require_vpc_endpoint: bool = True
    """Bucket policies deny object access that does not come through the VPC's S3 gateway endpoint, except for
    AWS services and `vpcEndpointExemptRoleArns`. Default on; the dev profile turns it off."""

    vpc_endpoint_exempt_role_arns: tuple[str, ...] = ()
    """IAM role ARNs (wildcards allowed in the role name) that may reach bucket objects from outside the VPC:
    administrators and CI. Ignored when `requireVpcEndpoint` is false."""

    registries: tuple[str, ...] = ("training", "serving")
    """ECR repositories to create, one per image family. Created as `<project>/<stack>/<name>`."""

    untagged_image_expiry_days: int = 14
    """Days an untagged image stays in a registry before lifecycle expires it (1-365)."""

    @field_validator("key_deletion_window_days")
    @classmethod
    def _deletion_window(cls, value: int) -> int:
        return _days_between(value, 7, 30, "the range AWS KMS accepts; below 30 only in dev")

    @field_validator("noncurrent_version_expiry_days")
    @classmethod
    def _noncurrent(cls, value: int) -> int:
        return _days_between(value, 1, MAX_RETENTION_DAYS, "how long overwritten or deleted object versions are kept")

    @field_validator("access_log_retention_days")
    @classmethod
    def _access_logs(cls, value: int) -> int:
        return _days_between(value, 1, MAX_RETENTION_DAYS, "how long server access logs are kept")

    @field_validator("untagged_image_expiry_days")
    @classmethod
    def _untagged(cls, value: int) -> int:
        return _days_between(value, 1, 365, "how long an untagged image is kept before it expires")

    @model_validator(mode="after")
    def _consistent(self) -> StorageConfig:
        allowed = ", ".join(BUCKET_PURPOSES)
        if not self.buckets:
            raise FieldError("buckets", [], f"list at least one bucket purpose ({allowed})")
        seen: set[str] = set()
        for index, purpose in enumerate(self.buckets):
            if purpose not in BUCKET_PURPOSES:
                raise FieldError(f"buckets.{index}", purpose, f"unknown bucket purpose; allowed: {allowed}")
            if purpose in seen:
                raise FieldError(f"buckets.{index}", purpose, "listed twice; each bucket purpose appears once")
            seen.add(purpose)
        if "access-logs" not in seen:
            raise FieldError(
                "buckets",
                list(self.buckets),
                "must include 'access-logs': every other bucket delivers its server access logs there",
            )
        for feature, value in (
            ("modelsObjectLock", self.models_object_lock),
            ("modelsReplication", self.models_replication),
        ):
            if value is None:
                continue
            shown = value.model_dump(by_alias=True)
            if not self.versioning:
                raise FieldError(feature, shown, f"needs versioning; set `versioning: true` or remove `{feature}`")
            if "models" not in seen:
                raise FieldError(
                    feature, shown, f"needs the 'models' bucket in `buckets`; add it or remove `{feature}`"
                )
        for index, arn in enumerate(self.vpc_endpoint_exempt_role_arns):
            if not _ROLE_ARN.match(arn):
                raise FieldError(
                    f"vpcEndpointExemptRoleArns.{index}",
                    arn,
                    "not an IAM role ARN; expected arn:<partition>:iam::<12-digit account>:role/<name> "
                    "('*' allowed in the name)",
                )
        names: set[str] = set()
        for index, name in enumerate(self.registries):
            if not (2 <= len(name) <= 200 and _REPOSITORY_NAME.match(name)):
                raise FieldError(
                    f"registries.{index}",
                    name,
                    "not a valid ECR repository name: 2-200 lowercase letters, digits and . _ - /, "
                    "starting and ending with a letter or digit",
                )
            if name in names:
                raise FieldError(f"registries.{index}", name, "listed twice; each registry name appears once")
            names.add(name)
        return self

    def stack_problem(self, *, environment: str, region: str) -> FieldError | None:
        """The first rule broken that depends on the stack's environment or region (which this section cannot see
        on its own), as a `FieldError` keyed from the top of `PlatformConfig` (`storage.<key>`), or None.

        `PlatformConfig` calls this once the section is valid and raises what it returns.
        """
        if environment != "dev" and self.key_deletion_window_days != 30:
            return FieldError(
                "storage.keyDeletionWindowDays",
                self.key_deletion_window_days,
                f"only dev may shorten the KMS key deletion window; {environment} keeps 30 days so a mistaken "
                "deletion can still be cancelled",
            )
        if self.models_replication is not None and self.models_replication.destination_region == region:
            return FieldError(
                "storage.modelsReplication.destinationRegion",
                region,
                "is the stack's own region; replication for disaster recovery needs a different region",
            )
        return None
