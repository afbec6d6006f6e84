"""`ml-platform:endpoints`: defaults per environment, how endpoint overrides merge, and every error's exact line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from components.model_endpoint import EndpointSpec, ModelEndpointArgs
from components.model_registry import ModelSpec
from infra.config import ConfigError, load
from infra.config.endpoints import EndpointsConfig

TAGS = '{"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}'
MODELS = {"churn-classifier": {"image": "serving:churn-1.4.2"}}
ARCHIVE = {"modelData": "churn-classifier/1.4.2/model.tar.gz"}
PACKAGE = {"modelPackage": "churn-classifier/3"}


def config(environment: str = "dev", endpoints: dict | None = None):
    values = {"aws:region": "us-west-2", "ml-platform:environment": environment, "ml-platform:tags": TAGS}
    if endpoints is not None:
        values["ml-platform:endpoints"] = json.dumps(endpoints)
    return load(values, stack=environment)


def one(environment: str = "dev", models: dict | None = None, **endpoint: Any):
    """Config with one endpoint `churn` (archive in dev, registry version elsewhere, unless given)."""
    source = ARCHIVE if environment == "dev" else PACKAGE
    spec = {**source, **endpoint} if not ({"modelData", "modelPackage"} & set(endpoint)) else endpoint
    return config(environment, {"models": models or MODELS, "endpoints": {"churn": spec}})


def problem(environment: str = "dev", **endpoint: Any) -> str:
    with pytest.raises(ConfigError) as err:
        one(environment, **endpoint)
    assert len(err.value.problems) == 1, err.value.problems
    return err.value.problems[0]


def problems_for(endpoints: dict, environment: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as err:
        config(environment, endpoints)
    return err.value.problems


# -- defaults ------------------------------------------------------------------------------------------------------


def test_no_endpoints_unless_the_stack_lists_them():
    assert config("prod").endpoints.endpoints == {}


def test_dev_serves_cpu_models_serverless_without_capture_or_isolation():
    ep = one("dev").endpoints.endpoints["churn"]
    assert ep.serving == "serverless"
    assert (ep.serverless.memory_size_mb, ep.serverless.max_concurrency, ep.serverless.provisioned_concurrency) == (
        2048,
        5,
        None,
    )
    # The settings still say capture and isolation on: serverless endpoints cannot have them (AWS), dev accepts it.
    assert ep.data_capture.enabled and ep.network_isolation
    assert (ep.is_serverless, ep.capture_percentage, ep.isolated) == (True, None, False)
    assert ep.log_retention_days == 30


def test_dev_instance_endpoint_is_one_instance_replaced_all_at_once():
    ep = one("dev", serving="instance").endpoints.endpoints["churn"]
    assert (ep.instance.type, ep.instance.initial_count, ep.instance.min_count) == ("ml.m5.large", 1, 1)
    assert ep.deployment.traffic_shift == "all-at-once"
    assert ep.capture_percentage == 20


def test_staging_deploys_registry_versions_blue_green_with_canary_and_autoscaling():
    cfg = one("staging").endpoints
    ep = cfg.endpoints["churn"]
    assert cfg.require_model_package and not cfg.allow_serverless
    assert ep.serving == "instance" and ep.network_isolation
    assert (ep.instance.min_count, ep.instance.initial_count, ep.instance.max_count) == (2, 2, 4)
    assert (ep.deployment.traffic_shift, ep.deployment.step.unit, ep.deployment.step.value) == (
        "canary",
        "instances",
        1,
    )
    assert (ep.is_serverless, ep.capture_percentage, ep.isolated) == (False, 20, True)


def test_prod_runs_at_least_two_instances_with_a_longer_bake():
    cfg = one("prod").endpoints
    ep = cfg.endpoints["churn"]
    assert cfg.min_instances == 2
    assert (ep.instance.type, ep.instance.min_count, ep.instance.max_count) == ("ml.m5.xlarge", 2, 6)
    d = ep.deployment
    assert (d.traffic_shift, d.wait_interval_seconds, d.termination_wait_seconds, d.max_execution_timeout_seconds) == (
        "canary",
        600,
        900,
        7200,
    )
    assert (ep.data_capture.sampling_percentage, ep.log_retention_days) == (10, 365)


def test_an_endpoint_override_merges_over_the_defaults_key_by_key():
    ep = one("prod", instance={"maxCount": 10}, alarms={"modelLatencyP99Ms": 250}).endpoints.endpoints["churn"]
    assert (ep.instance.type, ep.instance.min_count, ep.instance.max_count) == ("ml.m5.xlarge", 2, 10)
    assert (ep.alarms.model_latency_p99_ms, ep.alarms.error_5xx_percent) == (250, 1.0)


def test_stack_defaults_apply_to_every_endpoint():
    cfg = config(
        "staging",
        {
            "models": MODELS,
            "defaults": {"instance": {"type": "ml.c5.xlarge"}},
            "endpoints": {"a": PACKAGE, "b": PACKAGE},
        },
    )
    assert {ep.instance.type for ep in cfg.endpoints.endpoints.values()} == {"ml.c5.xlarge"}


def test_model_is_the_first_segment_of_the_archive_or_package():
    assert one("dev").endpoints.endpoints["churn"].model == "churn-classifier"
    assert one("prod").endpoints.endpoints["churn"].model == "churn-classifier"


def test_the_package_version_is_parsed_from_model_package_only():
    assert one("dev").endpoints.endpoints["churn"].model_package_version is None
    assert one("prod").endpoints.endpoints["churn"].model_package_version == 3


# -- one declaration -----------------------------------------------------------------------------------------------


def test_the_stack_files_endpoints_and_models_are_the_components_settings_models():
    cfg = one("staging").endpoints
    assert type(cfg.endpoints["churn"]) is EndpointSpec and type(cfg.models["churn-classifier"]) is ModelSpec
    # The component's argument is annotated with the same class (a string: the module defers annotations).
    assert {f.name: f.type for f in dataclasses.fields(ModelEndpointArgs)}["settings"] == EndpointSpec.__name__


REPO = Path(__file__).resolve().parents[2]


def _profile_row(cfg: EndpointsConfig) -> list[str]:
    """One environment's column of the profile table in docs/endpoints.md, from its effective settings."""
    d = cfg.defaults
    shift, step = d.deployment.traffic_shift, d.deployment.step
    rollout = (
        shift
        if shift == "all-at-once"
        else f"{shift} {step.value} {step.unit.rstrip('s') if step.value == 1 else step.unit}, bake "
        f"{d.deployment.wait_interval_seconds} s, old fleet kept {d.deployment.termination_wait_seconds} s"
    )
    return [
        str(cfg.allow_serverless).lower(),
        str(cfg.min_instances),
        str(cfg.require_model_package).lower(),
        f"serverless ({d.serverless.memory_size_mb} MB, {d.serverless.max_concurrency} concurrent)"
        if d.is_serverless
        else d.serving,
        f"{d.instance.type} {d.instance.min_count}–{d.instance.max_count}",
        rollout,
        "—" if d.capture_percentage is None else f"{d.capture_percentage}%",
        f"{d.log_retention_days} d",
    ]


