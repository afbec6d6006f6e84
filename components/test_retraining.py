"""Scheduled retraining: its settings (every error's line), the pipeline definition (JSON schema, SageMaker request
shapes, references), the three roles' policies (golden files, least privilege) and what the component renders.

Regenerate the golden policies with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_retraining.py`.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from components.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.pipeline_definition import definition_problems, reference_problems, request_problems, schema_problems
from components.retraining import RetrainingPipeline, RetrainingSettings, names, pipeline_definition
from infra.config import ConfigError, load
from preflight.model import StackResult
from preflight.scanners.iam_lint import _parliament
from preflight.testing import assert_golden, render

ACCOUNT = "123456789012"
ARTIFACTS_KEY = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
SAGEMAKER_KEY = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/ml-platform-boundary"
TRAINER = f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/ml-platform/staging/training:churn-2.0.0"
TRAINER_REPOSITORY = f"arn:aws:ecr:us-west-2:{ACCOUNT}:repository/ml-platform/staging/training"
SERVING = f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/ml-platform/staging/serving:churn-1.4.2"
GROUP = "ml-platform-staging-churn-classifier"
SETTINGS = {
    "datasetPrefix": "churn-classifier/training/",
    "trainerImage": "training:churn-2.0.0",
    "metric": "auc",
    "threshold": 0.8,
}
TAGS = '{"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}'

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"


def settings(**overrides: Any) -> RetrainingSettings:
    return RetrainingSettings.model_validate({**SETTINGS, **overrides})


def definition(s: RetrainingSettings | None = None) -> dict[str, Any]:
    return pipeline_definition(
        settings=s or settings(),
        model="churn-classifier",
        trainer_image_uri=TRAINER,
        serving_image_uri=SERVING,
        serving_image="serving:churn-1.4.2",
        job_role_arn=f"arn:aws:iam::{ACCOUNT}:role/job",
        datasets_bucket="datasets-bucket",
        models_bucket="models-bucket",
        output_kms_key_arn=ARTIFACTS_KEY,
        volume_kms_key_arn=SAGEMAKER_KEY,
        subnet_ids=["subnet-0a", "subnet-0b"],
        security_group_id="sg-0jobs",
        model_package_group_name=GROUP,
    )


def steps(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from components.pipeline_definition import walk_steps

    return {s["Name"]: s for s in walk_steps(d["Steps"])}


# -- settings ------------------------------------------------------------------------------------------------------


def problem(environment: str = "staging", **retraining: Any) -> str:
    """The one line the loader prints for a model's `retraining` block laid over SETTINGS."""
    endpoints = {
        "models": {"churn-classifier": {"image": "serving:churn-1.4.2", "retraining": {**SETTINGS, **retraining}}}
    }
    values = {
        "aws:region": "us-west-2",
        "ml-platform:environment": environment,
        "ml-platform:tags": TAGS,
        "ml-platform:endpoints": json.dumps(endpoints),
    }
    with pytest.raises(ConfigError) as err:
        load(values, stack=environment)
    assert len(err.value.problems) == 1, err.value.problems
    return err.value.problems[0]


KEY = "Pulumi.staging.yaml: ml-platform:endpoints.models.churn-classifier.retraining"


def test_default_retraining_is_weekly_on_one_cpu_instance_and_maximizes_the_metric():
    s = settings()
    assert (s.schedule, s.timezone, s.goal) == ("cron(0 3 ? * SUN *)", "UTC", "maximize")
    assert (s.instance_type, s.evaluation_instance_type, s.evaluation_entrypoint) == (
        "ml.m5.xlarge",
        "ml.m5.large",
        ["evaluate"],
    )


def test_dev_keeps_its_retraining_schedules_off_and_staging_and_prod_run_them():
    def flag(environment: str) -> bool:
        values = {"aws:region": "us-west-2", "ml-platform:environment": environment, "ml-platform:tags": TAGS}
        return load(values, stack=environment).endpoints.retraining_schedules

    assert (flag("dev"), flag("staging"), flag("prod")) == (False, True, True)


