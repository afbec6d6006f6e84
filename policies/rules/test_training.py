"""Karpenter NodePool and GPU-job rules: a compliant resource, then one property changed per test."""

from __future__ import annotations

import copy

import pulumi_kubernetes as k8s

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def nodepool_spec(**changes) -> dict:
    spec = {
        "template": {
            "metadata": {"labels": {"ml-platform/purpose": "inference", "nvidia.com/gpu.present": "true"}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g6.xlarge"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand", "spot"]},
                ],
                "taints": [GPU_TAINT],
            },
        },
        "limits": {"nvidia.com/gpu": "4", "cpu": "16"},
    }
    spec = copy.deepcopy(spec)
    for path, value in changes.items():
        node = spec
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return spec


def nodepool(spec: dict):
    return lambda: k8s.apiextensions.CustomResource(
        "gpu", api_version="karpenter.sh/v1", kind="NodePool", metadata={"name": "gpu"}, spec=spec
    )


def job(labels: dict, gpus: str | None = "1", annotations: dict | None = None):
    resources = {"limits": {"nvidia.com/gpu": gpus}} if gpus else {}
    if annotations is None:
        annotations = {"karpenter.sh/do-not-disrupt": "true"}
    return lambda: k8s.batch.v1.Job(
        "train",
        metadata={"name": "train", "namespace": "research", "labels": labels},
        spec={
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "t", "image": "i:1", "resources": resources}],
                },
            }
        },
    )


def test_compliant_gpu_nodepool_passes_every_nodepool_rule(check):
    program = nodepool(nodepool_spec())
    for rule in ("karpenter-nodepool-limits", "karpenter-gpu-nodepool-taint", "karpenter-inference-on-demand"):
        assert check(program, rule) == [], rule


def test_fails_when_gpu_nodepool_has_no_limits(check):
    assert check(nodepool(nodepool_spec(limits={})), "karpenter-nodepool-limits") == [
        "gpu: GPU NodePool has no spec.limits for nvidia.com/gpu, cpu: Karpenter would launch GPU nodes without bound"
    ]


def test_fails_when_gpu_limit_exceeds_the_stacks_cap(check):
    spec = nodepool_spec(limits={"nvidia.com/gpu": "64", "cpu": "512"})
    assert check(nodepool(spec), "karpenter-nodepool-limits") == [
        "gpu: spec.limits.nvidia.com/gpu is 64; this stack allows at most 32 per NodePool"
    ]


def test_fails_when_gpu_nodepool_is_not_tainted(check):
    assert check(nodepool(nodepool_spec(template__spec__taints=[])), "karpenter-gpu-nodepool-taint") == [
        (
            "gpu: GPU NodePool has no nvidia.com/gpu NoSchedule taint: pods that need no GPU can land on (and keep up) "
            "GPU nodes"
        )
    ]


def test_fails_when_inference_nodepool_is_spot_only(check):
    spec = nodepool_spec()
    spec["template"]["spec"]["requirements"][1]["values"] = ["spot"]
    assert check(nodepool(spec), "karpenter-inference-on-demand") == [
        "gpu: inference NodePool launches spot capacity only: serving capacity can vanish at two minutes' notice"
    ]


def test_cpu_nodepool_is_not_judged_by_the_gpu_rules(check):
    spec = nodepool_spec(limits={}, template__spec__taints=[])
    spec["template"]["metadata"]["labels"] = {}
    spec["template"]["spec"]["requirements"][0]["values"] = ["m6i.large"]
    assert check(nodepool(spec), "karpenter-nodepool-limits") == []
    assert check(nodepool(spec), "karpenter-gpu-nodepool-taint") == []


def test_queued_gpu_job_passes(check):
    assert check(job({"kueue.x-k8s.io/queue-name": "training"}), "gpu-job-queue-label") == []


def test_fails_when_gpu_job_has_no_queue_label(check):
    assert check(job({}), "gpu-job-queue-label") == [
        (
            "train: requests nvidia.com/gpu without the kueue.x-k8s.io/queue-name label: Kueue does not queue it, so it "
            "bypasses the team's queue and waits on the namespace quota instead"
        )
    ]


def test_cpu_job_without_queue_label_is_not_judged(check):
    assert check(job({}, gpus=None), "gpu-job-queue-label") == []


def test_gpu_job_marked_do_not_disrupt_passes(check):
    assert check(job({"kueue.x-k8s.io/queue-name": "training"}), "gpu-job-do-not-disrupt") == []


def test_fails_when_gpu_job_pods_may_be_disrupted(check):
    assert check(job({"kueue.x-k8s.io/queue-name": "training"}, annotations={}), "gpu-job-do-not-disrupt") == [
        (
            'train: GPU pods without the karpenter.sh/do-not-disrupt: "true" annotation: Karpenter\'s consolidation or '
            "expiry can evict a running training job and lose the work since its last checkpoint"
        )
    ]


def gpu_node_group():
    import pulumi_aws as aws

    aws.eks.NodeGroup(
        "gpu",
        cluster_name="c",
        node_role_arn="arn:aws:iam::123456789012:role/n",
        subnet_ids=["subnet-1"],
        instance_types=["g5.xlarge"],
        scaling_config={"min_size": 0, "max_size": 2, "desired_size": 0},
    )


def test_gpu_nodepools_alone_have_one_owner(check):
    assert check(nodepool(nodepool_spec()), "gpu-capacity-single-owner") == []


def test_fails_when_gpu_node_groups_and_gpu_nodepools_share_a_stack(check):
    def program() -> None:
        gpu_node_group()
        nodepool(nodepool_spec())()

    assert check(program, "gpu-capacity-single-owner") == [
        (
            "stack: GPU capacity has two owners: node groups gpu (cluster-autoscaler) and Karpenter NodePools gpu; they "
            "race for the same pending pods and each scales down what the other brought up"
        )
    ]
