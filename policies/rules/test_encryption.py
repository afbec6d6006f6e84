"""Encryption rules: a compliant resource passes; changing one property gives exactly one violation."""

import pulumi_aws as aws

from policies.rules.conftest import PACK
from preflight.model import UNKNOWN
from preflight.policy import evaluate
from preflight.testing import render

KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
s3 = aws.s3


def sse(name, bucket, algorithm="aws:kms", key=KEY):
    default = s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm=algorithm, kms_master_key_id=key if algorithm != "AES256" else None
    )
    return s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket,
        rules=[s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=default)],
    )


# ---- s3-bucket-kms-encryption --------------------------------------------------------------------------------


def test_bucket_with_kms_encryption_passes(check):
    def program():
        bucket = s3.Bucket("data")
        sse("data-sse", bucket.id)

    assert check(program, "s3-bucket-kms-encryption") == []


def test_bucket_without_encryption_configuration_fails(check):
    assert check(lambda: s3.Bucket("data"), "s3-bucket-kms-encryption") == [
        (
            "data: no BucketServerSideEncryptionConfiguration refers to this bucket, so S3 encrypts it with its SSE-S3 "
            "default (AES256), not a KMS key"
        )
    ]


def test_bucket_with_sse_s3_fails(check):
    def program():
        bucket = s3.Bucket("data")
        sse("data-sse", bucket.id, algorithm="AES256")

    assert check(program, "s3-bucket-kms-encryption") == [
        (
            "data: data-sse sets sseAlgorithm 'AES256' (SSE-S3): only aws:kms or aws:kms:dsse is allowed, except on a "
            "bucket that receives server or load balancer access logs"
        )
    ]


def test_server_access_log_destination_may_use_sse_s3(check):
    def program():
        logs = s3.Bucket("logs")
        sse("logs-sse", logs.id, algorithm="AES256")
        data = s3.Bucket("data")
        sse("data-sse", data.id)
        s3.BucketLogging("data-logging", bucket=data.id, target_bucket=logs.id, target_prefix="data/")

    assert check(program, "s3-bucket-kms-encryption") == []


def test_encryption_configuration_is_linked_by_dependency_when_the_bucket_id_is_not_known():
    # In a real preview a new bucket's id is unknown: the link comes from the engine's property dependencies.
    def program():
        bucket = s3.Bucket("data")
        sse("data-sse", bucket.id)

    result = render(program)
    config = result.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    config.inputs["bucket"] = config.outputs["bucket"] = UNKNOWN
    assert config.property_dependencies["bucket"] == [result.one("aws:s3/bucket:Bucket").urn]
    assert [v for v in evaluate(result, PACK) if v.policy == "s3-bucket-kms-encryption"] == []


def test_inline_v7_bucket_encryption_counts(check):
    def program():
        s3.Bucket(
            "data",
            server_side_encryption_configuration=s3.BucketServerSideEncryptionConfigurationArgs(
                rule=s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=KEY
                    )
                )
            ),
        )

    assert check(program, "s3-bucket-kms-encryption") == []


# ---- eks-secrets-encryption ----------------------------------------------------------------------------------


def cluster(**changes):
    args = {
        "role_arn": "arn:aws:iam::123456789012:role/cluster",
        "version": "1.35",
        "vpc_config": aws.eks.ClusterVpcConfigArgs(
            subnet_ids=["subnet-1", "subnet-2"], endpoint_public_access=False, endpoint_private_access=True
        ),
        "encryption_config": aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=KEY)
        ),
    }
    args.update(changes)
    return lambda: aws.eks.Cluster("eks", **args)


def test_cluster_with_secrets_encryption_passes(check):
    assert check(cluster(), "eks-secrets-encryption") == []


def test_cluster_without_encryption_config_fails(check):
    assert check(cluster(encryption_config=None), "eks-secrets-encryption") == [
        "eks: encryptionConfig is not set: Kubernetes secrets are not envelope-encrypted with a KMS key you control"
    ]


def test_cluster_encryption_without_secrets_resource_fails(check):
    config = aws.eks.ClusterEncryptionConfigArgs(
        resources=[], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=KEY)
    )
    assert check(cluster(encryption_config=config), "eks-secrets-encryption") == [
        "eks: encryptionConfig.resources is []: it must include 'secrets'"
    ]