def test_the_profile_table_in_the_docs_shows_each_environments_effective_settings():
    lines = (REPO / "docs" / "endpoints.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| effective (profile over"))
    rows = [[cell.strip() for cell in line.strip("|").split("|")][1:] for line in lines[start + 2 : start + 10]]
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert columns == [_profile_row(config(environment).endpoints) for environment in ("dev", "staging", "prod")]


DECLARED = "    max_concurrency: int = 5\n"
"""The serverless concurrency default, in the one place it is declared."""

_PROBE = """
import json
from components import model_endpoint
from preflight.project import load_project
from preflight.testing import REPO, render_stack

endpoints = json.loads(load_project(REPO).stack_config("dev").values["ml-platform:endpoints"])
endpoints["endpoints"]["churn"]["serverless"] = {"provisionedConcurrency": 6}
result = render_stack("dev", {"ml-platform:endpoints": endpoints})
(config,) = result.by_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
print(json.dumps({"module": model_endpoint.__file__, "variant": config.inputs["productionVariants"][0]}))
"""


@pytest.mark.slow
def test_a_default_changed_on_its_one_line_reaches_stack_file_validation_and_the_rendered_endpoint(
    edited_program, probe
):
    # Today the dev stack's endpoint may not provision 6 warm invocations: the declared maximum is 5.
    assert problem(serverless={"provisionedConcurrency": 6}).endswith("must not exceed maxConcurrency (5)")
    # Edit that one line in a copy of the program, and render the dev stack from the copy.
    root = edited_program({"components/model_endpoint.py": [(DECLARED, DECLARED.replace("5", "8"))]})
    rendered = probe(root, _PROBE)
    assert rendered["module"] == str(root / "components" / "model_endpoint.py")
    # The stack file's validation now accepts 6 (≤ 8), and the endpoint is declared with the new default.
    assert rendered["variant"]["serverlessConfig"] == {
        "memorySizeInMb": 2048,
        "maxConcurrency": 8,
        "provisionedConcurrency": 6,
    }


