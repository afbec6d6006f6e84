"""Encryption rules: data at rest under KMS keys the account controls, and keys that rotate."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from . import instances
from ._common import (
    UNKNOWN,
    StackIndex,
    elements,
    get,
    is_false,
    is_true,
    known,
    resource_policy,
    shown,
    stack_policy,
)
from ._s3 import BucketLinks
from ._types import (
    BUCKET_ENCRYPTION,
    EBS_VOLUME,
    EC2_INSTANCE,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    SAGEMAKER_ENDPOINT_CONFIG,
    SNS_TOPIC,
    SQS_QUEUE,
)

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


# ---- S3 ------------------------------------------------------------------------------------------------------


def _declared_algorithms(bucket, configs) -> list[tuple[str, object]]:
    """(where, sseAlgorithm) for every default-encryption rule that applies to the bucket."""
    found = []
    for config in configs:
        for rule in elements(get(config.props, "rules")):
            found.append((config.name, get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")))
    inline = get(
        bucket.props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault", "sseAlgorithm"
    )
    if inline is not None and inline is not UNKNOWN:
        found.append(("serverSideEncryptionConfiguration", inline))
    for block in elements(get(bucket.props, "serverSideEncryptionConfigurations")):
        for rule in elements(get(block, "rules")):
            algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            if algorithm is not None and algorithm is not UNKNOWN:
                found.append(("serverSideEncryptionConfigurations", algorithm))
    return found


def _check_bucket_encryption(args: StackValidationArgs, report: ReportViolation) -> None:
    links = BucketLinks.of(StackIndex(args.resources))
    configs = links.attached(BUCKET_ENCRYPTION)
    log_destinations = links.log_destinations()
    for bucket in links.buckets:
        declared = _declared_algorithms(bucket, configs[bucket.urn])
        if not declared:
            report(
                "no BucketServerSideEncryptionConfiguration refers to this bucket, so S3 encrypts it with its "
                "SSE-S3 default (AES256), not a KMS key",
                bucket.urn,
            )
            continue
        allowed = KMS_ALGORITHMS + (("AES256",) if bucket.urn in log_destinations else ())
        for where, algorithm in declared:
            if algorithm is UNKNOWN or algorithm in allowed:
                continue
            if algorithm == "AES256":
                report(
                    f"{where} sets sseAlgorithm 'AES256' (SSE-S3): only aws:kms or aws:kms:dsse is allowed, except "
                    "on a bucket that receives server or load balancer access logs",
                    bucket.urn,
                )
            else:
                report(f"{where} sets sseAlgorithm {algorithm!r}: use aws:kms or aws:kms:dsse", bucket.urn)


S3_BUCKET_KMS = stack_policy(
    "s3-bucket-kms-encryption",
    category="encryption",
    severity=Severity.HIGH,
    description="S3 buckets are encrypted by default with a KMS key (SSE-KMS); only access-log destinations may use SSE-S3.",
    remediation=(
        "Declare an aws.s3.BucketServerSideEncryptionConfiguration for the bucket (bucket=bucket.id) with "
        "apply_server_side_encryption_by_default sse_algorithm='aws:kms' and kms_master_key_id set to a customer "
        "managed key; enable bucket_key_enabled to keep KMS request costs down."
    ),
    check=_check_bucket_encryption,
)


# ---- EKS -----------------------------------------------------------------------------------------------------


def _check_eks_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = known(get(args.props, "encryptionConfig"), "encryptionConfig")
    if config is None:
        report("encryptionConfig is not set: Kubernetes secrets are not envelope-encrypted with a KMS key you control")
        return
    resources = [str(r) for r in elements(known(get(config, "resources"), "encryptionConfig.resources"))]
    if "secrets" not in resources:
        report(f"encryptionConfig.resources is {resources}: it must include 'secrets'")
    if get(config, "provider", "keyArn") is None:
        report("encryptionConfig.provider.keyArn is not set")


EKS_SECRETS = resource_policy(
    "eks-secrets-encryption",
    category="encryption",
    severity=Severity.HIGH,
    description="EKS clusters envelope-encrypt Kubernetes secrets with a customer managed KMS key.",
    remediation=(
        "Set encryption_config on the aws.eks.Cluster: resources=['secrets'] and provider.key_arn set to a "
        "customer managed KMS key with rotation on. It cannot be turned off once enabled."
    ),
    types=[EKS_CLUSTER],
    check=_check_eks_secrets,
)


# ---- EBS -----------------------------------------------------------------------------------------------------


def _check_ebs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == EBS_VOLUME:
        if not is_true(known(get(props, "encrypted"), "encrypted")):
            report(f"encrypted is {shown(get(props, 'encrypted'))}: the volume is stored unencrypted")
        return
    if args.resource_type == LAUNCH_TEMPLATE:
        mappings = elements(known(get(props, "blockDeviceMappings"), "blockDeviceMappings"))
        if not mappings:
            report(
                "declares no blockDeviceMappings: the root volume takes the AMI's settings, which are unencrypted "
                "unless the account turned on EBS encryption by default"
            )
        for i, mapping in enumerate(mappings):
            ebs = get(mapping, "ebs")
            if ebs is None or ebs is UNKNOWN:
                continue
            encrypted = known(get(ebs, "encrypted"), f"blockDeviceMappings.{i}.ebs.encrypted")
            if not is_true(encrypted):
                device = get(mapping, "deviceName", default=f"#{i + 1}")
                report(f"blockDeviceMappings {device}: ebs.encrypted is {shown(encrypted)}; it must be 'true'")
        return
    # An instance launched from a template takes its volumes from the template (judged there).
    root = known(get(props, "rootBlockDevice"), "rootBlockDevice")
    if root is None and get(props, "launchTemplate") is None:
        report("rootBlockDevice is not set: the root volume takes the AMI's settings, which are unencrypted")
    elif root is not None and not is_true(known(get(root, "encrypted"), "rootBlockDevice.encrypted")):
        report(f"rootBlockDevice.encrypted is {shown(get(root, 'encrypted'))}: the root volume is unencrypted")
    for i, device in enumerate(elements(get(props, "ebsBlockDevices"))):
        encrypted = known(get(device, "encrypted"), f"ebsBlockDevices.{i}.encrypted")
        if not is_true(encrypted):
            report(f"ebsBlockDevices {get(device, 'deviceName', default=f'#{i + 1}')}: encrypted is {shown(encrypted)}")


EBS_ENCRYPTED = resource_policy(
    "ebs-encryption",
    category="encryption",
    severity=Severity.HIGH,
    description="EBS volumes, and the volumes launch templates and instances declare, are encrypted.",
    remediation=(
        "aws.ebs.Volume: encrypted=True (with kms_key_id). Launch templates: a block_device_mappings entry for the "
        "root device with ebs.encrypted='true' and ebs.kms_key_id. Instances: root_block_device.encrypted=True "
        "and encrypted=True on every ebs_block_device."
    ),
    types=[EBS_VOLUME, LAUNCH_TEMPLATE, EC2_INSTANCE],
    check=_check_ebs,
)


# ---- SageMaker -----------------------------------------------------------------------------------------------


def _check_sagemaker_endpoint_config(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    variants = elements(get(props, "productionVariants")) + elements(get(props, "shadowProductionVariants"))
    instance_types = [t for v in variants if isinstance(t := get(v, "instanceType"), str)]
    local = sorted({t for t in instance_types if instances.has_local_storage(t)})
    needs_key = [t for t in instance_types if not instances.has_local_storage(t)]
    # Presence checks read with `get`: a key ARN only known after apply is still a key.
    key = get(props, "kmsKeyArn")
    if key is None and needs_key:
        report(
            f"kmsKeyArn is not set: the ML storage volumes of {', '.join(sorted(set(needs_key)))} instances are "
            "encrypted with an AWS managed key"
        )
    if key is not None and local:
        report(
            f"kmsKeyArn is set, but {', '.join(local)} have local NVMe storage, which SageMaker encrypts in "
            "hardware: CreateEndpointConfig rejects a KMS key for them"
        )
    capture = known(get(props, "dataCaptureConfig"), "dataCaptureConfig")
    if capture is not None and not is_false(get(capture, "enableCapture")) and get(capture, "kmsKeyId") is None:
        report(
            "dataCaptureConfig.kmsKeyId is not set: captured requests and responses are not encrypted with your KMS key"
        )
    output = get(props, "asyncInferenceConfig", "outputConfig")
    if output is not None and output is not UNKNOWN and get(output, "kmsKeyId") is None:
        report(
            "asyncInferenceConfig.outputConfig.kmsKeyId is not set: async inference results are not encrypted with your KMS key"
        )


SAGEMAKER_ENDPOINT_ENCRYPTED = resource_policy(
    "sagemaker-endpoint-encryption",
    category="encryption",
    severity=Severity.HIGH,
    description="SageMaker endpoint configurations encrypt instance volumes, data capture and async results with KMS.",
    remediation=(
        "Set kms_key_arn on the aws.sagemaker.EndpointConfiguration (leave it unset only for instance types with "
        "local NVMe storage, which AWS encrypts in hardware), data_capture_config.kms_key_id when capture is on, "
        "and async_inference_config.output_config.kms_key_id for async endpoints."
    ),
    types=[SAGEMAKER_ENDPOINT_CONFIG],
    check=_check_sagemaker_endpoint_config,
)


# ---- logs, messaging, keys, images ---------------------------------------------------------------------------


def _check_log_group(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "kmsKeyId") is None:
        report("kmsKeyId is not set: log events are encrypted with a CloudWatch-owned key, not one you control")


LOG_GROUP_KMS = resource_policy(
    "log-group-kms-encryption",
    category="encryption",
    severity=Severity.MEDIUM,
    description="CloudWatch log groups are encrypted with a customer managed KMS key.",
    remediation=(
        "Set kms_key_id on the aws.cloudwatch.LogGroup to a key whose policy lets logs.<region>.amazonaws.com "
        "use it (with the kms:EncryptionContext:aws:logs:arn condition)."
    ),
    types=[LOG_GROUP],
    check=_check_log_group,
)


def _check_topic(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if get(args.props, "kmsMasterKeyId") is None:
        report("kmsMasterKeyId is not set: messages are stored unencrypted")


SNS_ENCRYPTED = resource_policy(
    "sns-topic-encryption",
    category="encryption",
    severity=Severity.MEDIUM,
    description="SNS topics encrypt messages at rest with KMS.",
    remediation=(
        "Set kms_master_key_id on the aws.sns.Topic to a customer managed key whose policy lets the publishing "
        "services (cloudwatch.amazonaws.com, budgets.amazonaws.com, ...) use it."
    ),
    types=[SNS_TOPIC],
    check=_check_topic,
)


def _check_queue(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if get(props, "kmsMasterKeyId") is not None:
        return
    # New queues get SSE-SQS unless the program turns it off.
    if is_false(known(get(props, "sqsManagedSseEnabled"), "sqsManagedSseEnabled")):
        report("sqsManagedSseEnabled is false and kmsMasterKeyId is not set: messages are stored unencrypted")


SQS_ENCRYPTED = resource_policy(
    "sqs-queue-encryption",
    category="encryption",
    severity=Severity.MEDIUM,
    description="SQS queues encrypt messages at rest (SSE-SQS or KMS).",
    remediation="Set kms_master_key_id on the aws.sqs.Queue, or leave sqs_managed_sse_enabled at its default (true).",
    types=[SQS_QUEUE],
    check=_check_queue,
)


def _check_key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    spec = get(props, "customerMasterKeySpec", default="SYMMETRIC_DEFAULT")
    # AWS rotates only symmetric encryption keys held in KMS itself.
    if spec != "SYMMETRIC_DEFAULT" or get(props, "customKeyStoreId") is not None:
        return
    rotation = known(get(props, "enableKeyRotation"), "enableKeyRotation")
    if not is_true(rotation):
        report(f"enableKeyRotation is {shown(rotation)}: the key material is never rotated")


KMS_ROTATION = resource_policy(
    "kms-key-rotation",
    category="encryption",
    severity=Severity.MEDIUM,
    description="Symmetric KMS keys rotate their key material automatically.",
    remediation="Set enable_key_rotation=True on the aws.kms.Key (rotation_period_in_days defaults to 365).",
    types=[KMS_KEY],
    check=_check_key_rotation,
)


def _check_ecr(args: ResourceValidationArgs, report: ReportViolation) -> None:
    configs = elements(known(get(args.props, "encryptionConfigurations"), "encryptionConfigurations"))
    types = [get(c, "encryptionType", default="AES256") for c in configs]
    if not types:
        report("encryptionConfigurations is not set: images are encrypted with AES256, not a KMS key")
    elif not any(t in ("KMS", "KMS_DSSE") for t in types):
        report(f"encryptionConfigurations uses {types[0]!r}: use 'KMS' with a customer managed key")


ECR_KMS = resource_policy(
    "ecr-repository-kms-encryption",
    category="encryption",
    severity=Severity.MEDIUM,
    description="ECR repositories encrypt images with a KMS key.",
    remediation=(
        "Set encryption_configurations=[{encryption_type: 'KMS', kms_key: <key ARN>}] on the aws.ecr.Repository "
        "(it cannot be changed after creation: the repository is replaced)."
    ),
    types=[ECR_REPOSITORY],
    check=_check_ecr,
)


POLICIES = [
    S3_BUCKET_KMS,
    EKS_SECRETS,
    EBS_ENCRYPTED,
    SAGEMAKER_ENDPOINT_ENCRYPTED,
    LOG_GROUP_KMS,
    SNS_ENCRYPTED,
    SQS_ENCRYPTED,
    KMS_ROTATION,
    ECR_KMS,
]
