"""The in-VPC deploy runner: CodeBuild-hosted GitHub Actions runners in the stack's private subnets.

The cluster's API endpoint is private, so the Kubernetes layer can only be applied from inside the VPC. A workflow
job that says `runs-on: codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}` is picked up by this
CodeBuild project (its webhook listens for `WORKFLOW_JOB_QUEUED`) and runs on a fresh container in the private
subnets, with a security group the cluster's API accepts on 443. Nothing opens the API to the internet.

The runner's own service role can only run the runner (logs, its network interfaces, the GitHub connection): the
job assumes the stack's CI deploy role through GitHub OIDC as on a hosted runner, so the deploy role's trust (one
GitHub environment, with its required reviewers) still decides who deploys. A job that does not name the
environment gets a runner and no deploy rights. Any workflow file can name the label, so the repository must
require approval before fork pull requests run workflows (docs/delivery.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from components.facts import check_log_retention
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

_CONNECTION_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
)
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$")
_IMAGE = re.compile(r"^aws/codebuild/[a-z0-9._-]+:[0-9.]+$")

ComputeType = Literal["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE"]


def runner_project_name(pulumi_project: str, stack: str) -> str:
    """The CodeBuild project's name for one stack: the workflows' `runs-on` labels are built from it."""
    return f"{pulumi_project}-{stack}-deploy"


def runner_label(project_name: str) -> str:
    """The `runs-on:` value a workflow job uses to land on this runner (GitHub expressions left for GitHub)."""
    return f"codebuild-{project_name}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


def check_connection_arn(value: str | None) -> str | None:
    if value is not None and not _CONNECTION_ARN.match(value):
        raise ValueError(
            "not a CodeConnections connection ARN; expected "
            "arn:aws:codeconnections:<region>:<account>:connection/<uuid> (or the older codestar-connections form)"
        )
    return value


def check_image(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError(
            "must be a CodeBuild-curated image with a pinned version, e.g. "
            "'aws/codebuild/amazonlinux-x86_64-standard:5.0' (`latest` and custom images are not accepted)"
        )
    return value


class DeployRunnerSettings(Section):
    """`ml-platform:deployRunner`: the CodeBuild-hosted GitHub Actions runner the stack's deploys run on."""

    enabled: bool = True
    """Default on: the stack creates its in-VPC runner, so CI can apply the Kubernetes layer through the private
    API. `false` is an explicit opt-out: the deploy jobs then need another way into the VPC (VPN, a runner of your
    own), and `docs/delivery.md` no longer applies as written. Needs `guardrails.github`: without it the stack has
    no CI roles and so no runner."""
    connection_arn: str | None = None
    """An existing CodeConnections GitHub connection (one per GitHub organisation is enough). Default: the stack
    creates one, which stays PENDING until an administrator completes the GitHub handshake in the console once."""
    compute_type: ComputeType = "BUILD_GENERAL1_MEDIUM"
    """Default 4 vCPU / 7 GiB: `pulumi up` of the whole platform, and the drift check's scanners, fit."""
    image: str = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    """Default Amazon Linux 2023 standard image 5.0 (Python 3.11+, Docker). A curated image with a pinned version."""
    build_timeout_minutes: int = Field(default=120, ge=5, le=2160)
    """Default 2 hours: above the workflow's own job timeout, so GitHub, not CodeBuild, ends a stuck deploy."""
    queued_timeout_minutes: int = Field(default=60, ge=5, le=480)
    """Default 1 hour a job may wait for capacity before CodeBuild drops it."""
    concurrent_build_limit: int = Field(default=2, ge=1, le=100)
    """Default 2: one deploy plus one drift check. The workflows' concurrency groups keep deploys of a stack apart."""

    @field_validator("connection_arn")
    @classmethod
    def _connection(cls, value: str | None) -> str | None:
        return check_connection_arn(value)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return check_image(value)


def runner_policy(
    *,
    log_group_arn: str,
    connection_arn: str,
    subnet_arns: Sequence[str],
    security_group_arn: str,
) -> dict[str, Any]:
    """What the runner's service role needs to run a job, and nothing to deploy with: the job assumes the CI
    deploy role itself. Statement by statement from CodeBuild's VPC and CodeConnections requirements."""
    if not subnet_arns:
        raise ValueError("subnet_arns is empty: the runner needs at least one private subnet")
    # `arn:<partition>:ec2:<region>:<account>:subnet/<id>` -> the same account and region's network interfaces.
    network_interfaces = subnet_arns[0].split(":subnet/")[0] + ":network-interface/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteRunnerLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
            {
                # CodeBuild reads the VPC's settings before it attaches a build; describe calls take no resource.
                "Sid": "DescribeRunnerNetwork",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ManageBuildInterfacesInRunnerSubnets",
                "Effect": "Allow",
                "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                "Resource": [network_interfaces, security_group_arn, *sorted(subnet_arns)],
            },
            {
                "Sid": "AttachInterfacesInRunnerSubnetsOnly",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterfacePermission",
                "Resource": network_interfaces,
                "Condition": {
                    "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                    "ArnEquals": {"ec2:Subnet": sorted(subnet_arns)},
                },
            },
            {
                "Sid": "UseGithubConnection",
                "Effect": "Allow",
                "Action": [
                    "codeconnections:GetConnection",
                    "codeconnections:GetConnectionToken",
                    "codeconnections:UseConnection",
                ],
                "Resource": connection_arn,
            },
        ],
    }


