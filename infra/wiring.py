"""Names and small derivations the program wires components with, in one place and tested on their own.

`infra/__main__.py` only wires: every name built from the project and stack, and every value it combines from two
components, is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.guardrails import ci_deploy_role_name, key_administrator_role_names
from components.model_registry import package_arn
from components.workload_role import stack_iam_path


@dataclass(frozen=True)
class StackNames:
    """Names derived from the Pulumi project and stack, so two stacks sharing an account never collide."""

    project: str
    stack: str

    @classmethod
    def current(cls) -> StackNames:
        return cls(project=pulumi.get_project(), stack=pulumi.get_stack())

    @property
    def prefix(self) -> str:
        """`<project>-<stack>`: the EKS cluster's name, and the prefix of IAM, SageMaker and budget names."""
        return f"{self.project}-{self.stack}"

    @property
    def path(self) -> str:
        """`<project>/<stack>`: KMS alias prefix (aliases are unique per account and region)."""
        return f"{self.project}/{self.stack}"

    @property
    def registry_prefix(self) -> str:
        """`<project>/<stack>` in lowercase: ECR repository names are lowercase."""
        return self.path.lower()

    @property
    def cluster_name(self) -> str:
        """Fixed before the cluster exists: subnet discovery tags carry it."""
        return self.prefix

    @property
    def boundary_policy_name(self) -> str:
        return f"{self.prefix}-permission-boundary"

    @property
    def iam_path(self) -> str:
        """`/<project>/<stack>/`: every role and the boundary of the stack live under it."""
        return stack_iam_path(self.project, self.stack)

    @property
    def ci_deploy_role_name(self) -> str:
        return ci_deploy_role_name(self.prefix)

    @property
    def key_administrator_role_names(self) -> list[str]:
        """Roles that administer the stack's KMS keys (and so may not use them), named before they exist."""
        return key_administrator_role_names(self.prefix)


def cluster_admin_roles(
    *, ci_deploy_role_arn: pulumi.Input[str] | None, platform_admin_role_arn: pulumi.Input[str] | None
) -> dict[str, pulumi.Input[str]]:
    """Cluster admins the platform brings: the CI deploy role (it applies the Kubernetes layer) and the platform-admin
    persona (it runs the cluster), when they exist. The cluster adds the stack file's `adminRoleArns`, which win on
    a shared key."""
    platform = {"ci-deploy": ci_deploy_role_arn, "platform-admin": platform_admin_role_arn}
    return {k: v for k, v in platform.items() if v is not None}


def model_package_arn(
    account_id: pulumi.Output[str], group_name: pulumi.Output[str], *, partition: str, region: str, version: int
) -> pulumi.Output[str]:
    """The ARN of a registry version, once the account and the group's name are known."""
    return pulumi.Output.all(account_id, group_name).apply(
        lambda v: package_arn(partition=partition, region=region, account_id=v[0], group_name=v[1], version=version)
    )