def test_fails_when_the_schedule_is_not_recurring():
    assert problem(schedule="at(2026-12-01T03:00:00)") == (
        f"{KEY}.schedule = 'at(2026-12-01T03:00:00)': must be a recurring schedule: cron(minutes hours day-of-month "
        "month day-of-week year) or rate(n unit)"
    )


def test_fails_when_a_cron_has_five_fields():
    assert problem(schedule="cron(0 3 * * 0)") == (
        f"{KEY}.schedule = 'cron(0 3 * * 0)': cron() takes 6 fields (minutes hours day-of-month month day-of-week "
        "year), got 5"
    )


def test_fails_when_a_cron_sets_both_day_fields():
    assert problem(schedule="cron(0 3 1 * MON *)") == (
        f"{KEY}.schedule = 'cron(0 3 1 * MON *)': cron(): one of day-of-month or day-of-week must be '?'"
    )


def test_fails_when_a_rate_unit_does_not_match_its_number():
    assert problem(schedule="rate(7 day)") == (
        f"{KEY}.schedule = 'rate(7 day)': rate(): use the singular unit for 1 (rate(1 day)) and the plural otherwise "
        "(rate(7 days))"
    )


def test_fails_when_the_time_zone_is_unknown():
    assert (
        problem(timezone="Mars/Olympus")
        == f"{KEY}.timezone = 'Mars/Olympus': not an IANA time zone (e.g. UTC, Europe/Berlin)"
    )


def test_fails_when_the_dataset_prefix_is_not_a_folder():
    assert problem(datasetPrefix="churn-classifier/training") == (
        f"{KEY}.datasetPrefix = 'churn-classifier/training': prefix 'churn-classifier/training': must end with '/' "
        "(otherwise 'models/v1' would also grant 'models/v10')"
    )


def test_fails_when_the_trainer_image_is_not_in_ecr():
    assert problem(trainerImage="docker.io/library/python:3.11") == (
        f"{KEY}.trainerImage = 'docker.io/library/python:3.11': must be an ECR image: `repository:tag`, "
        "`repository@sha256:<64 hex>`, or `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` "
        "(SageMaker pulls only from ECR)"
    )


def test_fails_when_the_trainer_image_names_a_registry_the_stack_lacks():
    assert problem(trainerImage="trainers:1") == (
        f"{KEY}.trainerImage = 'trainers:1': no registry 'trainers' in this stack (storage.registries: serving, "
        "training); use one of them or a full ECR image URI"
    )


def test_fails_when_the_metric_is_not_a_name():
    assert problem(metric="metrics.auc") == (
        f"{KEY}.metric = 'metrics.auc': must be a metric name: a letter, then letters, digits or underscores (≤ 64)"
    )


def test_fails_when_the_instance_type_cannot_train():
    assert problem(instanceType="m5.xlarge") == (
        f"{KEY}.instanceType = 'm5.xlarge': not a SageMaker training instance type (e.g. ml.m5.xlarge, ml.g5.2xlarge)"
    )


def test_fails_when_the_evaluation_instance_type_cannot_process():
    assert problem(evaluationInstanceType="ml.nope.large") == (
        f"{KEY}.evaluationInstanceType = 'ml.nope.large': not a SageMaker processing instance type (e.g. ml.m5.large)"
    )


def test_fails_when_the_instance_type_is_outside_the_stacks_allowlist():
    line = problem("dev", instanceType="ml.p4d.24xlarge")
    assert line == (
        "Pulumi.dev.yaml: ml-platform:endpoints.models.churn-classifier.retraining.instanceType = 'ml.p4d.24xlarge': "
        "not in the stack's SageMaker instance allowlist (guardrails, which the boundary enforces): ml.g5.xlarge, "
        "ml.m5.large, ml.m5.xlarge"
    )


