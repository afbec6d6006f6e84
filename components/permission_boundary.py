"""The stack's permission boundary: the ceiling no platform role can rise above, however its policies grow.

A managed policy attached as `permissions_boundary` to every role the platform creates (see `WorkloadRole`).
Effective permissions are the intersection of a role's policies and this document, so the Deny statements here
hold even if someone later attaches `AdministratorAccess` to a role by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from components.regions import Region
from components.settings import Section

PLATFORM_SERVICES = (
    "application-autoscaling:*",
    "autoscaling:*",
    "cloudwatch:*",
    # The in-VPC deploy runner: its CodeBuild project and the GitHub connection it authenticates with.
    "codebuild:*",
    "codeconnections:*",
    "ec2:*",
    "ecr:*",
    "eks:*",
    "elasticloadbalancing:*",
    "events:*",
    "kms:*",
    "logs:*",
    "s3:*",
    "sagemaker:*",
    "sagemaker-mlflow:*",
    "sns:*",
    "sqs:*",
    "ssm:GetParameter",
    "ssm:GetParameters",
    # EKS Pod Identity: the node's agent exchanges a pod's token through `eks-auth` (`pods.eks.amazonaws.com` is
    # the service principal in trust policies, not an action prefix).
    "eks-auth:AssumeRoleForPodIdentity",
    "ecr-public:GetAuthorizationToken",
)
"""Regional services platform roles may use at most, and only in the allowed regions. Each role's own policy
narrows this to its job."""

GLOBAL_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:GetCallerIdentity",
    "budgets:*",
    "ce:UpdateCostAllocationTagsStatus",
    "ce:ListCostAllocationTags",
    "ce:Get*",
    # IAM reads on any resource (the auditor's SecurityAudit, the console's ViewOnlyAccess): nothing written.
    "iam:Get*",
    "iam:List*",
    "iam:GenerateCredentialReport",
    "iam:GenerateServiceLastAccessedDetails",
)
"""Actions of services whose API lives in one region (us-east-1) whatever the stack's: no region condition. IAM
writes are allowed separately, on the stack's own roles only."""

# The escapes a bounded principal could take through IAM, denied for every principal carrying the boundary.
# Actions that accept the `iam:PermissionsBoundary` key are allowed only on roles carrying this same boundary
# (the Service Authorization Reference lists the key for exactly these role actions)...
ROLE_WRITES_WITH_BOUNDARY_KEY = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
# ...the others have no such key, so they are denied on every role outside the stack's path: only a bounded
# principal of this stack can create a role there, and only with this boundary.
ROLE_WRITES_WITHOUT_BOUNDARY_KEY = (
    "iam:DeleteRole",
    "iam:PassRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole*",  # UpdateRole, UpdateRoleDescription
)
POLICY_WRITES = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)
"""Changing what an existing managed policy grants. Denied on every policy: the only customer-managed policy a stack
creates is this boundary, which an account administrator changes (docs/guardrails.md, break glass); denying the
writes everywhere also covers every policy outside the stack's path."""
ALWAYS_DENIED = (
    *POLICY_WRITES,
    # Long-lived credentials and the user/group paths to them.
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateGroup",
    "iam:CreateLoginProfile",
    "iam:*ServiceSpecificCredential",  # create, reset, update (and delete)
    "iam:CreateUser",
    "iam:PutGroupPolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:PutUserPolicy",
    "iam:UpdateAccessKey",
    "iam:UpdateLoginProfile",
    "iam:UpdateSSHPublicKey",
    "iam:UploadSigningCertificate",
    "iam:UploadSSHPublicKey",
    # Removing a boundary.
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
    # Undoing object lock's governance mode (prod's models) object by object.
    "s3:BypassGovernanceRetention",
    # Destroying keys (and so every object they encrypt): a break-glass operation.
    "kms:DeleteImportedKeyMaterial",
    "kms:ScheduleKeyDeletion",
    # Stopping the account's audit trail.
    "cloudtrail:Delete*",
    "cloudtrail:Put*",
    "cloudtrail:Stop*",
    "cloudtrail:Update*",
    "config:Delete*",
    "config:Stop*",
    "guardduty:Delete*",
    "guardduty:Disassociate*",
    "guardduty:Update*",
)
"""Denied to every principal carrying the boundary, whatever its policies say: only a break-glass principal without
the boundary (an account administrator, see docs/guardrails.md) can do these."""
AUDIT_LOG_GROUPS = ("/aws/eks/*/cluster", "/aws/vpc-flow-logs/*")
"""Log groups that are audit trails (EKS control-plane audit logs, VPC flow logs): no bounded principal deletes them."""
AUDIT_LOG_DELETES = ("logs:DeleteLogGroup", "logs:DeleteLogStream")

