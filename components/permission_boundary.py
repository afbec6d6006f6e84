"""The stack's permission boundary: the ceiling no platform role can rise above, however its policies grow.

A managed policy attached as `permissions_boundary` to every role the platform creates (see `WorkloadRole`).
Effective permissions are the intersection of a role's policies and this document, so the Deny statements here
hold even if someone later attaches `AdministratorAccess` to a role by hand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

GLOBAL_SERVICES = (
    "iam:*",
    "sts:*",
    "organizations:*",
    "budgets:*",
    "ce:*",
    "cur:*",
    "cloudfront:*",
    "route53:*",
    "support:*",
    "health:*",
    "account:*",
    "trustedadvisor:*",
    "pricing:*",
)
"""Services whose API lives in us-east-1 whatever the stack's region: exempt from the region deny."""

PLATFORM_SERVICES = (
    "application-autoscaling:*",
    "autoscaling:*",
    "cloudwatch:*",
    "ec2:*",
    "ecr:*",
    "eks:*",
    "elasticloadbalancing:*",
    "events:*",
    "kms:*",
    "logs:*",
    "s3:*",
    "sagemaker:*",
    "sns:*",
    "sqs:*",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:GetCallerIdentity",
    # IAM in full: the Deny statements below take out users, keys and boundary escapes.
    "iam:*",
    "budgets:*",
    "ce:UpdateCostAllocationTagsStatus",
    "ce:ListCostAllocationTags",
    "ce:Get*",
    # EKS Pod Identity: the node's agent exchanges a pod's token through `eks-auth` (`pods.eks.amazonaws.com` is
    # the service principal in trust policies, not an action prefix).
    "eks-auth:AssumeRoleForPodIdentity",
    "ecr-public:GetAuthorizationToken",
)
"""What platform roles may do at most. Each role's own policy narrows this to its job."""

# Creation calls that support `aws:RequestTag` conditions, so untagged resources can be refused at the API.
TAGGED_CREATE_ACTIONS = (
    "ec2:RunInstances",
    "ec2:CreateVolume",
    "ec2:CreateLaunchTemplate",
    "eks:CreateCluster",
    "eks:CreateNodegroup",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateModel",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateNotebookInstance",
)


@dataclass(frozen=True, kw_only=True)
class PermissionBoundaryArgs:
    policy_name: str
    """Exact policy name; fixed so the boundary's own ARN can be named in its self-protection statement."""
    allowed_regions: Sequence[str]
    """Regions platform roles may act in (global services excepted)."""
    ec2_instance_types: Sequence[str]
    """EC2 instance types roles may launch (node pools' types)."""
    sagemaker_instance_types: Sequence[str]
    """SageMaker instance types roles may request (`ml.*`)."""
    required_tag_keys: Sequence[str] = ("CostCenter", "Owner", "Project", "Environment")
    """Cost tags a creation request must carry, where the service supports `aws:RequestTag`."""
    require_sagemaker_model_vpc: bool = True
    """Refuse SageMaker models without VPC config. Off only where serverless endpoints (no VPC support) are allowed."""


MAX_MANAGED_POLICY_CHARS = 6144
"""IAM's size limit for a managed policy (white space not counted)."""


def validate_boundary(args: PermissionBoundaryArgs) -> None:
    if not args.allowed_regions:
        raise ValueError("allowed_regions is empty: the boundary would deny every regional action")
    bad = [t for t in args.sagemaker_instance_types if not t.startswith("ml.")]
    if bad:
        raise ValueError(f"SageMaker instance types must start with 'ml.': {bad}")
    bad = [t for t in args.ec2_instance_types if t.startswith("ml.") or "." not in t]
    if bad:
        raise ValueError(f"EC2 instance types look like 'g5.xlarge': {bad}")


