"""Training workloads in the rendered stacks: who owns GPU capacity, NodePool taints and limits, Kueue flavors and
quotas, team identities."""

from __future__ import annotations

import pytest

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def _gpu_node_groups(result):
    return [g for g in result.by_type(NODE_GROUP) if g.inputs.get("labels", {}).get("ml-platform/pool") != "system"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_karpenter_alone_owns_gpu_capacity_in_staging_and_prod(shipped_stack, stack):
    result = shipped_stack(stack)
    assert _gpu_node_groups(result) == []
    pools = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in result.by_type(NODE_POOL)}
    assert set(pools) == {"inference", "training"}
    for spec in pools.values():
        assert spec["template"]["spec"]["taints"] == [GPU_TAINT]
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    expected = {"staging": {"training": "4", "inference": "2"}, "prod": {"training": "32", "inference": "6"}}[stack]
    assert {name: spec["limits"]["nvidia.com/gpu"] for name, spec in pools.items()} == expected
    charts = {r.inputs["chart"]: r.inputs["version"] for r in result.by_type(RELEASE)}
    assert charts == {
        "oci://public.ecr.aws/karpenter/karpenter": "1.14.1",
        "oci://registry.k8s.io/kueue/charts/kueue": "0.19.2",
    }


def test_dev_keeps_gpu_node_groups_and_no_karpenter(shipped_stack):
    result = shipped_stack("dev")
    assert len(_gpu_node_groups(result)) == 1
    assert result.by_type(NODE_POOL) == [] and result.by_type(NODE_CLASS) == []


def test_prod_training_nodes_share_a_cluster_placement_group_for_efa(shipped_stack):
    result = shipped_stack("prod")
    classes = {c.name: c.inputs["spec"] for c in result.by_type(NODE_CLASS)}
    assert "placementGroupSelector" in classes["karpenter-training-node-class"]
    assert "placementGroupSelector" not in classes["karpenter-inference-node-class"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_team_gets_a_queue_with_its_quota_and_a_local_queue(shipped_stack, stack):
    result = shipped_stack(stack)
    flavors = sorted(f.inputs["metadata"]["name"] for f in result.by_type(FLAVOR))
    assert flavors == sorted(f"gpu-{p}" for p in {"dev": ["gpu"]}.get(stack, ["inference", "training"]))
    quotas = {
        q.inputs["metadata"]["name"]: {
            r["name"]: r["nominalQuota"] for r in q.inputs["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
        }
        for q in result.by_type(CLUSTER_QUEUE)
    }
    expected = {
        "dev": {"team-research": "2"},
        "staging": {"team-research": "2", "team-serving": "2"},
        "prod": {"team-research": "16", "team-serving": "6"},
    }[stack]
    assert {name: q["nvidia.com/gpu"] for name, q in quotas.items()} == expected
    assert {q.inputs["spec"]["cohortName"] for q in result.by_type(CLUSTER_QUEUE)} == {"ml-platform"}
    assert len(result.by_type(LOCAL_QUEUE)) == len(expected)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_team_role_is_bound_to_its_service_account_by_pod_identity(shipped_stack, stack):
    result = shipped_stack(stack)
    associations = result.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    team = {a.name: a.inputs for a in associations if a.name.startswith("team-")}
    assert team and all(a["serviceAccount"] == "team-workload" for a in team.values())


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_gpu_nodepool_has_an_idle_alarm_on_exactly_its_instance_types(shipped_stack, stack):
    # The per-pool idle alarm filters Container Insights on instance types; a NodePool's nodes are exactly the
    # types its requirement allows, so the same alarm watches the Karpenter pool (and gpu-pool-idle-alarm checks it).
    result = shipped_stack(stack)
    for pool in result.by_type(NODE_POOL):
        name = pool.inputs["metadata"]["name"]
        (requirement,) = [
            r
            for r in pool.inputs["spec"]["template"]["spec"]["requirements"]
            if r["key"] == "node.kubernetes.io/instance-type"
        ]
        alarm = result.one("aws:cloudwatch/metricAlarm:MetricAlarm", f"monitoring-gpu-{name}-idle")
        (query,) = alarm.inputs["metricQueries"]
        wanted = " OR ".join(f"InstanceType = '{t}'" for t in requirement["values"])
        assert query["expression"].endswith(f"WHERE ClusterName = 'ml-platform-{stack}' AND ({wanted})"), name