# -- errors --------------------------------------------------------------------------------------------------------

PREFIX = "Pulumi.dev.yaml: ml-platform:endpoints.endpoints.churn"


def test_fails_when_model_data_is_under_an_unknown_bucket_prefix():
    assert problem(modelData="fraud/1/model.tar.gz") == (
        f"{PREFIX}.modelData = 'fraud/1/model.tar.gz': unknown model bucket prefix 'fraud/'; the models bucket has "
        "one prefix per model under `models` (churn-classifier/)"
    )


def test_fails_when_model_package_names_an_unknown_model():
    assert problem("prod", modelPackage="fraud/2") == (
        "Pulumi.prod.yaml: ml-platform:endpoints.endpoints.churn.modelPackage = 'fraud/2': unknown model 'fraud'; "
        "declared under `models`: churn-classifier"
    )


def test_fails_when_model_data_is_an_s3_url():
    assert problem(modelData="s3://bucket/churn/model.tar.gz").startswith(
        f"{PREFIX}.modelData = 's3://bucket/churn/model.tar.gz': must be an object key in the models bucket"
    )


def test_fails_when_both_model_sources_are_set():
    assert problem(**ARCHIVE, **PACKAGE) == (
        f"{PREFIX}.modelData = 'churn-classifier/1.4.2/model.tar.gz': set exactly one of modelData (an archive in the "
        "models bucket) or modelPackage (an approved registry version)"
    )


def test_fails_when_staging_deploys_an_unregistered_archive():
    assert problem("staging", **ARCHIVE) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.modelData = 'churn-classifier/1.4.2/model.tar.gz': "
        "this stack deploys only approved registry versions (requireModelPackage): set modelPackage: <model>/<version> "
        "instead of modelData"
    )


def test_fails_when_instance_size_does_not_exist():
    assert problem(serving="instance", instance={"type": "ml.m5.huge"}) == (
        f"{PREFIX}.instance.type = 'ml.m5.huge': not a SageMaker real-time instance type; expected an `ml.` type such "
        "as ml.m5.large (m5 sizes: ml.m5.12xlarge, ml.m5.24xlarge, ml.m5.2xlarge, ml.m5.4xlarge, ml.m5.large, ml.m5.xlarge)"
    )


def test_fails_when_instance_type_is_not_a_sagemaker_type():
    assert problem(serving="instance", instance={"type": "m5.large"}) == (
        f"{PREFIX}.instance.type = 'm5.large': not a SageMaker real-time instance type; expected an `ml.` type such "
        "as ml.m5.large (did you mean ml.m5.large?)"
    )


