"""One EKS managed node group with its own launch template and node role: the system pool or a GPU pool.

Creates: a node IAM role (worker-node and ECR read-only policies only; CNI permissions belong to the vpc-cni
add-on's own role), a launch template (IMDSv2 with hop limit 1, encrypted gp3 root volume with the node key, cost
tags on instances and volumes, no key pair), the node group (private subnets, no remote access, rolling updates,
auto-repair; desired size left to the autoscaler), and for GPU pools the GPU taint and labels plus the
cluster-autoscaler node-template tags on the node group's Auto Scaling group, so a pool at zero nodes can be scaled
up for a pending GPU pod. EFA pools also get a cluster placement group and an EFA network interface.

A pool's settings are declared once, here: `SystemPoolSettings` and `GpuPoolSettings` are what the stack file's
`cluster.systemPool` and `cluster.gpuPools` are validated against, and what the pool (and Karpenter's NodePools)
are built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pydantic import field_validator, model_validator

from components import cluster_rules as rules
from components import facts, gpu_labels
from components.settings import FieldError, Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
"""AWS-managed policies on every node role. Not AmazonEKS_CNI_Policy: the vpc-cni add-on has its own role."""

AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
"""Prefix of the ASG tags the cluster-autoscaler reads to build a node for a group with no nodes."""

CAPACITY_TYPE_LABEL = "eks.amazonaws.com/capacityType"
"""Label EKS puts on every managed node (ON_DEMAND or SPOT)."""

PURPOSE_LABEL = "ml-platform/purpose"
"""training | inference, on GPU nodes."""


def _blame_sizes(min_size: int, max_size: int, desired_size: int | None = None) -> None:
    """`rules.check_sizes`, blaming the key its message names."""
    try:
        rules.check_sizes(min_size, max_size, desired_size)
    except ValueError as exc:
        message = str(exc)
        key, value = (
            ("desiredSize", desired_size)
            if message.startswith("desiredSize")
            else ("maxSize", max_size)
            if message.startswith("maxSize")
            else ("minSize", min_size)
        )
        raise FieldError(key, value, message) from None


class SystemPoolSettings(Section):
    """`cluster.systemPool`: on-demand CPU nodes for the cluster's own add-ons (CoreDNS, EBS CSI controller,
    autoscaler). Always a managed node group named `system`, booting AL2023."""

    instance_types: tuple[str, ...] = ("m6i.large",)
    """Non-GPU instance types, e.g. ["m6i.large"]."""
    min_size: int = 2
    """At least 1: CoreDNS and the autoscaler must always have somewhere to run. Default 2 (survives a node loss)."""
    max_size: int = 4
    """Most nodes the autoscaler may bring up."""
    desired_size: int = 2
    """Nodes at creation; later left to the autoscaler (changes here are ignored after the first deployment)."""
    disk_gib: int = 50
    """Encrypted gp3 root volume, GiB (at least 50)."""

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return rules.check_cpu_instance_types(value)

    @field_validator("disk_gib")
    @classmethod
    def _disk(cls, value: int) -> int:
        return rules.check_disk(value)

    @model_validator(mode="after")
    def _sizes(self) -> SystemPoolSettings:
        if self.min_size < 1:
            raise FieldError("minSize", self.min_size, "the system pool needs at least 1 node (it runs CoreDNS)")
        _blame_sizes(self.min_size, self.max_size, self.desired_size)
        return self

    @property
    def name(self) -> str:
        """Reserved: no GPU pool may take it."""
        return rules.SYSTEM_POOL


class GpuPoolSettings(Section):
    """An entry of `cluster.gpuPools`: GPU nodes, tainted, labelled and able to scale from zero. A managed node group
    (`gpuCapacity: node-groups`) or a Karpenter NodePool (`gpuCapacity: karpenter`)."""

    name: str
    """Pool name, 2-32 lowercase letters, digits or '-'; becomes the node label `ml-platform/pool`. Unique."""
    instance_types: tuple[str, ...]
    """GPU instance types (g4dn, g5, g6, g6e, p4d, p5 ...), all with the same GPU count, e.g. ["g6.xlarge", "g5.xlarge"]."""
    capacity: rules.Capacity = "on_demand"
    """on_demand | spot. Spot is cheaper and can be reclaimed with two minutes' notice."""
    min_size: int = 0
    """Default 0: no GPU is billed while no GPU pod is pending."""
    max_size: int = 2
    """Most nodes: the node group's maximum, or (Karpenter) the NodePool's GPU and CPU limits, maxSize times the
    largest instance type's. Also bounds the teams' GPU quotas."""
    disk_gib: int = 100
    """Encrypted gp3 root volume (Bottlerocket: the data volume), GiB. At least 50."""
    ami_type: rules.GpuAmiType = "AL2023_x86_64_NVIDIA"
    """EKS-optimised AMI with the NVIDIA driver."""
    purpose: rules.Purpose = "training"
    """Becomes the node label `ml-platform/purpose`; with `requireOnDemandInference`, decides what must be on-demand."""
    efa: bool = False
    """Elastic Fabric Adapter and a cluster placement group (one AZ), for multi-node training on p4d/p5."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        rules.check_pool_name(value)
        if value == rules.SYSTEM_POOL:
            raise ValueError(f"'{rules.SYSTEM_POOL}' is the system pool's name; pick another")
        return value

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return rules.check_gpu_instance_types(value)

    @field_validator("disk_gib")
    @classmethod
    def _disk(cls, value: int) -> int:
        return rules.check_disk(value)

    @model_validator(mode="after")
    def _consistent(self) -> GpuPoolSettings:
        _blame_sizes(self.min_size, self.max_size)
        if self.efa:
            try:
                rules.check_efa(self.instance_types)
            except ValueError as exc:
                raise FieldError("efa", self.efa, str(exc)) from None
        return self

    @property
    def gpus_per_node(self) -> int:
        return facts.gpu_count(self.instance_types[0]) or 0  # `check_gpu_instance_types` refuses an untabled type


@dataclass(frozen=True, kw_only=True)
class NodePoolArgs:
    settings: SystemPoolSettings | GpuPoolSettings
    """The pool as the stack file sets it (`cluster.systemPool`, or an entry of `cluster.gpuPools`), validated when
    built. Its name becomes the node label `ml-platform/pool`."""
    cluster_name: pulumi.Input[str]
    """The cluster's name; pass the cluster's output so the node group waits for the cluster."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets. An EFA pool uses the first only (a cluster placement group lives in one AZ)."""
    node_kms_key_arn: pulumi.Input[str]
    """Customer-managed key for the root volumes; its policy must let EC2 Auto Scaling use it."""
    permissions_boundary: pulumi.Input[str]
    """The stack's permission boundary, on the node role."""
    cost_tags: Mapping[str, str]
    """Tags written onto instances and volumes through the launch template (provider default tags do not reach
    them: EKS launches the instances, not the provider)."""
    partition: str = "aws"
    cluster_security_group_id: pulumi.Input[str] | None = None
    """The cluster security group. Required with `efa`: an explicit network interface replaces the one EKS would
    give the cluster security group, and EFA traffic between nodes needs its allow-self rule."""
    max_unavailable: int = 1
    """Nodes replaced at a time during a rolling update."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra node labels."""