# ---- ebs-encryption ------------------------------------------------------------------------------------------


def launch_template(encrypted="true", mappings=True):
    def program():
        aws.ec2.LaunchTemplate(
            "nodes",
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        encrypted=encrypted, kms_key_id=KEY, volume_size=100
                    ),
                )
            ]
            if mappings
            else None,
        )

    return program


def test_launch_template_with_encrypted_root_volume_passes(check):
    assert check(launch_template(), "ebs-encryption") == []


def test_launch_template_with_unencrypted_volume_fails(check):
    assert check(launch_template(encrypted="false"), "ebs-encryption") == [
        "nodes: blockDeviceMappings /dev/xvda: ebs.encrypted is 'false'; it must be 'true'"
    ]


def test_launch_template_without_block_device_mappings_fails(check):
    assert check(launch_template(mappings=False), "ebs-encryption") == [
        (
            "nodes: declares no blockDeviceMappings: the root volume takes the AMI's settings, which are unencrypted "
            "unless the account turned on EBS encryption by default"
        )
    ]


def test_volume_must_be_encrypted(check):
    assert (
        check(lambda: aws.ebs.Volume("v", availability_zone="us-west-2a", size=10, encrypted=True), "ebs-encryption")
        == []
    )
    assert check(lambda: aws.ebs.Volume("v", availability_zone="us-west-2a", size=10), "ebs-encryption") == [
        "v: encrypted is not set: the volume is stored unencrypted"
    ]


def test_instance_root_volume_must_be_encrypted(check):
    def program(encrypted):
        aws.ec2.Instance(
            "vm",
            ami="ami-123",
            instance_type="t3.micro",
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(encrypted=encrypted),
        )

    assert check(lambda: program(True), "ebs-encryption") == []
    assert check(lambda: program(False), "ebs-encryption") == [
        "vm: rootBlockDevice.encrypted is False: the root volume is unencrypted"
    ]


# ---- sagemaker-endpoint-encryption ---------------------------------------------------------------------------


def endpoint_config(instance_type="ml.m5.large", kms=KEY, capture_key=KEY, serverless=False):
    def program():
        variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name="primary",
            model_name="model",
            **(
                {
                    "serverless_config": aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                        max_concurrency=5, memory_size_in_mb=2048
                    )
                }
                if serverless
                else {"instance_type": instance_type, "initial_instance_count": 2}
            ),
        )
        aws.sagemaker.EndpointConfiguration(
            "serving",
            production_variants=[variant],
            kms_key_arn=kms,
            data_capture_config=aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                initial_sampling_percentage=10,
                destination_s3_uri="s3://capture/serving/",
                kms_key_id=capture_key,
                capture_options=[
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Input")
                ],
            ),
        )

    return program


def test_endpoint_config_with_keys_passes(check):
    assert check(endpoint_config(), "sagemaker-endpoint-encryption") == []


def test_endpoint_config_without_volume_key_fails(check):
    assert check(endpoint_config(kms=None), "sagemaker-endpoint-encryption") == [
        "serving: kmsKeyArn is not set: the ML storage volumes of ml.m5.large instances are encrypted with an AWS managed key"
    ]


def test_endpoint_config_without_data_capture_key_fails(check):
    assert check(endpoint_config(capture_key=None), "sagemaker-endpoint-encryption") == [
        "serving: dataCaptureConfig.kmsKeyId is not set: captured requests and responses are not encrypted with your KMS key"
    ]


def test_local_nvme_instance_type_needs_no_volume_key(check):
    assert check(endpoint_config(instance_type="ml.g5.xlarge", kms=None), "sagemaker-endpoint-encryption") == []


def test_local_nvme_instance_type_rejects_a_volume_key(check):
    assert check(endpoint_config(instance_type="ml.g5.xlarge"), "sagemaker-endpoint-encryption") == [
        (
            "serving: kmsKeyArn is set, but ml.g5.xlarge have local NVMe storage, which SageMaker encrypts in hardware: "
            "CreateEndpointConfig rejects a KMS key for them"
        )
    ]


def test_serverless_endpoint_config_needs_no_volume_key(check):
    assert check(endpoint_config(serverless=True, kms=None), "sagemaker-endpoint-encryption") == []


