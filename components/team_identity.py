"""A team's workload identity: the one AWS role a team's pods get, reaching exactly the team's data.

Creates, per team: a Kubernetes ServiceAccount in the team's namespace, a NetworkPolicy letting training pods
(label `ml-platform/workload: training`) through the namespace's default-deny to their peers, the Pod Identity
agent and AWS's HTTPS APIs, an IAM role (a `WorkloadRole`, so it
carries the permission boundary) bound to that service account by an EKS Pod Identity association, and the team's
own CloudWatch log group (encrypted, with retention). The role may:
- read `datasets/<team>/` and the shared prefix `datasets/shared/`;
- read and write `models/<team>/` (checkpoints and finished models);
- use the artifacts key only through S3, for those buckets (the artifact store's grant statements carry the KMS
  conditions);
- pull images from the platform's registries;
- write to its own log group;
- where the stack runs an MLflow tracking server: read it, create experiments and runs and log to them (no
  deletes), and read/write its artifact prefix `models/mlflow/`, which the MLflow client writes directly.
Nothing else: no other team's prefixes, no listing of the buckets outside its prefixes, no other key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.experiment_tracking import ARTIFACT_PREFIX as MLFLOW_ARTIFACTS
from components.experiment_tracking import mlflow_statements
from components.image_registries import PULL_ACTIONS
from components.workload_role import WorkloadRole, WorkloadRoleArgs, cluster_pod_identity_trust

TEAM_SERVICE_ACCOUNT = "team-workload"
"""The service account every team namespace has; training jobs and notebooks run as it to reach the team's data."""

SHARED_DATASETS_PREFIX = "shared/"
"""Prefix of the datasets bucket every team may read (reference data, public corpora)."""

LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")

WORKLOAD_LABEL = ("ml-platform/workload", "training")
"""Pods carrying this label get the training network policy (`workload_network_policy_spec`)."""

POD_IDENTITY_AGENT = "169.254.170.23/32"
"""Where the EKS Pod Identity agent serves credentials on every node (link-local, port 80)."""


def datasets_prefix(team: str) -> str:
    return f"{team}/"


def models_prefix(team: str) -> str:
    return f"{team}/"


def log_group_name(cluster_name: str, team: str) -> str:
    return f"/ml-platform/{cluster_name}/teams/{team}"


class GrantSource(Protocol):
    """What a team needs from the artifact store (`ArtifactStore`)."""

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


def team_policy(
    *,
    datasets_read: Sequence[dict[str, Any]],
    shared_read: Sequence[dict[str, Any]],
    models_read_write: Sequence[dict[str, Any]],
    repository_arns: Sequence[str],
    log_group_arn: str,
    mlflow_server_arn: str | None = None,
    mlflow_artifacts: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The team role's one inline policy. Pure: the golden file renders it, the isolation test evaluates it.

    The S3/KMS statements come from the artifact store's grant helpers; this function adds image pulls, logs and,
    with a tracking server, MLflow logging."""
    statements: list[dict[str, Any]] = [*datasets_read, *shared_read, *models_read_write, *mlflow_artifacts]
    if repository_arns:
        statements.append(
            {
                "Sid": "PullPlatformImages",
                "Effect": "Allow",
                "Action": list(PULL_ACTIONS),
                "Resource": sorted(repository_arns),
            }
        )
    statements += [
        {
            # GetAuthorizationToken has no resource-level permissions: AWS only accepts "*" here.
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "WriteTeamLogs",
            "Effect": "Allow",
            "Action": list(LOG_WRITE_ACTIONS),
            "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
        },
    ]
    if mlflow_server_arn is not None:
        statements += mlflow_statements(mlflow_server_arn, "log")
    return {"Version": "2012-10-17", "Statement": statements}


def workload_network_policy_spec() -> dict[str, Any]:
    """What a training pod needs through the namespace's default-deny: its peers in the same namespace (torchrun
    rendezvous and NCCL), the Pod Identity agent for credentials, and HTTPS to AWS APIs (S3 through the gateway
    endpoint, ECR, STS, CloudWatch Logs). S3 has no fixed addresses a NetworkPolicy could name, so HTTPS is open to
    any address; the bucket policies still require the VPC endpoint where configured."""
    key, value = WORKLOAD_LABEL
    peers = [{"podSelector": {"matchLabels": {key: value}}}]
    return {
        "podSelector": {"matchLabels": {key: value}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": peers}],
        "egress": [
            {"to": peers},
            {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": [{"protocol": "TCP", "port": 80}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},
        ],
    }


@dataclass(frozen=True, kw_only=True)
class TeamIdentityArgs:
    team: str
    """The team (and namespace) name; validated by the cluster config."""
    namespace: pulumi.Input[str]
    """The team's namespace (the Kubernetes layer's output, so the service account waits for it)."""
    cluster_name: pulumi.Input[str]
    """The EKS cluster; pass the cluster's output so the association waits for the cluster."""
    cluster_arn: pulumi.Input[str]
    """The EKS cluster's ARN: the role trusts Pod Identity sessions of this cluster only."""
    cluster_name_plain: str
    """The same name as plain text: it names the team's log group."""
    artifact_grants: GrantSource
    """Builds the S3 + KMS statements for the team's prefixes."""
    repository_arns: Mapping[str, pulumi.Input[str]]
    """The platform registries the team may pull from (name -> ARN)."""
    permissions_boundary: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    """Encrypts the team's log group."""
    log_retention_days: int
    """Days the team's log group keeps events."""
    provider: k8s.Provider
    """The Kubernetes provider of the cluster (the Kubernetes layer's)."""
    mlflow_tracking_server_arn: pulumi.Input[str] | None = None
    """The stack's MLflow tracking server, which the team logs experiments to. Default: none, so no MLflow grants."""


