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
