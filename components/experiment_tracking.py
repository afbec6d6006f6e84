"""Experiment tracking: a SageMaker managed MLflow tracking server, its artifacts under `mlflow/` in the models bucket.

A tracking server bills while it exists (Small ≈ $0.64/h ≈ $470/month), so only the prod profile runs one; dev
and staging opt in explicitly. Its role (a `WorkloadRole`) may read and write only `mlflow/` in the models bucket, with that
bucket's key; automatic registration into the model registry stays off, because versions reach the registry only
through the retraining pipeline's threshold and a human approval (docs/mlops.md).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, Protocol

import pulumi
import pulumi_aws as aws
from pydantic import field_validator

from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

ARTIFACT_PREFIX = "mlflow/"
"""Where the tracking server keeps run artifacts, in the models bucket."""
_WINDOW = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN):([01][0-9]|2[0-3]):[0-5][0-9]$")
_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")


class ExperimentTrackingSettings(Section):
    """`ml-platform:experimentTracking`: the stack's MLflow tracking server."""

    enabled: bool = True
    """Create the tracking server. Profile: on in prod only (a Small server alone is ≈ $470/month, over dev's
    idle budget and staging's idle ceiling)."""
    size: Literal["Small", "Medium", "Large"] = "Small"
    """SageMaker's tracking server sizes; Small serves a team of up to about 25 users."""
    mlflow_version: str | None = None
    """MLflow version, e.g. `2.16`. Default: the version SageMaker picks when the server is created."""
    weekly_maintenance_window_start: str = "SUN:04:00"
    """`DDD:HH:MM` in UTC, when SageMaker may patch the server (it is briefly unavailable)."""

    @field_validator("mlflow_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None and not _VERSION.match(value):
            raise ValueError("must be an MLflow version such as 2.16 or 2.16.2")
        return value

    @field_validator("weekly_maintenance_window_start")
    @classmethod
    def _window(cls, value: str) -> str:
        if not _WINDOW.match(value):
            raise ValueError("must be DDD:HH:MM in UTC, e.g. SUN:04:00 (DDD one of MON..SUN)")
        return value


def server_name(prefix: str) -> str:
    return f"{prefix}-mlflow"


def server_arn(partition: str, region: str, account_id: str, prefix: str) -> str:
    """The tracking server's ARN, known from its fixed name before it exists (grants need no ordering)."""
    return f"arn:{partition}:sagemaker:{region}:{account_id}:mlflow-tracking-server/{server_name(prefix)}"


# `sagemaker-mlflow` actions take the tracking server as their only resource, and the only condition keys are the
# server's tags (Service Authorization Reference): IAM cannot tell one experiment from another. Who writes which
# experiment is a naming convention (`<team>/...`, docs/mlops.md); what IAM can hold is who may delete, rename or
# restore anything, and that stays with the ml-engineer persona.
MLFLOW_READ = ("sagemaker-mlflow:Get*", "sagemaker-mlflow:ListArtifacts", "sagemaker-mlflow:Search*")
MLFLOW_LOG = (
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:Log*",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:UpdateRun",
)
MlflowAccess = Literal["read", "log", "all"]


def mlflow_statements(arn: str, access: MlflowAccess, *, ui: bool = False) -> list[dict[str, Any]]:
    """Grants on the tracking server: `read` (runs, metrics, artifacts' listing), `log` (read, create experiments
    and runs, log to them; no delete, rename or restore), `all` (every MLflow action). `ui` adds the presigned URL
    the Studio/MLflow UI opens with."""
    actions = {"read": MLFLOW_READ, "log": MLFLOW_READ + MLFLOW_LOG, "all": ("sagemaker-mlflow:*",)}[access]
    statements: list[dict[str, Any]] = [
        {"Sid": f"Mlflow{access.capitalize()}", "Effect": "Allow", "Action": sorted(actions), "Resource": arn}
    ]
    if ui:
        statements += [
            {
                "Sid": "MlflowUiUrl",
                "Effect": "Allow",
                "Action": "sagemaker:CreatePresignedMlflowTrackingServerUrl",
                "Resource": arn,
            },
            # AccessUI has no resource type: AWS only accepts "*" (the presigned URL above names the server).
            {"Sid": "MlflowUi", "Effect": "Allow", "Action": "sagemaker-mlflow:AccessUI", "Resource": "*"},
        ]
    return statements


class ArtifactGrants(Protocol):
    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


class ExperimentTracking(pulumi.ComponentResource):
    """Creates: the tracking server's role (`WorkloadRole`) and the `aws.sagemaker.MlflowTrackingServer`."""

    def __init__(
        self,
        name: str,
        settings: ExperimentTrackingSettings,
        *,
        name_prefix: str,
        artifact_grants: ArtifactGrants,
        models_bucket_name: pulumi.Input[str],
        permissions_boundary: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlplatform:mlops:ExperimentTracking", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        policy = artifact_grants.grant_statements("models", "read_write", prefix=ARTIFACT_PREFIX).apply(
            lambda statements: json.dumps({"Version": "2012-10-17", "Statement": statements})
        )
        self.role = WorkloadRole(
            f"{name}-server",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("sagemaker.amazonaws.com"),
                permissions_boundary=permissions_boundary,
                policies={"artifacts": policy},
                description=f"MLflow tracking server of {name_prefix}: its artifacts under {ARTIFACT_PREFIX}",
            ),
            opts=child,
        )
        self.server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-server",
            tracking_server_name=server_name(name_prefix),
            artifact_store_uri=pulumi.Output.concat("s3://", models_bucket_name, f"/{ARTIFACT_PREFIX}"),
            role_arn=self.role.arn,
            tracking_server_size=settings.size,
            mlflow_version=settings.mlflow_version,
            weekly_maintenance_window_start=settings.weekly_maintenance_window_start,
            # Versions reach the registry only through the retraining threshold and a human approval.
            automatic_model_registration=False,
            # SageMaker checks the role's access to the artifact store when the server is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),
        )
        self.arn = self.server.arn
        self.tracking_server_name = self.server.tracking_server_name
        self.register_outputs({"arn": self.arn, "tracking_server_name": self.tracking_server_name})
