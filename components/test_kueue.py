"""Kueue: a flavor per GPU pool, a queue per team with its quota in one cohort, quotas within the pools' limits."""

from __future__ import annotations

from components.kubernetes_layer import TeamSettings
from components.kueue import Flavor, cluster_queue_spec, quota_problem, resource_flavor_spec

TRAINING = Flavor(pool="training", purpose="training", gpu_limit=4)
INFERENCE = Flavor(pool="inference", purpose="inference", gpu_limit=2)
RESEARCH = TeamSettings(name="research", gpu_quota=2, cpu_quota="32", memory_quota="128Gi")
SERVING = TeamSettings(name="serving", gpu_quota=2, cpu_quota="16", memory_quota="64Gi")


def test_flavor_selects_its_pool_and_requires_the_gpu_toleration():
    assert resource_flavor_spec(TRAINING) == {
        "nodeLabels": {"ml-platform/pool": "training"},
        "nodeTaints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    }


def test_team_queue_has_its_quota_on_training_flavors_in_the_shared_cohort_and_reclaims_lent_capacity():
    spec = cluster_queue_spec(RESEARCH, [INFERENCE, TRAINING])
    assert spec["cohortName"] == "ml-platform"
    assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "research"}}
    assert spec["preemption"]["reclaimWithinCohort"] == "Any"
    (group,) = spec["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    assert group["flavors"] == [
        {
            "name": "gpu-training",
            "resources": [
                {"name": "cpu", "nominalQuota": "32"},
                {"name": "memory", "nominalQuota": "128Gi"},
                {"name": "nvidia.com/gpu", "nominalQuota": "2"},
            ],
        }
    ]


def test_quotas_within_the_pool_limit_pass():
    assert quota_problem([RESEARCH, SERVING], [TRAINING, INFERENCE]) is None


def test_fails_when_quotas_exceed_what_the_nodepool_can_bring_up():
    big = TeamSettings(name="research", gpu_quota=4, cpu_quota="32", memory_quota="128Gi")
    assert quota_problem([big, SERVING], [TRAINING]) == (
        "Kueue GPU quotas add up to 6 on pool 'training' (research: 4, serving: 2), more than its NodePool limit of "
        "4 GPUs; admitted jobs would stay Pending. Lower the teams' gpuQuota or raise the pool's maxSize"
    )