# Creation calls that support `aws:RequestTag` conditions, so untagged resources can be refused at the API.
TAGGED_CREATE_ACTIONS = (
    "ec2:RunInstances",
    "ec2:CreateVolume",
    "ec2:CreateLaunchTemplate",
    "eks:CreateCluster",
    "eks:CreateNodegroup",
    "sagemaker:CreateEndpoint*",  # CreateEndpoint, CreateEndpointConfig
    "sagemaker:CreateModel",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateNotebookInstance",
)


_EC2_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.(\*|[a-z0-9]+)$")
_SAGEMAKER_TYPE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.(\*|[a-z0-9]+)$")


class PermissionBoundarySettings(Section):
    """What the boundary caps: regions and instance types. The first keys of `ml-platform:guardrails`
    (`GuardrailsSettings` in `components/guardrails.py` adds the rest); declared once, here."""

    allowed_regions: list[Region] = Field(default_factory=list)
    """Regions platform roles may act in. Default: the stack's `aws:region` only (plus a replication region)."""
    allowed_instance_types: list[str] = Field(default_factory=lambda: ["m6i.large", "g5.xlarge"])
    """EC2 instance types node pools may launch; `g5.*` wildcards allowed. The boundary and the cost policies use it."""
    allowed_sagemaker_instance_types: list[str] = Field(default_factory=lambda: ["ml.m5.large"])
    """SageMaker instance types endpoints and jobs may use (`ml.*`); wildcards allowed."""

    @field_validator("allowed_instance_types")
    @classmethod
    def _ec2_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _EC2_TYPE.match(t) or t.startswith("ml.")]
        if bad:
            raise ValueError(f"not EC2 instance types: {bad}; expected names like 'g5.xlarge' or 'g5.*'")
        if not value:
            raise ValueError("empty: no node pool could launch; list the instance types pools may use")
        return value

    @field_validator("allowed_sagemaker_instance_types")
    @classmethod
    def _sagemaker_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _SAGEMAKER_TYPE.match(t)]
        if bad:
            raise ValueError(f"not SageMaker instance types: {bad}; expected names like 'ml.g5.xlarge' or 'ml.g5.*'")
        return value

    def regions(self, stack_region: str, *extra: str | None) -> list[str]:
        """The regions roles may act in: configured ones, or the stack's region plus any replication region."""
        return sorted(set(self.allowed_regions or [stack_region]) | {r for r in extra if r})


@dataclass(frozen=True, kw_only=True)
class PermissionBoundaryArgs:
    policy_name: str
    """Exact policy name; fixed so the boundary's own ARN can be named in its self-protection statement."""
    iam_path: str
    """The stack's IAM path (`stack_iam_path`): the boundary lives there, and IAM writes are allowed only there."""
    object_lock_role_name: str | None = None
    """The one role (the CI deploy role) that may set a bucket's object lock configuration, which the models bucket
    needs at creation. Default: none, so no bounded principal may."""
    role_regions: Sequence[str]
    """Regions platform roles may act in (global services excepted): `settings.regions(...)`, the configured ones or
    the stack's region plus a replication region."""
    settings: PermissionBoundarySettings = field(default_factory=PermissionBoundarySettings)
    """What the stack file sets (validated when built): the EC2 and SageMaker instance types roles may use."""
    required_tag_keys: Sequence[str] = ("CostCenter", "Owner", "Project", "Environment")
    """Cost tags a creation request must carry, where the service supports `aws:RequestTag`."""
    require_sagemaker_model_vpc: bool = True
    """Refuse SageMaker models without VPC config. Off only where serverless endpoints (no VPC support) are allowed."""


