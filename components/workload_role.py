"""The one way the platform creates an IAM role: always with the permission boundary, never with admin policies.

Every IAM role in this blueprint (flow logs, replication, node groups, add-ons, SageMaker execution, personas, CI)
is a `WorkloadRole`, so a role without the boundary cannot be written by accident; a test walks each rendered
stack to prove it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

FORBIDDEN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
"""AWS-managed policies no platform role may carry, whatever its job."""

ALLOWED_AWS_MANAGED_POLICIES = (
    "service-role/AmazonEBSCSIDriverPolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    # The Container Insights add-on's agent: metrics, its own log groups, EC2/EKS describes, SSM parameters named
    # AmazonCloudWatch-*; nothing in IAM, so no escalation path.
    "CloudWatchAgentServerPolicy",
    "SecurityAudit",
    "ViewOnlyAccess",
)
"""The only AWS-managed policies a platform role may carry (each ARN's part after `policy/`).
The CI deploy role may attach exactly these and this stack's own policies: an allowlist, so no role it manages can be
handed AdministratorAccess or any other broad policy."""

# IAM's rule for a path: '/' alone, or '/'-delimited parts of printable ASCII, at most 512 characters.
_IAM_PATH = re.compile(r"^/(?:[\x21-\x7e]+/)?$")


def stack_iam_path(project: str, stack: str) -> str:
    """`/<project>/<stack>/`: the IAM path of every role and policy a stack creates.

    One path per stack is what lets the deploy role, the boundary and resource policies name "this stack's roles"
    (`role/<project>/<stack>/*`) without naming each one, and keeps two stacks of one account apart. Changing a
    role's path replaces the role."""
    path = f"/{project}/{stack}/"
    if "*" in path or "?" in path or len(path) > 512 or not _IAM_PATH.match(path):
        raise ValueError(
            f"IAM path {path!r} (from project {project!r} and stack {stack!r}): must be printable ASCII without "
            "wildcards, at most 512 characters"
        )
    return path


def aws_managed_policy_name(arn: str) -> str | None:
    """`service-role/AmazonEBSCSIDriverPolicy` for `arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy`;
    None for a customer-managed policy."""
    match = re.match(r"^arn:[a-z-]+:iam::aws:policy/(.+)$", arn)
    return match.group(1) if match else None


@dataclass(frozen=True, kw_only=True)
class WorkloadRoleArgs:
    assume_role_policy: pulumi.Input[str]
    """Trust policy JSON: who may assume the role (see `service_trust`, `irsa_trust`, `pod_identity_trust`)."""
    permissions_boundary: pulumi.Input[str]
    """ARN of the stack's permission boundary. Required: there is no role without it."""
    policies: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Inline policies, name -> JSON document, scoped to exactly what the workload needs."""
    managed_policy_arns: Sequence[pulumi.Input[str]] = ()
    """AWS service policies the workload needs (e.g. AmazonEKSWorkerNodePolicy). Admin policies are rejected."""
    description: str = ""
    role_name: str | None = None
    """A fixed role name, for the few roles other policies must name before the role exists (the CI deploy role,
    which the boundary lets configure object lock). Default: Pulumi's auto-name (`<name>-role-<suffix>`)."""
    max_session_duration: int = 3600
    """Seconds; the AWS default of one hour unless a persona needs longer."""


def validate_workload_role(args: WorkloadRoleArgs) -> None:
    """Reject what no platform role may have; raises ValueError naming the offending value."""
    for arn in args.managed_policy_arns:
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in FORBIDDEN_MANAGED_POLICIES:
            raise ValueError(
                f"managed policy {arn!r} is not allowed on a platform role "
                f"(forbidden: {', '.join(FORBIDDEN_MANAGED_POLICIES)}); grant scoped inline policies instead"
            )
        managed = aws_managed_policy_name(arn) if isinstance(arn, str) else None
        if managed is not None and managed not in ALLOWED_AWS_MANAGED_POLICIES:
            raise ValueError(
                f"managed policy {arn!r} is not in the platform's allowlist "
                f"({', '.join(ALLOWED_AWS_MANAGED_POLICIES)}); add it to ALLOWED_AWS_MANAGED_POLICIES after review, "
                "or grant scoped inline policies instead"
            )
    if args.permissions_boundary is None or args.permissions_boundary == "":
        raise ValueError("permissions_boundary is required: every platform role carries the stack's boundary")
    if not 3600 <= args.max_session_duration <= 43200:
        raise ValueError(f"max_session_duration {args.max_session_duration} is outside AWS's 3600..43200 seconds")


def service_trust(*services: str, source_account: str | None = None, source_arn: str | None = None) -> str:
    """Trust policy letting AWS services (e.g. "sagemaker.amazonaws.com") assume the role.

    With `source_account` (and `source_arn`, an ArnLike pattern) only on behalf of this account's (and these)
    resources: the confused-deputy guard for services that send `aws:SourceAccount` / `aws:SourceArn` when they
    assume a role (SageMaker, S3 replication, VPC Flow Logs). EC2 (instance profiles) and the EKS control plane do
    not send them, so their trusts go without."""
    if not services:
        raise ValueError("service_trust needs at least one service principal")
    if source_arn is not None and source_account is None:
        raise ValueError("service_trust: source_arn needs source_account (AWS compares both)")
    principal = services[0] if len(services) == 1 else sorted(services)
    statement: dict = {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
        if source_arn is not None:
            statement["Condition"]["ArnLike"] = {"aws:SourceArn": source_arn}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def pod_identity_trust(cluster_arn: str, namespace: str, service_account: str) -> str:
    """Trust policy for EKS Pod Identity: the agent assumes the role and tags the session.

    Pod Identity sends no `aws:SourceAccount`; it tags the session with the cluster, namespace and service account
    (`eks-cluster-arn`, `kubernetes-namespace`, `kubernetes-service-account`), so the trust admits exactly one
    service account of one cluster, as the EKS User Guide shows."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {
                            "aws:RequestTag/eks-cluster-arn": cluster_arn,
                            "aws:RequestTag/kubernetes-namespace": namespace,
                            "aws:RequestTag/kubernetes-service-account": service_account,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def cluster_pod_identity_trust(
    cluster_arn: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """`pod_identity_trust` for a cluster whose ARN is known only at deployment (the cluster's output)."""
    return pulumi.Output.from_input(cluster_arn).apply(lambda arn: pod_identity_trust(arn, namespace, service_account))


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
) -> pulumi.Output[str]:
    """Trust policy for IAM Roles for Service Accounts: one namespace/service account of one cluster, audience STS."""

    def render(args: list[str]) -> str:
        provider_arn, issuer = args
        host = issuer.removeprefix("https://")
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                f"{host}:aud": "sts.amazonaws.com",
                            }
                        },
                    }
                ],
            },
            sort_keys=True,
        )

    return pulumi.Output.all(oidc_provider_arn, oidc_issuer_url).apply(render)


class WorkloadRole(pulumi.ComponentResource):
    """An IAM role with the stack's permission boundary, scoped inline policies and vetted service policies.

    Creates: the role, one `RolePolicy` per inline policy, one `RolePolicyAttachment` per managed policy."""

    def __init__(self, name: str, args: WorkloadRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:iam:WorkloadRole", name, None, opts)
        validate_workload_role(args)
        child = pulumi.ResourceOptions(parent=self)

        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            path=stack_iam_path(pulumi.get_project(), pulumi.get_stack()),
            assume_role_policy=args.assume_role_policy,
            permissions_boundary=args.permissions_boundary,
            description=args.description or None,
            max_session_duration=args.max_session_duration,
            opts=child,
        )
        self.inline_policies = {
            policy_name: aws.iam.RolePolicy(
                f"{name}-{policy_name}",
                role=self.role.id,
                policy=document,
                opts=child,
            )
            for policy_name, document in sorted(args.policies.items())
        }
        self.attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1] if isinstance(arn, str) else i}",
                role=self.role.name,
                policy_arn=arn,
                opts=child,
            )
            for i, arn in enumerate(args.managed_policy_arns)
        ]
        self.arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"arn": self.arn, "role_name": self.role_name})
