"""Every AWS call the audit makes and the IAM action it needs: the one list the code, the docs and the CI preview
role are checked against (`components/test_ci_preview_audit_permissions.py` proves the role's rendered policy allows each)."""

from __future__ import annotations

from collections.abc import Mapping

AUDIT_CALLS: Mapping[str, str] = {
    # "<boto3 service>:<operation>" -> the IAM action that authorises it. All read-only.
    "s3:GetBucketTagging": "s3:GetBucketTagging",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "s3:GetBucketVersioning": "s3:GetBucketVersioning",
    "s3:GetBucketPolicy": "s3:GetBucketPolicy",
    "s3:GetBucketLogging": "s3:GetBucketLogging",
    "kms:DescribeKey": "kms:DescribeKey",
    "kms:GetKeyRotationStatus": "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy": "kms:GetKeyPolicy",
    "eks:DescribeCluster": "eks:DescribeCluster",
    "eks:DescribeNodegroup": "eks:DescribeNodegroup",
    "eks:DescribeAccessEntry": "eks:DescribeAccessEntry",
    "iam:GetRole": "iam:GetRole",
    "iam:ListAttachedRolePolicies": "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies": "iam:ListRolePolicies",
    "iam:GetRolePolicy": "iam:GetRolePolicy",
    "ec2:DescribeSecurityGroups": "ec2:DescribeSecurityGroups",
    "logs:DescribeLogGroups": "logs:DescribeLogGroups",
    "sagemaker:DescribeModel": "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig": "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint": "sagemaker:DescribeEndpoint",
    "ecr:DescribeRepositories": "ecr:DescribeRepositories",
    "ecr:ListTagsForResource": "ecr:ListTagsForResource",
    "budgets:DescribeBudget": "budgets:ViewBudget",
    "resourcegroupstaggingapi:GetResources": "tag:GetResources",
    "autoscaling:DescribeAutoScalingGroups": "autoscaling:DescribeAutoScalingGroups",
}

PROMOTION_CALLS: Mapping[str, str] = {
    # tools/promote_after_bake.py: the prod promotion's bake check, through the same read-only preview roles.
    "sagemaker:DescribeModelPackage": "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages": "sagemaker:ListModelPackages",
}

KNOWN_CALLS: Mapping[str, str] = {**AUDIT_CALLS, **PROMOTION_CALLS}
"""Every call made through `preflight.audit.aws.Aws`, and the IAM action it needs."""

AUDIT_ACTIONS: tuple[str, ...] = tuple(sorted(set(AUDIT_CALLS.values())))
"""The IAM actions a role needs to run the audit (docs/audit.md lists them; the CI preview role grants them)."""