def test_fails_when_a_gpu_type_has_no_known_gpu_count():
    assert "ml.g7.2xlarge': a GPU type whose GPU count the platform does not know" in problem(
        serving="instance", instance={"type": "ml.g7.2xlarge"}
    )


def test_fails_when_serverless_memory_is_not_an_aws_size():
    assert problem(serverless={"memorySizeMb": 1536}) == (
        f"{PREFIX}.serverless.memorySizeMb = 1536: not a serverless memory size; AWS allows 1024, 2048, 3072, 4096, "
        "5120, 6144 (MB)"
    )


def test_fails_when_serverless_concurrency_is_out_of_range():
    assert (
        problem(serverless={"maxConcurrency": 500})
        == f"{PREFIX}.serverless.maxConcurrency = 500: must be between 1 and 200"
    )


def test_fails_when_provisioned_concurrency_exceeds_max():
    assert problem(serverless={"maxConcurrency": 2, "provisionedConcurrency": 3}) == (
        f"{PREFIX}.serverless.provisionedConcurrency = 3: must not exceed maxConcurrency (2)"
    )


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_fails_when_serverless_is_used_outside_dev(environment):
    assert problem(environment, serving="serverless") == (
        f"Pulumi.{environment}.yaml: ml-platform:endpoints.endpoints.churn.serving = 'serverless': serverless endpoints "
        "are allowed only in dev (allowServerless): they cannot run in the VPC, isolate the container, capture data or "
        "deploy blue/green; use serving: instance"
    )


GPU_MODELS = {"churn-classifier": {"image": "serving:churn-1.4.2", "gpu": True}}


def test_fails_when_a_gpu_model_is_served_serverless():
    assert problem(models=GPU_MODELS) == (
        f"{PREFIX}.serving = 'serverless': model 'churn-classifier' needs a GPU (models.churn-classifier.gpu) and "
        "serverless endpoints are CPU only; use serving: instance with a GPU instance type"
    )


def test_fails_when_a_gpu_model_is_given_a_cpu_instance_type():
    assert problem("staging", models=GPU_MODELS) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.instance.type = 'ml.m5.large': model "
        "'churn-classifier' needs a GPU (models.churn-classifier.gpu); use a GPU instance type (g4dn, g5, g6, g6e, "
        "...), e.g. ml.g5.xlarge"
    )


def test_dev_serves_a_gpu_model_from_a_gpu_instance():
    ep = one("dev", models=GPU_MODELS, serving="instance", instance={"type": "ml.g5.xlarge"}).endpoints.endpoints[
        "churn"
    ]
    assert (ep.serving, ep.instance.type) == ("instance", "ml.g5.xlarge")
    assert not ep.is_serverless


def test_fails_when_prod_has_fewer_than_two_instances():
    assert problem("prod", instance={"minCount": 1, "initialCount": 1}, deployment={"trafficShift": "all-at-once"}) == (
        "Pulumi.prod.yaml: ml-platform:endpoints.endpoints.churn.instance.minCount = 1: must be at least 2 "
        "(minInstances) so the endpoint keeps serving when an availability zone fails"
    )


def test_fails_when_canary_is_larger_than_the_fleet():
    assert problem("staging", deployment={"step": {"value": 2}}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.deployment.step.value = 2: a canary of 2 "
        "instance(s) is larger than half the smallest fleet (minCount 2); SageMaker allows at most 50% — raise "
        "minCount or use trafficShift: all-at-once"
    )


def test_fails_when_a_percent_canary_exceeds_half():
    assert problem("staging", deployment={"step": {"unit": "percent", "value": 60}}).endswith(
        "step.value = 60: a canary of 60% is larger than SageMaker's limit of 50% of the fleet"
    )


def test_fails_when_linear_steps_are_outside_ten_to_fifty_percent():
    assert problem("staging", deployment={"trafficShift": "linear", "step": {"unit": "percent", "value": 5}}).endswith(
        "step.value = 5: linear steps of 5% are outside SageMaker's 10-50% of the fleet"
    )


