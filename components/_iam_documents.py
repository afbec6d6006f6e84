"""IAM documents for the guardrails: persona and CI trust, persona and CI permissions, the budget topic's policy.

Plain functions from plain values to JSON-ready dicts, so tests assert them statement by statement and golden
files show every change in review. Nothing here grants `*` on `*`: each statement names the project's resources
(bucket ARNs, `<project>-<stack>-*` names, the `Project` tag) or an action that has no resource to scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.experiment_tracking import ARTIFACT_PREFIX as MLFLOW_ARTIFACTS
from components.experiment_tracking import MlflowAccess, mlflow_statements, server_arn
from components.workload_role import ALLOWED_AWS_MANAGED_POLICIES

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"

PERSONAS = ("platform-admin", "ml-engineer", "data-scientist", "auditor", "model-approver")
"""The human roles the platform creates; each is assumed (with MFA) by the principals configured for it.
`model-approver` is the checker of maker-checker: the only one who may approve a model package for serving."""

# AWS job-function policies: read-only and not administrative. ViewOnlyAccess lists and describes resources
# (no data); SecurityAudit reads their configuration. Humans get ViewOnlyAccess so the console works; what they
# may change is in their own, project-scoped inline policy.
VIEW_ONLY = "ViewOnlyAccess"
SECURITY_AUDIT = "SecurityAudit"
PERSONA_MANAGED_POLICIES: Mapping[str, tuple[str, ...]] = {
    "platform-admin": (VIEW_ONLY,),
    "ml-engineer": (VIEW_ONLY,),
    "data-scientist": (VIEW_ONLY,),
    "auditor": (SECURITY_AUDIT, VIEW_ONLY),
    "model-approver": (VIEW_ONLY,),
}
CI_PREVIEW_MANAGED_POLICIES = (SECURITY_AUDIT, VIEW_ONLY)

# (bucket purpose, access, prefix) per persona: what data each may touch in the artifact store.
PERSONA_DATA_ACCESS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    # A key administrator reads no data its keys protect (separation of duties): access logs only (SSE-S3).
    "platform-admin": (("access-logs", "read", ""),),
    "ml-engineer": (("datasets", "read", ""), ("models", "read_write", ""), ("data-capture", "read", "")),
    "data-scientist": (("datasets", "read", ""), ("models", "read", ""), ("models", "read_write", "experiments/")),
    "auditor": (),
    "model-approver": (("models", "read", ""),),
}

# Per persona, its access to the stack's MLflow tracking server where there is one (`experiment_tracking.
# mlflow_statements`), and the artifact prefix the MLflow client writes itself: data scientists log experiments,
# ML engineers also curate them (delete, rename, the MLflow model registry), the approver reads the runs behind a
# version. The platform admin administers and reads no data; the auditor has ViewOnlyAccess.
PERSONA_MLFLOW: Mapping[str, MlflowAccess] = {"ml-engineer": "all", "data-scientist": "log", "model-approver": "read"}
PERSONA_MLFLOW_DATA_ACCESS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "data-scientist": (("models", "read_write", MLFLOW_ARTIFACTS),),
}

# Services whose roles the deploy role may pass: what the platform's own roles trust.
PASSED_TO_SERVICES = (
    "codebuild.amazonaws.com",
    "ec2.amazonaws.com",
    "eks.amazonaws.com",
    "pods.eks.amazonaws.com",
    "s3.amazonaws.com",
    "sagemaker.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
)
SERVICE_LINKED_ROLE_SERVICES = (
    "autoscaling.amazonaws.com",
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "sagemaker.application-autoscaling.amazonaws.com",
)
# Regional services the deploy role manages on any resource in the allowed regions. They hold no data, and their
# APIs are only partly resource-scoped (EC2 networking, Auto Scaling, load balancers, alarms, events, node groups
# created through EKS): the boundary's instance-type and tag denies bound them instead. Services holding data (S3,
# KMS, ECR, SageMaker, CloudWatch Logs, SNS) are scoped to the stack's resources below.
DEPLOY_SERVICES = (
    "application-autoscaling:*",
    "autoscaling:*",
    "cloudwatch:*",
    "ec2:*",
    "eks:*",
    "elasticloadbalancing:*",
    "events:*",
    "ssm:GetParameter",
    "ssm:GetParameters",
)
# Calls with no resource to scope to (listing, registry login, creating a key before it has an ARN).
DEPLOY_UNSCOPED_ACTIONS = (
    "ecr:GetAuthorizationToken",
    "kms:ListAliases",
    "kms:ListKeys",
    "logs:DescribeLogGroups",
    "s3:ListAllMyBuckets",
    "sagemaker:ListModelPackageGroups",
    "sns:ListTopics",
)
IDENTITY_TAGS = ("Project", "Environment")
"""Tags that say which stack a KMS key belongs to. The deploy role may only set them when it creates a key, never add
or change them later, so it cannot adopt another stack's key."""

