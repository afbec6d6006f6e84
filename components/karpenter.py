"""GPU capacity from Karpenter: nodes launched for pending GPU pods, from zero, and removed when they empty.

Creates (with `cluster.gpuCapacity: karpenter`): the controller from its official Helm chart (pinned version) on the
system pool; its IAM role (a `WorkloadRole`: the boundary) bound by EKS Pod Identity, with the actions AWS's
Karpenter getting-started template lists, scoped to this cluster by tag and ARN; the interruption queue (SQS,
encrypted with its own KMS key that lets EventBridge deliver) and its four EventBridge rules (spot interruption,
rebalance recommendation, instance state change, AWS Health scheduled change); the node role with its `EC2_LINUX`
access entry; the discovery tag on the cluster security group; and per GPU pool of the config one `EC2NodeClass`
(pinned AL2023 AMI alias, IMDSv2 with hop limit 1, encrypted gp3 with the node key, the cost tags, private subnets
and security group by discovery tag) and one `NodePool` (the pool's instance types and capacity type, the GPU
taint and labels from `components.gpu_labels`, `limits` derived from the pool's maxSize, consolidation with disruption
budgets, expiry). The custom resources depend on the Helm release, which installs their CRDs.

Every manifest and document is built by a pure function here that tests call directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import field_validator

from components import facts, gpu_labels
from components.kms_policies import AwsContext, admin_statement
from components.node_pool import NODE_POLICIES, PURPOSE_LABEL, GpuPoolSettings
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, cluster_pod_identity_trust, service_trust

CHART = "oci://public.ecr.aws/karpenter/karpenter"
"""Karpenter's official chart (OCI). Installs the CRDs (NodePool, NodeClaim, EC2NodeClass) from its `crds/`."""
NAMESPACE = "kube-system"
"""Where AWS's guide installs the controller (next to the add-ons it must outlive)."""
SERVICE_ACCOUNT = "karpenter"
DISCOVERY_TAG = "karpenter.sh/discovery"
"""Tag Karpenter finds subnets and security groups by (the network tags private subnets with it)."""
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
"""Pod annotation: Karpenter never voluntarily removes a node running such a pod (consolidation, drift, expiry)."""
NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_POOL_API = "karpenter.sh/v1"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
CAPACITY_TYPES = {"on_demand": "on-demand", "spot": "spot"}
"""Config spelling -> Karpenter's `karpenter.sh/capacity-type` values."""

INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "health-scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}
"""EventBridge rule -> event pattern, as in AWS's Karpenter getting-started template: the controller drains a node
before EC2 takes it away."""

_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_AMI_ALIAS = re.compile(r"^al2023@v\d{8}$")
_DURATION = re.compile(r"^([1-9][0-9]*(s|m|h))+$")
_BUDGET = re.compile(r"^(\d+|\d+%)$")


def _check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError("a duration such as '30s', '5m' or '720h'")
    return value