def test_fails_when_the_volume_or_runtime_is_out_of_range():
    assert problem(volumeSizeGb=0) == f"{KEY}.volumeSizeGb = 0: must be between 1 and 16384 GB"
    assert problem(maxRuntimeSeconds=3_000_000) == (
        f"{KEY}.maxRuntimeSeconds = 3000000: must be between 60 seconds and 2419200 (28 days, SageMaker's limit)"
    )


def test_fails_when_the_evaluation_entrypoint_is_empty():
    assert problem(evaluationEntrypoint=[]) == (
        f"{KEY}.evaluationEntrypoint = []: must be a non-empty command, e.g. [evaluate] or "
        "[python3, /opt/ml/code/evaluate.py]"
    )


def test_fails_when_a_retraining_key_is_unknown():
    assert problem(schedul="rate(1 day)").startswith(f"{KEY}.schedul: unknown key; did you mean 'schedule'?")


def test_fails_when_the_names_exceed_the_schedulers_limit():
    with pytest.raises(ValueError, match="longer than 64 characters"):
        names("ml-platform-production-east", "a-model-key-that-is-32-chars-lon")
    assert (
        names("ml-platform-staging", "churn-classifier")["schedule"]
        == "ml-platform-staging-churn-classifier-retraining"
    )


# -- the pipeline definition ---------------------------------------------------------------------------------------


def test_definition_passes_the_schema_the_request_shapes_and_the_reference_checks():
    assert definition_problems(definition()) == []
    assert definition_problems(definition(settings(goal="minimize", hyperparameters={"epochs": "10"}))) == []


def test_definition_trains_evaluates_then_registers_only_when_the_metric_passes():
    d = definition()
    assert [s["Name"] for s in d["Steps"]] == ["Train", "Evaluate", "CheckMetric"]
    check = steps(d)["CheckMetric"]["Arguments"]
    condition = check["Conditions"][0]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.auc.value"
    assert condition["RightValue"] == {"Get": "Parameters.Threshold"}
    assert {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.8} in d["Parameters"]
    assert [s["Type"] for s in check["IfSteps"]] == ["RegisterModel"]
    assert [s["Type"] for s in check["ElseSteps"]] == ["Fail"]
    minimize = steps(definition(settings(goal="minimize")))["CheckMetric"]["Arguments"]["Conditions"][0]
    assert minimize["Type"] == "LessThanOrEqualTo"