# ---- log groups, topics, queues, keys, repositories -------------------------------------------------------------


def test_log_group_needs_a_kms_key(check):
    assert (
        check(lambda: aws.cloudwatch.LogGroup("logs", kms_key_id=KEY, retention_in_days=30), "log-group-kms-encryption")
        == []
    )
    assert check(lambda: aws.cloudwatch.LogGroup("logs", retention_in_days=30), "log-group-kms-encryption") == [
        "logs: kmsKeyId is not set: log events are encrypted with a CloudWatch-owned key, not one you control"
    ]


def test_log_group_key_known_only_after_apply_counts_as_set(check):
    def program():
        key = aws.kms.Key("key", enable_key_rotation=True)
        aws.cloudwatch.LogGroup("logs", kms_key_id=key.arn, retention_in_days=30)

    assert check(program, "log-group-kms-encryption") == []


def test_sns_topic_needs_a_kms_key(check):
    assert check(lambda: aws.sns.Topic("alarms", kms_master_key_id=KEY), "sns-topic-encryption") == []
    assert check(lambda: aws.sns.Topic("alarms"), "sns-topic-encryption") == [
        "alarms: kmsMasterKeyId is not set: messages are stored unencrypted"
    ]


def test_sqs_queue_keeps_default_sse_unless_turned_off(check):
    assert check(lambda: aws.sqs.Queue("jobs"), "sqs-queue-encryption") == []
    assert (
        check(
            lambda: aws.sqs.Queue("jobs", kms_master_key_id=KEY, sqs_managed_sse_enabled=False), "sqs-queue-encryption"
        )
        == []
    )
    assert check(lambda: aws.sqs.Queue("jobs", sqs_managed_sse_enabled=False), "sqs-queue-encryption") == [
        "jobs: sqsManagedSseEnabled is false and kmsMasterKeyId is not set: messages are stored unencrypted"
    ]


def test_kms_key_rotation(check):
    assert check(lambda: aws.kms.Key("key", enable_key_rotation=True), "kms-key-rotation") == []
    assert check(lambda: aws.kms.Key("key", enable_key_rotation=False), "kms-key-rotation") == [
        "key: enableKeyRotation is False: the key material is never rotated"
    ]
    assert check(lambda: aws.kms.Key("key"), "kms-key-rotation") == [
        "key: enableKeyRotation is not set: the key material is never rotated"
    ]


def test_asymmetric_keys_cannot_rotate_and_are_not_judged(check):
    assert (
        check(
            lambda: aws.kms.Key("signing", customer_master_key_spec="RSA_2048", key_usage="SIGN_VERIFY"),
            "kms-key-rotation",
        )
        == []
    )


def test_ecr_repository_needs_kms(check):
    def repo(kind):
        return lambda: aws.ecr.Repository(
            "images",
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type=kind, kms_key=KEY if kind == "KMS" else None
                )
            ]
            if kind
            else None,
        )

    assert check(repo("KMS"), "ecr-repository-kms-encryption") == []
    assert check(repo("AES256"), "ecr-repository-kms-encryption") == [
        "images: encryptionConfigurations uses 'AES256': use 'KMS' with a customer managed key"
    ]
    assert check(repo(None), "ecr-repository-kms-encryption") == [
        "images: encryptionConfigurations is not set: images are encrypted with AES256, not a KMS key"
    ]


def test_load_balancer_access_log_destination_may_use_sse_s3(check):
    def program(enabled):
        logs = s3.Bucket("lb-logs")
        sse("lb-logs-sse", logs.id, algorithm="AES256")
        aws.lb.LoadBalancer(
            "web",
            load_balancer_type="application",
            subnets=["subnet-1", "subnet-2"],
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=logs.id, enabled=enabled),
        )

    assert check(lambda: program(True), "s3-bucket-kms-encryption") == []
    assert check(lambda: program(False), "s3-bucket-kms-encryption") == [
        (
            "lb-logs: lb-logs-sse sets sseAlgorithm 'AES256' (SSE-S3): only aws:kms or aws:kms:dsse is allowed, except "
            "on a bucket that receives server or load balancer access logs"
        )
    ]
