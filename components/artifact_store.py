"""The artifact store: one hardened S3 bucket per purpose (datasets, models, data-capture, access-logs)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import field_validator, model_validator

from components.bucket_baseline import bucket_baseline
from components.bucket_policies import (
    ACCESS_LEVELS,
    BucketPolicySpec,
    LogDelivery,
    bucket_policy_json,
    grant_statements,
    validate_prefix,
)
from components.regions import Region
from components.settings import FieldError, Section, days_between
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

PURPOSES = ("datasets", "models", "data-capture", "access-logs")
"""Every bucket purpose the store knows. `access-logs` receives the server access logs of the others."""
ACCESS_LOGS = "access-logs"
MAX_RETENTION_DAYS = 3650
"""Ten years: the longest retention the store accepts for versions, logs and object lock."""
ABORT_INCOMPLETE_UPLOADS_DAYS = 7

_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@*/-]+$")


class ObjectLockSettings(Section):
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
        return days_between(value, 1, MAX_RETENTION_DAYS, "how long each model version is locked against deletion")


class ReplicationSettings(Section):
    """Cross-region replication of the models bucket (disaster recovery for what endpoints serve)."""

    destination_region: Region
    """Region of the replica bucket (with its own KMS key there). Must differ from the stack's region."""


class ArtifactStoreSettings(Section):
    """The artifact store's part of `ml-platform:storage` (with the keys' and the image registries' settings).
    Declared once: the stack file is validated against it and `ArtifactStore` takes it."""

    buckets: tuple[str, ...] = PURPOSES
    """Bucket purposes the artifact store creates: any of datasets, models, data-capture, access-logs.
    `access-logs` is required whenever another bucket is listed (it receives their server access logs)."""

    versioning: bool = True
    """Object versioning on every bucket. Turning it off is an explicit opt-out; object lock and replication need it."""

    noncurrent_version_expiry_days: int = 90
    """Days an overwritten or deleted object version is kept before lifecycle deletes it (1-3650)."""

    access_log_retention_days: int = 365
    """Days server access logs are kept in the access-logs bucket (1-3650)."""

    models_object_lock: ObjectLockSettings | None = None
    """Object lock (governance mode) for the models bucket, e.g. `{"retentionDays": 30}`. Default: off
    (on in the prod profile). Needs `versioning`."""

    models_replication: ReplicationSettings | None = None
    """Cross-region replication of the models bucket, e.g. `{"destinationRegion": "us-west-2"}`. Default: off."""

    require_vpc_endpoint: bool = True
    """Bucket policies deny object access that does not come through the VPC's S3 gateway endpoint, except for
    AWS services and `vpcEndpointExemptRoleArns`. Default on; the dev profile turns it off."""

    vpc_endpoint_exempt_role_arns: tuple[str, ...] = ()
    """IAM role ARNs (wildcards allowed in the role name) that may reach bucket objects from outside the VPC:
    administrators and CI. Ignored when `requireVpcEndpoint` is false."""

    @field_validator("noncurrent_version_expiry_days")
    @classmethod
    def _noncurrent(cls, value: int) -> int:
        return days_between(value, 1, MAX_RETENTION_DAYS, "how long overwritten or deleted object versions are kept")

    @field_validator("access_log_retention_days")
    @classmethod
    def _access_logs(cls, value: int) -> int:
        return days_between(value, 1, MAX_RETENTION_DAYS, "how long server access logs are kept")

    @model_validator(mode="after")
    def _buckets_and_features(self) -> ArtifactStoreSettings:
        allowed = ", ".join(PURPOSES)
        if not self.buckets:
            raise FieldError("buckets", [], f"list at least one bucket purpose ({allowed})")
        seen: set[str] = set()
        for index, purpose in enumerate(self.buckets):
            if purpose not in PURPOSES:
                raise FieldError(f"buckets.{index}", purpose, f"unknown bucket purpose; allowed: {allowed}")
            if purpose in seen:
                raise FieldError(f"buckets.{index}", purpose, "listed twice; each bucket purpose appears once")
            seen.add(purpose)
        if ACCESS_LOGS not in seen:
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
        return self


