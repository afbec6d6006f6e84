"""Customer-managed KMS keys, one per data domain: artifacts, logs, cluster, sagemaker."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import field_validator

from components.kms_policies import DESCRIPTIONS, DOMAINS, AwsContext, KeyRoles, key_policy_json
from components.settings import Section, days_between

MAX_KEY_DELETION_WINDOW_DAYS = 30
"""The longest deletion window AWS KMS accepts (7 is the shortest)."""

_ALIAS_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


def _aws_context(region: str | None, v: list[Any]) -> AwsContext:
    """The key's account, partition and region (the stack's own unless the key is a replica elsewhere)."""
    return AwsContext(account_id=v[0], partition=v[1], region=region or v[2])


class PlatformKeysSettings(Section):
    """The keys' part of `ml-platform:storage` (the stack file's section is these keys' settings together with the
    artifact store's and the image registries'). Declared once: the stack file is validated against it and
    `PlatformKeys` takes it."""

    key_deletion_window_days: int = MAX_KEY_DELETION_WINDOW_DAYS
    """Days a scheduled key deletion can still be cancelled. 7-30 (AWS limits); below 30 only in dev."""

    @field_validator("key_deletion_window_days")
    @classmethod
    def _deletion_window(cls, value: int) -> int:
        return days_between(
            value,
            7,
            MAX_KEY_DELETION_WINDOW_DAYS,
            f"the range AWS KMS accepts; below {MAX_KEY_DELETION_WINDOW_DAYS} only in dev",
        )


@dataclass(frozen=True, kw_only=True)
class PlatformKeysArgs:
    alias_prefix: str
    """Aliases are `alias/<alias_prefix>/<domain>`, e.g. `ml-platform/prod` -> `alias/ml-platform/prod/logs`.
    Aliases are unique per account and region, so the prefix should name the stack."""
    settings: PlatformKeysSettings = field(default_factory=PlatformKeysSettings)
    """What the stack file sets (validated when built): the deletion window."""
    protect: bool = True
    """Default on: the keys are `protect`ed and retained when the stack is destroyed (everything they encrypted
    would otherwise become unreadable). Turn off only for throw-away stacks."""
    replica_region: str | None = None
    """When set, also creates `artifacts_replica`: a key in that region for the cross-region models replica.
    Default: none."""
    iam_path: str | None = None
    """The stack's IAM path: its roles are the keys' users. Default: none, so the key policy delegates all use to
    IAM (the account root statement) with no administrator/user split."""
    administrator_role_names: Sequence[str] = ()
    """Roles under `iam_path` that administer the keys and may not use them (the platform-admin persona and the CI
    deploy role)."""


def validate_platform_keys(args: PlatformKeysArgs) -> None:
    """Raises ValueError naming the field, the value and what is allowed. The settings validated themselves."""
    prefix = args.alias_prefix
    if not _ALIAS_PREFIX.match(prefix) or prefix.lower().startswith("aws") or len(prefix) > 200:
        raise ValueError(
            f"alias_prefix = {prefix!r}: must be 1-200 letters, digits, '_', '-' in '/'-separated parts, "
            "and must not start with 'aws' (reserved for AWS-managed keys)"
        )
    if args.administrator_role_names and args.iam_path is None:
        raise ValueError("administrator_role_names needs iam_path: administrators are named under the stack's path")
    if args.replica_region is not None and not args.replica_region:
        raise ValueError("replica_region = '': give a region name, or None for no replica key")


def _policy(args: PlatformKeysArgs, domain: str, ctx: AwsContext) -> str:
    return key_policy_json(domain, ctx, _roles(args, ctx))


def _roles(args: PlatformKeysArgs, ctx: AwsContext) -> KeyRoles | None:
    if args.iam_path is None:
        return None
    role = f"arn:{ctx.partition}:iam::{ctx.account_id}:role{args.iam_path}"
    return KeyRoles(
        administrator_arns=tuple(f"{role}{name}" for name in args.administrator_role_names),
        user_arn_pattern=f"{role}*",
    )


class PlatformKeys(pulumi.ComponentResource):
    """The platform's KMS keys: rotation on, the settings' deletion window (30 days by default), an alias each, and
    a key policy that lets the account administer the key and names the AWS services that use it directly.

    Creates, per domain: `aws.kms.Key` and `aws.kms.Alias`. Attributes: `artifacts`, `logs`, `cluster`, `sagemaker`
    (and `artifacts_replica` when `replica_region` is set), `key_arns` and `alias_names` by domain.
    """

    artifacts: aws.kms.Key
    logs: aws.kms.Key
    cluster: aws.kms.Key
    sagemaker: aws.kms.Key
    artifacts_replica: aws.kms.Key | None

    def __init__(self, name: str, args: PlatformKeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:storage:PlatformKeys", name, None, opts)
        validate_platform_keys(args)
        self.keys: dict[str, aws.kms.Key] = {}
        self.aliases: dict[str, aws.kms.Alias] = {}

        invoke = pulumi.InvokeOutputOptions(parent=self)
        identity = aws.get_caller_identity_output(opts=invoke)
        partition = aws.get_partition_output(opts=invoke)
        home = aws.get_region_output(opts=invoke)

        wanted: dict[str, str | None] = {domain: None for domain in DOMAINS}
        if args.replica_region is not None:
            wanted["artifacts-replica"] = args.replica_region
        for domain, region in wanted.items():
            context = pulumi.Output.all(identity.account_id, partition.partition, home.region).apply(
                partial(_aws_context, region)
            )
            # Keys are stateful (losing one loses the data it encrypted): protect and retain them together.
            key_opts = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
            key = aws.kms.Key(
                f"{name}-{domain}",
                description=f"ml-platform {domain}: {DESCRIPTIONS[domain]}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.settings.key_deletion_window_days,
                policy=context.apply(partial(_policy, args, domain)),
                region=region,
                opts=key_opts,
            )
            self.aliases[domain] = aws.kms.Alias(
                f"{name}-{domain}-alias",
                name=f"alias/{args.alias_prefix}/{domain}",
                target_key_id=key.key_id,
                region=region,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
            )
            self.keys[domain] = key

        self.artifacts = self.keys["artifacts"]
        self.logs = self.keys["logs"]
        self.cluster = self.keys["cluster"]
        self.sagemaker = self.keys["sagemaker"]
        self.artifacts_replica = self.keys.get("artifacts-replica")
        self.key_arns: dict[str, pulumi.Output[str]] = {d: k.arn for d, k in self.keys.items()}
        self.alias_names: dict[str, pulumi.Output[str]] = {d: a.name for d, a in self.aliases.items()}
        self.register_outputs({"key_arns": self.key_arns, "alias_names": self.alias_names})
