"""Facts about EC2 and SageMaker instance types that the cost and encryption rules need.

The pack runs in a virtualenv with only pulumi-policy installed (no botocore, no repository code), so the
few facts it needs are tabled here. SageMaker types are EC2 types with an `ml.` prefix.
"""

from __future__ import annotations

import re

# GPUs per instance, by family then size. Sizes not listed in a family take its `*` entry.
_GPUS: dict[str, dict[str, int]] = {
    "g3": {"4xlarge": 1, "8xlarge": 2, "16xlarge": 4, "*": 1},
    "g3s": {"*": 1},
    "g4dn": {"12xlarge": 4, "metal": 8, "*": 1},
    "g4ad": {"16xlarge": 4, "*": 1},
    "g5": {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8, "*": 1},
    "g5g": {"16xlarge": 2, "metal": 2, "*": 1},
    "g6": {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8, "*": 1},
    "g6e": {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8, "*": 1},
    "g6f": {"*": 1},
    "gr6": {"*": 1},
    "g7e": {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8, "*": 1},
    "p2": {"8xlarge": 8, "16xlarge": 16, "*": 1},
    "p3": {"8xlarge": 4, "16xlarge": 8, "*": 1},
    "p3dn": {"*": 8},
    "p4d": {"*": 8},
    "p4de": {"*": 8},
    "p5": {"4xlarge": 1, "*": 8},
    "p5e": {"*": 8},
    "p5en": {"*": 8},
    "p6-b200": {"*": 8},
    "p6-b300": {"*": 8},
    "p6e-gb200": {"*": 4},
}

# Nitro families with local NVMe instance storage: SageMaker encrypts it in hardware and rejects a KMS key for it.
_LOCAL_STORAGE_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")  # m5d, c6id, r5ad, g4dn, p4d, p4de, p3dn, ...
_LOCAL_STORAGE_EXTRA = frozenset(
    {"g5", "g6", "g6e", "g7e", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "trn1", "trn1n", "trn2", "dl1"}
)


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
    table = _GPUS.get(family)
    if table is None:
        return 0
    return table.get(size, table["*"])


def is_gpu(instance_type: str) -> bool:
    return gpus(instance_type) > 0


def has_local_storage(instance_type: str) -> bool:
    family, _ = split(instance_type)
    return bool(family) and (family in _LOCAL_STORAGE_EXTRA or bool(_LOCAL_STORAGE_FAMILY.match(family)))
