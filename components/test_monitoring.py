"""Monitoring settings (declared once, validated with one-line errors), the alarm and dashboard plans, the
one-GPU-metrics-source rule and the model monitor's pure parts."""

from __future__ import annotations

import json

import pytest

from components import cluster_rules as rules
from components import facts
from components.model_monitor import (
    DataQualitySettings,
    check_baseline_prefix,
    check_schedule,
    monitor_image,
    violation_event_pattern,
)
from components.monitoring import (
    RUNBOOKS,
    BudgetView,
    EndpointTarget,
    GpuPoolTarget,
    MonitoringSettings,
    alarm_plans,
    dashboard_body,
    dashboard_metric_dimensions,
    subscription_plan,
)
from infra.config import ConfigError, load
from infra.config.profiles import PROFILES
from preflight.testing import REPO

TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}
BASE = {"aws:region": "us-west-2", "ml-platform:environment": "staging", "ml-platform:tags": json.dumps(TAGS)}
INSTANCE = EndpointTarget(
    endpoint_name="ml-platform-prod-churn", variant_name="primary", serverless=False, max_instances=6
)
SERVERLESS = EndpointTarget(endpoint_name="ml-platform-dev-churn", variant_name="primary", serverless=True)
POOLS = [
    GpuPoolTarget(name="inference", instance_types=("g6.xlarge", "g5.xlarge")),
    GpuPoolTarget(name="training", instance_types=("p4d.24xlarge",)),
]
BUDGET = BudgetView(
    name="ml-platform-prod-monthly", monthly_usd=5000, forecast_threshold_percent=80, actual_threshold_percent=100
)
AUTOSCALER = ("MLPlatform/ml-platform-prod", "ClusterAutoscalerErrors")


def load_with(section: dict, environment: str = "staging", **more: str):
    values = {**BASE, "ml-platform:environment": environment, "ml-platform:monitoring": json.dumps(section), **more}
    return load(values, stack=environment)


def problems(section: dict, **more: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_with(section, **more)
    return info.value.problems


def plans(settings: MonitoringSettings | None = None, **kw):
    return alarm_plans(
        settings or MonitoringSettings(),
        cluster_name="ml-platform-prod",
        endpoints=kw.get("endpoints", [INSTANCE]),
        gpu_pools=kw.get("gpu_pools", POOLS),
        autoscaler_metric=kw.get("autoscaler_metric", AUTOSCALER),
    )


# -- defaults ---------------------------------------------------------------------------------------------------


def test_default_monitoring_has_container_insights_data_quality_and_no_subscribers():
    s = MonitoringSettings()
    assert s.container_insights and s.data_quality.enabled
    assert (s.alarm_emails, s.alarm_https_endpoints) == ((), ())
    assert s.data_quality.schedule == "cron(0 * ? * * *)" and s.data_quality.max_runtime_seconds <= 3600


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_environment_profile_is_valid_and_only_dev_skips_data_quality(environment):
    cfg = load({**BASE, "ml-platform:environment": environment}, stack=environment)
    assert cfg.monitoring.data_quality.enabled is (environment != "dev")
    assert PROFILES[environment]["monitoring"]


def test_prod_pages_sooner_than_staging():
    staging, prod = (load({**BASE, "ml-platform:environment": e}, stack=e).monitoring for e in ("staging", "prod"))
    assert prod.endpoint_alarm_minutes < staging.endpoint_alarm_minutes
    assert prod.pending_pods_minutes < staging.pending_pods_minutes
    assert prod.endpoint_error_percent < staging.endpoint_error_percent


def test_observability_addon_is_pinned_for_every_supported_cluster_version():
    assert set(rules.OBSERVABILITY_ADDON_VERSIONS) == set(facts.FACTS.eks.tested_versions)
    for version in rules.OBSERVABILITY_ADDON_VERSIONS.values():
        rules.check_addon_version("vpc-cni", version, "1.35")  # the same version format as every add-on


# -- one line per bad setting -------------------------------------------------------------------------------------


def test_fails_when_an_alarm_email_is_not_an_address():
    assert problems({"alarmEmails": ["oncall"]}) == [
        "Pulumi.staging.yaml: ml-platform:monitoring.alarmEmails = [\"oncall\"]: 'oncall' is not an email address"
    ]


def test_fails_when_an_alarm_email_is_listed_twice():
    assert problems({"alarmEmails": ["a@example.com", "a@example.com"]})[0].endswith(": an address is listed twice")


def test_fails_when_an_https_endpoint_is_plain_http():
    assert problems({"alarmHttpsEndpoints": ["http://hooks.example.com/sns"]}) == [
        (
            'Pulumi.staging.yaml: ml-platform:monitoring.alarmHttpsEndpoints = ["http://hooks.example.com/sns"]: '
            "'http://hooks.example.com/sns': SNS delivers alerts only to https:// URLs (no plain http)"
        )
    ]


def test_fails_when_the_runbook_base_is_a_plain_http_url():
    assert problems({"runbookBaseUrl": "http://wiki/runbooks"}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.runbookBaseUrl = 'http://wiki/runbooks': "
            "runbook links must be https:// URLs or repository paths"
        )
    ]


