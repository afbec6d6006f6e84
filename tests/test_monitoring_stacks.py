"""Each shipped stack renders one dashboard and its on-call alarms, with dimensions that name what the stack has,
every alarm linking a runbook that exists; staging and prod monitor the data quality of every captured endpoint."""

from __future__ import annotations

import json
import re

import pytest

from components import cluster_rules, facts
from components.monitoring import dashboard_metric_dimensions
from preflight.testing import REPO, assert_golden

STACKS = ["dev", "staging", "prod"]
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def stack_dimensions(result) -> dict[str, set[str]]:
    """Every value a dimension may take in this stack, from the rendered resources themselves."""
    return {
        "EndpointName": {r.inputs["name"] for r in result.by_type("aws:sagemaker/endpoint:Endpoint")},
        "VariantName": {
            v["variantName"] for r in result.by_type(ENDPOINT_CONFIG) for v in r.inputs["productionVariants"]
        },
        "ClusterName": {r.inputs["name"] for r in result.by_type("aws:eks/cluster:Cluster")},
        "RuleName": {r.inputs["name"] for r in result.by_type("aws:cloudwatch/eventRule:EventRule")},
        "Currency": {"USD"},
    }


def alarm_dimensions(alarm) -> dict[str, str]:
    if alarm.inputs.get("metricQueries"):
        (query,) = alarm.inputs["metricQueries"]
        return dict(re.findall(r"(ClusterName) = '([^']+)'", query["expression"]))
    return alarm.inputs.get("dimensions") or {}


