"""Job queueing with Kueue: GPU jobs wait in their team's queue instead of being rejected by the quota.

Creates: the Kueue controller from its Helm chart (pinned) on the system pool; a `ResourceFlavor` per GPU pool
(the pool's node label and GPU taint, so an admitted job lands on that pool); a `ClusterQueue` per team whose
nominal quota is the team's GPU/CPU/memory quota on every training flavor, all in one cohort so a team can borrow
what others leave idle, and reclaiming borrowed capacity by preemption (`reclaimWithinCohort: Any`); and a
`LocalQueue` named `QUEUE_NAME` in each team namespace. The namespace `ResourceQuota` stays the hard ceiling.

Kueue has no provisioning path with Karpenter: a quota larger than what the NodePool `limits` can bring up admits
jobs that then sit Pending. `quota_problem` refuses that at config load.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import field_validator

from components import gpu_labels
from components.kubernetes_layer import TeamSettings
from components.settings import Section

CHART = "oci://registry.k8s.io/kueue/charts/kueue"
NAMESPACE = "kueue-system"
API = "kueue.x-k8s.io/v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
"""The label a Job (or PyTorchJob) carries to be queued; Kueue leaves jobs without it alone."""
QUEUE_NAME = "training"
"""The LocalQueue every team namespace has."""
COHORT = "ml-platform"

_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


class KueueSettings(Section):
    """Kueue, installed whenever the cluster has GPU pools and teams."""

    chart_version: str = "0.19.2"
    """Version of Kueue's Helm chart and controller image. Pinned: an upgrade is a reviewed change here."""

    @field_validator("chart_version")
    @classmethod
    def _chart(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError("an exact chart version such as '0.19.2' (no ranges, no 'latest')")
        return value


@dataclass(frozen=True, kw_only=True)
class Flavor:
    """A GPU pool as Kueue sees it."""

    pool: str
    purpose: str
    gpu_limit: int
    """GPUs the pool can bring up at most (NodePool `limits`, or maxSize x GPUs per node)."""


def flavor_name(pool: str) -> str:
    return f"gpu-{pool}"


def cluster_queue_name(team: str) -> str:
    return f"team-{team}"


def quota_problem(teams: Sequence[TeamSettings], flavors: Sequence[Flavor]) -> str | None:
    """The message when the teams' Kueue GPU quotas on a flavor add up to more than its pool can bring up."""
    total = sum(t.gpu_quota for t in teams)
    for flavor in flavors:
        if flavor.purpose == "training" and total > flavor.gpu_limit:
            return (
                f"Kueue GPU quotas add up to {total} on pool '{flavor.pool}' "
                f"({', '.join(f'{t.name}: {t.gpu_quota}' for t in teams)}), more than its NodePool limit of "
                f"{flavor.gpu_limit} GPUs; admitted jobs would stay Pending. Lower the teams' gpuQuota or raise "
                "the pool's maxSize"
            )
    return None


def resource_flavor_spec(flavor: Flavor) -> dict[str, Any]:
    """Admitted workloads get the pool's node label as a node selector; they must tolerate the GPU taint."""
    taint = gpu_labels.GPU_TAINT
    return {
        "nodeLabels": {gpu_labels.POOL_LABEL: flavor.pool},
        "nodeTaints": [{"key": taint.key, "value": taint.value, "effect": taint.effect}],
    }


def cluster_queue_spec(team: TeamSettings, flavors: Sequence[Flavor]) -> dict[str, Any]:
    training = [f for f in flavors if f.purpose == "training"]
    return {
        "cohortName": COHORT,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.name}},
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [
            {
                "coveredResources": ["cpu", "memory", gpu_labels.GPU_RESOURCE],
                "flavors": [
                    {
                        "name": flavor_name(f.pool),
                        "resources": [
                            {"name": "cpu", "nominalQuota": team.cpu_quota},
                            {"name": "memory", "nominalQuota": team.memory_quota},
                            {"name": gpu_labels.GPU_RESOURCE, "nominalQuota": str(team.gpu_quota)},
                        ],
                    }
                    for f in training
                ],
            }
        ],
        "preemption": {
            # A team that lent its idle quota gets it back: workloads running on borrowed quota are preempted.
            "reclaimWithinCohort": "Any",
            "withinClusterQueue": "LowerPriority",
        },
    }


def helm_values(settings: KueueSettings) -> dict[str, Any]:
    """Values for Kueue's chart (keys from its values.yaml): the released image, on the system pool."""
    return {
        "controllerManager": {
            "manager": {
                "image": {"tag": f"v{settings.chart_version}", "pullPolicy": "IfNotPresent"},
            },
            "nodeSelector": {gpu_labels.POOL_LABEL: "system"},
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        },
    }


@dataclass(frozen=True, kw_only=True)
class KueueArgs:
    settings: KueueSettings
    flavors: Sequence[Flavor]
    teams: Sequence[TeamSettings]
    namespaces: dict[str, pulumi.Input[str]]
    """Team -> namespace (the Kubernetes layer's outputs, so queues wait for their namespaces)."""
    provider: k8s.Provider


class Kueue(pulumi.ComponentResource):
    """Kueue and the team queues. Attributes: `release`, `flavors[pool]`, `cluster_queues[team]`,
    `local_queues[team]`."""

    def __init__(self, name: str, args: KueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:Kueue", name, None, opts)
        problem = quota_problem(args.teams, args.flavors)
        if problem is not None:
            raise ValueError(problem)
        kube = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.release = k8s.helm.v3.Release(
            f"{name}-controller",
            name="kueue",
            chart=CHART,
            version=args.settings.chart_version,
            namespace=NAMESPACE,
            create_namespace=True,
            values=helm_values(args.settings),
            atomic=True,
            opts=kube,
        )
        after = pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[self.release]))
        self.flavors = {
            f.pool: k8s.apiextensions.CustomResource(
                f"{name}-flavor-{f.pool}",
                api_version=API,
                kind="ResourceFlavor",
                metadata={"name": flavor_name(f.pool)},
                spec=resource_flavor_spec(f),
                opts=after,
            )
            for f in args.flavors
        }
        self.cluster_queues: dict[str, k8s.apiextensions.CustomResource] = {}
        self.local_queues: dict[str, k8s.apiextensions.CustomResource] = {}
        for team in args.teams:
            queue = k8s.apiextensions.CustomResource(
                f"{name}-team-{team.name}",
                api_version=API,
                kind="ClusterQueue",
                metadata={"name": cluster_queue_name(team.name)},
                spec=cluster_queue_spec(team, args.flavors),
                opts=pulumi.ResourceOptions.merge(
                    after, pulumi.ResourceOptions(depends_on=list(self.flavors.values()))
                ),
            )
            self.cluster_queues[team.name] = queue
            self.local_queues[team.name] = k8s.apiextensions.CustomResource(
                f"{name}-team-{team.name}-local",
                api_version=API,
                kind="LocalQueue",
                metadata={"name": QUEUE_NAME, "namespace": args.namespaces[team.name]},
                spec={"clusterQueue": cluster_queue_name(team.name)},
                opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[queue])),
            )
        self.register_outputs({"cluster_queues": sorted(self.cluster_queues)})
