"""Node pools: the pure plan, and what a GPU pool and the system pool render offline."""

from __future__ import annotations

import re
from dataclasses import replace

import pulumi
import pytest

from components import gpu_labels
from components.node_pool import (
    NODE_POLICIES,
    GpuPoolSettings,
    NodePool,
    NodePoolArgs,
    SystemPoolSettings,
    autoscaler_tags,
    plan_node_pool,
)
from preflight.model import StackResult
from preflight.testing import render

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/0b1e7a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/ml-platform-boundary"
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]
COST_TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform", "Environment": "dev"}

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG_TAG = "aws:autoscaling/tag:Tag"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


def pool_args(settings: SystemPoolSettings | GpuPoolSettings, **overrides) -> NodePoolArgs:
    base = NodePoolArgs(
        settings=settings,
        cluster_name="ml-platform-dev",
        subnet_ids=SUBNETS,
        node_kms_key_arn=KEY_ARN,
        permissions_boundary=BOUNDARY_ARN,
        cost_tags=COST_TAGS,
    )
    return replace(base, **overrides)


def gpu_args(**overrides) -> NodePoolArgs:
    """A GPU pool's args; overrides of a setting (`disk_gib=...`) go into its `GpuPoolSettings`."""
    settings = {k: overrides.pop(k) for k in list(overrides) if k in GpuPoolSettings.model_fields}
    pool = GpuPoolSettings(**{"name": "gpu", "instance_types": ("g6.xlarge", "g5.xlarge"), **settings})
    return pool_args(pool, **overrides)


def system_args(**overrides) -> NodePoolArgs:
    settings = {k: overrides.pop(k) for k in list(overrides) if k in SystemPoolSettings.model_fields}
    return pool_args(SystemPoolSettings(**settings), **overrides)


def render_pool(args: NodePoolArgs) -> StackResult:
    def program() -> None:
        pool = NodePool(args.settings.name, args)
        pulumi.export("asg_name", pool.asg_name)
        pulumi.export("node_role_arn", pool.node_role_arn)

    return render(program)


@pytest.fixture(scope="module")
def gpu_pool() -> StackResult:
    return render_pool(gpu_args())


# --- the plan, without an engine -------------------------------------------------------------------------------


def test_gpu_pool_defaults_to_the_gpu_taint_labels_nvidia_ami_and_zero_nodes():
    plan = plan_node_pool(gpu_args())
    assert plan.gpu and plan.gpus_per_node == 1
    assert plan.taints == (gpu_labels.GPU_TAINT,)
    assert plan.labels == {
        **gpu_labels.GPU_NODE_LABELS,
        gpu_labels.POOL_LABEL: "gpu",
        "ml-platform/purpose": "training",
    }
    assert (plan.ami_type, plan.capacity_type, plan.desired_size) == ("AL2023_x86_64_NVIDIA", "ON_DEMAND", 0)
    assert plan.block_devices == (("/dev/xvda", 100),)


def test_system_pool_has_no_taint_no_gpu_labels_and_no_autoscaler_template():
    plan = plan_node_pool(system_args())
    assert not plan.gpu and plan.taints == () and plan.autoscaler_tags == {}
    assert plan.labels == {gpu_labels.POOL_LABEL: "system"}
    assert plan.ami_type == "AL2023_x86_64_STANDARD"


def test_bottlerocket_gets_a_small_os_volume_and_the_configured_data_volume():
    plan = plan_node_pool(gpu_args(ami_type="BOTTLEROCKET_x86_64_NVIDIA", disk_gib=200))
    assert plan.block_devices == (("/dev/xvda", 4), ("/dev/xvdb", 200))


@pytest.mark.parametrize(
    ("instance_type", "gpus"), [("g5.xlarge", 1), ("g6.12xlarge", 4), ("p4d.24xlarge", 8), ("p5.48xlarge", 8)]
)
def test_autoscaler_template_advertises_the_gpu_count_of_the_instance_type(instance_type, gpus):
    plan = plan_node_pool(gpu_args(instance_types=[instance_type], capacity="spot"))
    assert plan.autoscaler_tags[f"{TEMPLATE}/resources/nvidia.com/gpu"] == str(gpus)
    assert plan.autoscaler_tags[f"{TEMPLATE}/label/eks.amazonaws.com/capacityType"] == "SPOT"


