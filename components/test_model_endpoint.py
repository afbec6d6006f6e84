"""ModelEndpoint and ModelRegistry: validation, the SageMaker tables, what each serving mode renders, and the
execution role's policy (golden file, rendered with a real ArtifactStore).

Regenerate the golden policy with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_model_endpoint.py`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from components import facts
from components import sagemaker_rules as sm
from components.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.model_endpoint import (
    DeploymentSettings,
    EndpointSpec,
    ModelEndpoint,
    ModelEndpointArgs,
    TrafficStep,
    alarm_plan,
    image_source,
    traffic_routing,
    validate_model_endpoint,
)
from components.model_registry import ModelRegistry, ModelRegistryArgs, ModelSpec, group_names, package_arn
from preflight.model import StackResult
from preflight.scanners.iam_lint import _parliament
from preflight.testing import assert_golden, render

ARTIFACTS_KEY = "arn:aws:kms:us-west-2:123456789012:key/11111111-1111-1111-1111-111111111111"
SAGEMAKER_KEY = "arn:aws:kms:us-west-2:123456789012:key/22222222-2222-2222-2222-222222222222"
LOGS_KEY = "arn:aws:kms:us-west-2:123456789012:key/33333333-3333-3333-3333-333333333333"
BOUNDARY = "arn:aws:iam::123456789012:policy/ml-platform-boundary"
REPOSITORY = "arn:aws:ecr:us-west-2:123456789012:repository/ml-platform/dev/serving"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/ml-platform/dev/serving:churn-1.4.2"

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SG = "aws:ec2/securityGroup:SecurityGroup"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
TOPIC = "aws:sns/topic:Topic"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


class FakeGrants:
    """Grant statements by purpose/access/prefix, for tests of validation that never render."""

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> Any:
        raise AssertionError("not rendered")


def spec(**settings: Any) -> EndpointSpec:
    """An endpoint's settings, validated as the stack file's are: the `churn` archive, defaults for the rest."""
    return EndpointSpec(**{"model_data": "churn/1.4.2/model.tar.gz", **settings})


def args(**overrides: Any) -> ModelEndpointArgs:
    base = ModelEndpointArgs(
        endpoint_name="ml-platform-dev-churn",
        settings=spec(),
        image_uri=IMAGE,
        image_repository_arn=REPOSITORY,
        models_bucket_name="models-bucket",
        data_capture_bucket_name="capture-bucket",
        artifact_grants=FakeGrants(),
        volume_kms_key_arn=SAGEMAKER_KEY,
        data_capture_kms_key_arn=SAGEMAKER_KEY,
        logs_kms_key_arn=LOGS_KEY,
        permissions_boundary=BOUNDARY,
        private_subnet_ids=["subnet-0a", "subnet-0b"],
        vpc_id="vpc-0123",
        endpoint_security_group_id="sg-0endpoints",
        s3_prefix_list_id="pl-68a54001",
        allowed_instance_types=["ml.m5.large", "ml.m5.xlarge", "ml.g5.xlarge", "ml.g5.12xlarge", "ml.m5d.large"],
    )
    return replace(base, **overrides)


def serverless_args(**overrides: Any) -> ModelEndpointArgs:
    serverless = {
        "settings": spec(serving="serverless"),
        "private_subnet_ids": None,
        "vpc_id": None,
        "endpoint_security_group_id": None,
        "s3_prefix_list_id": None,
    }
    return args(**{**serverless, **overrides})


def fails(a: ModelEndpointArgs) -> str:
    with pytest.raises(ValueError) as info:
        validate_model_endpoint(a)
    return str(info.value)


def render_endpoint(a: ModelEndpointArgs) -> StackResult:
    """Render the endpoint with a real artifact store as its grant source, as the program wires it."""

    def program() -> None:
        store = ArtifactStore(
            "artifacts",
            ArtifactStoreArgs(
                kms_key_arn=ARTIFACTS_KEY,
                kms_key_arns_by_purpose={"data-capture": SAGEMAKER_KEY},
                vpc_endpoint_id="vpce-0a1b2c3d4e5f60718",
            ),
        )
        ModelEndpoint(
            "churn",
            replace(
                a,
                artifact_grants=store,
                models_bucket_name=store.bucket_names["models"],
                data_capture_bucket_name=store.bucket_names["data-capture"],
            ),
        )

    return render(program, stack="dev", project="ml-platform")


@cache
def instance_stack() -> StackResult:
    return render_endpoint(args())


@cache
def serverless_stack() -> StackResult:
    return render_endpoint(serverless_args())


def execution_policy(result: StackResult) -> dict[str, Any]:
    return json.loads(result.one(ROLE_POLICY, "churn-execution-serving").inputs["policy"])


# -- SageMaker facts -----------------------------------------------------------------------------------------------


def test_instance_types_come_from_the_sagemaker_service_model():
    types = sm.instance_types()
    assert {"ml.m5.large", "ml.g5.xlarge", "ml.inf2.xlarge"} <= types
    assert "m5.large" not in types and all(t.startswith("ml.") for t in types)


def test_serverless_memory_sizes_are_the_six_one_gb_steps():
    assert sm.serverless_memory_sizes_mb() == (1024, 2048, 3072, 4096, 5120, 6144)


def test_every_sagemaker_type_has_a_vcpu_count():
    counts = {t: sm.vcpu_count(t) for t in sm.instance_types()}
    assert counts["ml.m5.large"] == 2 and counts["ml.g5.12xlarge"] == 48 and counts["ml.t2.medium"] == 2
    assert counts["ml.c4.8xlarge"] == 36 and counts["ml.c8g.medium"] == 1


def test_gpu_counts_cover_the_tabled_gpu_types_only():
    assert (
        sm.gpu_count("ml.g5.xlarge") == 1
        and sm.gpu_count("ml.g5.12xlarge") == 4
        and sm.gpu_count("ml.p4d.24xlarge") == 8
    )
    assert sm.gpu_count("ml.m5.large") == 0 and sm.gpu_count("ml.inf2.xlarge") == 0


def test_an_untabled_gpu_type_is_rejected_rather_than_guessed():
    untabled = sorted(t for t in sm.instance_types() if sm.is_gpu(t) and facts.gpu_count(t) is None)
    assert untabled, "every SageMaker GPU type is tabled: this test needs a new untabled example"
    for instance_type in untabled:
        assert "GPU count the platform does not know" in (sm.instance_type_problem(instance_type) or "")


def test_instance_type_problem_names_the_allowlist():
    assert sm.instance_type_problem("ml.m5.large", ["ml.m5.large"]) is None
    assert (
        sm.instance_type_problem("ml.m5.xlarge", ["ml.m5.large"])
        == "not in the stack's instance allowlist (ml.m5.large)"
    )
    assert sm.instance_type_problem("m5.large").startswith("not a SageMaker real-time instance type")
    assert sm.instance_type_problem("ml.g5.2xlarge", ["ml.m5.large", "ml.g5.*"]) is None


# -- validation ----------------------------------------------------------------------------------------------------


def test_default_instance_args_are_valid():
    validate_model_endpoint(args())
    validate_model_endpoint(serverless_args())


def test_fails_when_instance_type_is_not_in_the_allowlist():
    message = fails(args(settings=spec(instance={"type": "ml.c5.large"})))
    assert "instance type 'ml.c5.large': not in the stack's instance allowlist" in message


def settings_fail(**settings: Any) -> str:
    """The message of the settings' own validation: bad settings never reach the component."""
    with pytest.raises(ValueError) as info:
        spec(**settings)
    return str(info.value)