@dataclass(frozen=True)
class NodePoolPlan:
    """What the component builds, computed from its args without Pulumi."""

    gpu: bool
    efa: bool
    """An EFA interface and a cluster placement group, in the first subnet only."""
    ami_type: str
    capacity_type: str
    labels: Mapping[str, str]
    taints: tuple[gpu_labels.Taint, ...]
    gpus_per_node: int
    desired_size: int
    block_devices: tuple[tuple[str, int], ...]
    """(device name, GiB) per encrypted gp3 volume."""
    autoscaler_tags: Mapping[str, str]
    """ASG tag key -> value for scale-from-zero (GPU pools)."""


def plan_node_pool(args: NodePoolArgs) -> NodePoolPlan:
    """Compute the pool from its (already validated) settings. Raises ValueError naming the argument when an EFA pool
    has no cluster security group."""
    pool = args.settings
    if isinstance(pool, GpuPoolSettings) and pool.efa and args.cluster_security_group_id is None:
        raise ValueError(
            "NodePoolArgs.cluster_security_group_id = None: required with efa "
            "(the EFA interface needs the cluster security group)"
        )
    gpu = isinstance(pool, GpuPoolSettings)
    # The system pool is on-demand and boots AL2023; a GPU pool starts at its minimum, the system pool at its desired.
    capacity: str = pool.capacity if isinstance(pool, GpuPoolSettings) else "on_demand"
    ami_type: str = pool.ami_type if isinstance(pool, GpuPoolSettings) else rules.CPU_AMI_TYPES[0]
    desired = pool.min_size if isinstance(pool, GpuPoolSettings) else pool.desired_size
    capacity_type = rules.CAPACITY_TYPES[capacity]
    labels = {gpu_labels.POOL_LABEL: pool.name, **args.labels}
    taints: tuple[gpu_labels.Taint, ...] = ()
    gpus = 0
    if isinstance(pool, GpuPoolSettings):
        labels.update(gpu_labels.GPU_NODE_LABELS)
        labels[PURPOSE_LABEL] = pool.purpose
        taints = (gpu_labels.GPU_TAINT,)
        gpus = pool.gpus_per_node
    # Bottlerocket keeps the OS on a small /dev/xvda and containers on /dev/xvdb; AL2023 has one root volume.
    devices = (
        (("/dev/xvda", 4), ("/dev/xvdb", pool.disk_gib))
        if ami_type.startswith("BOTTLEROCKET")
        else (("/dev/xvda", pool.disk_gib),)
    )
    return NodePoolPlan(
        gpu=gpu,
        efa=isinstance(pool, GpuPoolSettings) and pool.efa,
        ami_type=ami_type,
        capacity_type=capacity_type,
        labels=labels,
        taints=taints,
        gpus_per_node=gpus,
        desired_size=desired,
        block_devices=devices,
        autoscaler_tags=autoscaler_tags(labels, taints, gpus, capacity_type) if gpu else {},
    )