CI_DEPLOY_ROLE = "ci-deploy"
KEY_ADMINISTRATORS = ("platform-admin", CI_DEPLOY_ROLE)
"""Who administers the stack's KMS keys (and so may not use them): the key policies name these roles."""


def platform_role_name(name_prefix: str, role: str) -> str:
    """The fixed name of a persona or CI role (`<project>-<stack>-<role>`, e.g. `ml-platform-prod-ci-deploy`): the
    boundary and the key policies name these roles before they exist."""
    name = f"{name_prefix}-{role}"
    if len(name) > 64:
        raise ValueError(f"role name {name!r} is {len(name)} characters; IAM allows 64 (shorten the stack name)")
    return name


def ci_deploy_role_name(name_prefix: str) -> str:
    return platform_role_name(name_prefix, CI_DEPLOY_ROLE)


# Spelled out rather than `sagemaker:*`-style: a service wildcard also names actions on resource types the
# project's ARNs can never match, which an IAM linter rightly reports as grants that do nothing.
PUSH_IMAGE_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
ADMIN_ECR_ACTIONS = (
    "ecr:BatchDeleteImage",
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
    "ecr:StartImageScan",
)
ADMIN_SAGEMAKER_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateModelPackage",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    "sagemaker:DeleteModelPackage",
    "sagemaker:DeleteTags",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:InvokeEndpoint",
    "sagemaker:ListTags",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
)
ADMIN_EKS_ACTIONS = (
    "eks:AccessKubernetesApi",
    "eks:DescribeAddon",
    "eks:DescribeCluster",
    "eks:DescribeNodegroup",
    "eks:ListAddons",
    "eks:ListNodegroups",
    "eks:ListTagsForResource",
    "eks:TagResource",
    "eks:UntagResource",
    "eks:UpdateAddon",
    "eks:UpdateNodegroupConfig",
    "eks:UpdateNodegroupVersion",
)


