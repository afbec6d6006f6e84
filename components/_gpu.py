"""GPU facts shared by the node pools, the autoscaler tags and the Kubernetes layer: one source of truth.

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

GPU_FAMILIES = ("g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en")
"""EC2 instance families with NVIDIA GPUs that EKS's NVIDIA AMIs support."""

ARM_FAMILIES = ("g5g",)
"""GPU families on Arm (Graviton) processors: they need the arm64 NVIDIA AMIs, not the x86_64 ones."""

EFA_FAMILIES = ("p4d", "p4de", "p5", "p5e", "p5en")
"""Families where EFA and a cluster placement group pay off for multi-node training."""

GPUS_PER_INSTANCE: dict[str, int] = {
    # From the EC2 instance-type pages; the autoscaler needs this for a pool with zero nodes.
    "g4dn.xlarge": 1, "g4dn.2xlarge": 1, "g4dn.4xlarge": 1, "g4dn.8xlarge": 1, "g4dn.16xlarge": 1,
    "g4dn.12xlarge": 4, "g4dn.metal": 8,
    "g5.xlarge": 1, "g5.2xlarge": 1, "g5.4xlarge": 1, "g5.8xlarge": 1, "g5.16xlarge": 1,
    "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    "g6.xlarge": 1, "g6.2xlarge": 1, "g6.4xlarge": 1, "g6.8xlarge": 1, "g6.16xlarge": 1,
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8,
    "g6e.xlarge": 1, "g6e.2xlarge": 1, "g6e.4xlarge": 1, "g6e.8xlarge": 1, "g6e.16xlarge": 1,
    "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
    "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
    "p4d.24xlarge": 8, "p4de.24xlarge": 8,
    "p5.48xlarge": 8, "p5e.48xlarge": 8, "p5en.48xlarge": 8,
}  # fmt: skip


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def is_gpu_instance_type(instance_type: str) -> bool:
    return instance_family(instance_type) in GPU_FAMILIES


def gpus_per_instance(instance_type: str) -> int:
    """GPUs on one instance of `instance_type`; KeyError for a type missing from the table (add it there)."""
    return GPUS_PER_INSTANCE[instance_type]


VCPUS_PER_INSTANCE: dict[str, int] = {
    # From the EC2 instance-type pages; Karpenter NodePool `limits.cpu` is derived from it.
    "g4dn.xlarge": 4, "g4dn.2xlarge": 8, "g4dn.4xlarge": 16, "g4dn.8xlarge": 32, "g4dn.16xlarge": 64,
    "g4dn.12xlarge": 48, "g4dn.metal": 96,
    "g5.xlarge": 4, "g5.2xlarge": 8, "g5.4xlarge": 16, "g5.8xlarge": 32, "g5.16xlarge": 64,
    "g5.12xlarge": 48, "g5.24xlarge": 96, "g5.48xlarge": 192,
    "g6.xlarge": 4, "g6.2xlarge": 8, "g6.4xlarge": 16, "g6.8xlarge": 32, "g6.16xlarge": 64,
    "g6.12xlarge": 48, "g6.24xlarge": 96, "g6.48xlarge": 192,
    "g6e.xlarge": 4, "g6e.2xlarge": 8, "g6e.4xlarge": 16, "g6e.8xlarge": 32, "g6e.16xlarge": 64,
    "g6e.12xlarge": 48, "g6e.24xlarge": 96, "g6e.48xlarge": 192,
    "p3.2xlarge": 8, "p3.8xlarge": 32, "p3.16xlarge": 64, "p3dn.24xlarge": 96,
    "p4d.24xlarge": 96, "p4de.24xlarge": 96,
    "p5.48xlarge": 192, "p5e.48xlarge": 192, "p5en.48xlarge": 192,
}  # fmt: skip


def vcpus_per_instance(instance_type: str) -> int:
    """vCPUs of one instance of `instance_type`; KeyError for a type missing from the table (add it there)."""
    return VCPUS_PER_INSTANCE[instance_type]