class KarpenterSettings(Section):
    """Karpenter, when `cluster.gpuCapacity` is `karpenter`."""

    chart_version: str = "1.14.1"
    """Version of Karpenter's Helm chart (and controller). Pinned: an upgrade is a reviewed change here."""
    ami_alias: str = "al2023@v20260714"
    """EKS-optimised AL2023 AMI release the GPU nodes boot (Karpenter picks the NVIDIA variant for GPU types).
    Pinned: `al2023@latest` would roll every GPU node whenever AWS publishes an AMI."""
    expire_after: str = "720h"
    """Nodes are replaced after this long (30 days), so they pick up a newer AMI pin and never run unpatched
    for months. Pods marked `karpenter.sh/do-not-disrupt` hold a node until they finish."""
    consolidate_after: str = "5m"
    """How long a node must be empty or underutilized before Karpenter removes or replaces it."""
    training_disruption_budget: str = "10%"
    """Most training nodes disrupted at once (a count or a percentage). Running jobs are protected by their pods'
    do-not-disrupt annotation either way."""
    inference_disruption_budget: str = "1"
    """Most inference nodes disrupted at once: one, so consolidation never takes serving capacity away in bulk."""

    @field_validator("chart_version")
    @classmethod
    def _chart(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError("an exact chart version such as '1.14.1' (no ranges, no 'latest')")
        return value

    @field_validator("ami_alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        if not _AMI_ALIAS.match(value):
            raise ValueError("a pinned AL2023 alias such as 'al2023@v20260714' (not '@latest')")
        return value

    @field_validator("expire_after", "consolidate_after")
    @classmethod
    def _durations(cls, value: str) -> str:
        return _check_duration(value)

    @field_validator("training_disruption_budget", "inference_disruption_budget")
    @classmethod
    def _budgets(cls, value: str) -> str:
        if not _BUDGET.match(value):
            raise ValueError("a node count ('1') or a percentage ('10%')")
        return value


# ---- pure rules and builders --------------------------------------------------------------------------------


def pool_problem(*, min_size: int, ami_type: str) -> tuple[str, Any, str] | None:
    """(key, value, message) when a GPU pool of the config cannot be a Karpenter NodePool, else None."""
    if min_size > 0:
        return (
            "minSize",
            min_size,
            (
                "Karpenter brings GPU nodes up for pending pods and has no minimum size; set minSize: 0, "
                "or set cluster.gpuCapacity: node-groups to keep warm nodes"
            ),
        )
    if not ami_type.startswith("AL2023"):
        return (
            "amiType",
            ami_type,
            "with gpuCapacity: karpenter GPU nodes boot the pinned AL2023 alias (karpenter.amiAlias); use AL2023_x86_64_NVIDIA",
        )
    return None


def nodepool_limits(pool: GpuPoolSettings) -> dict[str, str]:
    """What the NodePool may bring up at most: the pool's maxSize of its widest instance type, in GPUs and vCPUs."""
    gpus = max(_tabled(t, facts.gpu_count(t), "gpusPerInstance") for t in pool.instance_types)
    vcpus = max(_tabled(t, facts.vcpu_count(t), "vcpusPerInstance") for t in pool.instance_types)
    return {gpu_labels.GPU_RESOURCE: str(pool.max_size * gpus), "cpu": str(pool.max_size * vcpus)}


def _tabled(instance_type: str, count: int | None, key: str) -> int:
    # The config refuses a GPU pool type whose counts are not tabled (`check_gpu_instance_types`, and
    # `components/facts/test_facts.py` holds every tabled EKS GPU type's vCPU count), so this only guards direct use.
    if not count:
        raise ValueError(f"{instance_type}: no {key} entry in components/facts/aws.json; add it there")
    return count


def gpu_limit(pool: GpuPoolSettings) -> int:
    return int(nodepool_limits(pool)[gpu_labels.GPU_RESOURCE])


def node_labels(pool: GpuPoolSettings) -> dict[str, str]:
    """The labels every node of the pool carries: the same the managed node groups set."""
    return {gpu_labels.POOL_LABEL: pool.name, PURPOSE_LABEL: pool.purpose, **gpu_labels.GPU_NODE_LABELS}


def nodepool_spec(pool: GpuPoolSettings, settings: KarpenterSettings, *, node_class_name: str) -> dict[str, Any]:
    budget = (
        settings.inference_disruption_budget if pool.purpose == "inference" else settings.training_disruption_budget
    )
    return {
        "template": {
            "metadata": {"labels": node_labels(pool)},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class_name},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
                    {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": [CAPACITY_TYPES[pool.capacity]]},
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                ],
                "taints": [
                    {
                        "key": gpu_labels.GPU_TAINT.key,
                        "value": gpu_labels.GPU_TAINT.value,
                        "effect": gpu_labels.GPU_TAINT.effect,
                    }
                ],
                "expireAfter": settings.expire_after,
            },
        },
        "limits": nodepool_limits(pool),
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": settings.consolidate_after,
            "budgets": [{"nodes": budget}],
        },
    }


def ec2_nodeclass_spec(
    pool: GpuPoolSettings,
    settings: KarpenterSettings,
    *,
    cluster_name: str,
    node_role_name: str,
    node_kms_key_arn: str,
    cost_tags: Mapping[str, str],
    placement_group_name: str | None = None,
) -> dict[str, Any]:
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    spec: dict[str, Any] = {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": settings.ami_alias}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        # Hop limit 1: pods (one hop further) cannot reach the node's metadata and borrow the node role.
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "ebs": {
                    "volumeSize": f"{pool.disk_gib}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "kmsKeyID": node_kms_key_arn,
                    "deleteOnTermination": True,
                },
            }
        ],
        # Karpenter launches the instances, so provider default tags never reach them: the cost tags go here.
        "tags": {**dict(cost_tags), gpu_labels.POOL_LABEL: pool.name},
    }
    if placement_group_name is not None:
        spec["placementGroupSelector"] = {"name": placement_group_name}
    return spec


def helm_values(settings: KarpenterSettings, *, cluster_name: str, queue_name: str) -> dict[str, Any]:
    """Values for Karpenter's chart (keys from its values.yaml)."""
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "replicas": 2,
        # On the system pool, never on a node Karpenter itself manages (the chart's default affinity does that).
        "nodeSelector": {"kubernetes.io/os": "linux", gpu_labels.POOL_LABEL: "system"},
        "controller": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
    }