def autoscaler_tags(
    labels: Mapping[str, str], taints: Sequence[gpu_labels.Taint], gpus: int, capacity_type: str
) -> dict[str, str]:
    """The cluster-autoscaler's node-template tags: what a node of this group would look like, for a group at zero.

    Managed node groups do not tag their Auto Scaling groups with these (a long-open request), so without them the
    autoscaler cannot tell that a zero-node GPU pool would fit a pod that requests `nvidia.com/gpu` and tolerates
    the GPU taint, and the pod stays pending."""
    tags = {f"{AUTOSCALER_TEMPLATE}/label/{k}": v for k, v in {**labels, CAPACITY_TYPE_LABEL: capacity_type}.items()}
    for taint in taints:
        tags[f"{AUTOSCALER_TEMPLATE}/taint/{taint.key}"] = f"{taint.value}:{taint.effect}"
    tags[f"{AUTOSCALER_TEMPLATE}/resources/{gpu_labels.GPU_RESOURCE}"] = str(gpus)
    return dict(sorted(tags.items()))


def _resources(depends_on: object) -> list[pulumi.Resource]:
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Iterable):
        return [r for r in depends_on if isinstance(r, pulumi.Resource)]
    return []


def _slug(tag_key: str) -> str:
    return tag_key.removeprefix(AUTOSCALER_TEMPLATE + "/").replace("/", "-")


