"""Experiment tracking: settings (defaults per environment, every error's line), the server's role (golden file,
`mlflow/` only) and what the component renders.

Regenerate the golden policy with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_experiment_tracking.py`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from components.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.experiment_tracking import ExperimentTracking, ExperimentTrackingSettings
from infra.config import ConfigError, load
from preflight.model import StackResult
from preflight.scanners.iam_lint import _parliament
from preflight.testing import assert_golden, render

ARTIFACTS_KEY = "arn:aws:kms:us-west-2:123456789012:key/11111111-1111-1111-1111-111111111111"
BOUNDARY = "arn:aws:iam::123456789012:policy/ml-platform-boundary"
TAGS = '{"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}'
SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"


def config(environment: str, tracking: dict[str, Any] | None = None):
    values = {"aws:region": "us-west-2", "ml-platform:environment": environment, "ml-platform:tags": TAGS}
    if tracking is not None:
        values["ml-platform:experimentTracking"] = json.dumps(tracking)
    return load(values, stack=environment)


def problem(**tracking: Any) -> str:
    with pytest.raises(ConfigError) as err:
        config("staging", tracking)
    assert len(err.value.problems) == 1, err.value.problems
    return err.value.problems[0]


def test_tracking_is_a_small_server_in_prod_and_off_in_dev_and_staging():
    assert config("dev").experiment_tracking.enabled is False
    assert config("staging").experiment_tracking.enabled is False
    settings = config("prod").experiment_tracking
    assert (settings.enabled, settings.size, settings.mlflow_version) == (True, "Small", None)


def test_dev_may_opt_in_explicitly():
    assert config("dev", {"enabled": True}).experiment_tracking.enabled is True


def test_fails_when_the_size_is_not_a_sagemaker_size():
    assert problem(size="XLarge").startswith(
        "Pulumi.staging.yaml: ml-platform:experimentTracking.size = 'XLarge': Input should be 'Small', 'Medium' or 'Large'"
    )


def test_fails_when_the_maintenance_window_is_not_day_hour_minute():
    assert problem(weeklyMaintenanceWindowStart="Sunday 4am") == (
        "Pulumi.staging.yaml: ml-platform:experimentTracking.weeklyMaintenanceWindowStart = 'Sunday 4am': must be "
        "DDD:HH:MM in UTC, e.g. SUN:04:00 (DDD one of MON..SUN)"
    )


def test_fails_when_the_mlflow_version_is_not_a_version():
    assert problem(mlflowVersion="latest") == (
        "Pulumi.staging.yaml: ml-platform:experimentTracking.mlflowVersion = 'latest': must be an MLflow version such "
        "as 2.16 or 2.16.2"
    )


@cache
def rendered() -> StackResult:
    def program() -> None:
        store = ArtifactStore(
            "artifacts", ArtifactStoreArgs(kms_key_arn=ARTIFACTS_KEY, vpc_endpoint_id="vpce-0a1b2c3d4e5f60718")
        )
        ExperimentTracking(
            "experiments",
            ExperimentTrackingSettings(),
            name_prefix="ml-platform-staging",
            artifact_grants=store,
            models_bucket_name=store.bucket_names["models"],
            permissions_boundary=BOUNDARY,
        )

    return render(program, stack="staging", project="ml-platform")


def test_server_role_policy_matches_golden_file_and_reaches_only_the_mlflow_prefix():
    document = json.loads(rendered().one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert_golden("experiment_tracking_server_policy.json", document)
    assert _parliament().analyze_policy_string(json.dumps(document)).findings == []
    objects = [
        r
        for s in document["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        if r.startswith("arn:aws:s3:::") and "/" in r
    ]
    assert objects and all(r.endswith("/mlflow/*") for r in objects)


def test_server_stores_artifacts_under_mlflow_and_never_registers_models_itself():
    server = rendered().one(SERVER).inputs
    assert server["artifactStoreUri"].startswith("s3://") and server["artifactStoreUri"].endswith("/mlflow/")
    assert server["trackingServerName"] == "ml-platform-staging-mlflow"
    assert (server["trackingServerSize"], server["automaticModelRegistration"]) == ("Small", False)
    role = rendered().one("aws:iam/role:Role")
    assert server["roleArn"] == role.outputs["arn"] and role.inputs["permissionsBoundary"] == BOUNDARY


def test_fails_when_a_model_is_named_like_the_tracking_prefix():
    values = {
        "aws:region": "us-west-2",
        "ml-platform:environment": "staging",
        "ml-platform:tags": TAGS,
        "ml-platform:endpoints": json.dumps({"models": {"mlflow": {"image": "serving:1"}}}),
    }
    with pytest.raises(ConfigError) as err:
        load(values, stack="staging")
    expected = (
        "Pulumi.staging.yaml: ml-platform:endpoints.models.mlflow = 'mlflow': reserved: the models bucket's mlflow/ "
        "prefix holds the experiment-tracking artifacts"
    )
    assert err.value.problems == [expected]