def controller_policy(
    *,
    cluster_name: str,
    partition: str,
    region: str,
    account_id: str,
    node_role_arn: str,
    queue_arn: str,
    queue_key_arn: str,
) -> dict[str, Any]:
    """The controller's policy: AWS's getting-started template (node lifecycle, IAM integration, EKS integration,
    interruption, resource discovery) with the account and region filled in; zonal shift left out (off here)."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    request_owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    launched = [
        f"{ec2}:*:fleet/*",
        f"{ec2}:*:instance/*",
        f"{ec2}:*:volume/*",
        f"{ec2}:*:network-interface/*",
        f"{ec2}:*:launch-template/*",
        f"{ec2}:*:spot-instances-request/*",
    ]
    profiles = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    region_tag = {"aws:RequestTag/topology.kubernetes.io/region": region}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": request_owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **request_owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": owned,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:CreateInstanceProfile",
            "Condition": {
                "StringEquals": {**request_owned, **region_tag},
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:TagInstanceProfile",
            "Condition": {
                "StringEquals": {
                    **owned,
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    **request_owned,
                    **region_tag,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}",
            "Action": "eks:DescribeCluster",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        {
            # The queue is KMS-encrypted: receiving a message decrypts its data key, through SQS only.
            "Sid": "AllowInterruptionQueueDecrypt",
            "Effect": "Allow",
            "Resource": queue_key_arn,
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        },
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "pricing:GetProducts",
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:GetInstanceProfile",
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def queue_key_policy(ctx: AwsContext) -> dict[str, Any]:
    """The interruption queue's key: the account administers it; EventBridge may encrypt the events it delivers."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            admin_statement(ctx),
            {
                "Sid": "EventBridgeDeliversInterruptionEvents",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            },
        ],
    }


def queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> dict[str, Any]:
    """Only this stack's interruption rules may send; TLS only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeSendsInterruptionEvents",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}},
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


# ---- the component -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class KarpenterArgs:
    settings: KarpenterSettings
    pools: Sequence[GpuPoolSettings]
    """The stack file's GPU pools (`cluster.gpuPools`); one EC2NodeClass and one NodePool each."""
    cluster_name: str
    """The EKS cluster's name (fixed before the cluster exists; it is in the discovery tags)."""
    cluster: pulumi.Input[str]
    """The cluster's name as its output, so everything here waits for the cluster."""
    cluster_arn: pulumi.Input[str]
    """The cluster's ARN: the controller role trusts Pod Identity sessions of this cluster only."""
    cluster_security_group_id: pulumi.Input[str]
    """Tagged for discovery: Karpenter's nodes join with the same security group as the managed nodes."""
    node_kms_key_arn: pulumi.Input[str]
    permissions_boundary: pulumi.Input[str]
    cost_tags: Mapping[str, str]
    region: str
    partition: str = "aws"
    provider: k8s.Provider
    """The cluster's Kubernetes provider (the Kubernetes layer's)."""
    protect: bool = True
    """Default on: the queue's key is `protect`ed and retained (a deleted key cannot be brought back)."""