@dataclass(frozen=True, kw_only=True)
class ProjectScope:
    """Where a stack's resources live and how they are named: what every scoped statement is built from."""

    partition: str
    account_id: str
    region: str
    project: str
    """The `Project` cost tag's value."""
    name_prefix: str
    """`<project>-<stack>`: SageMaker resources, policies, log groups and the budget are named with it."""
    registry_prefix: str
    """ECR repositories are `<registry_prefix>/<name>`."""
    cluster_name: str
    budget_name: str
    iam_path: str
    """`/<project>/<stack>/` (`stack_iam_path`): every role of the stack lives there."""
    environment: str
    """The `Environment` tag's value: with `project`, it names the stack's KMS keys."""
    bucket_prefix: str
    """Buckets the stack creates are named `<bucket_prefix><purpose>-<suffix>` (the artifact store's auto-names)."""
    mlflow: bool = False
    """The stack runs an MLflow tracking server (`experiment_tracking.server_name`). Default: no, so no grants."""

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region is None else region}:{self.account_id if account is None else account}:{resource}"

    @property
    def sagemaker(self) -> list[str]:
        kinds = ("endpoint", "endpoint-config", "model", "model-package-group", "inference-component")
        return [self.arn("sagemaker", f"{kind}/{self.name_prefix}-*") for kind in kinds] + [
            self.arn("sagemaker", f"model-package/{self.name_prefix}-*/*")
        ]

    @property
    def mlflow_server(self) -> str:
        return server_arn(self.partition, self.region, self.account_id, self.name_prefix)

    @property
    def registries(self) -> str:
        return self.arn("ecr", f"repository/{self.registry_prefix}/*")

    @property
    def cluster(self) -> list[str]:
        return [
            self.arn("eks", f"cluster/{self.cluster_name}"),
            self.arn("eks", f"nodegroup/{self.cluster_name}/*/*"),
            self.arn("eks", f"addon/{self.cluster_name}/*/*"),
        ]

    @property
    def log_groups(self) -> list[str]:
        groups = (
            f"/aws/sagemaker/Endpoints/{self.name_prefix}-*",
            f"/aws/eks/{self.cluster_name}/*",
            # Container Insights' groups (the add-on writes there) and the teams' workload groups.
            f"/aws/containerinsights/{self.cluster_name}/*",
            f"/{self.project}/{self.cluster_name}/*",
        )
        return [self.arn("logs", f"log-group:{g}") for g in groups] + [
            self.arn("logs", f"log-group:{g}:log-stream:*") for g in groups
        ]

    @property
    def roles(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role{self.iam_path}*"

    @property
    def budget(self) -> str:
        return self.arn("budgets", f"budget/{self.budget_name}", region="")


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def check_principals(principals: Sequence[str]) -> None:
    bad = [p for p in principals if not p.startswith("arn:") or "*" in p]
    if not principals or bad:
        raise ValueError(
            f"persona principals must be IAM ARNs without wildcards, at least one; got {list(principals)!r}"
        )


# -- trust -----------------------------------------------------------------------------------------------------


def persona_trust(principals: Sequence[str]) -> dict[str, Any]:
    """The listed principals may assume the role, only with MFA on their session."""
    check_principals(principals)
    listed = sorted(set(principals))
    return _policy(
        [
            {
                "Sid": "AssumeWithMfa",
                "Effect": "Allow",
                "Principal": {"AWS": listed[0] if len(listed) == 1 else listed},
                "Action": "sts:AssumeRole",
                # Bool on the key's presence-and-true: a session without MFA has no key, so the Bool test fails.
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ]
    )


def check_repository(repository: str) -> None:
    owner, slash, name = repository.partition("/")
    if not slash or not owner or not name or "/" in name or "*" in repository:
        raise ValueError(f"repository {repository!r}: must be a GitHub repository as 'owner/name'")


def preview_subjects(repository: str, *, pull_requests: bool = True, branches: Sequence[str] = ()) -> list[str]:
    """`sub` claims of the workflows that may preview: pull requests, and pushes to the listed branches."""
    check_repository(repository)
    subjects = [f"repo:{repository}:pull_request"] if pull_requests else []
    subjects += [f"repo:{repository}:ref:refs/heads/{b}" for b in branches]
    if not subjects:
        raise ValueError("the preview role needs pull requests or at least one branch to trust")
    return subjects


def deploy_subject(repository: str, environment: str) -> str:
    """`sub` claim of a job that runs in a GitHub environment (where required reviewers can gate it)."""
    check_repository(repository)
    if not environment:
        raise ValueError("the deploy environment name is empty")
    return f"repo:{repository}:environment:{environment}"


def github_oidc_trust(provider_arn: str, subjects: Sequence[str]) -> dict[str, Any]:
    """GitHub Actions tokens for exactly these subjects, issued for STS, may assume the role."""
    if not subjects:
        raise ValueError("a GitHub OIDC trust needs at least one subject")
    sub: str | list[str] = subjects[0] if len(subjects) == 1 else list(subjects)
    # StringLike only where a subject has a wildcard (a branch pattern); exact subjects stay StringEquals.
    wildcard = any("*" in s or "?" in s for s in subjects)
    condition: dict[str, Any] = {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE}}
    if wildcard:
        condition["StringLike"] = {f"{GITHUB_OIDC_HOST}:sub": sub}
    else:
        condition["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"] = sub
    return _policy(
        [
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ]
    )


# -- persona permissions ---------------------------------------------------------------------------------------


def _read_logs(scope: ProjectScope) -> dict[str, Any]:
    return {
        "Sid": "ReadPlatformLogs",
        "Effect": "Allow",
        "Action": ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartQuery"],
        "Resource": scope.log_groups,
    }


def _never_approve(scope: ProjectScope) -> dict[str, Any]:
    """Maker-checker: whoever registers a model version cannot also approve it (on create or afterwards)."""
    return {
        "Sid": "NeverApproveModels",
        "Effect": "Deny",
        "Action": ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
        "Resource": scope.sagemaker,
        "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}},
    }


def _push_images(scope: ProjectScope) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "PushPlatformImages",
            "Effect": "Allow",
            "Action": list(PUSH_IMAGE_ACTIONS),
            "Resource": scope.registries,
        },
        # Registry login: no resource to scope it to.
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    ]


