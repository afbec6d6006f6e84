"""One EKS managed node group with its own launch template and node role: the system pool or a GPU pool.

Creates: a node IAM role (worker-node and ECR read-only policies only; CNI permissions belong to the vpc-cni
add-on's own role), a launch template (IMDSv2 with hop limit 1, encrypted gp3 root volume with the node key, cost
tags on instances and volumes, no key pair), the node group (private subnets, no remote access, rolling updates,
auto-repair; desired size left to the autoscaler), and for GPU pools the GPU taint and labels plus the
cluster-autoscaler node-template tags on the node group's Auto Scaling group, so a pool at zero nodes can be scaled
up for a pending GPU pod. EFA pools also get a cluster placement group and an EFA network interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import cluster_rules as rules
from components import facts, gpu_labels
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
"""AWS-managed policies on every node role. Not AmazonEKS_CNI_Policy: the vpc-cni add-on has its own role."""

AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
"""Prefix of the ASG tags the cluster-autoscaler reads to build a node for a group with no nodes."""

CAPACITY_TYPE_LABEL = "eks.amazonaws.com/capacityType"
"""Label EKS puts on every managed node (ON_DEMAND or SPOT)."""

PURPOSE_LABEL = "ml-platform/purpose"
"""training | inference, on GPU nodes."""


@dataclass(frozen=True, kw_only=True)
class NodePoolArgs:
    cluster_name: pulumi.Input[str]
    """The cluster's name; pass the cluster's output so the node group waits for the cluster."""
    pool: str
    """Pool name: `system` or a GPU pool's name. Becomes the node label `ml-platform/pool`."""
    instance_types: Sequence[str]
    """All GPU types (a GPU pool) or none (a CPU pool). A GPU pool's types must share one GPU count."""
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
    capacity: str = "on_demand"
    """on_demand | spot."""
    min_size: int = 0
    """Default 0: the pool scales to zero. The system pool needs at least 1."""
    max_size: int = 2
    desired_size: int | None = None
    """Nodes at creation; default `min_size`. Ignored afterwards: the autoscaler owns it."""
    disk_gib: int = 100
    """Encrypted gp3 root volume (Bottlerocket: its data volume), GiB, at least 50."""
    ami_type: str | None = None
    """EKS AMI type. Default: AL2023_x86_64_NVIDIA for GPU pools, AL2023_x86_64_STANDARD otherwise."""
    purpose: str | None = None
    """training | inference; GPU pools only. Becomes the label `ml-platform/purpose`."""
    efa: bool = False
    """EFA interface and a cluster placement group (p4d/p5 families only)."""
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
    """Validate the args and compute the pool. Raises ValueError naming the argument and what is allowed."""

    def fail(arg: str, value: object, message: str) -> ValueError:
        return ValueError(f"NodePoolArgs.{arg} = {value!r}: {message}")

    types = list(args.instance_types)
    gpu = bool(types) and facts.is_gpu(types[0])
    try:
        rules.check_pool_name(args.pool)
    except ValueError as exc:
        raise fail("pool", args.pool, str(exc)) from None
    try:
        if gpu:
            rules.check_gpu_instance_types(types)
        else:
            rules.check_cpu_instance_types(types)
    except ValueError as exc:
        raise fail("instance_types", types, str(exc)) from None
    desired = args.min_size if args.desired_size is None else args.desired_size
    try:
        rules.check_sizes(args.min_size, args.max_size, desired)
    except ValueError as exc:
        raise fail("min_size/max_size/desired_size", (args.min_size, args.max_size, desired), str(exc)) from None
    if not gpu and args.min_size < 1:
        raise fail("min_size", args.min_size, "a CPU pool runs the cluster's add-ons and needs at least 1 node")
    try:
        rules.check_disk(args.disk_gib)
    except ValueError as exc:
        raise fail("disk_gib", args.disk_gib, str(exc)) from None
    if args.capacity not in rules.CAPACITY_TYPES:
        raise fail("capacity", args.capacity, f"must be one of {' | '.join(rules.CAPACITY_TYPES)}")
    allowed_amis = rules.GPU_AMI_TYPES if gpu else rules.CPU_AMI_TYPES
    ami_type = args.ami_type or allowed_amis[0]
    if ami_type not in allowed_amis:
        raise fail("ami_type", ami_type, f"a {'GPU' if gpu else 'CPU'} pool takes {' | '.join(allowed_amis)}")
    if gpu and args.purpose not in rules.PURPOSES:
        raise fail("purpose", args.purpose, f"a GPU pool's purpose is one of {' | '.join(rules.PURPOSES)}")
    if not gpu and args.purpose is not None:
        raise fail("purpose", args.purpose, "only GPU pools have a purpose")
    if args.efa:
        try:
            rules.check_efa(types)
        except ValueError as exc:
            raise fail("efa", args.efa, str(exc)) from None
        if args.cluster_security_group_id is None:
            raise fail(
                "cluster_security_group_id",
                None,
                "required with efa (the EFA interface needs the cluster security group)",
            )

    capacity_type = rules.CAPACITY_TYPES[args.capacity]
    labels = {gpu_labels.POOL_LABEL: args.pool, **args.labels}
    taints: tuple[gpu_labels.Taint, ...] = ()
    gpus = 0
    if gpu:
        labels.update(gpu_labels.GPU_NODE_LABELS)
        labels[PURPOSE_LABEL] = str(args.purpose)
        taints = (gpu_labels.GPU_TAINT,)
        gpus = facts.gpu_count(types[0]) or 0  # check_gpu_instance_types refused an untabled type
    # Bottlerocket keeps the OS on a small /dev/xvda and containers on /dev/xvdb; AL2023 has one root volume.
    devices = (
        (("/dev/xvda", 4), ("/dev/xvdb", args.disk_gib))
        if ami_type.startswith("BOTTLEROCKET")
        else (("/dev/xvda", args.disk_gib),)
    )
    return NodePoolPlan(
        gpu=gpu,
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
        child = pulumi.ResourceOptions(parent=self)

        self.node_role = WorkloadRole(
            f"{name}-node",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("ec2.amazonaws.com"),
                permissions_boundary=args.permissions_boundary,
                managed_policy_arns=[f"arn:{args.partition}:iam::aws:policy/{p}" for p in NODE_POLICIES],
                description=f"EKS nodes of pool {args.pool}: join the cluster, pull images",
            ),
            opts=child,
        )

        instance_tags: dict[str, pulumi.Input[str]] = {
            **args.cost_tags,
            "Name": pulumi.Output.concat(args.cluster_name, f"-{args.pool}"),
            gpu_labels.POOL_LABEL: args.pool,
        }
        network_interfaces = None
        placement = None
        self.placement_group: aws.ec2.PlacementGroup | None = None
        if args.efa:
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
            description=f"EKS pool {args.pool}: IMDSv2, encrypted gp3, cost tags on instances and volumes",
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
            pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: list(ids)[:1]) if args.efa else args.subnet_ids
        )
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=args.cluster_name,
            # A prefix, not a fixed name: changing instance types replaces the group, and the new one is created
            # before the old one is deleted.
            node_group_name_prefix=f"{args.pool}-",
            node_role_arn=self.node_role.arn,
            subnet_ids=subnet_ids,
            instance_types=list(args.instance_types),
            capacity_type=plan.capacity_type,
            ami_type=plan.ami_type,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size, max_size=args.max_size, desired_size=plan.desired_size
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