def test_autoscaler_template_carries_every_label_and_the_taint_in_kubernetes_spelling():
    tags = autoscaler_tags({"a": "1", "nvidia.com/gpu.present": "true"}, [gpu_labels.GPU_TAINT], 4, "ON_DEMAND")
    assert tags == {
        f"{TEMPLATE}/label/a": "1",
        f"{TEMPLATE}/label/eks.amazonaws.com/capacityType": "ON_DEMAND",
        f"{TEMPLATE}/label/nvidia.com/gpu.present": "true",
        f"{TEMPLATE}/resources/nvidia.com/gpu": "4",
        f"{TEMPLATE}/taint/nvidia.com/gpu": "true:NoSchedule",
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": "GPU"}, "pool names are 2-32 lowercase letters"),
        ({"instance_types": ["g5.xlarge", "m6i.large"]}, "m6i.large is not a GPU instance type"),
        ({"instance_types": ["g5.xlarge", "g5.12xlarge"]}, "mixes GPU counts (g5.xlarge=1, g5.12xlarge=4)"),
        ({"instance_types": ["g5g.xlarge"]}, "g5g.xlarge is Arm (Graviton)"),
        (
            {"instance_types": ["g6.96xlarge"]},
            "g6.96xlarge: GPU count unknown; add it to gpusPerInstance in components/facts/aws.json",
        ),
        ({"min_size": 3, "max_size": 2}, "minSize 3 is larger than maxSize 2"),
        ({"max_size": 0}, "maxSize 0 must be at least 1"),
        ({"disk_gib": 20}, "must be 50..16384 GiB"),
        ({"capacity": "SPOT"}, "Input should be 'on_demand' or 'spot'"),
        (
            {"ami_type": "AL2023_x86_64_STANDARD"},
            "Input should be 'AL2023_x86_64_NVIDIA' or 'BOTTLEROCKET_x86_64_NVIDIA'",
        ),
        ({"purpose": "serving"}, "Input should be 'training' or 'inference'"),
        ({"efa": True}, "EFA is for multi-node training on p4d, p4de, p5, p5e, p5en; g6.xlarge is not one"),
    ],
)
def test_fails_when_gpu_pool_settings_are_invalid(settings, message):
    # The same model validates the stack file's `cluster.gpuPools` (infra/config/test_cluster.py has the lines).
    with pytest.raises(ValueError, match=re.escape(message)):
        GpuPoolSettings(**{"name": "gpu", "instance_types": ("g6.xlarge",), **settings})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_size": 0, "desired_size": 0}, "the system pool needs at least 1 node (it runs CoreDNS)"),
        ({"instance_types": ["g5.xlarge"]}, "g5.xlarge is a GPU instance type; the system pool runs add-ons"),
        ({"desired_size": 5}, "desiredSize 5 is outside minSize..maxSize (2..4)"),
        ({"purpose": "training"}, "Extra inputs are not permitted"),
    ],
)
def test_fails_when_the_system_pool_could_scale_to_zero_or_has_gpu_work(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SystemPoolSettings(**settings)


def test_fails_when_an_efa_pool_has_no_cluster_security_group():
    with pytest.raises(ValueError, match=re.escape("cluster_security_group_id = None: required with efa")):
        plan_node_pool(gpu_args(efa=True, instance_types=["p4d.24xlarge"]))


# --- what renders ------------------------------------------------------------------------------------------------


def test_gpu_node_group_is_tainted_labelled_private_and_without_ssh(gpu_pool):
    group = gpu_pool.one(NODE_GROUP, "gpu-nodes")
    inputs = group.inputs
    assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert inputs["taints"][0]["effect"] == gpu_labels.GPU_TAINT.eks_effect
    assert inputs["labels"] == {
        "nvidia.com/gpu.present": "true",
        "accelerator": "nvidia",
        "ml-platform/pool": "gpu",
        "ml-platform/purpose": "training",
    }
    assert inputs["subnetIds"] == SUBNETS
    assert "remoteAccess" not in inputs
    assert (inputs["amiType"], inputs["capacityType"]) == ("AL2023_x86_64_NVIDIA", "ON_DEMAND")
    assert inputs["instanceTypes"] == ["g6.xlarge", "g5.xlarge"]
    assert inputs["updateConfig"] == {"maxUnavailable": 1}
    assert inputs["nodeRepairConfig"] == {"enabled": True}
    assert inputs["nodeGroupNamePrefix"] == "gpu-"


def test_gpu_pool_scales_from_zero_and_leaves_desired_size_to_the_autoscaler(gpu_pool):
    group = gpu_pool.one(NODE_GROUP, "gpu-nodes")
    assert group.inputs["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}
    assert group.options["ignoreChanges"] == ["scalingConfig.desiredSize"]


def test_launch_template_requires_imdsv2_hop_limit_1_and_encrypts_gp3_with_the_node_key(gpu_pool):
    template = gpu_pool.one(LAUNCH_TEMPLATE, "gpu-nodes")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    assert template.inputs["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeSize": 100,
                "volumeType": "gp3",
                "encrypted": "true",
                "kmsKeyId": KEY_ARN,
                "deleteOnTermination": "true",
            },
        }
    ]
    assert "keyName" not in template.inputs
    group = gpu_pool.one(NODE_GROUP, "gpu-nodes")
    assert group.inputs["launchTemplate"] == {"id": template.id, "version": "1"}


