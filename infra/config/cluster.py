"""`ml-platform:cluster`: the EKS cluster, its node pools and the teams the Kubernetes layer serves.

Every setting is declared once, in the model of the component that uses it: the cluster's own and its pools'
(`ClusterSettings` in `components/cluster.py`, `SystemPoolSettings` and `GpuPoolSettings` in
`components/node_pool.py`), a team's (`TeamSettings` in `components/kubernetes_layer.py`), Karpenter's and Kueue's
(`components/karpenter.py`, `components/kueue.py`). This section only adds the teams, Karpenter and Kueue to the
cluster's model and checks what spans two of them. Environment differences (pool sizes, GPU pools, log retention,
whether inference may run on spot only) are in `infra/config/profiles.py`. The check that pool instance types sit
inside `guardrails.allowedInstanceTypes` is in `infra/config/schema.py` (it reads two sections).
"""

from __future__ import annotations

from pydantic import model_validator

from components import cluster_rules as rules
from components.cluster import ClusterSettings
from components.karpenter import KarpenterSettings, gpu_limit
from components.kubernetes_layer import TeamSettings
from components.kueue import Flavor, KueueSettings, quota_problem
from components.settings import FieldError

__all__ = ["ClusterConfig"]


class ClusterConfig(ClusterSettings):
    """The EKS cluster, its node pools and the teams. Defaults are the secure ones; profiles size them."""

    teams: tuple[TeamSettings, ...] = ()
    """Team namespaces with GPU/CPU/memory quotas."""
    karpenter: KarpenterSettings = KarpenterSettings()
    """Karpenter's chart, AMI pin, expiry and disruption budgets (used with `gpuCapacity: karpenter`)."""
    kueue: KueueSettings = KueueSettings()
    """Kueue's chart (installed when there are GPU pools and teams)."""

    @model_validator(mode="after")
    def _teams_fit_the_pools(self) -> ClusterConfig:
        repeat = rules.first_repeat(t.name for t in self.teams)
        if repeat is not None:
            raise FieldError(f"teams.{repeat}.name", self.teams[repeat].name, "listed twice; each must be unique")
        capacity = sum(p.max_size * p.gpus_per_node for p in self.gpu_pools)
        for i, team in enumerate(self.teams):
            if team.gpu_quota > capacity:
                raise FieldError(
                    f"teams.{i}.gpuQuota",
                    team.gpu_quota,
                    f"more than all GPU pools can provide at full scale ({capacity}); lower it or grow a pool's maxSize",
                )
        if self.gpu_pools and self.teams:
            quota_message = quota_problem(self.teams, self.kueue_flavors)
            if quota_message is not None:
                raise FieldError("teams", [t.name for t in self.teams], quota_message)
        return self

    @property
    def kueue_flavors(self) -> tuple[Flavor, ...]:
        """A Kueue flavor per GPU pool, with the GPUs the pool can bring up (its NodePool limit)."""
        return tuple(Flavor(pool=p.name, purpose=p.purpose, gpu_limit=gpu_limit(p)) for p in self.gpu_pools)