def persona_statements(persona: str, scope: ProjectScope) -> list[dict[str, Any]]:
    """What a persona may change, beyond the read-only job-function policies (data grants are added separately)."""
    if persona not in PERSONAS:
        raise ValueError(f"unknown persona {persona!r}; allowed: {', '.join(PERSONAS)}")
    if persona == "auditor":
        return []
    if persona == "model-approver":
        return [
            {
                # Approve or reject what others registered; never register, so never approve one's own.
                "Sid": "ReviewPlatformModels",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:UpdateModelPackage",
                ],
                "Resource": scope.sagemaker,
            },
            _read_logs(scope),
        ]
    if persona == "data-scientist":
        return [
            {
                "Sid": "UsePlatformEndpoints",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:InvokeEndpoint",
                ],
                "Resource": scope.sagemaker,
            },
            _read_logs(scope),
        ]
    if persona == "ml-engineer":
        return [
            {
                # Register model versions (the model-approver approves them), shift endpoint traffic; creating
                # endpoints is the deploy role's.
                "Sid": "ReleasePlatformModels",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:AddTags",
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:UpdateEndpointWeightsAndCapacities",
                ],
                "Resource": scope.sagemaker,
            },
            _never_approve(scope),
            {
                "Sid": "DescribePlatformCluster",
                "Effect": "Allow",
                "Action": [
                    "eks:AccessKubernetesApi",
                    "eks:DescribeCluster",
                    "eks:DescribeNodegroup",
                    "eks:ListNodegroups",
                ],
                "Resource": scope.cluster,
            },
            *_push_images(scope),
            _read_logs(scope),
        ]
    # platform-admin: operates the platform's own resources, nothing else of the account.
    return [
        {
            # Everything but creating models (which passes an execution role): that stays with the deploy role.
            "Sid": "OperatePlatformServing",
            "Effect": "Allow",
            "Action": list(ADMIN_SAGEMAKER_ACTIONS),
            "Resource": scope.sagemaker,
        },
        _never_approve(scope),
        {
            "Sid": "OperatePlatformCluster",
            "Effect": "Allow",
            "Action": list(ADMIN_EKS_ACTIONS),
            "Resource": scope.cluster,
        },
        {
            "Sid": "OperatePlatformRegistries",
            "Effect": "Allow",
            "Action": sorted(set(PUSH_IMAGE_ACTIONS) | set(ADMIN_ECR_ACTIONS)),
            "Resource": scope.registries,
        },
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            # Instances carry the provider's default tags, so the Project tag names the platform's own.
            "Sid": "OperatePlatformInstances",
            "Effect": "Allow",
            "Action": ["ec2:RebootInstances", "ec2:StartInstances", "ec2:StopInstances", "ec2:TerminateInstances"],
            "Resource": scope.arn("ec2", "instance/*"),
            "Condition": {"StringEquals": {"aws:ResourceTag/Project": scope.project}},
        },
        {
            "Sid": "ManagePlatformBudget",
            "Effect": "Allow",
            "Action": ["budgets:ModifyBudget", "budgets:ViewBudget"],
            "Resource": scope.budget,
        },
        _read_logs(scope),
    ]