@dataclass(frozen=True, kw_only=True)
class ReplicationArgs:
    """What replication needs besides `settings.models_replication` (its region): values known at deployment."""

    kms_key_arn: pulumi.Input[str]
    """A KMS key in the destination region (PlatformKeys' `artifacts_replica`): encrypts the replica."""
    permissions_boundary_arn: pulumi.Input[str]
    """The platform's permission boundary, attached to the replication role like every platform role."""


@dataclass(frozen=True, kw_only=True)
class ArtifactStoreArgs:
    kms_key_arn: pulumi.Input[str]
    """The store's key (the platform's artifacts key): default SSE-KMS key of every bucket except access-logs."""
    kms_key_arns_by_purpose: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Per-purpose key overrides. Default: none. E.g. data-capture -> the SageMaker key, because SageMaker writes
    capture files with the key of the endpoint's data-capture config, and the bucket policy only accepts the
    bucket's own key."""
    settings: ArtifactStoreSettings = field(default_factory=ArtifactStoreSettings)
    """What the stack file sets (validated when built): buckets, versioning, retentions, object lock, replication,
    the VPC-endpoint rule and its exempt roles."""
    vpc_endpoint_id: pulumi.Input[str] | None = None
    """The VPC's S3 gateway endpoint. Required while `settings.require_vpc_endpoint` is on (the default): bucket
    policies then deny object access that does not come through it, except from AWS services, the settings'
    exempt roles and the replication role. Unused when the setting is off."""
    replication: ReplicationArgs | None = None
    """The replica's key and the replication role's boundary: required exactly when `settings.models_replication`
    is set."""
    force_destroy: bool = False
    """Default off. Lets `pulumi destroy` empty the buckets: for dev only, never together with `protect`."""
    protect: bool = True
    """Default on: buckets and their settings are `protect`ed and retained when the stack is destroyed."""


def validate_artifact_store(args: ArtifactStoreArgs) -> None:
    """Raises ValueError naming the field, the value and what is allowed. The settings validated themselves; this
    checks the arguments known only at deployment against them."""
    purposes = args.settings.buckets
    for purpose in args.kms_key_arns_by_purpose:
        if purpose not in purposes or purpose == ACCESS_LOGS:
            raise ValueError(
                f"kms_key_arns_by_purpose: {purpose!r} is not a KMS-encrypted bucket of this store; "
                f"allowed: {', '.join(p for p in purposes if p != ACCESS_LOGS)}"
            )
    if args.settings.require_vpc_endpoint and args.vpc_endpoint_id is None:
        raise ValueError(
            "vpc_endpoint_id = None while settings.require_vpc_endpoint is on: pass the VPC's S3 gateway endpoint "
            "id, or turn `requireVpcEndpoint` off"
        )
    if args.settings.models_replication is not None and args.replication is None:
        raise ValueError(
            "settings.models_replication is set but replication = None: pass ReplicationArgs with the replica's KMS "
            "key and the permission boundary"
        )
    if args.settings.models_replication is None and args.replication is not None:
        raise ValueError(
            "replication given but settings.models_replication is not set: set `modelsReplication` or drop it"
        )
    if args.force_destroy and args.protect:
        raise ValueError(
            "force_destroy=True with protect=True: a protected store is retained with its data; "
            "force_destroy (empty the buckets on delete) is for unprotected dev stores only"
        )