def boundary_document(args: PermissionBoundaryArgs, *, partition: str, account_id: str) -> dict[str, Any]:
    """The boundary policy, as a JSON-ready dict. Pure: tests assert one statement at a time."""
    validate_boundary(args)
    arn = f"arn:{partition}:iam::{account_id}:policy/{args.policy_name}"
    statements: list[dict[str, Any]] = [
        {"Sid": "AllowPlatformServices", "Effect": "Allow", "Action": sorted(set(PLATFORM_SERVICES)), "Resource": "*"},
        {
            "Sid": "DenyOutsideAllowedRegions",
            "Effect": "Deny",
            "NotAction": list(GLOBAL_SERVICES),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": sorted(args.allowed_regions)}},
        },
        {
            "Sid": "DenyLongLivedCredentials",
            "Effect": "Deny",
            "Action": ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateAccessKey"],
            "Resource": "*",
        },
        {
            "Sid": "DenyBoundaryTampering",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": arn,
        },
        {
            "Sid": "DenyRemovingBoundaries",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*",
        },
        {
            # A role may create or re-bound roles only with this same boundary: no escalation through new roles.
            "Sid": "DenyRolesWithoutThisBoundary",
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": arn}},
        },
        {
            "Sid": "DenyStoppingAudit",
            "Effect": "Deny",
            "Action": [
                "cloudtrail:DeleteTrail",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:StopLogging",
                "cloudtrail:UpdateTrail",
                "config:DeleteConfigurationRecorder",
                "config:DeleteDeliveryChannel",
                "config:StopConfigurationRecorder",
                "guardduty:DeleteDetector",
                "guardduty:DisassociateFromMasterAccount",
                "guardduty:UpdateDetector",
            ],
            "Resource": "*",
        },
        {
            # IfExists: without the header the bucket's default SSE-KMS applies; with it, only KMS is accepted.
            "Sid": "DenyPutObjectWithoutKms",
            "Effect": "Deny",
            "Action": "s3:PutObject",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": ["aws:kms", "aws:kms:dsse"]}},
        },
        {
            "Sid": "DenySageMakerJobsWithoutVpc",
            "Effect": "Deny",
            "Action": [
                "sagemaker:CreateTrainingJob",
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateHyperParameterTuningJob",
            ]
            + (["sagemaker:CreateModel"] if args.require_sagemaker_model_vpc else []),
            "Resource": "*",
            "Condition": {"Null": {"sagemaker:VpcSubnets": "true"}},
        },
        {
            "Sid": "DenySageMakerJobsWithoutVolumeKms",
            "Effect": "Deny",
            "Action": [
                "sagemaker:CreateTrainingJob",
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:CreateTransformJob",
            ],
            "Resource": "*",
            "Condition": {"Null": {"sagemaker:VolumeKmsKey": "true"}},
        },
        {
            "Sid": "DenyEc2InstanceTypesOutsideAllowlist",
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": f"arn:{partition}:ec2:*:*:instance/*",
            "Condition": {"StringNotLike": {"ec2:InstanceType": sorted(args.ec2_instance_types)}},
        },
        {
            "Sid": "DenySageMakerInstanceTypesOutsideAllowlist",
            "Effect": "Deny",
            "Action": [
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateTrainingJob",
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:CreateTransformJob",
                "sagemaker:CreateNotebookInstance",
            ],
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringNotLike": {"sagemaker:InstanceTypes": sorted(args.sagemaker_instance_types)}
            },
        },
    ]
    # One statement per key: keys inside one Null block are ANDed, which would only refuse requests missing all of them.
    for key in args.required_tag_keys:
        statements.append(
            {
                "Sid": f"DenyCreateWithout{key}Tag",
                "Effect": "Deny",
                "Action": list(TAGGED_CREATE_ACTIONS),
                "Resource": "*",
                "Condition": {"Null": {f"aws:RequestTag/{key}": "true"}},
            }
        )
    document = {"Version": "2012-10-17", "Statement": statements}
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_MANAGED_POLICY_CHARS:
        raise ValueError(
            f"the permission boundary renders to {size} characters, over IAM's {MAX_MANAGED_POLICY_CHARS} for a managed "
            "policy; shorten the instance-type allowlists (wildcards such as 'g5.*' are allowed)"
        )
    return document


class PermissionBoundary(pulumi.ComponentResource):
    """The boundary managed policy. Creates: one `aws.iam.Policy` named `args.policy_name`."""

    def __init__(self, name: str, args: PermissionBoundaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:iam:PermissionBoundary", name, None, opts)
        validate_boundary(args)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        document = pulumi.Output.all(partition.partition, identity.account_id).apply(
            lambda pa: json.dumps(boundary_document(args, partition=pa[0], account_id=pa[1]), separators=(",", ":"))
        )
        self.policy = aws.iam.Policy(
            f"{name}-policy",
            name=args.policy_name,
            description="Permission boundary for every IAM role this platform stack creates",
            policy=document,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.policy.arn
        self.register_outputs({"arn": self.arn})
