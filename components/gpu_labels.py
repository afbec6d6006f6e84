"""GPU conventions shared by the node pools, the autoscaler tags and the Kubernetes layer: one source of truth.

Facts about GPU instance types (families, GPUs per instance) are in `components/facts`.

The node pools taint GPU nodes with `GPU_TAINT`; the NVIDIA device plugin and GPU workloads tolerate exactly that
taint; the cluster-autoscaler learns a zero-node pool's taint, labels and GPU count from ASG tags built from the
same values. Changing the taint here changes all three together.
"""

from __future__ import annotations

from dataclasses import dataclass

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource the NVIDIA device plugin advertises and pods request."""


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str
    """Kubernetes spelling (`NoSchedule`)."""

    @property
    def eks_effect(self) -> str:
        """The EKS API spelling of the effect (`NO_SCHEDULE`): managed node groups reject the Kubernetes one."""
        return {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}[
            self.effect
        ]

    def toleration(self) -> dict[str, str]:
        """A pod toleration matching exactly this taint (Kubernetes API field names)."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TAINT = Taint(key=GPU_RESOURCE, value="true", effect="NoSchedule")
"""Keeps pods that do not ask for GPUs off GPU nodes."""

GPU_NODE_LABELS: dict[str, str] = {"nvidia.com/gpu.present": "true", "accelerator": "nvidia"}
"""Labels every GPU node carries; the device plugin and DCGM exporter select on `nvidia.com/gpu.present`."""

POOL_LABEL = "ml-platform/pool"
"""Label naming the node pool a node belongs to (system, or a GPU pool's name)."""
