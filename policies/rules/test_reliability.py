"""Reliability rules: a compliant resource passes; changing one property gives exactly one violation."""

import pulumi
import pulumi_aws as aws

s3 = aws.s3


def test_protected_key_and_bucket_pass(check):
    def program():
        aws.kms.Key("key", enable_key_rotation=True, opts=pulumi.ResourceOptions(protect=True))
        s3.Bucket("data", opts=pulumi.ResourceOptions(protect=True))

    assert check(program, "protect-stateful-resources") == []


def test_unprotected_bucket_fails(check):
    assert check(lambda: s3.Bucket("data"), "protect-stateful-resources") == [
        "data: protect is not set: a `pulumi destroy` or a replacement deletes it and everything it holds or encrypts"
    ]


def test_protected_types_are_a_setting(check):
    config = {"protect-stateful-resources": {"resourceTypes": ["aws:dynamodb/table:Table"]}}
    assert check(lambda: s3.Bucket("data"), "protect-stateful-resources", config) == []


def versioned_bucket(status="Enabled"):
    def program():
        bucket = s3.Bucket("data")
        if status:
            s3.BucketVersioning(
                "data-versioning",
                bucket=bucket.id,
                versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status=status),
            )

    return program


def test_versioned_bucket_passes(check):
    assert check(versioned_bucket(), "s3-bucket-versioning") == []


def test_suspended_versioning_fails(check):
    assert check(versioned_bucket("Suspended"), "s3-bucket-versioning") == [
        "data: versioning status is 'Suspended': an overwrite or delete loses the previous object for good"
    ]


def test_bucket_without_versioning_fails(check):
    assert check(versioned_bucket(None), "s3-bucket-versioning") == [
        "data: no BucketVersioning refers to this bucket: an overwrite or delete loses the previous object for good"
    ]


def test_access_log_destination_needs_no_versioning(check):
    def program():
        logs = s3.Bucket("logs")
        versioned_bucket()()
        s3.BucketLogging("data-logging", bucket="data", target_bucket=logs.id, target_prefix="data/")

    assert check(program, "s3-bucket-versioning") == []


def endpoint_config(count=2, serverless=False):
    def program():
        size = (
            {
                "serverless_config": aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                    max_concurrency=5, memory_size_in_mb=2048
                )
            }
            if serverless
            else {"instance_type": "ml.m5.xlarge", "initial_instance_count": count}
        )
        aws.sagemaker.EndpointConfiguration(
            "serving",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(variant_name="primary", model_name="m", **size)
            ],
        )

    return program


def test_endpoint_with_two_instances_passes(check):
    assert check(endpoint_config(), "sagemaker-endpoint-min-instances") == []


def test_endpoint_with_one_instance_fails(check):
    assert check(endpoint_config(count=1), "sagemaker-endpoint-min-instances") == [
        (
            "serving: variant primary starts with 1 instance(s) of ml.m5.xlarge: at least 2 are needed so one instance "
            "or zone failure does not take the endpoint down"
        )
    ]


def test_serverless_endpoint_fails_where_instances_are_required(check):
    assert check(endpoint_config(serverless=True), "sagemaker-endpoint-min-instances") == [
        "serving: variant primary is serverless: it cannot keep 2 instances warm across Availability Zones"
    ]


def endpoint(alarms=("serving-5xx",), deployment=True):
    def program():
        config = None
        if deployment:
            config = aws.sagemaker.EndpointDeploymentConfigArgs(
                blue_green_update_policy=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
                    traffic_routing_configuration=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(
                        type="ALL_AT_ONCE", wait_interval_in_seconds=300
                    )
                ),
                auto_rollback_configuration=aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
                    alarms=[
                        aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=a)
                        for a in alarms
                    ]
                ),
            )
        aws.sagemaker.Endpoint("serving", endpoint_config_name="serving-config", deployment_config=config)

    return program


def test_endpoint_with_rollback_alarms_passes(check):
    assert check(endpoint(), "sagemaker-endpoint-auto-rollback") == []


def test_endpoint_without_rollback_alarms_fails(check):
    assert check(endpoint(alarms=()), "sagemaker-endpoint-auto-rollback") == [
        (
            "serving: deploymentConfig.autoRollbackConfiguration has no alarms: a bad model version keeps serving until "
            "someone notices"
        )
    ]
    assert check(endpoint(deployment=False), "sagemaker-endpoint-auto-rollback") == [
        "serving: deploymentConfig is not set: an update replaces the fleet without traffic shifting or alarm-based rollback"
    ]


def network(zones):
    def program():
        vpc = aws.ec2.Vpc("main", cidr_block="10.0.0.0/16")
        for i, zone in enumerate(zones):
            aws.ec2.Subnet(f"private-{zone}", vpc_id=vpc.id, cidr_block=f"10.0.{i}.0/24", availability_zone=zone)

    return program


def test_network_across_three_zones_passes(check):
    assert check(network(["us-west-2a", "us-west-2b", "us-west-2c"]), "network-multi-az") == []


def test_network_in_two_zones_fails(check):
    assert check(network(["us-west-2a", "us-west-2b", "us-west-2a"]), "network-multi-az") == [
        (
            "main: subnets span 2 Availability Zone(s) (us-west-2a, us-west-2b); at least 3 are required so losing one "
            "zone leaves capacity"
        )
    ]


def cluster(version="1.35"):
    return lambda: aws.eks.Cluster(
        "eks",
        role_arn="arn:aws:iam::123456789012:role/cluster",
        version=version,
        vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1"]),
    )


def test_supported_eks_version_passes(check):
    assert check(cluster(), "eks-supported-version") == []


def test_unsupported_or_unpinned_eks_version_fails(check):
    assert check(cluster("1.29"), "eks-supported-version") == [
        "eks: version 1.29 is not supported here (supported: 1.34, 1.35, 1.36, 1.37)"
    ]
    assert check(cluster(None), "eks-supported-version") == [
        "eks: version is not set: EKS picks its current default, so the control plane's version changes without review"
    ]
    assert (
        check(cluster("1.29"), "eks-supported-version", {"eks-supported-version": {"supportedVersions": ["1.29"]}})
        == []
    )


def test_ecr_tags_must_be_immutable(check):
    assert check(lambda: aws.ecr.Repository("images", image_tag_mutability="IMMUTABLE"), "ecr-immutable-tags") == []
    assert check(lambda: aws.ecr.Repository("images"), "ecr-immutable-tags") == [
        "images: imageTagMutability is 'MUTABLE': a pushed tag can be overwritten, so a redeploy may run different code"
    ]