class TeamIdentity(pulumi.ComponentResource):
    """A team's service account, Pod Identity role and log group.

    Attributes: `role` (WorkloadRole), `role_arn`, `service_account_name`, `log_group_name`."""

    def __init__(self, name: str, args: TeamIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:TeamIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        team = args.team

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(args.cluster_name_plain, team),
            kms_key_id=args.logs_kms_key_arn,
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        grants = args.artifact_grants
        policy = pulumi.Output.all(
            datasets=grants.grant_statements("datasets", "read", datasets_prefix(team)),
            shared=grants.grant_statements("datasets", "read", SHARED_DATASETS_PREFIX),
            models=grants.grant_statements("models", "read_write", models_prefix(team)),
            repositories=pulumi.Output.all(*args.repository_arns.values()),
            log_group_arn=self.log_group.arn,
            mlflow=args.mlflow_tracking_server_arn,
            mlflow_artifacts=(
                grants.grant_statements("models", "read_write", MLFLOW_ARTIFACTS)
                if args.mlflow_tracking_server_arn is not None
                else []
            ),
        ).apply(
            lambda v: json.dumps(
                team_policy(
                    datasets_read=v["datasets"],
                    shared_read=v["shared"],
                    models_read_write=v["models"],
                    repository_arns=list(v["repositories"]),
                    log_group_arn=v["log_group_arn"],
                    mlflow_server_arn=v["mlflow"],
                    mlflow_artifacts=v["mlflow_artifacts"],
                ),
                indent=2,
            )
        )
        self.role = WorkloadRole(
            f"{name}-role",
            WorkloadRoleArgs(
                assume_role_policy=cluster_pod_identity_trust(args.cluster_arn, team, TEAM_SERVICE_ACCOUNT),
                permissions_boundary=args.permissions_boundary,
                policies={"team-data": policy},
                description=f"Workloads of team {team}: its datasets and models, platform images, its logs",
            ),
            opts=child,
        )
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={
                "name": TEAM_SERVICE_ACCOUNT,
                "namespace": args.namespace,
                "labels": {"ml-platform/team": team},
            },
            # Pod Identity, not IRSA: the association below is the binding; the account needs no annotation.
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        # Plain dicts, as the Kubernetes layer's policies: the SDK's TypedDicts add nothing a test does not check.
        policy_metadata: Any = {"name": "allow-training-workloads", "namespace": args.namespace}
        policy_spec: Any = workload_network_policy_spec()
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-workload-network",
            metadata=policy_metadata,
            spec=policy_spec,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=TEAM_SERVICE_ACCOUNT,
            role_arn=self.role.arn,
            opts=child,
        )
        self.role_arn = self.role.arn
        self.service_account_name = TEAM_SERVICE_ACCOUNT
        self.log_group_name = self.log_group.name
        self.register_outputs({"role_arn": self.role_arn, "log_group_name": self.log_group_name})
