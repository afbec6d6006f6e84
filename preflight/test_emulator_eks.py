"""The AWS emulator returns the EKS outputs programs read at preview: the cluster's endpoint, CA and OIDC issuer,
and a managed node group's Auto Scaling group name (what scale-from-zero tags are attached to)."""

import pulumi
import pulumi_aws as aws

from preflight.testing import render


def program() -> None:
    cluster = aws.eks.Cluster(
        "c",
        name="demo",
        role_arn="arn:aws:iam::123456789012:role/eks",
        vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-a", "subnet-b"]),
    )
    group = aws.eks.NodeGroup(
        "ng",
        cluster_name=cluster.name,
        node_group_name="gpu",
        node_role_arn="arn:aws:iam::123456789012:role/node",
        subnet_ids=["subnet-a"],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, max_size=1, desired_size=0),
    )
    pulumi.export("endpoint", cluster.endpoint)
    pulumi.export("ca", cluster.certificate_authority.apply(lambda ca: ca.data))
    pulumi.export("issuer", cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer))
    pulumi.export("cluster_sg", cluster.vpc_config.apply(lambda v: v.cluster_security_group_id))
    pulumi.export("asg", group.resources.apply(lambda r: r[0].autoscaling_groups[0].name))


def test_cluster_and_node_group_outputs_are_emulated_in_the_shapes_the_sdk_reads():
    result = render(program)
    out = result.outputs
    assert out["endpoint"].startswith("https://") and out["endpoint"].endswith(".gr7.us-west-2.eks.amazonaws.com")
    assert out["ca"]
    assert out["issuer"].startswith("https://oidc.eks.us-west-2.amazonaws.com/id/")
    assert out["cluster_sg"].startswith("sg-")
    assert out["asg"].startswith("eks-gpu-")
    group = result.one("aws:eks/nodeGroup:NodeGroup")
    assert group.id == "demo:gpu"


def test_emulated_values_are_stable_between_runs():
    assert render(program).outputs == render(program).outputs