def test_settings_reject_an_instance_type_sagemaker_does_not_have():
    assert "not a SageMaker real-time instance type" in settings_fail(instance={"type": "ml.m5.huge"})


def test_settings_reject_a_serverless_memory_size_aws_does_not_offer():
    assert "not a serverless memory size" in settings_fail(serving="serverless", serverless={"memory_size_mb": 1500})


def test_serverless_endpoint_needs_no_network_and_gets_no_capture_or_isolation():
    a = serverless_args()
    validate_model_endpoint(a)
    # The settings' defaults say capture and isolation on; AWS supports neither for serverless.
    assert a.settings.data_capture.enabled and a.settings.network_isolation
    assert (a.settings.capture_percentage, a.settings.isolated) == (None, False)


def test_settings_reject_a_canary_larger_than_half_the_fleet():
    message = settings_fail(deployment={"step": {"value": 2}})
    assert "a canary of 2 instance(s) is larger than half the smallest fleet (minCount 2)" in message


def test_settings_reject_a_stepped_shift_on_inf1_where_sagemaker_ignores_it():
    assert "SageMaker does not shift traffic in steps on inf1 instances" in settings_fail(
        instance={"type": "ml.inf1.xlarge"}
    )
    inf1 = spec(instance={"type": "ml.inf1.xlarge"}, deployment={"traffic_shift": "all-at-once"})
    validate_model_endpoint(args(settings=inf1, allowed_instance_types=None))


