"""Reliability rules: stateful resources survive mistakes, serving survives an instance or zone loss, versions
stay supported."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from . import instances
from ._common import (
    UNKNOWN,
    StackIndex,
    elements,
    get,
    is_true,
    known,
    num,
    plain,
    resource_policy,
    setting,
    shown,
    stack_policy,
)
from ._s3 import BucketLinks
from ._types import (
    BUCKET_VERSIONING,
    BUCKETS,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    KARPENTER_NODE_POOL,
    KMS_KEY,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_ENDPOINT_CONFIG,
    SUBNET,
    VPC,
)
from .cost import gpu_node_groups, nodepool_is_gpu

PROTECT_SCHEMA = {
    "resourceTypes": {
        "type": "array",
        "items": {"type": "string", "pattern": "^[a-zA-Z0-9-]+:[a-zA-Z0-9/.-]+:[a-zA-Z0-9]+$"},
        "uniqueItems": True,
        "default": [KMS_KEY, *BUCKETS],
        "description": "Type tokens of the stateful resources that must be protected.",
    }
}


def _check_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in setting(args.get_config(), "resourceTypes", PROTECT_SCHEMA):
        return
    if not args.opts.protect:
        report("protect is not set: a `pulumi destroy` or a replacement deletes it and everything it holds or encrypts")


PROTECT_STATEFUL = resource_policy(
    "protect-stateful-resources",
    category="reliability",
    severity=Severity.HIGH,
    description="Stateful resources (KMS keys, S3 buckets) are protected from deletion (prod).",
    remediation=(
        "Pass opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True) to the resource "
        "(the platform's stacks set protectStatefulResources: true)."
    ),
    types=None,
    check=_check_protected,
    config=PROTECT_SCHEMA,
)


def _check_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    links = BucketLinks.of(StackIndex(args.resources))
    configs = links.attached(BUCKET_VERSIONING)
    # Access-log buckets only ever receive new objects: versions would only add cost.
    log_destinations = links.log_destinations()
    for bucket in links.buckets:
        if bucket.urn in log_destinations:
            continue
        statuses = [get(c.props, "versioningConfiguration", "status") for c in configs[bucket.urn]]
        inline = get(bucket.props, "versioning", "enabled")
        if inline is not None and inline is not UNKNOWN:
            statuses.append("Enabled" if is_true(inline) else "Disabled")
        statuses += [
            "Enabled" if is_true(get(v, "enabled")) else "Disabled" for v in elements(get(bucket.props, "versionings"))
        ]
        if UNKNOWN in statuses or "Enabled" in statuses:
            continue
        if statuses:
            report(
                f"versioning status is {statuses[0]!r}: an overwrite or delete loses the previous object for good",
                bucket.urn,
            )
        else:
            report(
                "no BucketVersioning refers to this bucket: an overwrite or delete loses the previous object for good",
                bucket.urn,
            )


S3_VERSIONING = stack_policy(
    "s3-bucket-versioning",
    category="reliability",
    severity=Severity.HIGH,
    description="S3 buckets keep object versions (access-log destinations aside).",
    remediation=(
        "Declare an aws.s3.BucketVersioning for the bucket (bucket=bucket.id) with versioning_configuration "
        "status='Enabled', and a lifecycle rule that expires noncurrent versions."
    ),
    check=_check_versioning,
)

ENDPOINT_SCHEMA = {
    "minInstances": {
        "type": "integer",
        "minimum": 1,
        "default": 2,
        "description": "Fewest instances each production variant starts with.",
    }
}


def _check_endpoint_instances(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = setting(args.get_config(), "minInstances", ENDPOINT_SCHEMA)
    for variant in elements(known(get(args.props, "productionVariants"), "productionVariants")):
        name = get(variant, "variantName", default="?")
        if get(variant, "serverlessConfig") is not None:
            report(
                f"variant {name} is serverless: it cannot keep {num(minimum)} instances warm across Availability Zones"
            )
            continue
        count = known(get(variant, "initialInstanceCount"), "productionVariants.initialInstanceCount")
        if isinstance(count, (int, float)) and count < minimum:
            report(
                f"variant {name} starts with {num(count)} instance(s) of {get(variant, 'instanceType')}: at least "
                f"{num(minimum)} are needed so one instance or zone failure does not take the endpoint down"
            )


SAGEMAKER_MIN_INSTANCES = resource_policy(
    "sagemaker-endpoint-min-instances",
    category="reliability",
    severity=Severity.HIGH,
    description="SageMaker production variants run on at least two instances (prod).",
    remediation=(
        "Set initial_instance_count >= 2 on every production variant (and an autoscaling minimum of 2); "
        "SageMaker spreads the instances across Availability Zones."
    ),
    types=[SAGEMAKER_ENDPOINT_CONFIG],
    check=_check_endpoint_instances,
    config=ENDPOINT_SCHEMA,
)


def _check_auto_rollback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    deployment = known(get(args.props, "deploymentConfig"), "deploymentConfig")
    if deployment is None:
        report(
            "deploymentConfig is not set: an update replaces the fleet without traffic shifting or alarm-based rollback"
        )
        return
    alarms = elements(get(deployment, "autoRollbackConfiguration", "alarms"))
    if not alarms:
        report(
            "deploymentConfig.autoRollbackConfiguration has no alarms: a bad model version keeps serving until someone notices"
        )


SAGEMAKER_AUTO_ROLLBACK = resource_policy(
    "sagemaker-endpoint-auto-rollback",
    category="reliability",
    severity=Severity.MEDIUM,
    description="SageMaker endpoints deploy blue/green with CloudWatch alarms that roll a bad update back (prod).",
    remediation=(
        "Set deployment_config on the aws.sagemaker.Endpoint with a blue_green_update_policy and "
        "auto_rollback_configuration.alarms naming alarms on the endpoint's errors and latency."
    ),
    types=[SAGEMAKER_ENDPOINT],
    check=_check_auto_rollback,
)

AZ_SCHEMA = {
    "minAvailabilityZones": {
        "type": "integer",
        "minimum": 1,
        "default": 3,
        "description": "Fewest Availability Zones each VPC's subnets must span.",
    }
}


def _check_multi_az(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = setting(args.get_config(), "minAvailabilityZones", AZ_SCHEMA)
    index = StackIndex(args.resources)
    vpcs = index.of_type(VPC)
    subnets = index.linked(index.of_type(SUBNET), "vpcId", vpcs, ("id",))
    for vpc in vpcs:
        zones = [get(s.props, "availabilityZone") or get(s.props, "availabilityZoneId") for s in subnets[vpc.urn]]
        if not zones or UNKNOWN in zones:
            continue
        distinct = sorted({str(z) for z in zones if z})
        if len(distinct) < minimum:
            report(
                f"subnets span {len(distinct)} Availability Zone(s) ({', '.join(distinct)}); at least {num(minimum)} are "
                "required so losing one zone leaves capacity",
                vpc.urn,
            )


NETWORK_MULTI_AZ = stack_policy(
    "network-multi-az",
    category="reliability",
    severity=Severity.HIGH,
    description="VPCs spread their subnets across at least three Availability Zones (prod).",
    remediation="Create the VPC's subnets in at least minAvailabilityZones zones (the network component's azCount).",
    check=_check_multi_az,
    config=AZ_SCHEMA,
)

EKS_VERSION_SCHEMA = {
    "supportedVersions": {
        "type": "array",
        "items": {"type": "string", "pattern": "^1\\.[0-9]+$"},
        "minItems": 1,
        "uniqueItems": True,
        "default": instances.eks_standard_support_versions(),
        "description": "EKS Kubernetes versions in standard support that clusters and node groups may run.",
    }
}


def _check_eks_version(args: ResourceValidationArgs, report: ReportViolation) -> None:
    supported = setting(args.get_config(), "supportedVersions", EKS_VERSION_SCHEMA)
    version = known(get(args.props, "version"), "version")
    if version is None:
        if args.resource_type == EKS_CLUSTER:
            report(
                "version is not set: EKS picks its current default, so the control plane's version changes without review"
            )
        return  # a node group follows its cluster's version
    if str(version) not in supported:
        report(f"version {version} is not supported here (supported: {', '.join(supported)})")


EKS_SUPPORTED_VERSION = resource_policy(
    "eks-supported-version",
    category="reliability",
    severity=Severity.MEDIUM,
    description="EKS clusters and node groups pin a Kubernetes version in standard support.",
    remediation=(
        "Set version on the aws.eks.Cluster to a supported version (upgrade one minor version at a time) and "
        "update supportedVersions for this rule as EKS releases and retires versions."
    ),
    types=[EKS_CLUSTER, EKS_NODE_GROUP],
    check=_check_eks_version,
    config=EKS_VERSION_SCHEMA,
)


def _check_immutable_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mutability = known(get(args.props, "imageTagMutability", default="MUTABLE"), "imageTagMutability")
    if not str(mutability).startswith("IMMUTABLE"):
        report(
            f"imageTagMutability is {shown(mutability)}: a pushed tag can be overwritten, so a redeploy may run different code"
        )


ECR_IMMUTABLE_TAGS = resource_policy(
    "ecr-immutable-tags",
    category="reliability",
    severity=Severity.LOW,
    description="ECR repositories keep image tags immutable.",
    remediation="Set image_tag_mutability='IMMUTABLE' on the aws.ecr.Repository and deploy images by tag or digest.",
    types=[ECR_REPOSITORY],
    check=_check_immutable_tags,
)


# ---- Karpenter GPU NodePools -------------------------------------------------------------------------------

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def _check_gpu_nodepool_taint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not nodepool_is_gpu(args.props):
        return
    taints = [plain(t) for t in elements(get(args.props, "spec", "template", "spec", "taints"))]
    if not any(get(t, "key") == GPU_TAINT["key"] and get(t, "effect") in ("NoSchedule", "NoExecute") for t in taints):
        report(
            "GPU NodePool has no nvidia.com/gpu NoSchedule taint: pods that need no GPU can land on (and keep up) "
            "GPU nodes"
        )


KARPENTER_GPU_TAINT = resource_policy(
    "karpenter-gpu-nodepool-taint",
    category="reliability",
    severity=Severity.HIGH,
    description="GPU Karpenter NodePools taint their nodes so only GPU workloads land there.",
    remediation="Add spec.template.spec.taints: [{key: nvidia.com/gpu, value: 'true', effect: NoSchedule}] to the NodePool.",
    types=[KARPENTER_NODE_POOL],
    check=_check_gpu_nodepool_taint,
)


def _check_inference_capacity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    labels = get(args.props, "spec", "template", "metadata", "labels", default={}) or {}
    if get(labels, "ml-platform/purpose") != "inference":
        return
    for requirement in elements(get(args.props, "spec", "template", "spec", "requirements")):
        if get(requirement, "key") == "karpenter.sh/capacity-type":
            values = [v for v in elements(get(requirement, "values")) if isinstance(v, str)]
            if values and set(values) == {"spot"}:
                report(
                    "inference NodePool launches spot capacity only: serving capacity can vanish at two minutes' notice"
                )


KARPENTER_INFERENCE_ON_DEMAND = resource_policy(
    "karpenter-inference-on-demand",
    category="reliability",
    severity=Severity.HIGH,
    description="Inference Karpenter NodePools may launch on-demand capacity (not spot only).",
    remediation=(
        "Add on-demand to the karpenter.sh/capacity-type requirement of the inference NodePool, or disable this "
        "rule for stacks without an availability promise."
    ),
    types=[KARPENTER_NODE_POOL],
    check=_check_inference_capacity,
)


def _check_single_gpu_capacity_owner(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    groups = gpu_node_groups(index)
    pools = [p for p in index.of_type(KARPENTER_NODE_POOL) if nodepool_is_gpu(p.props)]
    if groups and pools:
        report(
            f"GPU capacity has two owners: node groups {', '.join(sorted(g.name for g, _ in groups))} (cluster-"
            f"autoscaler) and Karpenter NodePools {', '.join(sorted(p.name for p in pools))}; they race for the same "
            "pending pods and each scales down what the other brought up"
        )


GPU_CAPACITY_SINGLE_OWNER = stack_policy(
    "gpu-capacity-single-owner",
    category="reliability",
    severity=Severity.HIGH,
    description="GPU capacity comes from managed node groups or from Karpenter NodePools, never both.",
    remediation=(
        "Pick one: remove the GPU node groups when Karpenter manages GPU capacity (ml-platform: "
        "cluster.gpuCapacity: karpenter), or remove the GPU NodePools (cluster.gpuCapacity: node-groups)."
    ),
    check=_check_single_gpu_capacity_owner,
)


POLICIES = [
    PROTECT_STATEFUL,
    S3_VERSIONING,
    SAGEMAKER_MIN_INSTANCES,
    SAGEMAKER_AUTO_ROLLBACK,
    NETWORK_MULTI_AZ,
    EKS_SUPPORTED_VERSION,
    ECR_IMMUTABLE_TAGS,
    KARPENTER_GPU_TAINT,
    KARPENTER_INFERENCE_ON_DEMAND,
    GPU_CAPACITY_SINGLE_OWNER,
]