@pytest.mark.parametrize("key", ["endpointErrorPercent", "gpuIdlePercent"])
def test_fails_when_a_percentage_is_out_of_range(key):
    assert problems({key: 100}) == [
        f"Pulumi.staging.yaml: ml-platform:monitoring.{key} = 100: must be above 0 and below 100 (percent)"
    ]


def test_fails_when_latency_threshold_exceeds_sagemakers_timeout():
    assert problems({"endpointLatencyP99Ms": 90000}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.endpointLatencyP99Ms = 90000: "
            "must be 1-60000 ms (SageMaker times an invocation out after 60 s)"
        )
    ]


@pytest.mark.parametrize(
    "key", ["endpointAlarmMinutes", "maxInstancesMinutes", "pendingPodsMinutes", "nodeNotReadyMinutes"]
)
def test_fails_when_an_alarm_window_is_longer_than_a_day(key):
    assert problems({key: 1441}) == [
        (
            f"Pulumi.staging.yaml: ml-platform:monitoring.{key} = 1441: "
            "must be 1-1440 minutes (CloudWatch evaluates an alarm over at most one day)"
        )
    ]


def test_fails_when_gpu_idle_hours_exceed_a_day():
    assert problems({"gpuIdleHours": 25}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.gpuIdleHours = 25: "
            "must be 1-24 hours (CloudWatch evaluates an alarm over at most one day)"
        )
    ]


def test_fails_when_autoscaler_error_threshold_is_zero():
    assert problems({"autoscalerErrors": 0}) == [
        "Pulumi.staging.yaml: ml-platform:monitoring.autoscalerErrors = 0: must be at least 1 (error lines per 5 minutes)"
    ]


def test_fails_when_a_monitoring_key_is_unknown():
    (line,) = problems({"gpuIdleHour": 2})
    assert line.startswith(
        "Pulumi.staging.yaml: ml-platform:monitoring.gpuIdleHour: unknown key; did you mean 'gpuIdleHours'?"
    )


def test_fails_when_the_data_quality_schedule_is_not_a_model_monitor_cron():
    assert problems({"dataQuality": {"schedule": "rate(1 hour)"}}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.dataQuality.schedule = 'rate(1 hour)': not a Model Monitor "
            "schedule; use cron(0 * ? * * *) (hourly), cron(0 H ? * * *) (daily at H) or cron(0 H/N ? * * *) (every N hours)"
        )
    ]


def test_fails_when_the_data_quality_run_may_outlast_an_hour():
    assert problems({"dataQuality": {"maxRuntimeSeconds": 7200}}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.dataQuality.maxRuntimeSeconds = 7200: "
            "must be 60-3600 seconds (Model Monitor stops hourly runs at one hour)"
        )
    ]


def test_fails_when_the_data_quality_volume_is_empty():
    assert problems({"dataQuality": {"volumeGib": 0}}) == [
        "Pulumi.staging.yaml: ml-platform:monitoring.dataQuality.volumeGib = 0: must be 1-16384 GiB"
    ]


def test_fails_when_the_baseline_prefix_is_not_a_folder():
    assert problems({"dataQuality": {"baselinePrefix": "/baseline"}}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.dataQuality.baselinePrefix = '/baseline': "
            "a folder under the model's prefix, e.g. 'monitoring/baseline/' (lowercase, ends with '/')"
        )
    ]


def test_fails_when_the_monitor_instance_type_is_outside_the_guardrails():
    assert problems({"dataQuality": {"instanceType": "ml.p4d.24xlarge"}}) == [
        (
            "Pulumi.staging.yaml: ml-platform:monitoring.dataQuality.instanceType = 'ml.p4d.24xlarge': not in the "
            "stack's instance allowlist (ml.c5.xlarge, ml.g5.2xlarge, ml.g5.xlarge, ml.m5.large, ml.m5.xlarge)"
        )
    ]