def test_cost_tags_reach_instances_and_volumes_through_the_launch_template(gpu_pool):
    specs = gpu_pool.one(LAUNCH_TEMPLATE, "gpu-nodes").inputs["tagSpecifications"]
    assert [s["resourceType"] for s in specs] == ["instance", "volume"]
    for spec in specs:
        assert spec["tags"] == {**COST_TAGS, "Name": "ml-platform-dev-gpu", "ml-platform/pool": "gpu"}


def test_asg_tags_target_the_node_groups_auto_scaling_group_with_the_template_for_zero_nodes(gpu_pool):
    group = gpu_pool.one(NODE_GROUP, "gpu-nodes")
    asg = group.outputs["resources"][0]["autoscalingGroups"][0]["name"]
    assert gpu_pool.outputs["asg_name"] == asg
    tags = gpu_pool.by_type(ASG_TAG)
    assert {t.inputs["autoscalingGroupName"] for t in tags} == {asg}
    assert {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in tags} == {
        f"{TEMPLATE}/label/accelerator": "nvidia",
        f"{TEMPLATE}/label/eks.amazonaws.com/capacityType": "ON_DEMAND",
        f"{TEMPLATE}/label/ml-platform/pool": "gpu",
        f"{TEMPLATE}/label/ml-platform/purpose": "training",
        f"{TEMPLATE}/label/nvidia.com/gpu.present": "true",
        f"{TEMPLATE}/resources/nvidia.com/gpu": "1",
        f"{TEMPLATE}/taint/nvidia.com/gpu": "true:NoSchedule",
    }
    assert all(t.inputs["tag"]["propagateAtLaunch"] is False for t in tags)
    assert all(group.urn in t.property_dependencies["autoscalingGroupName"] for t in tags)


def test_taint_tag_matches_the_node_group_taint(gpu_pool):
    (taint,) = gpu_pool.one(NODE_GROUP, "gpu-nodes").inputs["taints"]
    tag = next(t for t in gpu_pool.by_type(ASG_TAG) if "/taint/" in t.inputs["tag"]["key"])
    assert tag.inputs["tag"]["key"] == f"{TEMPLATE}/taint/{taint['key']}"
    assert tag.inputs["tag"]["value"] == f"{taint['value']}:{gpu_labels.GPU_TAINT.effect}"


def test_node_role_has_the_boundary_and_only_the_node_policies(gpu_pool):
    role = gpu_pool.one("aws:iam/role:Role")
    assert role.inputs["permissionsBoundary"] == BOUNDARY_ARN
    assert '"ec2.amazonaws.com"' in role.inputs["assumeRolePolicy"]
    attached = sorted(
        a.inputs["policyArn"] for a in gpu_pool.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert attached == sorted(f"arn:aws:iam::aws:policy/{p}" for p in NODE_POLICIES)
    assert not [a for a in attached if "CNI" in a]
    assert not gpu_pool.by_type("aws:iam/rolePolicy:RolePolicy")
    group = gpu_pool.one(NODE_GROUP, "gpu-nodes")
    assert group.inputs["nodeRoleArn"] == role.outputs["arn"]
    attachments = {a.urn for a in gpu_pool.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attachments <= set(group.options["dependsOn"])


def test_system_pool_renders_without_taints_or_asg_tags_and_keeps_its_desired_size():
    result = render_pool(system_args())
    group = result.one(NODE_GROUP, "system-nodes")
    assert group.inputs.get("taints", []) == []
    assert group.inputs["labels"] == {"ml-platform/pool": "system"}
    assert group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert not result.by_type(ASG_TAG)
    assert result.one(LAUNCH_TEMPLATE).inputs["metadataOptions"]["httpTokens"] == "required"


def test_efa_pool_gets_a_cluster_placement_group_an_efa_interface_and_one_subnet():
    result = render_pool(
        gpu_args(
            name="training",
            instance_types=["p4d.24xlarge"],
            efa=True,
            cluster_security_group_id="sg-cluster",
            disk_gib=500,
        )
    )
    group_pg = result.one("aws:ec2/placementGroup:PlacementGroup")
    assert group_pg.inputs["strategy"] == "cluster"
    template = result.one(LAUNCH_TEMPLATE).inputs
    assert template["placement"] == {"groupName": group_pg.outputs["name"]}
    assert template["networkInterfaces"] == [
        {"deviceIndex": 0, "interfaceType": "efa", "deleteOnTermination": "true", "securityGroups": ["sg-cluster"]}
    ]
    assert result.one(NODE_GROUP).inputs["subnetIds"] == SUBNETS[:1]
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in result.by_type(ASG_TAG)}
    assert tags[f"{TEMPLATE}/resources/nvidia.com/gpu"] == "8"


def test_pools_without_efa_have_no_placement_group_or_explicit_interfaces(gpu_pool):
    assert not gpu_pool.by_type("aws:ec2/placementGroup:PlacementGroup")
    assert "networkInterfaces" not in gpu_pool.one(LAUNCH_TEMPLATE).inputs
