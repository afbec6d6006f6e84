"""Every shipped stack renders the EKS cluster, a system pool and GPU pools that can scale from zero (node groups in
dev; Karpenter NodePools in staging and prod, checked in `test_training_stacks.py`)."""

from __future__ import annotations

import json

import pytest

from components import facts, gpu_labels
from components.facts import FACTS
from preflight.model import SECRET, stack_json

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def stack(request, shipped_stack):
    return request.param, shipped_stack(request.param)


def groups(result) -> dict[str, object]:
    return {g.inputs["labels"][gpu_labels.POOL_LABEL]: g for g in result.by_type(NODE_GROUP)}


def test_stack_renders_one_private_encrypted_cluster_with_a_system_pool_and_gpu_pools(stack):
    name, result = stack
    cluster = result.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["name"] == f"ml-platform-{name}"
    assert cluster.inputs["version"] in FACTS.eks.tested_versions
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    assert (
        cluster.inputs["encryptionConfig"]["provider"]["keyArn"]
        == result.one("aws:kms/key:Key", "platform-cluster").outputs["arn"]
    )
    intra = sorted(s.id for s in result.by_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-intra-"))
    assert sorted(cluster.inputs["vpcConfig"]["subnetIds"]) == intra
    pools = groups(result)
    karpenter = [p.inputs["metadata"]["name"] for p in result.by_type(NODE_POOL)]
    assert "system" in pools and len(pools) + len(karpenter) >= 2
    private = sorted(s.id for s in result.by_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-private-"))
    for pool, group in pools.items():
        assert set(group.inputs["subnetIds"]) <= set(private), pool


def test_gpu_pools_are_tainted_and_tagged_for_scale_from_zero_with_their_gpu_count(stack):
    _, result = stack
    tags = result.by_type("aws:autoscaling/tag:Tag")
    for pool, group in groups(result).items():
        if pool == "system":
            assert not group.inputs.get("taints")
            continue
        assert group.inputs["taints"] == [
            {"key": gpu_labels.GPU_TAINT.key, "value": gpu_labels.GPU_TAINT.value, "effect": "NO_SCHEDULE"}
        ]
        assert group.options["ignoreChanges"] == ["scalingConfig.desiredSize"]
        asg = group.outputs["resources"][0]["autoscalingGroups"][0]["name"]
        mine = {
            t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in tags if t.inputs["autoscalingGroupName"] == asg
        }
        gpus = facts.gpu_count(group.inputs["instanceTypes"][0])
        assert mine[f"{TEMPLATE}/resources/nvidia.com/gpu"] == str(gpus)
        assert mine[f"{TEMPLATE}/taint/nvidia.com/gpu"] == "true:NoSchedule"
        assert mine[f"{TEMPLATE}/label/{gpu_labels.POOL_LABEL}"] == pool


def test_launch_templates_put_the_stacks_cost_tags_on_instances_and_volumes(stack):
    name, result = stack
    for template in result.by_type("aws:ec2/launchTemplate:LaunchTemplate"):
        for spec in template.inputs["tagSpecifications"]:
            assert {"CostCenter", "Owner", "Project", "Environment"} <= set(spec["tags"]), template.name
            assert spec["tags"]["Environment"] == name


def test_kubeconfig_and_cluster_outputs_are_exported_and_the_kubeconfig_stays_secret(stack):
    _, result = stack
    outputs = result.outputs
    assert outputs["kubeconfig"] == SECRET
    assert "get-token" not in json.dumps(stack_json(result))
    assert outputs["clusterName"] == result.one("aws:eks/cluster:Cluster").inputs["name"]
    assert outputs["oidcIssuer"].startswith("oidc.eks.")
    assert outputs["oidcProviderArn"].startswith("arn:aws:iam::")
    assert outputs["nodePoolNames"][0] == "system"
    assert set(outputs["nodeRoleArns"]) == set(outputs["nodePoolNames"])


def test_the_ci_deploy_role_is_a_cluster_admin_through_an_access_entry(stack):
    _, result = stack
    entry = result.one("aws:eks/accessEntry:AccessEntry", "cluster-admin-ci-deploy")
    ci_roles = [r for r in result.by_type("aws:iam/role:Role") if r.name.startswith("guardrails-ci-deploy")]
    assert [entry.inputs["principalArn"]] == [r.outputs["arn"] for r in ci_roles]


def test_dev_gpu_pool_is_small_and_idles_at_zero(shipped_stack):
    pools = groups(shipped_stack("dev"))
    gpu = {p: g for p, g in pools.items() if p != "system"}
    assert len(gpu) == 1
    (group,) = gpu.values()
    assert group.inputs["scalingConfig"]["minSize"] == 0
    assert {t.split(".")[0] for t in group.inputs["instanceTypes"]} <= {"g5", "g6"}


def test_prod_has_an_on_demand_inference_pool_a_training_pool_and_at_least_two_system_nodes(shipped_stack):
    result = shipped_stack("prod")
    pools = groups(result)
    purposes = {
        p.inputs["metadata"]["labels"]["ml-platform/purpose"]: p.inputs["spec"] for p in result.by_type(NODE_POOL)
    }
    capacity = {r["key"]: r["values"] for r in purposes["inference"]["template"]["spec"]["requirements"]}
    assert capacity["karpenter.sh/capacity-type"] == ["on-demand"]
    assert "training" in purposes
    assert pools["system"].inputs["scalingConfig"]["minSize"] >= 2