def persona_policy(
    persona: str, scope: ProjectScope, data_statements: Sequence[dict[str, Any]] = ()
) -> dict[str, Any] | None:
    """The persona's inline policy (its statements plus the artifact-store grants), or None when it has none."""
    statements = persona_statements(persona, scope) + list(data_statements)
    if scope.mlflow and persona in PERSONA_MLFLOW:
        statements += mlflow_statements(scope.mlflow_server, PERSONA_MLFLOW[persona], ui=True)
    return _policy(statements) if statements else None


# -- CI permissions ----------------------------------------------------------------------------------------------


def ci_preview_policy(scope: ProjectScope, *, bucket_arns: Sequence[str], key_arns: Sequence[str]) -> dict[str, Any]:
    """What `pulumi preview` (refresh) reads beyond SecurityAudit and ViewOnlyAccess: the configuration of the
    stack's own resources, never object data or secrets."""
    return _policy(
        [
            {
                "Sid": "ReadPlatformBucketConfiguration",
                "Effect": "Allow",
                "Action": [
                    "s3:GetBucketLogging",
                    "s3:GetBucketObjectLockConfiguration",
                    "s3:GetBucketOwnershipControls",
                    "s3:GetBucketPolicy",
                    "s3:GetBucketPublicAccessBlock",
                    "s3:GetBucketTagging",
                    "s3:GetBucketVersioning",
                    "s3:GetEncryptionConfiguration",
                    "s3:GetLifecycleConfiguration",
                    "s3:GetReplicationConfiguration",
                ],
                "Resource": sorted(bucket_arns),
            },
            {
                "Sid": "ReadPlatformKeys",
                "Effect": "Allow",
                "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
                "Resource": sorted(key_arns),
            },
            {
                "Sid": "ReadPlatformServing",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                    # The prod promotion's bake check (tools/promote_after_bake.py) reads versions and their status.
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                    "sagemaker:ListTags",
                ],
                "Resource": scope.sagemaker,
            },
            {
                "Sid": "ReadPlatformRegistries",
                "Effect": "Allow",
                "Action": [
                    "ecr:DescribeRepositories",
                    "ecr:GetLifecyclePolicy",
                    "ecr:GetRepositoryPolicy",
                    "ecr:ListTagsForResource",
                ],
                "Resource": scope.registries,
            },
            # `python -m preflight audit` (docs/audit.md) reads the deployed stack with this role too.
            {
                "Sid": "ReadPlatformCluster",
                "Effect": "Allow",
                "Action": ["eks:DescribeAccessEntry", "eks:DescribeCluster", "eks:DescribeNodegroup"],
                "Resource": [*scope.cluster, scope.arn("eks", f"access-entry/{scope.cluster_name}/*")],
            },
            {
                "Sid": "ReadProjectRoles",
                "Effect": "Allow",
                "Action": ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"],
                "Resource": scope.arn("iam", "role/*", region=""),
                "Condition": {"StringEquals": {"aws:ResourceTag/Project": scope.project}},
            },
            {
                "Sid": "DescribeWithoutResourceScope",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "ec2:DescribeSecurityGroups",
                    "logs:DescribeLogGroups",
                    "tag:GetResources",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadPlatformBudget",
                "Effect": "Allow",
                "Action": ["budgets:ListTagsForResource", "budgets:ViewBudget"],
                "Resource": scope.budget,
            },
        ]
    )