MAX_MANAGED_POLICY_CHARS = 6144
"""IAM's size limit for a managed policy (white space not counted)."""


def validate_boundary(args: PermissionBoundaryArgs) -> None:
    """The instance types validated themselves (`PermissionBoundarySettings`); the resolved regions are checked here."""
    if not args.role_regions:
        raise ValueError("role_regions is empty: the boundary would deny every regional action")


def boundary_document(args: PermissionBoundaryArgs, *, partition: str, account_id: str) -> dict[str, Any]:
    """The boundary policy, as a JSON-ready dict. Pure: tests assert one statement at a time."""
    validate_boundary(args)
    iam = f"arn:{partition}:iam::{account_id}:"
    arn = f"{iam}policy{args.iam_path}{args.policy_name}"
    stack_roles = f"{iam}role{args.iam_path}*"
    statements: list[dict[str, Any]] = [
        {
            # Allowing only in the allowed regions is the region guardrail: nothing else grants a regional action.
            "Sid": "AllowPlatformServices",
            "Effect": "Allow",
            "Action": sorted(PLATFORM_SERVICES),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": sorted(args.role_regions)}},
        },
        {"Sid": "AllowGlobalServices", "Effect": "Allow", "Action": list(GLOBAL_ACTIONS), "Resource": "*"},
        {
            # IAM writes only on the stack's own roles, OIDC providers and service-linked roles; no managed policy
            # is written (POLICY_WRITES), so none is created either.
            "Sid": "AllowIamInStack",
            "Effect": "Allow",
            "Action": "iam:*",
            "Resource": [stack_roles, f"{iam}oidc-provider/*", f"{iam}role/aws-service-role/*"],
        },
        {"Sid": "DenyEscapes", "Effect": "Deny", "Action": list(ALWAYS_DENIED), "Resource": "*"},
        {
            # A role may create, re-bound or change the policies of roles only with this same boundary.
            "Sid": "DenyRolesWithoutThisBoundary",
            "Effect": "Deny",
            "Action": list(ROLE_WRITES_WITH_BOUNDARY_KEY),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": arn}},
        },
        {
            "Sid": "DenyRolesOutsideStackPath",
            "Effect": "Deny",
            # The keyed writes need no repeat here: another stack's roles carry another boundary.
            "Action": list(ROLE_WRITES_WITHOUT_BOUNDARY_KEY),
            "NotResource": stack_roles,
        },
        {
            "Sid": "DenyDeletingAuditLogs",
            "Effect": "Deny",
            "Action": list(AUDIT_LOG_DELETES),
            "Resource": [f"arn:{partition}:logs:*:{account_id}:log-group:{g}" for g in AUDIT_LOG_GROUPS],
        },
        {
            # Object lock settings decide how long a model cannot be deleted: only the deploy role sets them.
            "Sid": "DenyObjectLockConfiguration",
            "Effect": "Deny",
            "Action": "s3:PutBucketObjectLockConfiguration",
            "Resource": "*",
            **(
                {
                    "Condition": {
                        "ArnNotEquals": {"aws:PrincipalArn": f"{iam}role{args.iam_path}{args.object_lock_role_name}"}
                    }
                }
                if args.object_lock_role_name
                else {}
            ),
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
            "Condition": {"StringNotLike": {"ec2:InstanceType": sorted(args.settings.allowed_instance_types)}},
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
                "ForAnyValue:StringNotLike": {
                    "sagemaker:InstanceTypes": sorted(args.settings.allowed_sagemaker_instance_types)
                }
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
            path=args.iam_path,
            description="Permission boundary for every IAM role this platform stack creates",
            policy=document,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.policy.arn
        self.register_outputs({"arn": self.arn})