def test_fails_when_two_gpu_pools_share_an_instance_type_with_container_insights():
    pools = [
        {"name": "pool-a", "instanceTypes": ["g5.xlarge"], "maxSize": 1},
        {"name": "pool-b", "instanceTypes": ["g5.xlarge"], "maxSize": 1},
    ]
    with pytest.raises(ConfigError) as info:
        load({**BASE, "ml-platform:cluster": json.dumps({"gpuPools": pools})}, stack="staging")
    assert info.value.problems == [
        (
            'Pulumi.staging.yaml: ml-platform:cluster.gpuPools[1].instanceTypes = ["g5.xlarge"]: g5.xlarge is also in '
            "pool pool-a; with monitoring.containerInsights each GPU pool needs its own instance types (per-pool GPU metrics "
            "are told apart by instance type)"
        )
    ]


def test_pools_may_share_instance_types_without_container_insights():
    pools = [
        {"name": "pool-a", "instanceTypes": ["g5.xlarge"], "maxSize": 1},
        {"name": "pool-b", "instanceTypes": ["g5.xlarge"], "maxSize": 1},
    ]
    cfg = load_with({"containerInsights": False}, **{"ml-platform:cluster": json.dumps({"gpuPools": pools})})
    assert len(cfg.cluster.gpu_pools) == 2


def test_data_quality_rules_are_pure_functions():
    assert check_schedule("cron(0 6/4 ? * * *)") == "cron(0 6/4 ? * * *)"
    with pytest.raises(ValueError, match="not a Model Monitor schedule"):
        check_schedule("cron(15 * ? * * *)")
    with pytest.raises(ValueError, match="a folder under the model's prefix"):
        check_baseline_prefix("monitoring/../x/")
    assert DataQualitySettings(baseline_prefix="qa/base/").baseline_prefix == "qa/base/"


def test_fails_when_no_model_monitor_image_is_known_for_the_region():
    assert monitor_image("us-west-2") == "159807026194.dkr.ecr.us-west-2.amazonaws.com/sagemaker-model-monitor-analyzer"
    with pytest.raises(ValueError, match=r"no Model Monitor image account for region 'eu-north-1'"):
        monitor_image("eu-north-1")


def test_violation_rule_matches_only_this_schedules_runs_with_violations():
    pattern = violation_event_pattern("arn:aws:sagemaker:us-west-2:123456789012:monitoring-schedule/s")
    assert pattern["detail"] == {
        "MonitoringScheduleArn": ["arn:aws:sagemaker:us-west-2:123456789012:monitoring-schedule/s"],
        "ExitMessage": [{"prefix": "CompletedWithViolations"}],
    }


# -- one GPU metrics source ------------------------------------------------------------------------------------


def test_fails_when_the_standalone_dcgm_exporter_runs_next_to_the_cloudwatch_addon():
    from components.kubernetes_layer import KubernetesLayerArgs, validate_kubernetes_layer

    args = KubernetesLayerArgs(
        kubeconfig="{}",
        cluster_name="ml-platform-dev",
        cluster_version="1.35",
        oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/x",
        oidc_issuer="oidc.eks.us-west-2.amazonaws.com/id/X",
        permissions_boundary="arn:aws:iam::123456789012:policy/b",
        region="us-west-2",
        storage_kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/k",
        enable_dcgm_exporter=True,
        gpu_metrics_from_cloudwatch_addon=True,
    )
    with pytest.raises(ValueError) as info:
        validate_kubernetes_layer(args)
    assert str(info.value) == (
        "KubernetesLayerArgs.enable_dcgm_exporter = True: the CloudWatch observability add-on already runs DCGM on GPU "
        "nodes (gpu_metrics_from_cloudwatch_addon); two DCGM exporters would profile the same GPUs twice: keep one"
    )


def test_autoscaler_container_name_matches_the_kubernetes_layers_deployment():
    from components._kubernetes_manifests import autoscaler_deployment_spec
    from components.monitoring import AUTOSCALER_CONTAINER

    spec = autoscaler_deployment_spec("image", ["cluster-autoscaler"], "us-west-2", {})
    assert [c["name"] for c in spec["template"]["spec"]["containers"]] == [AUTOSCALER_CONTAINER]


# -- alarm plans -------------------------------------------------------------------------------------------------


