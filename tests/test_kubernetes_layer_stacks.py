"""Each shipped stack renders the Kubernetes layer consistently with its node pools and its config."""

from __future__ import annotations

import json

import pytest

from infra.config import load
from preflight.model import plain
from preflight.project import load_project
from preflight.testing import REPO

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = ["dev", "staging", "prod"]
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ASG_TAG = "aws:autoscaling/tag:Tag"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
QUOTA = "kubernetes:core/v1:ResourceQuota"
EKS_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def stack_config(name: str):
    config = load_project(REPO).stack_config(name)
    return load(config.values, stack=name, secret_keys=config.secret_keys)


@pytest.mark.parametrize("name", STACKS)
def test_device_plugin_tolerates_exactly_the_taint_every_gpu_pool_carries(name, shipped_stack):
    result = shipped_stack(name)
    pod = result.one(DAEMON_SET, "k8s-nvidia-device-plugin").inputs["spec"]["template"]["spec"]
    tolerations = pod["tolerations"]
    gpu_groups = [g for g in result.by_type(NODE_GROUP) if g.inputs.get("taints")]
    node_pools = result.by_type("kubernetes:karpenter.sh/v1:NodePool")
    assert gpu_groups or node_pools, "every stack has at least one GPU pool"
    for pool in node_pools:
        # Karpenter's GPU nodes: the same taint, and the labels the plugin selects on.
        template = pool.inputs["spec"]["template"]
        assert tolerations == [{**t, "operator": "Equal"} for t in template["spec"]["taints"]], pool.name
        assert pod["nodeSelector"].items() <= template["metadata"]["labels"].items(), pool.name
    for group in result.by_type(NODE_GROUP):
        # The plugin selects exactly the tainted (GPU) groups' nodes.
        selected = pod["nodeSelector"].items() <= group.inputs["labels"].items()
        assert selected == (group in gpu_groups), group.name
    for group in gpu_groups:
        taints = [
            {"key": t["key"], "operator": "Equal", "value": t["value"], "effect": EKS_EFFECTS[t["effect"]]}
            for t in group.inputs["taints"]
        ]
        assert tolerations == taints, group.name
        # The autoscaler's node template for a zero-node pool carries the same taint.
        (asg,) = group.outputs["resources"][0]["autoscalingGroups"]
        template = {
            t.inputs["tag"]["key"]: t.inputs["tag"]["value"]
            for t in result.by_type(ASG_TAG)
            if t.inputs["autoscalingGroupName"] == asg["name"]
        }
        for t in tolerations:
            assert (
                template[f"k8s.io/cluster-autoscaler/node-template/taint/{t['key']}"] == f"{t['value']}:{t['effect']}"
            )


@pytest.mark.parametrize("name", STACKS)
def test_autoscaler_discovers_and_may_scale_only_this_stacks_node_groups(name, shipped_stack):
    result = shipped_stack(name)
    cluster_name = result.one("aws:eks/cluster:Cluster").inputs["name"]
    assert cluster_name == f"ml-platform-{name}"
    command = result.one(DEPLOYMENT, "k8s-cluster-autoscaler").inputs["spec"]["template"]["spec"]["containers"][0][
        "command"
    ]
    assert (
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster_name}"
        in command
    )
    policy = json.loads(
        result.one("aws:iam/rolePolicy:RolePolicy", "k8s-cluster-autoscaler-autoscaling").inputs["policy"]
    )
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleThisClustersNodeGroups")
    asg_names = sorted(g.outputs["resources"][0]["autoscalingGroups"][0]["name"] for g in result.by_type(NODE_GROUP))
    assert [arn.rsplit("/", 1)[1] for arn in scale["Resource"]] == asg_names
    assert scale["Condition"]["StringEquals"][f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}"] == "owned"
    role = result.one("aws:iam/role:Role", "k8s-cluster-autoscaler-role")
    assert role.inputs["permissionsBoundary"]


@pytest.mark.parametrize("name", STACKS)
def test_team_quotas_come_from_the_stack_config(name, shipped_stack):
    teams = stack_config(name).cluster.teams
    assert teams, "every shipped stack declares at least one team"
    quotas = {q.inputs["metadata"]["namespace"]: q.inputs["spec"]["hard"] for q in shipped_stack(name).by_type(QUOTA)}
    assert quotas == {
        t.name: {
            "requests.nvidia.com/gpu": str(t.gpu_quota),
            "requests.cpu": t.cpu_quota,
            "limits.cpu": t.cpu_quota,
            "requests.memory": t.memory_quota,
            "limits.memory": t.memory_quota,
        }
        for t in teams
    }
    assert shipped_stack(name).outputs["teamNamespaces"] == {t.name: t.name for t in teams}


@pytest.mark.parametrize("name", STACKS)
def test_kubeconfig_is_a_secret_everywhere_it_is_recorded(name, shipped_stack):
    result = shipped_stack(name)
    assert result.outputs["kubeconfig"] == "[secret]"
    assert result.one("pulumi:providers:kubernetes").inputs["kubeconfig"] == "[secret]"
    recorded = json.dumps([plain(r.inputs) for r in result.resources] + [plain(r.outputs) for r in result.resources])
    recorded += json.dumps(plain(result.outputs))
    assert "get-token" not in recorded and "certificate-authority-data" not in recorded


@pytest.mark.parametrize("name", STACKS)
@pytest.mark.slow
def test_kubernetes_objects_pass_every_scanner_with_no_finding_left_open(name, scanned_stack):
    # Probes where upstream serves a health endpoint, images pinned by digest, the rest accepted in
    # checkov-config.yaml with a reason. Any new Kubernetes finding on a shipped stack shows here, advisory or not.
    result, scanned = scanned_stack(name)
    kubernetes = {r.urn for r in result.resources if r.type.startswith("kubernetes:")}
    findings = [f"{v.source} {v.policy} {v.urn}: {v.message}" for v in scanned if v.urn in kubernetes]
    assert findings == []
    deployment = result.one(DEPLOYMENT, "k8s-cluster-autoscaler").inputs["spec"]["template"]["spec"]["containers"][0]
    assert "@sha256:" in deployment["image"] and deployment["livenessProbe"]["httpGet"]["path"] == "/health-check"