def test_settings_reject_a_max_execution_timeout_that_does_not_cover_the_waits():
    linear = {"traffic_shift": "linear", "step": {"unit": "percent", "value": 25}, "wait_interval_seconds": 600,
              "termination_wait_seconds": 600, "max_execution_timeout_seconds": 3000}  # fmt: skip
    assert (
        "not larger than the rollout's waiting time (4 bake period(s) × "
        "waitIntervalSeconds 600 + terminationWaitSeconds 600 = 3000 s)"
    ) in settings_fail(deployment=linear)
    validate_model_endpoint(args(settings=spec(deployment={**linear, "max_execution_timeout_seconds": 3001})))


def test_traffic_steps_count_one_bake_per_linear_step_on_the_largest_fleet():
    assert sm.traffic_steps("canary", "instances", 1, 10) == 1
    assert sm.traffic_steps("all-at-once", "instances", 1, 10) == 1
    assert sm.traffic_steps("linear", "percent", 30, 10) == 4
    assert sm.traffic_steps("linear", "instances", 2, 5) == 3


def test_settings_reject_counts_out_of_order():
    message = settings_fail(instance={"min_count": 3, "initial_count": 2, "max_count": 4})
    assert "must be between minCount (3) and maxCount (4)" in message


def test_the_model_is_what_the_settings_serve_so_its_archive_is_always_under_its_prefix():
    assert args().model == "churn"
    assert args(settings=spec(model_data="fraud/1/model.tar.gz")).model == "fraud"


def test_fails_when_both_or_neither_model_source_is_set():
    assert "set exactly one of modelData" in settings_fail(model_package="churn/3")
    assert "set exactly one of modelData" in settings_fail(model_data=None)


def test_fails_when_the_registry_version_and_its_arn_do_not_come_together():
    package = spec(model_data=None, model_package="churn/3")
    assert "model_package_arn is required exactly when settings.model_package" in fails(args(settings=package))
    assert "model_package_arn is required exactly when" in fails(args(model_package_arn="arn:p"))


def test_fails_when_instance_endpoint_has_no_network():
    assert "s3_prefix_list_id is required for an instance endpoint" in fails(args(s3_prefix_list_id=None))


def test_settings_reject_thresholds_out_of_range():
    assert "must be between 1 and 60000 ms" in settings_fail(alarms={"model_latency_p99_ms": 0})
    assert "must be a percentage above 0" in settings_fail(alarms={"error_5xx_percent": 0})
    assert "must be a percentage between 1 and 100" in settings_fail(alarms={"utilization_percent": 101})


def test_fails_when_endpoint_name_is_not_a_sagemaker_name():
    assert "endpoint_name 'churn_v2'" in fails(args(endpoint_name="churn_v2"))


# -- pure plans ----------------------------------------------------------------------------------------------------


def test_alarm_thresholds_are_in_metric_units():
    plans = {p.role: p for p in alarm_plan(args(settings=spec(instance={"type": "ml.g5.12xlarge"})))}
    assert plans["5xx"].threshold == 0.01 and plans["5xx"].statistic == "Average"
    assert plans["latency"].threshold == 1_000_000 and plans["latency"].extended_statistic == "p99"
    assert plans["cpu"].threshold == 90 * 48  # CPUUtilization sums the 48 vCPUs
    assert plans["gpu"].threshold == 90 * 4  # GPUUtilization sums the 4 GPUs
    assert [p.role for p in plans.values() if p.rollback] == ["5xx", "latency"]


def test_cpu_instances_get_no_gpu_alarm_and_serverless_no_utilisation_or_rollback():
    assert "gpu" not in {p.role for p in alarm_plan(args())}
    plans = alarm_plan(serverless_args())
    assert {p.role for p in plans} == {"5xx", "latency", "4xx"}
    assert not any(p.rollback for p in plans)


def test_traffic_routing_shapes():
    assert traffic_routing(DeploymentSettings()) == {
        "type": "CANARY",
        "waitIntervalInSeconds": 300,
        "canarySize": {"type": "INSTANCE_COUNT", "value": 1},
    }
    linear = traffic_routing(DeploymentSettings(traffic_shift="linear", step=TrafficStep(unit="percent", value=25)))
    assert linear["linearStepSize"] == {"type": "CAPACITY_PERCENT", "value": 25} and "canarySize" not in linear
    assert traffic_routing(DeploymentSettings(traffic_shift="all-at-once")) == {
        "type": "ALL_AT_ONCE",
        "waitIntervalInSeconds": 300,
    }