class Karpenter(pulumi.ComponentResource):
    """Karpenter and the GPU NodePools. Attributes: `release`, `controller_role`, `node_role`, `queue`,
    `node_classes[pool]`, `node_pools[pool]`."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id

        key_policy = account_id.apply(
            lambda account: json.dumps(
                queue_key_policy(AwsContext(account_id=account, partition=args.partition, region=args.region)),
                indent=2,
            )
        )
        self.queue_key = aws.kms.Key(
            f"{name}-interruption-key",
            description=f"Karpenter interruption queue of {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        self.queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=f"{args.cluster_name}-karpenter",
            # Interruption notices are worth nothing after the two minutes EC2 gives.
            message_retention_seconds=300,
            kms_master_key_id=self.queue_key.arn,
            kms_data_key_reuse_period_seconds=300,
            opts=child,
        )
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        for rule_name, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{rule_name}",
                name=f"{args.cluster_name}-karpenter-{rule_name}",
                description=f"Karpenter of {args.cluster_name}: {rule_name} events to the interruption queue",
                event_pattern=json.dumps(pattern),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{rule_name}",
                rule=rule.name,
                arn=self.queue.arn,
                target_id="KarpenterInterruptionQueueTarget",
                opts=child,
            )
            self.rules[rule_name] = rule
        aws.sqs.QueuePolicy(
            f"{name}-interruption-policy",
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, *[r.arn for r in self.rules.values()]).apply(
                lambda v: json.dumps(queue_policy(v[0], v[1:]), indent=2)
            ),
            opts=child,
        )

        self.node_role = WorkloadRole(
            f"{name}-node",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("ec2.amazonaws.com"),
                permissions_boundary=args.permissions_boundary,
                managed_policy_arns=[f"arn:{args.partition}:iam::aws:policy/{p}" for p in NODE_POLICIES],
                description=f"GPU nodes Karpenter launches for {args.cluster_name}: join the cluster, pull images",
            ),
            opts=child,
        )
        self.node_access_entry = aws.eks.AccessEntry(
            f"{name}-node",
            cluster_name=args.cluster,
            principal_arn=self.node_role.arn,
            type="EC2_LINUX",
            opts=child,
        )
        aws.ec2.Tag(
            f"{name}-security-group-discovery",
            resource_id=args.cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=args.cluster_name,
            opts=child,
        )

        policy = pulumi.Output.all(account_id, self.node_role.arn, self.queue.arn, self.queue_key.arn).apply(
            lambda v: json.dumps(
                controller_policy(
                    cluster_name=args.cluster_name,
                    partition=args.partition,
                    region=args.region,
                    account_id=v[0],
                    node_role_arn=v[1],
                    queue_arn=v[2],
                    queue_key_arn=v[3],
                ),
                indent=2,
            )
        )
        self.controller_role = WorkloadRole(
            f"{name}-controller",
            WorkloadRoleArgs(
                assume_role_policy=cluster_pod_identity_trust(args.cluster_arn, NAMESPACE, SERVICE_ACCOUNT),
                permissions_boundary=args.permissions_boundary,
                policies={"karpenter": policy},
                description=f"Karpenter controller of {args.cluster_name}: GPU nodes of this cluster only",
            ),
            opts=child,
        )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-controller",
            cluster_name=args.cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            role_arn=self.controller_role.arn,
            opts=child,
        )

        kube = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.release = k8s.helm.v3.Release(
            f"{name}-controller",
            name="karpenter",
            chart=CHART,
            version=settings.chart_version,
            namespace=NAMESPACE,
            values=self.queue.name.apply(
                lambda queue: helm_values(settings, cluster_name=args.cluster_name, queue_name=queue)
            ),
            atomic=True,
            opts=pulumi.ResourceOptions.merge(
                kube, pulumi.ResourceOptions(depends_on=[association, self.node_access_entry])
            ),
        )

        after_release = pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[self.release]))
        self.placement_groups: dict[str, aws.ec2.PlacementGroup] = {}
        self.node_classes: dict[str, k8s.apiextensions.CustomResource] = {}
        self.node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        for pool in args.pools:
            placement_name: pulumi.Input[str] | None = None
            if pool.efa:
                group = aws.ec2.PlacementGroup(f"{name}-{pool.name}-placement", strategy="cluster", opts=child)
                self.placement_groups[pool.name] = group
                placement_name = group.name
            class_name = f"gpu-{pool.name}"

            def node_class(values: list[Any], pool: GpuPoolSettings = pool) -> dict[str, Any]:
                return ec2_nodeclass_spec(
                    pool,
                    settings,
                    cluster_name=args.cluster_name,
                    node_role_name=values[0],
                    node_kms_key_arn=values[1],
                    cost_tags=args.cost_tags,
                    placement_group_name=values[2],
                )

            spec = pulumi.Output.all(self.node_role.role_name, args.node_kms_key_arn, placement_name).apply(node_class)
            self.node_classes[pool.name] = k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}-node-class",
                api_version=NODE_CLASS_API,
                kind="EC2NodeClass",
                metadata={"name": class_name},
                spec=spec,
                opts=after_release,
            )
            self.node_pools[pool.name] = k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}-node-pool",
                api_version=NODE_POOL_API,
                kind="NodePool",
                metadata={"name": pool.name, "labels": {PURPOSE_LABEL: pool.purpose}},
                spec=nodepool_spec(pool, settings, node_class_name=class_name),
                opts=pulumi.ResourceOptions.merge(
                    after_release, pulumi.ResourceOptions(depends_on=[self.node_classes[pool.name]])
                ),
            )
        self.controller_role_arn = self.controller_role.arn
        self.queue_name = self.queue.name
        self.register_outputs(
            {
                "controller_role_arn": self.controller_role_arn,
                "queue_name": self.queue_name,
                "node_pools": sorted(self.node_pools),
            }
        )
