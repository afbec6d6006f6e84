"""Values AWS would reject at deploy time, caught from botocore's service models."""

from __future__ import annotations

import pulumi_aws as aws
import pytest

from preflight.model import StackResult
from preflight.scanners import aws_values
from preflight.scanners.config import project_config
from preflight.testing import REPO, render

ROLE = "arn:aws:iam::123456789012:role/nodes"


def _node_group(**overrides):
    args = {
        "cluster_name": "c",
        "node_role_arn": ROLE,
        "subnet_ids": ["subnet-1"],
        "scaling_config": aws.eks.NodeGroupScalingConfigArgs(desired_size=0, max_size=2, min_size=0),
        "ami_type": "AL2023_x86_64_NVIDIA",
        "capacity_type": "ON_DEMAND",
        "instance_types": ["g5.xlarge"],
        "taints": [aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")],
    }
    return lambda: aws.eks.NodeGroup("gpu", **{**args, **overrides})


def _variant(**overrides):
    args = {"model_name": "m", "variant_name": "primary", "instance_type": "ml.g5.xlarge", "initial_instance_count": 1}
    return lambda: aws.sagemaker.EndpointConfiguration(
        "epc", production_variants=[aws.sagemaker.EndpointConfigurationProductionVariantArgs(**{**args, **overrides})]
    )


def _scan(program, config=None):
    return aws_values.scan(render(program, config=config), project_config(REPO))


def test_valid_values_raise_nothing():
    def program():
        _node_group()()
        _variant()()
        aws.ec2.LaunchTemplate("lt", instance_type="g6e.2xlarge")
        aws.cloudwatch.LogGroup("logs", retention_in_days=365)

    assert _scan(program) == []


@pytest.mark.parametrize(
    ("program", "policy", "field", "value"),
    [
        (_node_group(ami_type="AL2023_X86_64_NVIDIA"), "aws-api/eks.AMITypes", "amiType", "AL2023_X86_64_NVIDIA"),
        (_node_group(capacity_type="SPOTS"), "aws-api/eks.CapacityTypes", "capacityType", "SPOTS"),
        (
            _node_group(instance_types=["g5.xlarge", "g5.xlarg"]),
            "aws-api/ec2.InstanceType",
            "instanceTypes[1]",
            "g5.xlarg",
        ),
        (
            _variant(instance_type="ml.g5.xlarg"),
            "aws-api/sagemaker.ProductionVariantInstanceType",
            "productionVariants[0].instanceType",
            "ml.g5.xlarg",
        ),
        (
            _variant(volume_size_in_gb=1000),
            "aws-api/sagemaker.ProductionVariantVolumeSizeInGB",
            "productionVariants[0].volumeSizeInGb",
            1000,
        ),
        (
            lambda: aws.ec2.LaunchTemplate("lt", instance_type="m5.larg"),
            "aws-api/ec2.InstanceType",
            "instanceType",
            "m5.larg",
        ),
        (
            lambda: aws.cloudwatch.LogGroup("logs", retention_in_days=45),
            "aws-api/logs.RetentionInDays",
            "retentionInDays",
            45,
        ),
    ],
)
def test_a_value_aws_rejects_is_a_mandatory_finding(program, policy, field, value):
    [finding] = _scan(program)
    assert (finding.source, finding.policy, finding.enforcement) == ("aws-api", policy, "mandatory")
    assert f": {field} = {value!r} is not accepted by the AWS API; " in finding.message


def test_a_taint_effect_in_the_wrong_case_names_resource_field_value_and_allowed_set():
    program = _node_group(taints=[aws.eks.NodeGroupTaintArgs(key="gpu", value="true", effect="NoSchedule")])
    [finding] = _scan(program)
    assert finding.message == (
        "aws:eks/nodeGroup:NodeGroup 'gpu': taints[0].effect = 'NoSchedule' is not accepted by the AWS API; "
        "allowed: NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE"
    )


def test_a_misspelt_instance_type_suggests_the_closest_real_ones():
    [finding] = _scan(_variant(instance_type="ml.g5.xlarg"))
    assert "closest: ml.g5.xlarge" in finding.message


def test_serverless_memory_outside_the_api_bounds_is_reported_with_the_bounds():
    program = _variant(
        instance_type=None,
        initial_instance_count=None,
        serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
            memory_size_in_mb=512, max_concurrency=5
        ),
    )
    [finding] = _scan(program)
    assert finding.message.endswith(
        "productionVariants[0].serverlessConfig.memorySizeInMb = 512 is not accepted by the AWS API; allowed: 1024..6144"
    )


def test_log_retention_values_come_from_the_botocore_model():
    days = aws_values.log_retention_days()
    assert {0, 1, 365, 3653} <= set(days) and 45 not in days


def test_a_region_typo_in_stack_config_is_reported_once():
    result = render(lambda: aws.s3.Bucket("b"), config={"aws:region": "us-west-3"})
    findings = [f for f in aws_values.scan(result, project_config(REPO)) if f.policy == "aws-api/regions"]
    assert len(findings) == 1
    assert "region = 'us-west-3' is not accepted by the AWS API; one of the" in findings[0].message


def test_an_empty_stack_has_nothing_to_check():
    assert aws_values.scan(StackResult("p", "dev"), project_config(REPO)) == []