def test_registered_versions_are_pending_approval_with_the_evaluation_report_as_metrics():
    register = steps(definition())["Register"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == GROUP
    assert register["InferenceSpecification"]["Containers"][0] == {
        "Image": SERVING,
        "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
    }
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"][-1] == "evaluation.json"


def test_registered_versions_carry_the_stack_files_image_references_the_prod_promotion_matches_by():
    register = steps(definition())["Register"]["Arguments"]
    # The references, not the URIs: those name each stack's own registry and would never match across stacks.
    assert register["CustomerMetadataProperties"] == {
        "TrainerImage": "training:churn-2.0.0",
        "ServingImage": "serving:churn-1.4.2",
    }


def test_jobs_run_isolated_in_the_vpc_with_kms_on_volumes_and_outputs():
    s = steps(definition())
    train, evaluate = s["Train"]["Arguments"], s["Evaluate"]["Arguments"]
    assert train["EnableNetworkIsolation"] is True and train["EnableInterContainerTrafficEncryption"] is True
    assert train["VpcConfig"] == {"SecurityGroupIds": ["sg-0jobs"], "Subnets": ["subnet-0a", "subnet-0b"]}
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == SAGEMAKER_KEY
    assert train["OutputDataConfig"] == {
        "S3OutputPath": "s3://models-bucket/churn-classifier/retraining",
        "KmsKeyId": ARTIFACTS_KEY,
    }
    assert evaluate["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert evaluate["NetworkConfig"]["VpcConfig"] == train["VpcConfig"]
    assert evaluate["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == SAGEMAKER_KEY
    assert evaluate["ProcessingOutputConfig"]["KmsKeyId"] == ARTIFACTS_KEY


def test_schema_check_fails_when_a_step_type_is_unknown():
    d = definition()
    d["Steps"][0]["Type"] = "Train"
    assert any(p.startswith("Steps/0/Type:") for p in schema_problems(d))


def test_schema_check_fails_when_a_condition_has_no_conditions():
    d = definition()
    del d["Steps"][2]["Arguments"]["Conditions"]
    assert any("'Conditions' is a required property" in p for p in schema_problems(d))


def test_request_check_fails_when_a_training_step_misses_a_required_field():
    d = definition()
    del d["Steps"][0]["Arguments"]["OutputDataConfig"]
    (line,) = request_problems(d)
    assert line.startswith("step Train (CreateTrainingJob): ") and "OutputDataConfig" in line


def test_request_check_fails_when_a_register_step_has_an_unknown_field():
    d = definition()
    d["Steps"][2]["Arguments"]["IfSteps"][0]["Arguments"]["ApprovalStatus"] = "Approved"
    (line,) = request_problems(d)
    assert line.startswith("step Register (CreateModelPackage): ") and "ApprovalStatus" in line


def test_reference_check_fails_when_a_step_reads_a_missing_parameter_or_property_file():
    d = definition()
    d["Parameters"] = [p for p in d["Parameters"] if p["Name"] != "Threshold"]
    d["Steps"][1]["PropertyFiles"][0]["PropertyFileName"] = "Report"
    problems = reference_problems(d)
    assert "step CheckMetric: Get 'Parameters.Threshold': no parameter 'Threshold'" in problems
    assert (
        "step CheckMetric: Get 'Steps.Evaluate.PropertyFiles.EvaluationReport': step Evaluate has no property file "
        "'EvaluationReport'" in problems
    )


def test_reference_check_fails_when_a_step_depends_on_an_unknown_step():
    d = copy.deepcopy(definition())
    d["Steps"][1]["DependsOn"] = ["Training"]
    assert reference_problems(d) == ["step Evaluate: DependsOn 'Training' is not another step"]


# -- rendered ------------------------------------------------------------------------------------------------------


@cache
def rendered(schedule_enabled: bool = True) -> StackResult:
    def program() -> None:
        store = ArtifactStore(
            "artifacts",
            ArtifactStoreArgs(
                kms_key_arn=ARTIFACTS_KEY,
                kms_key_arns_by_purpose={"data-capture": SAGEMAKER_KEY},
                vpc_endpoint_id="vpce-0a1b2c3d4e5f60718",
            ),
        )
        RetrainingPipeline(
            "retraining-churn-classifier",
            settings(),
            model="churn-classifier",
            name_prefix="ml-platform-staging",
            schedule_enabled=schedule_enabled,
            trainer_image_uri=TRAINER,
            trainer_repository_arn=TRAINER_REPOSITORY,
            serving_image_uri=SERVING,
            serving_image="serving:churn-1.4.2",
            model_package_group_name=GROUP,
            artifact_grants=store,
            datasets_bucket_name=store.bucket_names["datasets"],
            models_bucket_name=store.bucket_names["models"],
            output_kms_key_arn=ARTIFACTS_KEY,
            volume_kms_key_arn=SAGEMAKER_KEY,
            vpc_id="vpc-0123",
            private_subnet_ids=["subnet-0a", "subnet-0b"],
            endpoint_security_group_id="sg-0endpoints",
            s3_prefix_list_id="pl-68a54001",
            permissions_boundary=BOUNDARY,
            partition="aws",
            region="us-west-2",
            account_id=ACCOUNT,
        )

    return render(program, stack="staging", project="ml-platform")


def policy(name: str) -> dict[str, Any]:
    return json.loads(rendered().one(ROLE_POLICY, f"retraining-churn-classifier-{name}").inputs["policy"])


POLICIES = {
    "job": "job-retraining-jobs",
    "pipeline": "pipeline-retraining-pipeline",
    "scheduler": "scheduler-start-pipeline",
}


@pytest.mark.parametrize("role", sorted(POLICIES))
def test_role_policy_matches_golden_file(role):
    assert_golden(f"retraining_{role}_policy.json", policy(POLICIES[role]))


@pytest.mark.parametrize("role", sorted(POLICIES))
def test_role_policy_passes_parliament_and_has_no_wildcard_action(role):
    document = policy(POLICIES[role])
    assert _parliament().analyze_policy_string(json.dumps(document)).findings == []
    actions = [
        a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if "*" in a]


def test_every_role_carries_the_boundary():
    roles = rendered().by_type("aws:iam/role:Role")
    assert len(roles) == 3 and all(r.inputs["permissionsBoundary"] == BOUNDARY for r in roles)


def test_pipeline_may_create_only_pending_versions_and_pass_only_the_job_role():
    statements = {s["Sid"]: s for s in policy(POLICIES["pipeline"])["Statement"] if "Sid" in s}
    register = statements["RegisterPendingVersionsOnly"]
    assert register["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}
    assert not any("UpdateModelPackage" in str(s["Action"]) for s in statements.values())
    job_role = rendered().one("aws:iam/role:Role", "retraining-churn-classifier-job-role")
    assert statements["PassOnlyTheJobRole"]["Resource"] == job_role.outputs["arn"]
    start = statements["StartIsolatedJobsInTheVpc"]["Condition"]
    assert start["Bool"] == {"sagemaker:NetworkIsolation": "true", "sagemaker:InterContainerTrafficEncryption": "true"}


def test_jobs_read_only_their_dataset_prefix_and_write_only_under_the_models_retraining_prefix():
    s3 = [
        r
        for s in policy(POLICIES["job"])["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        if r.startswith("arn:aws:s3:::") and r.endswith("*")
    ]
    assert s3 and all(r.endswith(("/churn-classifier/training/*", "/churn-classifier/retraining/*")) for r in s3)


def test_pipeline_renders_a_definition_that_passes_every_check():
    pipeline = rendered().one(PIPELINE)
    assert pipeline.inputs["pipelineName"] == "ml-platform-staging-churn-classifier-retraining"
    assert (
        pipeline.inputs["roleArn"]
        == rendered().one("aws:iam/role:Role", "retraining-churn-classifier-pipeline-role").outputs["arn"]
    )
    assert definition_problems(json.loads(pipeline.inputs["pipelineDefinition"])) == []


def test_schedule_starts_the_pipeline_through_the_templated_sagemaker_target():
    schedule = rendered().one(SCHEDULE).inputs
    assert schedule["state"] == "ENABLED" and schedule["scheduleExpression"] == "cron(0 3 ? * SUN *)"
    assert schedule["kmsKeyArn"] == SAGEMAKER_KEY
    target = schedule["target"]
    assert target["arn"] == rendered().one(PIPELINE).outputs["arn"]
    assert target["sagemakerPipelineParameters"]["pipelineParameters"] == [{"name": "Threshold", "value": "0.8"}]
    assert rendered(schedule_enabled=False).one(SCHEDULE).inputs["state"] == "DISABLED"


def test_an_invalid_definition_stops_the_program_with_one_line_naming_the_component():
    import pulumi

    class _Named:
        _name = "retraining-churn"

    with pytest.raises(
        pulumi.RunError,
        match=r"^retraining-churn: invalid pipeline definition: Steps/0: 'Arguments' is a required property",
    ):
        RetrainingPipeline._checked(
            _Named(),  # type: ignore[arg-type]
            {"Version": "2020-12-01", "Steps": [{"Name": "Train", "Type": "Fail"}, {"Name": "Train", "Type": "Fail"}]},
        )
