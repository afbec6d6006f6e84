"""Facts about AWS the platform depends on, declared once in `aws.json` and read by every consumer.

Components (node pools, endpoints), stack-file validation (`infra/config`) and the policy pack (which ships a copy of
`aws.json`, held equal to this one by a test) all read the same table, so changing a GPU count or a supported EKS
version is one line in `aws.json`. Where botocore's service models carry a fact (SageMaker's instance types,
CloudWatch Logs' retention periods, EC2's instance types) `components/facts/test_facts.py` checks the table
against them.

What each key means:

- `gpuFamilies`: EC2 families with GPUs. A family may be listed before its per-size counts are known.
- `gpusPerInstance`: GPUs on one instance of each type (EC2 spelling; SageMaker's `ml.` types share it). Utilisation
  alarms, autoscaler templates and GPU budgets scale with it; a GPU type missing here is refused, not guessed.
- `vcpusPerInstance`: vCPUs on one instance of each GPU type a node pool may run (EKS NVIDIA families). Karpenter
  NodePool `limits.cpu` is derived from it, so a pool's CPU limit never stops it short of its GPU limit.
- `eksNvidiaFamilies`: GPU families EKS's NVIDIA AMIs support (what a GPU node pool may run).
- `armGpuFamilies`: GPU families on Graviton, which need arm64 AMIs.
- `efaFamilies`: families where EFA and a cluster placement group pay off for multi-node training.
- `localNvmeFamilies`: families with local NVMe instance storage. SageMaker encrypts that storage in hardware and
  fails `CreateEndpointConfig` when a `KmsKeyId` is given for them, so endpoints leave the volume key off for these
  families only and the policy pack accepts that.
- `eks.testedVersions`: Kubernetes versions this blueprint's cluster supports (standard support, no extended-support
  fee); `eks.defaultVersion` is one of them. `eks.standardSupportVersions`: what the policy pack accepts from any
  program. `eks.addons` / `eks.addonVersions`: the managed add-ons and their pinned default build per version.
- `logRetentionDays`: the retention periods CloudWatch Logs accepts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("aws.json")
"""The table. The policy pack ships a copy (`policies/rules/aws_facts.json`)."""


@dataclass(frozen=True)
class EksFacts:
    tested_versions: tuple[str, ...]
    default_version: str
    standard_support_versions: tuple[str, ...]
    addons: tuple[str, ...]
    addon_versions: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Facts:
    gpu_families: tuple[str, ...]
    gpus_per_instance: Mapping[str, int]
    vcpus_per_instance: Mapping[str, int]
    eks_nvidia_families: tuple[str, ...]
    arm_gpu_families: tuple[str, ...]
    efa_families: tuple[str, ...]
    local_nvme_families: frozenset[str]
    eks: EksFacts
    log_retention_days: tuple[int, ...]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Facts:
        eks = doc["eks"]
        return cls(
            gpu_families=tuple(doc["gpuFamilies"]),
            gpus_per_instance=dict(doc["gpusPerInstance"]),
            vcpus_per_instance=dict(doc["vcpusPerInstance"]),
            eks_nvidia_families=tuple(doc["eksNvidiaFamilies"]),
            arm_gpu_families=tuple(doc["armGpuFamilies"]),
            efa_families=tuple(doc["efaFamilies"]),
            local_nvme_families=frozenset(doc["localNvmeFamilies"]),
            eks=EksFacts(
                tested_versions=tuple(eks["testedVersions"]),
                default_version=eks["defaultVersion"],
                standard_support_versions=tuple(eks["standardSupportVersions"]),
                addons=tuple(eks["addons"]),
                addon_versions={v: dict(row) for v, row in eks["addonVersions"].items()},
            ),
            log_retention_days=tuple(doc["logRetentionDays"]),
        )


def load(path: Path = DATA) -> Facts:
    return Facts.from_json(json.loads(path.read_text()))


FACTS = load()
"""The table as loaded. Consumers read `facts.FACTS` (or the functions below) when they need a fact, never a copy
taken at import time, so a patched table reaches all of them (see the tests)."""


def instance_family(instance_type: str) -> str:
    """`g5` for `g5.2xlarge` and for `ml.g5.2xlarge`; "" when it is not an instance type."""
    parts = instance_type.split(".")
    if len(parts) == 3 and parts[0] == "ml":
        parts = parts[1:]
    return parts[0] if len(parts) == 2 else ""


def ec2_type(instance_type: str) -> str:
    """`g5.2xlarge` for `ml.g5.2xlarge` (and for itself)."""
    return instance_type.removeprefix("ml.")


def is_gpu(instance_type: str) -> bool:
    """Whether the type (EC2 or SageMaker spelling) is of a GPU family."""
    return instance_family(instance_type) in FACTS.gpu_families


def gpu_count(instance_type: str) -> int | None:
    """GPUs on one instance; 0 for a type of no GPU family; None for a GPU type whose count is not tabled."""
    if not is_gpu(instance_type):
        return 0
    return FACTS.gpus_per_instance.get(ec2_type(instance_type))


def vcpu_count(instance_type: str) -> int | None:
    """vCPUs on one instance of a GPU node type (EC2 or SageMaker spelling); None when the type is not tabled."""
    return FACTS.vcpus_per_instance.get(ec2_type(instance_type))


def tabled_gpu_types(family: str) -> list[str]:
    """The EC2 types of a GPU family whose GPU count is tabled."""
    return [t for t in FACTS.gpus_per_instance if instance_family(t) == family]


def has_local_nvme(instance_type: str) -> bool:
    return instance_family(instance_type) in FACTS.local_nvme_families


def log_retention_days() -> tuple[int, ...]:
    return FACTS.log_retention_days


def check_log_retention(days: int) -> int:
    """`days` if CloudWatch Logs accepts it as a retention period; ValueError listing the accepted ones otherwise."""
    if isinstance(days, bool) or days not in FACTS.log_retention_days:
        raise ValueError(
            f"CloudWatch Logs accepts only these retention periods (days): {', '.join(map(str, FACTS.log_retention_days))}"
        )
    return days
