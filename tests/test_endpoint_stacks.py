"""Each shipped stack renders its model endpoint the way its environment requires."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TARGET = "aws:appautoscaling/target:Target"


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_stack_renders_an_endpoint_and_its_registry_group(name, shipped_stack):
    result = shipped_stack(name)
    assert result.one(ENDPOINT).inputs["name"] == f"ml-platform-{name}-churn"
    group = result.one("aws:sagemaker/modelPackageGroup:ModelPackageGroup").inputs["modelPackageGroupName"]
    assert group == f"ml-platform-{name}-churn-classifier"
    assert result.outputs["endpoints"]["churn"]["endpointName"] == f"ml-platform-{name}-churn"


def test_dev_endpoint_is_serverless_from_an_archive(shipped_stack):
    result = shipped_stack("dev")
    variant = result.one(CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"]["memorySizeInMb"] == 2048 and "instanceType" not in variant
    assert result.one(MODEL).inputs["primaryContainer"]["modelDataUrl"].endswith("/churn-classifier/1.4.2/model.tar.gz")
    assert result.by_type(TARGET) == []


@pytest.mark.parametrize(("name", "floor"), [("staging", 2), ("prod", 2)])
def test_staging_and_prod_deploy_approved_versions_blue_green_with_autoscaling(name, floor, shipped_stack):
    result = shipped_stack(name)
    container = result.one(MODEL).inputs["primaryContainer"]
    assert container["modelPackageName"].endswith(f":model-package/ml-platform-{name}-churn-classifier/1")
    assert result.one(MODEL).inputs["enableNetworkIsolation"] is True and result.one(MODEL).inputs["vpcConfig"]
    variant = result.one(CONFIG).inputs["productionVariants"][0]
    assert variant["initialInstanceCount"] >= floor
    assert result.one(TARGET).inputs["minCapacity"] >= floor
    config = result.one(CONFIG).inputs
    assert config["dataCaptureConfig"]["kmsKeyId"] and config["kmsKeyArn"]
    deployment = result.one(ENDPOINT).inputs["deploymentConfig"]
    assert deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"] == "CANARY"
    assert len(deployment["autoRollbackConfiguration"]["alarms"]) == 2


def test_execution_roles_carry_the_permission_boundary(shipped_stack):
    for name in ("dev", "staging", "prod"):
        result = shipped_stack(name)
        role = result.one("aws:iam/role:Role", "endpoint-churn-execution-role")
        assert role.inputs["permissionsBoundary"] == result.outputs["permissionBoundaryArn"]


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_alarm_names_and_thresholds_are_stack_outputs(name, shipped_stack):
    summary = shipped_stack(name).outputs["endpoints"]["churn"]
    prefix = f"ml-platform-{name}-churn-primary"
    assert summary["alarmNames"] == {
        "5xx": f"{prefix}-5xx-errors",
        "latency": f"{prefix}-model-latency-p99",
        "4xx": f"{prefix}-4xx-errors",
        "cpu": f"{prefix}-cpu-utilization",
    }
    assert sorted(summary["rollbackAlarmNames"]) == sorted([f"{prefix}-5xx-errors", f"{prefix}-model-latency-p99"])
    assert (summary["alarmThresholds"]["5xx"], summary["alarmThresholds"]["latency"]) == (0.01, 1_000_000)
    assert summary["dataCaptureUri"].endswith(f"/ml-platform-{name}-churn/")