def validate_runner(*, project_name: str, repository: str, log_retention_days: int) -> None:
    """The deployment-time values' rules; raises ValueError naming the argument, the value and what is allowed."""
    if not _PROJECT_NAME.match(project_name):
        raise ValueError(
            f"project_name = {project_name!r}: CodeBuild names are 2-255 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    if repository.count("/") != 1:
        raise ValueError(f"repository = {repository!r}: must be 'owner/name'")
    try:
        check_log_retention(log_retention_days)
    except ValueError as exc:
        raise ValueError(f"log_retention_days = {log_retention_days}: {exc}") from None


class DeployRunner(pulumi.ComponentResource):
    """A CodeBuild project that serves GitHub Actions jobs from the stack's private subnets.

    Creates: a CodeConnections GitHub connection (unless `settings.connection_arn`), a KMS-encrypted log group,
    the service role (a `WorkloadRole` with the boundary), a security group with HTTPS egress only, an ingress
    rule on the cluster's security group for 443 from the runner, the project and its `WORKFLOW_JOB_QUEUED`
    webhook. Attributes: `project_name`, `runs_on`, `connection_arn`, `connection_status`, `role_arn`,
    `security_group_id`."""

    def __init__(
        self,
        name: str,
        settings: DeployRunnerSettings,
        *,
        project_name: str,
        repository: str,
        vpc_id: pulumi.Input[str],
        private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        cluster_security_group_id: pulumi.Input[str],
        logs_kms_key_arn: pulumi.Input[str],
        log_retention_days: int,
        permissions_boundary: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlplatform:ci:DeployRunner", name, None, opts)
        validate_runner(project_name=project_name, repository=repository, log_retention_days=log_retention_days)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        account_id = aws.get_caller_identity_output(opts=invoke).account_id

        self.connection: aws.codeconnections.Connection | None = None
        if settings.connection_arn is None:
            self.connection = aws.codeconnections.Connection(
                f"{name}-github", name=project_name[:32], provider_type="GitHub", opts=child
            )
            connection_arn: pulumi.Input[str] = self.connection.arn
            self.connection_status: pulumi.Input[str] = self.connection.connection_status
        else:
            connection_arn = settings.connection_arn
            self.connection_status = "external"

        # CodeBuild's default group name: the project writes there without a logs_config group name.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/codebuild/{project_name}",
            retention_in_days=log_retention_days,
            kms_key_id=logs_kms_key_arn,
            opts=child,
        )

        # Egress: GitHub (through the NAT gateway) and AWS APIs, all over HTTPS. No ingress: CodeBuild calls out.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=vpc_id,
            description=f"{project_name} deploy runner: HTTPS out only",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                    description="HTTPS to GitHub, package registries and AWS APIs",
                )
            ],
            opts=child,
        )
        subnet_arns = pulumi.Output.all(partition, region, account_id, private_subnet_ids).apply(
            lambda v: [f"arn:{v[0]}:ec2:{v[1]}:{v[2]}:subnet/{s}" for s in v[3]]
        )
        self.role = WorkloadRole(
            f"{name}-service",
            WorkloadRoleArgs(
                # CodeBuild sends aws:SourceAccount and aws:SourceArn: only this project's builds may assume it.
                assume_role_policy=pulumi.Output.all(partition, region, account_id).apply(
                    lambda v: service_trust(
                        "codebuild.amazonaws.com",
                        source_account=v[2],
                        source_arn=f"arn:{v[0]}:codebuild:{v[1]}:{v[2]}:project/{project_name}",
                    )
                ),
                permissions_boundary=permissions_boundary,
                policies={
                    "run-jobs": pulumi.Output.all(
                        self.log_group.arn, connection_arn, subnet_arns, self.security_group.arn
                    ).apply(
                        lambda v: json.dumps(
                            runner_policy(
                                log_group_arn=v[0], connection_arn=v[1], subnet_arns=v[2], security_group_arn=v[3]
                            ),
                            indent=2,
                        )
                    )
                },
                description=f"{project_name} CodeBuild-hosted GitHub Actions runner (no deploy rights of its own)",
            ),
            opts=child,
        )

        self.api_access = aws.vpc.SecurityGroupIngressRule(
            f"{name}-cluster-api",
            security_group_id=cluster_security_group_id,
            referenced_security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=f"{project_name} deploy runner to the private Kubernetes API",
            opts=child,
        )

        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=project_name,
            description=f"GitHub Actions runner for {repository} deploys, in the stack's private subnets",
            service_role=self.role.arn,
            build_timeout=settings.build_timeout_minutes,
            queued_timeout=settings.queued_timeout_minutes,
            concurrent_build_limit=settings.concurrent_build_limit,
            encryption_key=logs_kms_key_arn,
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER",
                compute_type=settings.compute_type,
                image=settings.image,
                image_pull_credentials_type="CODEBUILD",
                privileged_mode=False,
            ),
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location=f"https://github.com/{repository}.git",
                auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=connection_arn),
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=self.log_group.name
                ),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED"),
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=vpc_id, subnets=private_subnet_ids, security_group_ids=[self.security_group.id]
            ),
            # The role's policy must exist before CodeBuild validates the VPC settings with it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),
        )
        self.webhook = aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_groups=[
                aws.codebuild.WebhookFilterGroupArgs(
                    filters=[aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern="WORKFLOW_JOB_QUEUED")]
                )
            ],
            opts=child,
        )

        self.project_name = self.project.name
        self.runs_on = runner_label(project_name)
        self.connection_arn = pulumi.Output.from_input(connection_arn)
        self.role_arn = self.role.arn
        self.security_group_id = self.security_group.id
        self.register_outputs(
            {
                "project_name": self.project_name,
                "connection_arn": self.connection_arn,
                "role_arn": self.role_arn,
                "security_group_id": self.security_group_id,
            }
        )