def test_endpoint_alarms_carry_both_dimensions_and_sustained_thresholds():
    by_key = {p.key: p for p in plans(MonitoringSettings(endpoint_latency_p99_ms=800, endpoint_alarm_minutes=7))}
    latency = by_key["ml-platform-prod-churn-primary-latency"]
    assert latency.dimensions == {"EndpointName": "ml-platform-prod-churn", "VariantName": "primary"}
    assert (latency.threshold, latency.evaluation_periods, latency.extended_statistic) == (800_000, 7, "p99")
    errors = by_key["ml-platform-prod-churn-primary-5xx"]
    assert (errors.statistic, errors.threshold) == ("Average", 0.01)
    at_max = by_key["ml-platform-prod-churn-primary-max-instances"]
    assert (at_max.statistic, at_max.threshold, at_max.comparison) == (
        "SampleCount",
        6,
        "GreaterThanOrEqualToThreshold",
    )


def test_serverless_endpoints_have_no_instance_count_alarm():
    keys = {p.key for p in plans(endpoints=[SERVERLESS])}
    assert "ml-platform-dev-churn-primary-5xx" in keys and not any(k.endswith("max-instances") for k in keys)


def test_without_container_insights_only_endpoint_alarms_remain():
    keys = {p.key for p in plans(MonitoringSettings(container_insights=False))}
    assert keys == {
        "ml-platform-prod-churn-primary-5xx",
        "ml-platform-prod-churn-primary-latency",
        "ml-platform-prod-churn-primary-max-instances",
    }


def test_every_alarm_plan_links_an_existing_runbook():
    for plan in plans():
        assert plan.description.endswith(f"Runbook: {plan.runbook}")
        assert (REPO / plan.runbook).is_file(), plan.runbook
    assert all((REPO / "docs" / "runbooks" / f).is_file() for f in RUNBOOKS.values())


def test_runbook_links_follow_the_configured_base_url():
    base = "https://github.com/example-org/ml-platform/blob/main/docs/runbooks"
    (plan, *_) = plans(MonitoringSettings(runbook_base_url=base + "/"))
    assert plan.runbook == f"{base}/endpoint-errors-latency.md"


def test_subscriptions_are_keyed_by_address():
    s = MonitoringSettings(
        alarm_emails=("b@example.com", "a@example.com"), alarm_https_endpoints=("https://x.example/sns",)
    )
    assert subscription_plan(s) == [
        ("email-a-example-com", "email", "a@example.com"),
        ("email-b-example-com", "email", "b@example.com"),
        ("https-x-example-sns", "https", "https://x.example/sns"),
    ]


# -- dashboard ---------------------------------------------------------------------------------------------------


def body(**kw):
    return dashboard_body(
        region="us-east-1",
        cluster_name="ml-platform-prod",
        endpoints=kw.get("endpoints", [INSTANCE, SERVERLESS]),
        gpu_pools=POOLS,
        budget=BUDGET,
        alarm_arns=["arn:aws:cloudwatch:us-east-1:123456789012:alarm:x"],
        container_insights=kw.get("container_insights", True),
        autoscaler_metric=AUTOSCALER,
        runbook_base_url="docs/runbooks",
    )


def test_dashboard_reads_billing_from_us_east_1_whatever_the_stack_region():
    widgets = body()["widgets"]
    (billing,) = [w for w in widgets if "Estimated charges" in w["properties"].get("title", "")]
    assert billing["properties"]["region"] == "us-east-1"
    assert all(w["x"] + w["width"] <= 24 for w in widgets)


def test_dashboard_draws_each_pool_by_its_instance_types_and_gpus_per_node():
    drawn = dashboard_metric_dimensions(body())
    gpu = [d for ns, metric, d in drawn if metric == "node_gpu_utilization"]
    assert gpu and all(d == {"ClusterName": "ml-platform-prod"} for d in gpu)
    text = json.dumps(body())
    assert 'InstanceType=\\"p4d.24xlarge\\"' in text and "SUM(g1) / 8" in text


def test_dashboard_without_container_insights_says_so_instead_of_drawing_empty_panels():
    drawn = dashboard_metric_dimensions(body(container_insights=False))
    assert not [m for ns, m, d in drawn if ns == "ContainerInsights"]
    assert "Container Insights is off" in json.dumps(body(container_insights=False))


def test_serverless_endpoint_panel_explains_missing_instance_metrics():
    drawn = dashboard_metric_dimensions(body(endpoints=[SERVERLESS]))
    assert not [m for ns, m, d in drawn if ns == "/aws/sagemaker/Endpoints"]