def lifecycle_rules(purpose: str, settings: ArtifactStoreSettings) -> list[dict[str, Any]]:
    """The lifecycle rules of one bucket, as `BucketLifecycleConfigurationRuleArgs` keyword dicts."""
    everything: dict[str, Any] = {}  # an empty filter: the rule applies to every object
    rules: list[dict[str, Any]] = [
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": everything,
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOADS_DAYS},
        }
    ]
    if settings.versioning:
        rules.append(
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": everything,
                "noncurrent_version_expiration": {"noncurrent_days": settings.noncurrent_version_expiry_days},
                # Once every version under a key is gone, the lone delete marker is clutter (and a LIST cost).
                "expiration": {"expired_object_delete_marker": True},
            }
        )
    if purpose == "datasets":
        # Datasets are large and read in bursts: Intelligent-Tiering moves cold objects down without retrieval fees.
        rules.append(
            {
                "id": "intelligent-tiering",
                "status": "Enabled",
                "filter": everything,
                "transitions": [{"days": 0, "storage_class": "INTELLIGENT_TIERING"}],
            }
        )
    if purpose == ACCESS_LOGS:
        rules.append(
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": everything,
                "expiration": {"days": settings.access_log_retention_days},
            }
        )
    return rules


def _lifecycle_rule_args(rule: dict[str, Any]) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    s3 = aws.s3
    return s3.BucketLifecycleConfigurationRuleArgs(
        id=rule["id"],
        status=rule["status"],
        filter=s3.BucketLifecycleConfigurationRuleFilterArgs(**rule["filter"]),
        abort_incomplete_multipart_upload=(
            s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                **rule["abort_incomplete_multipart_upload"]
            )
            if "abort_incomplete_multipart_upload" in rule
            else None
        ),
        noncurrent_version_expiration=(
            s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(**rule["noncurrent_version_expiration"])
            if "noncurrent_version_expiration" in rule
            else None
        ),
        expiration=(
            s3.BucketLifecycleConfigurationRuleExpirationArgs(**rule["expiration"]) if "expiration" in rule else None
        ),
        transitions=(
            [s3.BucketLifecycleConfigurationRuleTransitionArgs(**t) for t in rule["transitions"]]
            if "transitions" in rule
            else None
        ),
    )


