"""Facts about EC2 and SageMaker instance types that the cost, encryption and reliability rules need.

The pack runs in a virtualenv with only pulumi-policy installed (no botocore, no repository code), so it ships the
platform's fact table as `aws_facts.json`: a copy of `components/facts/aws.json`, held equal to it by
`components/facts/test_facts.py`. SageMaker types are EC2 types with an `ml.` prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FACTS: dict[str, Any] = json.loads(Path(__file__).with_name("aws_facts.json").read_text())

UNTABLED_GPUS = 8
"""GPUs assumed for a type of a GPU family whose count is not tabled: the most any one instance of these families
has but p2.16xlarge, so a GPU budget is overestimated rather than passed by a type the table does not know yet."""


def split(instance_type: str) -> tuple[str, str]:
    """("g5", "2xlarge") for `g5.2xlarge` and for `ml.g5.2xlarge`; ("", "") when it is not an instance type."""
    parts = instance_type.split(".")
    if len(parts) == 3 and parts[0] == "ml":
        parts = parts[1:]
    if len(parts) != 2:
        return "", ""
    return parts[0], parts[1]


def gpus(instance_type: str) -> int:
    """GPUs on one instance of the type; 0 for CPU and Neuron/Gaudi accelerator types."""
    family, size = split(instance_type)
    if family not in FACTS["gpuFamilies"]:
        return 0
    return FACTS["gpusPerInstance"].get(f"{family}.{size}", UNTABLED_GPUS)


def is_gpu(instance_type: str) -> bool:
    return gpus(instance_type) > 0


def has_local_storage(instance_type: str) -> bool:
    """Nitro families with local NVMe instance storage: SageMaker encrypts it in hardware and rejects a KMS key
    for it."""
    family, _ = split(instance_type)
    return family in FACTS["localNvmeFamilies"]


def eks_standard_support_versions() -> list[str]:
    return list(FACTS["eks"]["standardSupportVersions"])