def test_image_source_resolves_a_registry_name_or_a_full_uri():
    _uri, arn = image_source(
        "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference:2.1-gpu",
        repository_urls={},
        repository_arns={},
        partition="aws",
    )
    assert arn == "arn:aws:ecr:us-west-2:763104351884:repository/pytorch-inference"
    with pytest.raises(ValueError, match="no registry 'other' in this stack"):
        image_source("other:1", repository_urls={"serving": "u"}, repository_arns={"serving": "a"}, partition="aws")


# -- rendered: instance endpoint -----------------------------------------------------------------------------------


def test_execution_role_policy_matches_golden_file():
    assert_golden("model_endpoint_execution_role_policy.json", execution_policy(instance_stack()))


def test_execution_role_policy_has_no_wildcard_actions_and_only_its_own_prefixes():
    document = execution_policy(instance_stack())
    actions = [
        a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if "*" in a]
    s3_resources = [
        r
        for s in document["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        if r.startswith("arn:aws:s3:::")
    ]
    objects = sorted(r.split("/", 1)[1] for r in s3_resources if "/" in r)
    assert objects == ["churn/*", "ml-platform-dev-churn/*"]
    # Only actions without resource-level permissions (AWS accepts nothing but "*" for them) are unscoped;
    # PutMetricData is held to SageMaker's endpoint namespace by a condition instead.
    unscoped = {
        a
        for s in document["Statement"]
        if s["Resource"] == "*"
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert unscoped == {
        "ecr:GetAuthorizationToken",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "cloudwatch:PutMetricData",
    }
    (metrics,) = [s for s in document["Statement"] if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}


@pytest.mark.parametrize("stack", [instance_stack, serverless_stack], ids=["instance", "serverless"])
def test_execution_role_policy_passes_the_iam_linter(stack):
    assert _parliament().analyze_policy_string(json.dumps(execution_policy(stack()))).findings == []


def test_execution_role_carries_the_boundary_and_trusts_sagemaker_only():
    role = instance_stack().one("aws:iam/role:Role", "churn-execution-role").inputs
    assert role["permissionsBoundary"] == BOUNDARY
    trust = json.loads(role["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "sagemaker.amazonaws.com"}]


def test_model_runs_isolated_in_the_private_subnets():
    model = instance_stack().one(MODEL).inputs
    assert model["enableNetworkIsolation"] is True
    assert model["vpcConfig"]["subnets"] == ["subnet-0a", "subnet-0b"]
    sg = instance_stack().one(SG)
    assert model["vpcConfig"]["securityGroupIds"] == [sg.id]
    assert model["primaryContainer"]["image"] == IMAGE
    assert model["primaryContainer"]["modelDataUrl"].endswith("/churn/1.4.2/model.tar.gz")


def test_security_group_only_allows_https_egress_to_the_vpc_endpoints():
    sg = instance_stack().one(SG).inputs
    assert not sg.get("ingress")
    egress = sg["egress"]
    assert [(r["protocol"], r["fromPort"], r["toPort"]) for r in egress] == [("tcp", 443, 443)] * 2
    assert [r.get("securityGroups") for r in egress] == [["sg-0endpoints"], None]
    assert [r.get("prefixListIds") for r in egress] == [None, ["pl-68a54001"]]
    assert not [r for r in egress if r.get("cidrBlocks") or r.get("ipv6CidrBlocks")]


def test_without_interface_endpoints_the_model_may_reach_s3_only():
    egress = render_endpoint(args(endpoint_security_group_id=None)).one(SG).inputs["egress"]
    assert [(r["fromPort"], r.get("securityGroups"), r.get("prefixListIds")) for r in egress] == [
        (443, None, ["pl-68a54001"])
    ]


def test_endpoint_config_is_auto_named_encrypted_and_captures_data():
    config = instance_stack().one(CONFIG).inputs
    # No fixed name on the configuration or the model: a change creates the new one before deleting the old one.
    assert not config.get("name") and not config.get("namePrefix")
    assert not instance_stack().one(MODEL).inputs.get("name")
    assert instance_stack().one(CONFIG).outputs["name"].startswith("churn-config-")
    assert config["kmsKeyArn"] == SAGEMAKER_KEY
    capture = config["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["kmsKeyId"] == SAGEMAKER_KEY
    assert capture["initialSamplingPercentage"] == 20
    assert sorted(o["captureMode"] for o in capture["captureOptions"]) == ["Input", "Output"]
    bucket = instance_stack().one("aws:s3/bucket:Bucket", "artifacts-data-capture").outputs["bucket"]
    assert capture["destinationS3Uri"] == f"s3://{bucket}/ml-platform-dev-churn/"
    variant = config["productionVariants"][0]
    assert (variant["variantName"], variant["instanceType"], variant["initialInstanceCount"]) == (
        "primary",
        "ml.m5.large",
        2,
    )


def test_local_nvme_instance_types_get_no_volume_key():
    result = render_endpoint(args(settings=spec(instance={"type": "ml.m5d.large"})))
    assert not result.one(CONFIG).inputs.get("kmsKeyArn")
    assert result.one(CONFIG).inputs["dataCaptureConfig"]["kmsKeyId"] == SAGEMAKER_KEY


def test_alarms_carry_both_dimensions_and_feed_the_rollback_config():
    result = instance_stack()
    alarms = {r.inputs["name"]: r.inputs for r in result.by_type(ALARM)}
    assert set(alarms) == {
        "ml-platform-dev-churn-primary-5xx-errors",
        "ml-platform-dev-churn-primary-model-latency-p99",
        "ml-platform-dev-churn-primary-4xx-errors",
        "ml-platform-dev-churn-primary-cpu-utilization",
    }
    topic = result.one(TOPIC).outputs["arn"]
    for alarm in alarms.values():
        assert alarm["dimensions"] == {"EndpointName": "ml-platform-dev-churn", "VariantName": "primary"}
        assert alarm["alarmActions"] == [topic]
    deployment = result.one(ENDPOINT).inputs["deploymentConfig"]
    rollback = sorted(a["alarmName"] for a in deployment["autoRollbackConfiguration"]["alarms"])
    assert rollback == ["ml-platform-dev-churn-primary-5xx-errors", "ml-platform-dev-churn-primary-model-latency-p99"]
    assert alarms["ml-platform-dev-churn-primary-5xx-errors"]["metricName"] == "Invocation5XXErrors"
    assert alarms["ml-platform-dev-churn-primary-model-latency-p99"]["metricName"] == "ModelLatency"


def test_endpoint_deploys_blue_green_with_canary_and_timeouts():
    endpoint = instance_stack().one(ENDPOINT).inputs
    assert endpoint["name"] == "ml-platform-dev-churn"
    assert endpoint["endpointConfigName"] == instance_stack().one(CONFIG).outputs["name"]
    policy = endpoint["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"]["canarySize"] == {"type": "INSTANCE_COUNT", "value": 1}
    assert policy["terminationWaitInSeconds"] == 300 and policy["maximumExecutionTimeoutInSeconds"] == 3600


def test_instance_endpoint_autoscales_on_invocations_per_instance():
    target = instance_stack().one(TARGET).inputs
    assert target["resourceId"] == "endpoint/ml-platform-dev-churn/variant/primary"
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
    assert target["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    tracking = instance_stack().one(POLICY).inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert (tracking["targetValue"], tracking["scaleInCooldown"], tracking["scaleOutCooldown"]) == (100, 300, 60)


def test_autoscaling_can_be_left_off_for_an_instance_type_change():
    result = render_endpoint(args(settings=spec(instance={"autoscaling": False})))
    assert result.by_type(TARGET) == [] and result.by_type(POLICY) == []
    assert result.one(CONFIG).inputs["productionVariants"][0]["initialInstanceCount"] == 2


def test_alarm_topic_and_log_group_are_encrypted_with_the_logs_key():
    assert instance_stack().one(TOPIC).inputs["kmsMasterKeyId"] == LOGS_KEY
    logs = instance_stack().one("aws:cloudwatch/logGroup:LogGroup", "churn-logs").inputs
    assert (logs["name"], logs["kmsKeyId"], logs["retentionInDays"]) == (
        "/aws/sagemaker/Endpoints/ml-platform-dev-churn",
        LOGS_KEY,
        90,
    )


def test_gpu_endpoint_gets_a_gpu_alarm_scaled_to_its_gpus():
    result = render_endpoint(args(settings=spec(instance={"type": "ml.g5.12xlarge"})))
    gpu = next(r.inputs for r in result.by_type(ALARM) if r.inputs["metricName"] == "GPUUtilization")
    assert gpu["threshold"] == 360 and gpu["namespace"] == "/aws/sagemaker/Endpoints"


def test_model_package_deploys_the_registry_version():
    arn = "arn:aws:sagemaker:us-west-2:123456789012:model-package/ml-platform-dev-churn/3"
    result = render_endpoint(args(settings=spec(model_data=None, model_package="churn/3"), model_package_arn=arn))
    container = result.one(MODEL).inputs["primaryContainer"]
    assert container == {"modelPackageName": arn}


# -- rendered: serverless endpoint ---------------------------------------------------------------------------------


def test_serverless_endpoint_has_no_vpc_capture_rollout_or_autoscaling():
    result = serverless_stack()
    model = result.one(MODEL).inputs
    assert not model.get("vpcConfig") and model["enableNetworkIsolation"] is False
    config = result.one(CONFIG).inputs
    assert config["productionVariants"][0]["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 5}
    assert not config.get("dataCaptureConfig") and config["kmsKeyArn"] == SAGEMAKER_KEY
    assert not result.one(ENDPOINT).inputs.get("deploymentConfig")
    assert result.by_type(TARGET) == [] and result.by_type(SG) == []


def test_serverless_execution_role_has_no_capture_or_network_statements():
    statements = execution_policy(serverless_stack())["Statement"]
    assert not [s for s in statements if "artifacts-data-capture" in json.dumps(s.get("Resource"))]
    assert not [s for s in statements if "s3:PutObject" in s["Action"]]
    assert not {"DescribeVpcForEnis", "CreateEnisInPrivateSubnets", "ManageOwnEnis"} & {
        s.get("Sid") for s in statements
    }


def test_email_subscriptions_are_keyed_by_address():
    result = render_endpoint(serverless_args(notification_emails=["oncall@example.com"]))
    sub = result.one("aws:sns/topicSubscription:TopicSubscription")
    assert sub.name == "churn-alarm-email-oncall-example-com" and sub.inputs["protocol"] == "email"


# -- model registry ------------------------------------------------------------------------------------------------


def test_registry_creates_one_group_per_model_keyed_by_name():
    result = render(
        lambda: ModelRegistry(
            "models",
            ModelRegistryArgs(
                name_prefix="ml-platform-dev",
                models={
                    "churn": ModelSpec(image="serving:1"),
                    "fraud": ModelSpec(image="serving:1", description="Fraud"),
                },
            ),
        ),
        project="ml-platform",
    )
    groups = {r.name: r.inputs for r in result.by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")}
    assert {n: g["modelPackageGroupName"] for n, g in groups.items()} == {
        "models-churn": "ml-platform-dev-churn",
        "models-fraud": "ml-platform-dev-fraud",
    }
    assert groups["models-fraud"]["modelPackageGroupDescription"] == "Fraud"
    assert groups["models-churn"]["modelPackageGroupDescription"] == "Versions of model churn"


def test_fails_when_a_group_name_is_too_long():
    with pytest.raises(ValueError, match="at most 63 characters"):
        group_names(ModelRegistryArgs(name_prefix="x" * 60, models={"churn": ModelSpec(image="serving:1")}))


def test_package_arn_names_group_and_version():
    assert (
        package_arn(partition="aws", region="us-west-2", account_id="123456789012", group_name="Ml-Churn", version=3)
        == "arn:aws:sagemaker:us-west-2:123456789012:model-package/ml-churn/3"
    )


# -- grants without a store ----------------------------------------------------------------------------------------


def test_bucket_grant_statements_scope_actions_to_one_prefix_and_key():
    read = sm.bucket_grant_statements(bucket_arn="arn:aws:s3:::b", key_arn="arn:k", access="read", prefix="churn/")
    assert [s["Action"] for s in read] == [["s3:GetObject", "s3:GetObjectVersion"], "s3:ListBucket", ["kms:Decrypt"]]
    assert [s["Resource"] for s in read] == ["arn:aws:s3:::b/churn/*", "arn:aws:s3:::b", "arn:k"]
    assert read[1]["Condition"] == {"StringLike": {"s3:prefix": ["churn/*"]}}
    write = sm.bucket_grant_statements(bucket_arn="arn:aws:s3:::b", key_arn="arn:k", access="write", prefix="e/")
    assert write[0]["Action"] == ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert write[2]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_bucket_grants_refuse_an_unknown_purpose():
    with pytest.raises(ValueError, match="no bucket for purpose 'datasets'; have models"):
        sm.BucketGrants({"models": "arn:aws:s3:::b"}, "arn:k").grant_statements("datasets", "read")