def replication_policy(
    *,
    source_bucket_arn: str,
    source_key_arn: str,
    replica_bucket_arn: str,
    replica_key_arn: str,
    source_region: str,
    replica_region: str,
    dns_suffix: str = "amazonaws.com",
) -> dict[str, Any]:
    """What S3 needs to replicate SSE-KMS objects from the models bucket to its replica, and nothing more."""

    def kms(actions: list[str], key: str, region: str, bucket: str) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": actions,
            "Resource": key,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/*"]},
            },
        }

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_bucket_arn,
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                "Resource": f"{source_bucket_arn}/*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": f"{replica_bucket_arn}/*",
            },
            kms(["kms:Decrypt"], source_key_arn, source_region, source_bucket_arn),
            kms(["kms:Encrypt", "kms:GenerateDataKey"], replica_key_arn, replica_region, replica_bucket_arn),
        ],
    }


class ArtifactStore(pulumi.ComponentResource):
    """S3 buckets for datasets, models, data capture and access logs: SSE-KMS with bucket keys (SSE-S3 for
    access-logs), TLS-only, optionally VPC-endpoint-only, never public, owner-enforced, versioned, access-logged,
    EventBridge-notifying, with lifecycle rules; optional object lock and cross-region replication for models.

    Creates, per bucket `<name>-<purpose>`: Bucket, BucketPublicAccessBlock, BucketOwnershipControls,
    BucketServerSideEncryptionConfiguration, BucketVersioning, BucketLifecycleConfiguration, BucketLogging (not for
    access-logs itself), BucketNotification, BucketPolicy; BucketObjectLockConfiguration for locked models; with
    replication, a replica bucket and its access-logs bucket in the other region, the replication role and
    BucketReplicationConfig.

    Attributes: `buckets[purpose]`, `bucket_names`, `bucket_arns`, `replica_bucket` (or None); `grant_statements()`
    and `grant_policy()` for least-privilege access to one bucket or prefix.
    """

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:storage:ArtifactStore", name, None, opts)
        validate_artifact_store(args)
        self._name = name
        self.bucket_name_prefix = f"{name}-"
        """Every bucket's auto-name starts with it: the CI deploy role's S3 statement is scoped to it."""
        self._args = args
        settings = args.settings
        lock = settings.models_object_lock

        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._account_id = aws.get_caller_identity_output(opts=invoke).account_id
        self._partition = aws.get_partition_output(opts=invoke)
        self._region = aws.get_region_output(opts=invoke).region

        self.buckets: dict[str, aws.s3.Bucket] = {}
        self._key_arns: dict[str, pulumi.Input[str] | None] = {}
        self._versioning: dict[str, aws.s3.BucketVersioning] = {}
        self.replica_bucket: aws.s3.Bucket | None = None
        self.replication_role: WorkloadRole | None = None

        # Created first: every other bucket names it as its log target, and its policy names them as log sources.
        ordered = [ACCESS_LOGS] + [p for p in settings.buckets if p != ACCESS_LOGS]
        for purpose in ordered:
            self.buckets[purpose] = self._bucket(purpose, object_lock=purpose == "models" and lock is not None)
            self._key_arns[purpose] = (
                None if purpose == ACCESS_LOGS else args.kms_key_arns_by_purpose.get(purpose, args.kms_key_arn)
            )

        replica_region = settings.models_replication.destination_region if settings.models_replication else None
        if args.replication is not None and replica_region is not None:
            self._replica_and_role(args.replication, replica_region)

        exempt: list[pulumi.Input[str]] = list(settings.vpc_endpoint_exempt_role_arns)
        if self.replication_role is not None:
            exempt.append(self.replication_role.arn)
        logs_bucket = self.buckets[ACCESS_LOGS]
        for purpose in ordered:
            bucket = self.buckets[purpose]
            self._harden(
                purpose,
                bucket,
                kms_key_arn=self._key_arns[purpose],
                log_target=None if purpose == ACCESS_LOGS else logs_bucket,
                log_sources=[b for p, b in self.buckets.items() if p != ACCESS_LOGS] if purpose == ACCESS_LOGS else [],
                vpc_endpoint_id=args.vpc_endpoint_id if settings.require_vpc_endpoint else None,
                exempt_role_arns=exempt,
                lifecycle_purpose=purpose,
            )
        if args.replication is not None and replica_region is not None:
            self._replicate(args.replication, replica_region)
        if lock is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-models-object-lock",
                bucket=self.buckets["models"].id,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode="GOVERNANCE", days=lock.retention_days
                    )
                ),
                opts=self._stateful(),
            )

        self.bucket_names: dict[str, pulumi.Output[str]] = {p: b.bucket for p, b in self.buckets.items()}
        self.bucket_arns: dict[str, pulumi.Output[str]] = {p: b.arn for p, b in self.buckets.items()}
        self.register_outputs(
            {
                "bucket_names": self.bucket_names,
                "bucket_arns": self.bucket_arns,
                "replica_bucket_name": self.replica_bucket.bucket if self.replica_bucket is not None else None,
            }
        )

    # -- building blocks -------------------------------------------------------------------------------------

    def _stateful(self, **extra: Any) -> pulumi.ResourceOptions:
        # A retained bucket must keep its guard rails: deleting the public access block, policy or encryption
        # settings on `destroy` would leave an unguarded bucket behind. So every piece is protected and retained.
        protect = self._args.protect
        return pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect, **extra)

    def _bucket(self, role: str, *, object_lock: bool, region: str | None = None) -> aws.s3.Bucket:
        return aws.s3.Bucket(
            f"{self._name}-{role}",
            force_destroy=self._args.force_destroy,
            object_lock_enabled=object_lock,
            region=region,
            # Says what a bucket holds in the console and in cost reports (names end in a random suffix).
            tags={"Purpose": role},
            opts=self._stateful(),
        )

    def _harden(
        self,
        role: str,
        bucket: aws.s3.Bucket,
        *,
        kms_key_arn: pulumi.Input[str] | None,
        log_target: aws.s3.Bucket | None,
        log_sources: list[aws.s3.Bucket],
        vpc_endpoint_id: pulumi.Input[str] | None,
        exempt_role_arns: Sequence[pulumi.Input[str]],
        lifecycle_purpose: str,
        region: str | None = None,
    ) -> None:
        name, args = f"{self._name}-{role}", self._args
        s3 = aws.s3
        baseline = bucket_baseline(
            name,
            bucket,
            kms_key_arn=kms_key_arn,
            versioning=args.settings.versioning,
            region=region,
            opts=self._stateful(),
        )
        if baseline.versioning is not None:
            self._versioning[role] = baseline.versioning
        s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[_lifecycle_rule_args(r) for r in lifecycle_rules(lifecycle_purpose, args.settings)],
            region=region,
            opts=self._stateful(depends_on=baseline.versioning_settled),
        )
        if log_target is not None:
            s3.BucketLogging(
                f"{name}-logging",
                bucket=bucket.id,
                target_bucket=log_target.id,
                target_prefix=f"{role}/",
                # Date-partitioned keys, so the logs can be queried by day without listing everything.
                target_object_key_format=s3.BucketLoggingTargetObjectKeyFormatArgs(
                    partitioned_prefix=s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                        partition_date_source="EventTime"
                    )
                ),
                region=region,
                opts=self._stateful(),
            )
        s3.BucketNotification(
            f"{name}-notifications", bucket=bucket.id, eventbridge=True, region=region, opts=self._stateful()
        )
        policy = pulumi.Output.all(
            bucket_arn=bucket.arn,
            kms_key_arn=kms_key_arn,
            vpc_endpoint_id=vpc_endpoint_id,
            exempt=pulumi.Output.all(*exempt_role_arns),
            sources=pulumi.Output.all(*[b.arn for b in log_sources]),
            account_id=self._account_id,
        ).apply(
            lambda v: bucket_policy_json(
                BucketPolicySpec(
                    bucket_arn=v["bucket_arn"],
                    kms_key_arn=v["kms_key_arn"],
                    vpc_endpoint_id=v["vpc_endpoint_id"],
                    exempt_principal_arns=list(v["exempt"]),
                    log_delivery=LogDelivery(account_id=v["account_id"], source_bucket_arns=list(v["sources"]))
                    if log_sources
                    else None,
                )
            )
        )
        # The public access block goes first: S3 rejects concurrent changes to a bucket's policy and its block.
        s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=policy,
            region=region,
            opts=self._stateful(depends_on=[baseline.public_access]),
        )

    def _replica_and_role(self, replication: ReplicationArgs, region: str) -> None:
        """The replica buckets and the replication role: created before the store's bucket policies, which
        exempt the role from the VPC-endpoint rule."""
        name, args = self._name, self._args
        # Access logs must land in the same region as the bucket they describe: the replica gets its own.
        self._replica_logs = self._bucket("models-replica-access-logs", object_lock=False, region=region)
        # S3 only replicates locked object versions into a bucket that has Object Lock as well.
        replica = self._bucket(
            "models-replica", object_lock=args.settings.models_object_lock is not None, region=region
        )
        self.replica_bucket = self._replica = replica

        source = self.buckets["models"]
        source_key = self._key_arns["models"]
        policy = pulumi.Output.all(
            source_bucket_arn=source.arn,
            source_key_arn=source_key,
            replica_bucket_arn=replica.arn,
            replica_key_arn=replication.kms_key_arn,
            source_region=self._region,
            dns_suffix=self._partition.dns_suffix,
        ).apply(lambda v: self._replication_policy_json(v, region))
        self.replication_role = self._replication_role = WorkloadRole(
            f"{name}-replication",
            WorkloadRoleArgs(
                # S3 assumes the role for this account's source bucket only (confused-deputy guard).
                assume_role_policy=pulumi.Output.all(self._account_id, source.arn).apply(
                    lambda v: service_trust("s3.amazonaws.com", source_account=v[0], source_arn=v[1])
                ),
                permissions_boundary=replication.permissions_boundary_arn,
                policies={"replicate-models": policy},
                description="S3 replication of the models bucket to its cross-region replica",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _replicate(self, replication: ReplicationArgs, region: str) -> None:
        """Hardens the replica buckets and turns replication on (after the store's buckets are versioned)."""
        name = self._name
        replica, replica_logs, role = self._replica, self._replica_logs, self._replication_role
        self._harden(
            "models-replica-access-logs",
            replica_logs,
            kms_key_arn=None,
            log_target=None,
            log_sources=[replica],
            vpc_endpoint_id=None,
            exempt_role_arns=(),
            lifecycle_purpose=ACCESS_LOGS,
            region=region,
        )
        # No VPC-endpoint rule on the replica: it lives in a region without the platform's VPC, and only the
        # replication role writes to it.
        self._harden(
            "models-replica",
            replica,
            kms_key_arn=replication.kms_key_arn,
            log_target=replica_logs,
            log_sources=[],
            vpc_endpoint_id=None,
            exempt_role_arns=(),
            lifecycle_purpose="models",
            region=region,
        )
        s3 = aws.s3
        aws.s3.BucketReplicationConfig(
            f"{name}-models-replication",
            bucket=self.buckets["models"].id,
            role=role.arn,
            rules=[
                s3.BucketReplicationConfigRuleArgs(
                    id=f"models-to-{region}",
                    status="Enabled",
                    filter=s3.BucketReplicationConfigRuleFilterArgs(),
                    # A delete in the primary must not hide the disaster-recovery copy.
                    delete_marker_replication=s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Disabled"
                    ),
                    source_selection_criteria=s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.arn,
                        encryption_configuration=s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=replication.kms_key_arn
                        ),
                    ),
                )
            ],
            # Replication needs versioning on both sides first.
            opts=self._stateful(depends_on=[self._versioning["models"], self._versioning["models-replica"], role]),
        )

    def _replication_policy_json(self, values: dict[str, Any], replica_region: str) -> str:
        if values["source_region"] == replica_region:
            raise pulumi.RunError(
                f"settings.models_replication.destination_region = {replica_region!r} is the store's own region; "
                "disaster-recovery replication needs another region"
            )
        return json.dumps(replication_policy(replica_region=replica_region, **values), indent=2)

    # -- grants ------------------------------------------------------------------------------------------------

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]:
        """IAM statements giving `access` ("read" | "write" | "read_write") on one bucket, or one prefix
        (`"runs/"`) of it, with the matching KMS actions on that bucket's key. Never `s3:*` or `kms:*`."""
        if purpose not in self.buckets:
            raise ValueError(
                f"grant_statements: unknown purpose {purpose!r}; this store has: {', '.join(self.buckets)}"
            )
        if access not in ACCESS_LEVELS:
            raise ValueError(f"grant_statements: access {access!r}: must be one of {', '.join(ACCESS_LEVELS)}")
        validate_prefix(prefix)
        return pulumi.Output.all(
            bucket_arn=self.buckets[purpose].arn,
            kms_key_arn=self._key_arns[purpose],
            region=self._region,
            dns_suffix=self._partition.dns_suffix,
        ).apply(lambda v: grant_statements(access=access, prefix=prefix, **v))

    def grant_policy(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[str]:
        """The same grant as a whole IAM policy document (JSON), ready for a role's inline policy."""
        return self.grant_statements(purpose, access, prefix).apply(
            lambda statements: json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)
        )