def ci_deploy_policy(
    scope: ProjectScope,
    *,
    boundary_arn: str,
    allowed_regions: Sequence[str],
    cost_allocation_tags: bool = False,
) -> dict[str, Any]:
    """What `pulumi up` needs: the platform's regional services in the allowed regions, and IAM only for roles
    that carry the boundary. The boundary (also on this role) still denies everything it lists."""
    if not allowed_regions:
        raise ValueError("allowed_regions is empty: the deploy role could not act anywhere")
    iam = lambda resource: f"arn:{scope.partition}:iam::{scope.account_id}:{resource}"
    in_regions = {"StringEquals": {"aws:RequestedRegion": sorted(allowed_regions)}}
    identity = dict(zip(IDENTITY_TAGS, (scope.project, scope.environment), strict=True))
    stack_tags = {f"aws:ResourceTag/{k}": v for k, v in identity.items()}
    managed = [f"arn:{scope.partition}:iam::aws:policy/{p}" for p in ALLOWED_AWS_MANAGED_POLICIES]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManagePlatformServicesInAllowedRegions",
            "Effect": "Allow",
            "Action": list(DEPLOY_SERVICES),
            "Resource": "*",
            "Condition": in_regions,
        },
        {"Sid": "ListAndLogin", "Effect": "Allow", "Action": list(DEPLOY_UNSCOPED_ACTIONS), "Resource": "*"},
        {
            # Auto-named buckets start with the store's name; every stack in one account shares it, so give each
            # stack its own account where their data must not mix (prod does).
            "Sid": "ManagePlatformBuckets",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": [f"arn:{scope.partition}:s3:::{scope.bucket_prefix}*"],
        },
        {
            "Sid": "ManagePlatformRegistries",
            "Effect": "Allow",
            "Action": "ecr:*",
            "Resource": scope.arn("ecr", f"repository/{scope.registry_prefix}/*", region="*"),
        },
        {
            # Models and endpoint configurations are auto-named after their component (`endpoint-<key>-...`).
            "Sid": "ManagePlatformServing",
            "Effect": "Allow",
            "Action": "sagemaker:*",
            "Resource": scope.sagemaker
            + [scope.arn("sagemaker", f"{kind}/endpoint-*") for kind in ("model", "endpoint-config")],
        },
        {
            # Model approval is the model-approver's (maker-checker): the deploy role registers at most.
            "Sid": "NeverApproveModels",
            "Effect": "Deny",
            "Action": ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            "Resource": "*",
            "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}},
        },
        {
            "Sid": "ManagePlatformLogGroups",
            "Effect": "Allow",
            "Action": "logs:*",
            # Flow-log groups are named after the network component; the deploy runner's after the stack.
            "Resource": scope.log_groups
            + [
                scope.arn("logs", f"log-group:{group}{suffix}", region="*")
                for group in ("/aws/vpc-flow-logs/*", f"/aws/codebuild/{scope.name_prefix}-*")
                for suffix in ("", ":log-stream:*")
            ],
        },
        {
            "Sid": "ManagePlatformTopics",
            "Effect": "Allow",
            "Action": "sns:*",
            "Resource": [
                scope.arn("sns", f"{prefix}*", region="*") for prefix in (f"{scope.name_prefix}-", "endpoint-")
            ],
        },
        {
            # The stack's deploy runner (`<project>-<stack>-deploy`) only: starting another project's build would run
            # code as that project's role. Webhooks are actions on their project.
            "Sid": "ManagePlatformRunner",
            "Effect": "Allow",
            "Action": "codebuild:*",
            "Resource": scope.arn("codebuild", f"project/{scope.name_prefix}-*", region="*"),
        },
        {
            # GitHub connections carry random ids, so they cannot be scoped by name; using one only reaches the
            # repositories its GitHub App installation grants.
            "Sid": "ManageRunnerConnections",
            "Effect": "Allow",
            "Action": "codeconnections:*",
            "Resource": "*",
        },
        {
            # Karpenter's interruption queue (`<cluster>-karpenter`): the stack's queues only.
            "Sid": "ManagePlatformQueues",
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": scope.arn("sqs", f"{scope.name_prefix}-*", region="*"),
        },
        {
            # A new key must carry the stack's identity tags from the start...
            "Sid": "CreateKeysWithStackTags",
            "Effect": "Allow",
            "Action": "kms:CreateKey",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    **{f"aws:RequestTag/{k}": v for k, v in identity.items()},
                    "aws:RequestedRegion": sorted(allowed_regions),
                }
            },
        },
        {
            # ...and only keys carrying them are the stack's (KMS supports aws:ResourceTag on key operations).
            "Sid": "ManageStackKeys",
            "Effect": "Allow",
            "Action": "kms:*",
            "Resource": scope.arn("kms", "key/*", region="*"),
            "Condition": {"StringEquals": stack_tags},
        },
        {
            # The identity tags cannot be added to or removed from an existing key afterwards.
            "Sid": "NeverRetagKeys",
            "Effect": "Deny",
            "Action": ["kms:TagResource", "kms:UntagResource"],
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": list(IDENTITY_TAGS)}},
        },
        {
            # Aliases are `alias/<project>/<stack>/<domain>`, the registries' `<project>/<stack>` prefix.
            "Sid": "ManageStackAliases",
            "Effect": "Allow",
            "Action": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            "Resource": scope.arn("kms", f"alias/{scope.registry_prefix}/*", region="*"),
        },
        {
            # Roles of this stack only, and only with this stack's boundary (the key IAM supports for these calls).
            "Sid": "WriteStackRolesOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
            ],
            "Resource": scope.roles,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            # Managed policies: the allowlist only, never AdministratorAccess or another broad policy.
            "Sid": "AttachAllowlistedPoliciesToStackRoles",
            "Effect": "Allow",
            "Action": "iam:AttachRolePolicy",
            "Resource": scope.roles,
            "Condition": {
                "StringEquals": {"iam:PermissionsBoundary": boundary_arn},
                "ArnEquals": {"iam:PolicyARN": managed},
            },
        },
        {
            # No boundary key for these calls: the stack's path scopes them, and only this stack's bounded
            # principals can create a role there.
            "Sid": "ManageStackRoles",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            "Resource": scope.roles,
        },
        {
            "Sid": "PassStackRolesToPlatformServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": scope.roles,
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}},
        },
        {
            "Sid": "CreateServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": iam("role/aws-service-role/*"),
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLE_SERVICES)}},
        },
        {
            # Reads only: the boundary (the stack's one managed policy) is changed by an account administrator.
            "Sid": "ReadPlatformPolicies",
            "Effect": "Allow",
            "Action": ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags", "iam:ListPolicyVersions"],
            "Resource": iam(f"policy{scope.iam_path}*"),
        },
        {
            "Sid": "ManageOidcProviders",
            "Effect": "Allow",
            "Action": [
                "iam:AddClientIDToOpenIDConnectProvider",
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:ListOpenIDConnectProviderTags",
                "iam:TagOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            "Resource": iam("oidc-provider/*"),
        },
        {
            "Sid": "ManagePlatformBudget",
            "Effect": "Allow",
            "Action": [
                "budgets:ListTagsForResource",
                "budgets:ModifyBudget",
                "budgets:TagResource",
                "budgets:UntagResource",
                "budgets:ViewBudget",
            ],
            "Resource": scope.budget,
        },
    ]
    if cost_allocation_tags:
        statements.append(
            {
                # Cost allocation tags are account settings: no resource to scope them to.
                "Sid": "ActivateCostAllocationTags",
                "Effect": "Allow",
                "Action": ["ce:ListCostAllocationTags", "ce:UpdateCostAllocationTagsStatus"],
                "Resource": "*",
            }
        )
    return _policy(statements)


# -- the budget alert topic ----------------------------------------------------------------------------------------


def budget_topic_policy(topic_arn: str, *, account_id: str, partition: str) -> dict[str, Any]:
    """The stack's alert topic: AWS Budgets (this account's budgets) and CloudWatch alarms (this account's, in the
    topic's region) may publish; nothing reaches the topic without TLS."""
    region = topic_arn.split(":")[3]
    return _policy(
        [
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
                },
            },
            {
                "Sid": "BudgetsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "budgets.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:budgets::{account_id}:*"},
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]
    )


def allows_everything_on_everything(document: Mapping[str, Any]) -> list[str]:
    """Sids (or indexes) of Allow statements granting every action, or every action but some, on every resource."""
    found = []
    statements = document.get("Statement", [])
    for i, st in enumerate(statements if isinstance(statements, list) else [statements]):
        if st.get("Effect") != "Allow":
            continue
        resources = st.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        actions = st.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if "*" in resources and ("*" in actions or "*:*" in actions or "NotAction" in st):
            found.append(st.get("Sid", str(i)))
    return found
