"""Key policies for the platform's KMS keys, built as plain data so they can be unit-tested and golden-filed.

Every key starts with the statement AWS's default key policy has and recommends keeping: the account root with
`kms:*`. It does not let anyone use the key by itself: it delegates to IAM, so a principal can only encrypt or
decrypt when its own (boundary-limited) policy says so, and it is what keeps the key manageable if every principal
the policy names is deleted (otherwise only AWS Support can recover it). Then administrators and users are split:
key administrators (the platform-admin persona and the CI deploy role) manage the key and are denied its
cryptographic operations; key users are the stack's roles (under its IAM path), each also limited by its own
policy. The remaining statements name AWS services that must use a key directly and cannot get IAM permissions of
their own, each pinned to this account with conditions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DOMAINS = ("artifacts", "logs", "cluster", "sagemaker")
"""One customer-managed key per data domain."""

DESCRIPTIONS = {
    "artifacts": "S3 artifact buckets (datasets, models) and ECR image registries",
    "logs": "CloudWatch Logs (flow, EKS control plane, SageMaker) and the alarm/budget SNS topics",
    "cluster": "EKS Kubernetes secrets and node EBS volumes",
    "sagemaker": "SageMaker endpoint volumes and data capture",
    "artifacts-replica": "Cross-region replica of the models bucket",
}

# The symmetric-key data operations a service performs to encrypt and decrypt on a caller's behalf. Spelled out,
# not `kms:Encrypt*`-style wildcards, so a reader sees exactly what is allowed.
CRYPTO_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
)
# AWS's default key-administrator actions, spelled out: manage, never use.
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# What a service needs to publish to (and deliver from) an SNS topic encrypted with the key.
SNS_PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class AwsContext:
    """Where the key lives: the values every policy is parameterised by."""

    account_id: str
    partition: str
    region: str

    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    @property
    def account_root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def regional_service(self, service: str) -> str:
        return f"{service}.{self.region}.{self.dns_suffix}"


@dataclass(frozen=True)
class KeyRoles:
    """Who administers and who uses the stack's keys, by ARN (the roles need not exist yet: they are matched by
    `aws:PrincipalArn`, as naming a missing principal makes PutKeyPolicy fail)."""

    administrator_arns: tuple[str, ...]
    """The platform-admin persona and the CI deploy role: manage the key, never encrypt or decrypt with it."""
    user_arn_pattern: str
    """`arn:<partition>:iam::<account>:role/<project>/<stack>/*`: the stack's roles, which may use the key as far
    as their own policies allow."""


def _role_statements(ctx: AwsContext, roles: KeyRoles) -> list[dict[str, Any]]:
    admins = sorted(roles.administrator_arns)
    in_account = {"kms:CallerAccount": ctx.account_id}
    return [
        {
            "Sid": "KeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": list(ADMIN_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": in_account, "ArnEquals": {"aws:PrincipalArn": admins}},
        },
        {
            # EKS, ECR, SageMaker and EBS take a grant when the deploy role attaches the key to a resource; only
            # such grants, so an administrator cannot grant itself the cryptography it is denied.
            "Sid": "KeyAdministratorsGrantToAwsResources",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {
                "StringEquals": in_account,
                "ArnEquals": {"aws:PrincipalArn": admins},
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        },
        {
            "Sid": "KeyUsers",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [*CRYPTO_ACTIONS, "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": in_account, "ArnLike": {"aws:PrincipalArn": roles.user_arn_pattern}},
        },
        {
            # Separation of duties: whoever can change the key policy cannot read what the key protects.
            "Sid": "DenyKeyAdministratorsCryptography",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": list(CRYPTO_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": admins}},
        },
    ]


def admin_statement(ctx: AwsContext) -> dict[str, Any]:
    """The standard statement AWS requires (and the lockout check expects): the account manages the key via IAM."""
    return {
        "Sid": "AccountAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": ctx.account_root},
        "Action": "kms:*",
        "Resource": "*",
    }


def _logs_statements(ctx: AwsContext) -> list[dict[str, Any]]:
    return [
        {
            # CloudWatch Logs encrypts log groups itself; the encryption context pins it to this account's groups.
            "Sid": "CloudWatchLogsEncryptLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": ctx.regional_service("logs")},
            "Action": list(CRYPTO_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:log-group:*"
                    )
                }
            },
        },
        {
            # Alarm actions publish to the KMS-encrypted alarm topic as the CloudWatch service principal.
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": list(SNS_PUBLISH_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:*"},
            },
        },
        {
            "Sid": "BudgetsPublishToEncryptedTopics",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": list(SNS_PUBLISH_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:budgets::{ctx.account_id}:*"},
            },
        },
        {
            # Principals of this account may use the key only through SNS (publishing to the encrypted topics);
            # the same shape as the AWS-managed aws/sns key, limited to this account.
            "Sid": "AccountPrincipalsThroughSns",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": list(SNS_PUBLISH_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": ctx.account_id,
                    "kms:ViaService": ctx.regional_service("sns"),
                }
            },
        },
    ]


def autoscaling_service_linked_role(ctx: AwsContext) -> str:
    return (
        f"arn:{ctx.partition}:iam::{ctx.account_id}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )


def _cluster_statements(ctx: AwsContext) -> list[dict[str, Any]]:
    # Node groups launch instances through EC2 Auto Scaling, whose service-linked role must read and attach the
    # encrypted EBS volumes. It is matched by `aws:PrincipalArn` rather than named as the principal: naming a role
    # that does not exist yet (a fresh account has no Auto Scaling group before the first node group) makes
    # PutKeyPolicy fail.
    pinned = {
        "StringEquals": {"kms:CallerAccount": ctx.account_id},
        "ArnEquals": {"aws:PrincipalArn": autoscaling_service_linked_role(ctx)},
    }
    return [
        {
            "Sid": "AutoScalingUseForNodeVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [*CRYPTO_ACTIONS, "kms:DescribeKey"],
            "Resource": "*",
            "Condition": pinned,
        },
        {
            "Sid": "AutoScalingAttachNodeVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {**pinned, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def key_policy(domain: str, ctx: AwsContext, roles: KeyRoles | None = None) -> dict[str, Any]:
    """The key policy for one domain.

    artifacts, sagemaker, artifacts-replica: administration only; use is granted per role through IAM (S3, ECR and
    SageMaker call KMS with the caller's credentials). logs: CloudWatch Logs, CloudWatch alarms, AWS Budgets and
    SNS publishers. cluster: the EC2 Auto Scaling service-linked role for node volumes.
    """
    if domain not in DESCRIPTIONS:
        raise ValueError(f"unknown key domain {domain!r}; known: {', '.join(DESCRIPTIONS)}")
    statements = [admin_statement(ctx)]
    if roles is not None:
        statements += _role_statements(ctx, roles)
    if domain == "logs":
        statements += _logs_statements(ctx)
    elif domain == "cluster":
        statements += _cluster_statements(ctx)
    return {"Version": "2012-10-17", "Statement": statements}


def key_policy_json(domain: str, ctx: AwsContext, roles: KeyRoles | None = None) -> str:
    return json.dumps(key_policy(domain, ctx, roles), indent=2)
