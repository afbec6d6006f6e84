"""Network rules that config validation and the network component share, free of Pulumi imports.

Each `check_*` returns its value or raises `ValueError` saying what is allowed; `infra/config/network.py` maps the
message to the stack-file key, `components.network.plan_network` to the argument.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from components.subnet_layout import AZ_SLOTS

MIN_AZS = 2
"""EKS requires subnets in at least two AZs; two is also the least that survives losing one."""
MAX_AZS = AZ_SLOTS

NAT_STRATEGIES: dict[str, str] = {
    "none": "no NAT gateway: private subnets reach AWS only through VPC endpoints, nothing on the internet",
    "single": "one NAT gateway in the first AZ: cheapest egress, lost while that AZ is down",
    "per_az": "one NAT gateway per AZ: egress survives an AZ loss and never crosses AZs",
}

INTERFACE_ENDPOINTS: dict[str, str] = {
    "ecr.api": "ECR registry API (image manifests, auth tokens)",
    "ecr.dkr": "ECR Docker registry (image pulls; layers come through the S3 gateway endpoint)",
    "sts": "STS (IRSA and EKS Pod Identity credential exchange)",
    "logs": "CloudWatch Logs (container and SageMaker logs)",
    "kms": "KMS (decrypting artifacts, volumes and secrets)",
    "sagemaker.api": "SageMaker API",
    "sagemaker.runtime": "SageMaker runtime (invoking model endpoints)",
    "sagemaker.featurestore-runtime": "SageMaker Feature Store runtime",
    "ec2": "EC2 API (Karpenter, VPC CNI)",
    "ec2messages": "Systems Manager agent messages",
    "ssm": "Systems Manager (Session Manager access to nodes)",
    "ssmmessages": "Session Manager sessions",
    "eks": "EKS API",
    "eks-auth": "EKS Pod Identity",
    "elasticloadbalancing": "Elastic Load Balancing API (AWS Load Balancer Controller)",
    "autoscaling": "EC2 Auto Scaling API (cluster autoscaler)",
    "sqs": "SQS (Karpenter interruption queue)",
    "monitoring": "CloudWatch metrics",
    "secretsmanager": "Secrets Manager",
    "xray": "X-Ray traces",
}
"""Interface endpoint names this component knows (the service part of `com.amazonaws.<region>.<name>`)."""

DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs", "kms", "sagemaker.api", "sagemaker.runtime")
"""What a private EKS + SageMaker platform calls all the time: image pulls, credentials, logs, keys, SageMaker."""

EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""AZ IDs where EKS cannot place a control plane. Zone IDs, not names: names map to zones differently per account."""

EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
"""EKS's rule for cluster names; the name ends up in subnet tag keys."""


def check_nat_strategy(value: str) -> str:
    if value not in NAT_STRATEGIES:
        options = "; ".join(f"{k}: {v}" for k, v in NAT_STRATEGIES.items())
        raise ValueError(f"must be one of {' | '.join(NAT_STRATEGIES)} ({options})")
    return value


def check_interface_endpoint(name: str) -> str:
    if name == "s3":
        raise ValueError(
            "S3 always gets a gateway endpoint (free, and it keeps dataset traffic off NAT); remove it here"
        )
    if name not in INTERFACE_ENDPOINTS:
        # "ecr" should point at the ecr.* endpoints before difflib's nearest spelling ("ec2").
        family = [k for k in INTERFACE_ENDPOINTS if k.startswith(f"{name}.")]
        guess = family or difflib.get_close_matches(name, list(INTERFACE_ENDPOINTS), n=1)
        hint = f"did you mean {' or '.join(repr(g) for g in guess)}? " if guess else ""
        raise ValueError(f"unknown interface endpoint; {hint}known: {', '.join(INTERFACE_ENDPOINTS)}")
    return name


def check_az_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not MIN_AZS <= count <= MAX_AZS:
        raise ValueError(
            f"must be {MIN_AZS} or {MAX_AZS}: EKS needs subnets in at least {MIN_AZS} AZs, and the subnet layout "
            f"has room for {MAX_AZS}"
        )
    return count


def select_availability_zones(
    names: Sequence[str], zone_ids: Sequence[str], count: int, *, region: str = "the region"
) -> list[str]:
    """The first `count` usable AZs of a region, by name; ValueError when the region has fewer.

    Sorted by name, so a region gaining an AZ later never changes which AZs an existing stack uses.
    """
    usable = sorted(n for n, z in zip(names, zone_ids, strict=True) if z not in EKS_UNSUPPORTED_ZONE_IDS)
    if count > len(usable):
        skipped = sorted(n for n, z in zip(names, zone_ids, strict=True) if z in EKS_UNSUPPORTED_ZONE_IDS)
        note = f" ({', '.join(skipped)} skipped: EKS does not support it)" if skipped else ""
        listed = ", ".join(usable) or "none"
        fix = f"use {len(usable)}" if len(usable) >= MIN_AZS else f"the platform needs {MIN_AZS}; pick another region"
        raise ValueError(f"{region} has only {len(usable)} usable availability zones ({listed}){note}; {fix}")
    return usable[:count]