@pytest.mark.parametrize("name", STACKS)
def test_each_stack_renders_one_dashboard_named_after_it(name, shipped_stack):
    result = shipped_stack(name)
    (dashboard,) = result.by_type(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == f"ml-platform-{name}"
    assert result.outputs["dashboardName"] == f"ml-platform-{name}"


@pytest.mark.parametrize("name", STACKS)
def test_dashboard_body_matches_its_golden_file(name, shipped_stack):
    body = json.loads(shipped_stack(name).one(DASHBOARD).inputs["dashboardBody"])
    assert_golden(f"monitoring_dashboard_{name}.json", body)


@pytest.mark.parametrize("name", STACKS)
def test_every_dashboard_metric_names_dimensions_that_exist_in_the_stack(name, shipped_stack):
    result = shipped_stack(name)
    known = stack_dimensions(result)
    drawn = dashboard_metric_dimensions(json.loads(result.one(DASHBOARD).inputs["dashboardBody"]))
    assert drawn
    for namespace, metric, dims in drawn:
        for key, value in dims.items():
            assert value in known[key], f"{namespace}/{metric}: {key}={value} is not in the stack"
    endpoints = {dims.get("EndpointName") for ns, _, dims in drawn if ns == "AWS/SageMaker"}
    assert endpoints == known["EndpointName"]


@pytest.mark.parametrize("name", STACKS)
def test_every_alarm_names_dimensions_that_exist_in_the_stack(name, shipped_stack):
    result = shipped_stack(name)
    known = stack_dimensions(result)
    for alarm in result.by_type(ALARM):
        dims = alarm_dimensions(alarm)
        for key, value in dims.items():
            assert value in known[key], f"{alarm.name}: {key}={value} is not in the stack"
        if alarm.inputs.get("namespace") in ("AWS/SageMaker", "/aws/sagemaker/Endpoints"):
            assert set(dims) == {"EndpointName", "VariantName"}, alarm.name


@pytest.mark.parametrize("name", STACKS)
def test_every_alarm_description_links_a_runbook_that_exists(name, shipped_stack):
    for alarm in shipped_stack(name).by_type(ALARM):
        link = re.search(r"Runbook: (\S+)$", alarm.inputs["alarmDescription"])
        assert link, f"{alarm.name}: no runbook link"
        assert (REPO / link.group(1)).is_file(), f"{alarm.name}: {link.group(1)} does not exist"


@pytest.mark.parametrize("name", STACKS)
def test_on_call_alarms_go_to_the_stacks_encrypted_alert_topic(name, shipped_stack):
    result = shipped_stack(name)
    topic = result.outputs["budgetAlertTopicArn"]
    on_call = [a for a in result.by_type(ALARM) if not a.name.startswith("endpoint-")]
    assert on_call and all(a.inputs["alarmActions"] == [topic] for a in on_call)
    subscriptions = [
        s.inputs for s in result.by_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["topic"] == topic
    ]
    assert {(s["protocol"], s["endpoint"]) for s in subscriptions} == {("email", "ml-platform-team@example.com")}


def test_staging_alarm_set_covers_endpoints_gpu_pools_and_the_cluster(shipped_stack):
    names = set(shipped_stack("staging").outputs["alarmNames"].values())
    assert names == {
        "ml-platform-staging-churn-primary-oncall-5xx-rate",
        "ml-platform-staging-churn-primary-oncall-latency-p99",
        "ml-platform-staging-churn-primary-at-max-instances",
        "ml-platform-staging-gpu-inference-idle",
        "ml-platform-staging-gpu-training-idle",
        "ml-platform-staging-pods-pending",
        "ml-platform-staging-nodes-not-ready",
        "ml-platform-staging-autoscaler-errors",
    }


def test_dev_serverless_endpoint_has_no_instance_count_alarm(shipped_stack):
    names = set(shipped_stack("dev").outputs["alarmNames"].values())
    assert "ml-platform-dev-churn-primary-oncall-5xx-rate" in names
    assert not any(n.endswith("at-max-instances") for n in names)


def test_gpu_idle_alarm_watches_only_the_pools_instance_types_for_the_configured_hours(shipped_stack):
    alarm = shipped_stack("prod").one(ALARM, "monitoring-gpu-training-idle")
    (query,) = alarm.inputs["metricQueries"]
    assert query["expression"] == (
        "SELECT AVG(node_gpu_utilization) FROM SCHEMA(ContainerInsights,ClusterName,GpuDevice,InstanceId,"
        "InstanceType,NodeName) WHERE ClusterName = 'ml-platform-prod' AND (InstanceType = 'p4d.24xlarge')"
    )
    assert query["period"] == 3600 and alarm.inputs["evaluationPeriods"] == 3
    assert alarm.inputs["comparisonOperator"] == "LessThanThreshold" and alarm.inputs["threshold"] == 10
    assert alarm.inputs["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", STACKS)
def test_cloudwatch_addon_is_pinned_with_pod_identity_and_encrypted_log_groups(name, shipped_stack):
    result = shipped_stack(name)
    addon = result.one("aws:eks/addon:Addon", "monitoring-amazon-cloudwatch-observability")
    assert addon.inputs["addonVersion"] == cluster_rules.OBSERVABILITY_ADDON_VERSIONS[facts.FACTS.eks.default_version]
    (association,) = addon.inputs["podIdentityAssociations"]
    role = result.one("aws:iam/role:Role", "monitoring-cloudwatch-agent-role")
    assert association == {"roleArn": role.outputs["arn"], "serviceAccount": "cloudwatch-agent"}
    assert role.inputs["permissionsBoundary"] == result.outputs["permissionBoundaryArn"]
    logs_key = result.outputs["keyArns"]["logs"]
    retention = result.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane-logs").inputs["retentionInDays"]
    groups = [
        g.inputs
        for g in result.by_type("aws:cloudwatch/logGroup:LogGroup")
        if "containerinsights" in g.inputs.get("name", "")
    ]
    assert sorted(g["name"] for g in groups) == [
        f"/aws/containerinsights/ml-platform-{name}/{kind}"
        for kind in ("application", "dataplane", "host", "performance")
    ]
    assert all(g["kmsKeyId"] == logs_key and g["retentionInDays"] == retention for g in groups)


@pytest.mark.parametrize("name", STACKS)
def test_one_gpu_metrics_source_the_standalone_dcgm_exporter_is_off(name, shipped_stack):
    daemonsets = shipped_stack(name).by_type("kubernetes:apps/v1:DaemonSet")
    assert not [d for d in daemonsets if "dcgm" in d.name]


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_have_a_data_quality_schedule_per_captured_endpoint(name, shipped_stack):
    result = shipped_stack(name)
    captured = {
        c.inputs["dataCaptureConfig"]["destinationS3Uri"].rstrip("/").rsplit("/", 1)[-1]
        for c in result.by_type(ENDPOINT_CONFIG)
        if c.inputs.get("dataCaptureConfig")
    }
    jobs = {j.inputs["dataQualityJobInput"]["endpointInput"]["endpointName"] for j in result.by_type(JOB)}
    assert captured and jobs == captured
    assert len(result.by_type(SCHEDULE)) == len(captured)
    for job in result.by_type(JOB):
        network = job.inputs["networkConfig"]
        assert network["enableNetworkIsolation"] and network["vpcConfig"]["subnets"]
        assert job.inputs["jobResources"]["clusterConfig"]["volumeKmsKeyId"]
        assert job.inputs["dataQualityJobOutputConfig"]["kmsKeyId"] == result.outputs["keyArns"]["artifacts"]


def test_dev_has_no_data_quality_schedule(shipped_stack):
    assert shipped_stack("dev").by_type(SCHEDULE) == []


def test_monitor_role_policy_matches_its_golden_file(shipped_stack):
    result = shipped_stack("staging")
    policy = result.one("aws:iam/rolePolicy:RolePolicy", "data-quality-churn-execution-data-quality")
    assert_golden("model_monitor_role_policy.json", json.loads(policy.inputs["policy"]))