def test_fails_when_min_exceeds_max():
    assert problem("staging", instance={"minCount": 5, "initialCount": 5, "maxCount": 4}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.instance.minCount = 5: must not exceed maxCount (4)"
    )


def test_fails_when_initial_count_is_outside_min_and_max():
    assert problem("staging", instance={"initialCount": 9}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.instance.initialCount = 9: must be between "
        "minCount (2) and maxCount (4)"
    )


@pytest.mark.parametrize(
    ("alarms", "line"),
    [
        ({"error5xxPercent": 0}, "alarms.error5xxPercent = 0: must be a percentage above 0 and at most 100"),
        ({"error4xxPercent": 150}, "alarms.error4xxPercent = 150: must be a percentage above 0 and at most 100"),
        (
            {"modelLatencyP99Ms": 120000},
            "alarms.modelLatencyP99Ms = 120000: must be between 1 and 60000 ms (real-time invocations time out after 60 s)",
        ),
        (
            {"utilizationPercent": 0},
            "alarms.utilizationPercent = 0: must be a percentage between 1 and 100 (of the instance's CPUs or GPUs)",
        ),
        (
            {"periodSeconds": 90},
            "alarms.periodSeconds = 90: must be a multiple of 60 seconds (SageMaker publishes endpoint metrics every minute)",
        ),
        ({"evaluationPeriods": 0}, "alarms.evaluationPeriods = 0: must be between 1 and 60"),
    ],
)
def test_fails_when_alarm_thresholds_are_out_of_range(alarms, line):
    assert problem(alarms=alarms) == f"{PREFIX}.{line}"


def test_fails_when_rollback_alarms_cannot_fire_within_the_bake_time():
    assert problem("staging", alarms={"evaluationPeriods": 10}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.deployment.waitIntervalSeconds = 300: shorter than "
        "the rollback alarms need to fire (alarms.periodSeconds × evaluationPeriods = 600 s); a bad step would be "
        "promoted before its alarm could roll it back"
    )


def test_fails_when_a_stepped_shift_targets_inf1():
    assert problem("staging", instance={"type": "ml.inf1.xlarge"}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.deployment.trafficShift = 'canary': SageMaker does "
        "not shift traffic in steps on inf1 instances (it falls back to all at once with no final baking, so the "
        "canary would silently not happen); set trafficShift: all-at-once"
    )


def test_fails_when_max_execution_timeout_does_not_cover_the_waits():
    deployment = {
        "trafficShift": "linear",
        "step": {"unit": "instances", "value": 1},
        "waitIntervalSeconds": 600,
        "terminationWaitSeconds": 900,
        "maxExecutionTimeoutSeconds": 3300,
    }
    assert problem("staging", deployment=deployment) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.deployment.maxExecutionTimeoutSeconds = 3300: not "
        "larger than the rollout's waiting time (4 bake period(s) × waitIntervalSeconds 600 + terminationWaitSeconds "
        "900 = 3300 s); the deployment would time out and roll back"
    )


def test_autoscaling_is_on_by_default_and_can_be_switched_off():
    assert one("prod").endpoints.endpoints["churn"].instance.autoscaling is True
    ep = one("prod", instance={"autoscaling": False}).endpoints.endpoints["churn"]
    assert ep.instance.autoscaling is False


def test_fails_when_sampling_percentage_is_out_of_range():
    assert problem("staging", dataCapture={"samplingPercentage": 0}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.dataCapture.samplingPercentage = 0: must be between "
        "1 and 100 (to capture nothing, set dataCapture.enabled: false)"
    )


def test_fails_when_deployment_timeouts_are_out_of_range():
    assert problem("staging", deployment={"maxExecutionTimeoutSeconds": 60}) == (
        "Pulumi.staging.yaml: ml-platform:endpoints.endpoints.churn.deployment.maxExecutionTimeoutSeconds = 60: must be "
        "between 600 and 28800 seconds"
    )