class NodePool(pulumi.ComponentResource):
    """An EKS managed node group with its launch template and node role.

    Attributes (outputs): `node_group_name`, `node_role_arn`, `asg_name` (the node group's Auto Scaling group),
    `launch_template_id`; `plan` (the computed `NodePoolPlan`)."""

    def __init__(self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:NodePool", name, None, opts)
        plan = plan_node_pool(args)
        self.plan = plan
        pool = args.settings
        child = pulumi.ResourceOptions(parent=self)

        self.node_role = WorkloadRole(
            f"{name}-node",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("ec2.amazonaws.com"),
                permissions_boundary=args.permissions_boundary,
                managed_policy_arns=[f"arn:{args.partition}:iam::aws:policy/{p}" for p in NODE_POLICIES],
                description=f"EKS nodes of pool {pool.name}: join the cluster, pull images",
            ),
            opts=child,
        )

        instance_tags: dict[str, pulumi.Input[str]] = {
            **args.cost_tags,
            "Name": pulumi.Output.concat(args.cluster_name, f"-{pool.name}"),
            gpu_labels.POOL_LABEL: pool.name,
        }
        network_interfaces = None
        placement = None
        self.placement_group: aws.ec2.PlacementGroup | None = None
        if plan.efa:
            self.placement_group = aws.ec2.PlacementGroup(f"{name}-placement", strategy="cluster", opts=child)
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=self.placement_group.name)
            network_interfaces = [
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    interface_type="efa",
                    delete_on_termination="true",
                    security_groups=[args.cluster_security_group_id],
                )
            ]
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            name_prefix=f"{name}-",
            description=f"EKS pool {pool.name}: IMDSv2, encrypted gp3, cost tags on instances and volumes",
            update_default_version=True,
            # Hop limit 1: pods (one hop further) cannot reach the node's metadata and borrow the node role.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=device,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=size,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=args.node_kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
                for device, size in plan.block_devices
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in ("instance", "volume")
            ],
            network_interfaces=network_interfaces,
            placement=placement,
            opts=child,
        )

        subnet_ids = (
            pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: list(ids)[:1]) if plan.efa else args.subnet_ids
        )
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=args.cluster_name,
            # A prefix, not a fixed name: changing instance types replaces the group, and the new one is created
            # before the old one is deleted.
            node_group_name_prefix=f"{pool.name}-",
            node_role_arn=self.node_role.arn,
            subnet_ids=subnet_ids,
            instance_types=list(pool.instance_types),
            capacity_type=plan.capacity_type,
            ami_type=plan.ami_type,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size, max_size=pool.max_size, desired_size=plan.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=args.max_unavailable),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            labels=dict(plan.labels),
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.eks_effect) for t in plan.taints],
            opts=pulumi.ResourceOptions(
                parent=self,
                # The autoscaler moves desired size; a deployment must not drag it back.
                ignore_changes=["scalingConfig.desiredSize"],
                # The node role's policies must be attached before nodes try to join; and whatever the pool was
                # told to wait for (the add-ons nodes need) applies to the node group itself, not just the component.
                depends_on=[self.node_role, *_resources(opts.depends_on if opts else None)],
            ),
        )

        self.asg_name: pulumi.Output[str] = self.node_group.resources.apply(
            lambda resources: resources[0].autoscaling_groups[0].name
        )
        self.asg_tags: dict[str, aws.autoscaling.Tag] = {}
        for key, value in plan.autoscaler_tags.items():
            self.asg_tags[key] = aws.autoscaling.Tag(
                f"{name}-asg-{_slug(key)}",
                autoscaling_group_name=self.asg_name,
                # The autoscaler reads these from the group; instances have no use for them.
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child,
            )

        self.node_group_name = self.node_group.node_group_name
        self.node_role_arn = self.node_role.arn
        self.launch_template_id = self.launch_template.id
        self.register_outputs(
            {
                "node_group_name": self.node_group_name,
                "node_role_arn": self.node_role_arn,
                "asg_name": self.asg_name,
                "launch_template_id": self.launch_template_id,
            }
        )
