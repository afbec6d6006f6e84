"""Karpenter's NodePools carry the GPU facts, limits from the pool size, budgets; its controller policy is AWS's."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from components import facts, gpu_labels
from components.karpenter import (
    INTERRUPTION_EVENTS,
    KarpenterSettings,
    controller_policy,
    ec2_nodeclass_spec,
    helm_values,
    nodepool_limits,
    nodepool_spec,
    pool_problem,
    queue_policy,
)
from components.node_pool import GpuPoolSettings
from preflight.testing import assert_golden

TRAINING = GpuPoolSettings(name="training", instance_types=("g6.2xlarge", "g5.2xlarge"), capacity="spot", max_size=4)
INFERENCE = GpuPoolSettings(name="inference", instance_types=("g6.xlarge",), max_size=2, purpose="inference")
SETTINGS = KarpenterSettings()


def test_controller_policy_matches_golden_and_is_scoped_to_this_cluster():
    doc = controller_policy(
        cluster_name="ml-platform-staging",
        partition="aws",
        region="us-west-2",
        account_id="123456789012",
        node_role_arn="arn:aws:iam::123456789012:role/karpenter-node",
        queue_arn="arn:aws:sqs:us-west-2:123456789012:ml-platform-staging-karpenter",
        queue_key_arn="arn:aws:kms:us-west-2:123456789012:key/queue",
    )
    assert_golden("karpenter_controller_policy.json", doc)
    mutating = [
        s for s in doc["Statement"] if any(a in str(s["Action"]) for a in ("Terminate", "CreateTags", "Delete"))
    ]
    assert all(
        "kubernetes.io/cluster/ml-platform-staging" in str(s["Condition"])
        for s in mutating
        if "ec2:" in str(s["Action"])
    )
    assert not any(
        a == "*" or a.endswith(":*")
        for s in doc["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )


def test_nodepool_carries_the_gpu_taint_labels_and_capacity_type_of_its_pool():
    spec = nodepool_spec(TRAINING, SETTINGS, node_class_name="gpu-training")
    template = spec["template"]
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert template["metadata"]["labels"] == {
        gpu_labels.POOL_LABEL: "training",
        "ml-platform/purpose": "training",
        **gpu_labels.GPU_NODE_LABELS,
    }
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["g6.2xlarge", "g5.2xlarge"]
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert template["spec"]["expireAfter"] == "720h"
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"


def test_limits_are_the_pools_max_size_of_its_widest_type():
    assert nodepool_limits(TRAINING) == {"nvidia.com/gpu": "4", "cpu": "32"}
    p4d = GpuPoolSettings(name="big", instance_types=("p4d.24xlarge",), max_size=4)
    assert nodepool_limits(p4d) == {"nvidia.com/gpu": "32", "cpu": "384"}


def test_inference_pools_disrupt_one_node_at_a_time_and_training_pools_a_share():
    assert nodepool_spec(INFERENCE, SETTINGS, node_class_name="x")["disruption"]["budgets"] == [{"nodes": "1"}]
    assert nodepool_spec(TRAINING, SETTINGS, node_class_name="x")["disruption"]["budgets"] == [{"nodes": "10%"}]


def test_node_class_pins_the_ami_and_hardens_the_node():
    spec = ec2_nodeclass_spec(
        TRAINING,
        SETTINGS,
        cluster_name="c",
        node_role_name="node-role",
        node_kms_key_arn="arn:aws:kms:us-west-2:1:key/k",
        cost_tags={"CostCenter": "ml"},
    )
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260714"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    ebs = spec["blockDeviceMappings"][0]["ebs"]
    assert ebs == {
        "volumeSize": "100Gi",
        "volumeType": "gp3",
        "encrypted": True,
        "kmsKeyID": "arn:aws:kms:us-west-2:1:key/k",
        "deleteOnTermination": True,
    }
    assert (
        spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "c"}}]
    )
    assert spec["tags"]["CostCenter"] == "ml"
    assert "placementGroupSelector" not in spec


def test_helm_values_name_the_cluster_and_queue_and_keep_the_controller_on_system_nodes():
    values = helm_values(SETTINGS, cluster_name="c", queue_name="c-karpenter")
    assert values["settings"] == {"clusterName": "c", "interruptionQueue": "c-karpenter"}
    assert values["nodeSelector"][gpu_labels.POOL_LABEL] == "system"


def test_interruption_rules_cover_spot_rebalance_state_change_and_health():
    kinds = {d for p in INTERRUPTION_EVENTS.values() for d in p["detail-type"]}
    assert kinds == {
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "AWS Health Event",
    }
    doc = queue_policy("arn:q", ["arn:r1"])
    assert doc["Statement"][0]["Condition"] == {"ArnEquals": {"aws:SourceArn": ["arn:r1"]}}


def test_fails_when_a_karpenter_pool_keeps_warm_nodes():
    assert pool_problem(min_size=1, ami_type="AL2023_x86_64_NVIDIA")[0] == "minSize"
    assert pool_problem(min_size=0, ami_type="BOTTLEROCKET_x86_64_NVIDIA")[0] == "amiType"
    assert pool_problem(min_size=0, ami_type="AL2023_x86_64_NVIDIA") is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amiAlias", "al2023@latest", "a pinned AL2023 alias such as 'al2023@v20260714' (not '@latest')"),
        ("chartVersion", "^1.14", "an exact chart version such as '1.14.1' (no ranges, no 'latest')"),
        ("expireAfter", "30d", "a duration such as '30s', '5m' or '720h'"),
        ("inferenceDisruptionBudget", "one", "a node count ('1') or a percentage ('10%')"),
    ],
)
def test_fails_when_settings_are_invalid(field, value, message):
    with pytest.raises(ValidationError) as err:
        KarpenterSettings.model_validate({field: value})
    assert message in str(err.value)


def test_fails_when_a_pool_type_has_no_vcpu_count_in_the_fact_table(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(facts, "FACTS", dataclasses.replace(facts.FACTS, vcpus_per_instance={}))
    with pytest.raises(ValueError, match=r"^g6\.xlarge: no vcpusPerInstance entry in components/facts/aws.json; add"):
        nodepool_limits(INFERENCE)