def test_fails_when_log_retention_is_not_a_cloudwatch_value():
    assert problem(logRetentionDays=100).startswith(
        f"{PREFIX}.logRetentionDays = 100: CloudWatch Logs accepts only these retention periods (days): 1, 3, 5, 7, 14"
    )


def test_fails_when_image_is_not_ecr():
    assert problems_for({"models": {"churn-classifier": {"image": "docker.io/library/python:3"}}}) == [
        (
            "Pulumi.dev.yaml: ml-platform:endpoints.models.churn-classifier.image = 'docker.io/library/python:3': must be "
            "an ECR image: `repository:tag`, `repository@sha256:<64 hex>`, or "
            "`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` (SageMaker pulls only from ECR)"
        )
    ]


def test_fails_when_endpoint_key_is_not_a_sagemaker_name():
    assert problems_for({"models": MODELS, "endpoints": {"Churn_V2": ARCHIVE}}) == [
        (
            "Pulumi.dev.yaml: ml-platform:endpoints.endpoints.Churn_V2 = 'Churn_V2': endpoint keys must be lowercase "
            "letters, digits and single hyphens, at most 32 characters (they become part of SageMaker names)"
        )
    ]


def test_fails_when_variant_name_is_not_a_sagemaker_name():
    assert problem(variantName="blue_green") == (
        f"{PREFIX}.variantName = 'blue_green': must be letters, digits and hyphens, at most 63 characters (a SageMaker "
        "variant name)"
    )


def test_fails_on_an_unknown_endpoint_key_with_a_suggestion():
    line = problem(instanceType="ml.m5.large")
    assert line.startswith(f"{PREFIX}.instanceType: unknown key; did you mean 'instance'?")


def test_fails_when_a_notification_email_is_malformed():
    assert problems_for({"notificationEmails": ["oncall"]}) == [
        """Pulumi.dev.yaml: ml-platform:endpoints.notificationEmails = ["oncall"]: 'oncall' is not an email address"""
    ]


# -- checks against other sections (called by PlatformConfig) ------------------------------------------------------


def test_cross_section_check_rejects_a_type_outside_the_allowlist():
    cfg = one("staging").endpoints
    error = cfg.cross_section_problem(
        allowed_instance_types=["ml.c5.large"], buckets=["models", "data-capture"], registries=["serving"]
    )
    assert (error.key, error.value) == ("endpoints.endpoints.churn.instance.type", "ml.m5.large")
    assert error.message == "not in the stack's instance allowlist (guardrails): ml.c5.large"


def test_cross_section_check_requires_the_models_and_capture_buckets():
    error = one("staging").endpoints.cross_section_problem(
        allowed_instance_types=["ml.m5.large"], buckets=["models", "datasets"], registries=["serving"]
    )
    assert (error.key, error.value) == ("storage.buckets", ["models", "datasets"])
    assert error.message.startswith("endpoints need the 'data-capture' bucket")


def test_cross_section_check_requires_the_image_registry():
    error = one("staging").endpoints.cross_section_problem(
        allowed_instance_types=["ml.m5.large"], buckets=["models", "data-capture"], registries=["training"]
    )
    assert (error.key, error.value) == ("endpoints.models.churn-classifier.image", "serving:churn-1.4.2")


def test_cross_section_check_accepts_wildcard_allowlist_entries():
    cfg = one("staging", instance={"type": "ml.g5.2xlarge"}).endpoints
    assert (
        cfg.cross_section_problem(
            allowed_instance_types=["ml.g5.*"], buckets=["models", "data-capture"], registries=["serving"]
        )
        is None
    )


def test_cross_section_check_passes_a_consistent_stack():
    assert (
        one("staging").endpoints.cross_section_problem(
            allowed_instance_types=["ml.m5.large"], buckets=["models", "data-capture"], registries=["serving"]
        )
        is None
    )
