"""Cluster and node-pool rules that config validation and the components share, free of Pulumi imports.

Facts (supported versions, add-on builds, GPU families and counts, log retentions) come from `components/facts`,
read when a check runs. Each `check_*` returns its value or raises `ValueError` saying what is allowed; the settings
models that call them (`components.cluster.ClusterSettings`, `components.node_pool.SystemPoolSettings` and
`GpuPoolSettings`) map the message to the stack-file key.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Literal, get_args

from components import facts

OBSERVABILITY_ADDON = "amazon-cloudwatch-observability"
"""Container Insights (enhanced observability) with NVIDIA DCGM GPU metrics and container logs; installed by
`components.monitoring` when `monitoring.containerInsights` is on, not by every cluster."""

OBSERVABILITY_ADDON_VERSIONS: dict[str, str] = {"1.34": "v4.10.3-eksbuild.1", "1.35": "v4.10.3-eksbuild.1"}
"""Pinned like the rows above (refresh with `aws eks describe-addon-versions --addon-name
amazon-cloudwatch-observability --kubernetes-version <v>`). The add-on publishes the `ContainerInsights` metric names the
dashboard and alarms use (`node_gpu_utilization`, `pod_status_pending`...); its opt-in OpenTelemetry mode (6.2+)
uses the upstream names instead, so it stays off."""

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every control-plane log EKS can send to CloudWatch Logs."""

Capacity = Literal["on_demand", "spot"]
"""How a GPU pool buys its nodes, in the stack file's spelling."""

CAPACITY_TYPES: dict[str, str] = {"on_demand": "ON_DEMAND", "spot": "SPOT"}
"""Config spelling -> EKS API spelling."""

GpuAmiType = Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"]
"""EKS-optimised AMIs with the NVIDIA driver and container toolkit (x86_64)."""

GPU_AMI_TYPES: tuple[str, ...] = get_args(GpuAmiType)

CPU_AMI_TYPES = ("AL2023_x86_64_STANDARD", "BOTTLEROCKET_x86_64")
"""AMIs for the system pool (it boots the first)."""

Purpose = Literal["training", "inference"]
"""What a GPU pool runs; the node label `ml-platform/purpose`."""

PURPOSES: tuple[str, ...] = get_args(Purpose)

MIN_DISK_GIB = 50
"""GPU images (CUDA, frameworks) are tens of GiB; smaller root volumes fill up on the first pull."""

MAX_DISK_GIB = 16384
"""gp3's largest volume."""

_POOL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]+$")

_NON_PUBLIC = tuple(
    ipaddress.ip_network(block)
    for block in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)
"""Ranges that never reach a public endpoint: RFC 1918, carrier-grade NAT, loopback, link-local, IPv6 ULA."""

SYSTEM_POOL = "system"
"""The system pool's name; reserved, a GPU pool cannot take it."""


def first_repeat(values: Iterable[Hashable]) -> int | None:
    """The index of the first value listed a second time, or None when every value is unique."""
    seen: set[Hashable] = set()
    for index, value in enumerate(values):
        if value in seen:
            return index
        seen.add(value)
    return None


def check_version(version: str) -> str:
    supported = facts.FACTS.eks.tested_versions
    if version not in supported:
        raise ValueError(f"unsupported EKS version; supported: {', '.join(supported)}")
    return version


def addon_versions(version: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pinned add-on versions for a cluster version (`components/facts`), with `overrides` laid over them
    (validated)."""
    versions = {**facts.FACTS.eks.addon_versions[check_version(version)]}
    for addon, pinned in (overrides or {}).items():
        check_addon_version(addon, pinned, version)
        versions[addon] = pinned
    return versions


def check_addon_version(addon: str, pinned: str, cluster_version: str) -> str:
    addons = facts.FACTS.eks.addons
    if addon not in addons:
        raise ValueError(f"unknown add-on {addon!r}; the managed add-ons are: {', '.join(addons)}")
    if not _ADDON_VERSION.match(pinned):
        raise ValueError(
            "not an EKS add-on version; expected e.g. 'v1.21.1-eksbuild.1' (aws eks describe-addon-versions)"
        )
    if addon == "kube-proxy":
        minor = ".".join(pinned.removeprefix("v").split(".")[:2])
        if minor != cluster_version:
            raise ValueError(f"kube-proxy must match the cluster's minor version {cluster_version} (got {minor})")
    return pinned


def check_public_access_cidr(cidr: str) -> str:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        raise ValueError("not a CIDR; expected e.g. '203.0.113.0/24' (host bits zero)") from None
    if network.prefixlen == 0:
        raise ValueError("opens the Kubernetes API to the whole internet; list your VPN or office ranges instead")
    if any(network.version == block.version and network.overlaps(block) for block in _NON_PUBLIC):
        raise ValueError("not a public range: the private endpoint already serves the VPC; list public ranges only")
    return cidr


def check_admin_role_arn(arn: str) -> str:
    if not _ROLE_ARN.match(arn):
        raise ValueError("not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>")
    return arn


def role_key(arn: str) -> str:
    """A stable, readable key for a role ARN (its name, path dropped): child names use it."""
    return arn.rsplit("/", 1)[-1]


def check_pool_name(name: str) -> str:
    if not _POOL_NAME.match(name):
        raise ValueError("pool names are 2-32 lowercase letters, digits or '-', starting with a letter")
    return name


def check_gpu_instance_types(instance_types: Sequence[str]) -> tuple[str, ...]:
    """GPU families only, x86_64, in the GPU table, one GPU count per pool (the autoscaler's template is per pool)."""
    types = tuple(instance_types)
    if not types:
        raise ValueError("empty; list at least one GPU instance type, e.g. ['g6.xlarge']")
    eks_families = facts.FACTS.eks_nvidia_families
    counts: dict[str, int] = {}
    for t in types:
        if facts.instance_family(t) not in eks_families:
            raise ValueError(f"{t} is not a GPU instance type; GPU pools take the families {', '.join(eks_families)}")
        if facts.instance_family(t) in facts.FACTS.arm_gpu_families:
            raise ValueError(f"{t} is Arm (Graviton); the GPU AMIs here ({', '.join(GPU_AMI_TYPES)}) are x86_64")
        count = facts.gpu_count(t)
        if count is None:
            raise ValueError(f"{t}: GPU count unknown; add it to gpusPerInstance in components/facts/aws.json")
        counts[t] = count
    if len(set(types)) != len(types):
        raise ValueError("an instance type is listed twice")
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{t}={n}" for t, n in counts.items())
        raise ValueError(
            f"mixes GPU counts ({shown}); the autoscaler sizes a pool from one template, so split them into pools"
        )
    return types


def check_cpu_instance_types(instance_types: Sequence[str]) -> tuple[str, ...]:
    types = tuple(instance_types)
    if not types:
        raise ValueError("empty; list at least one instance type, e.g. ['m6i.large']")
    gpu = [t for t in types if facts.is_gpu(t)]
    if gpu:
        raise ValueError(f"{gpu[0]} is a GPU instance type; the system pool runs add-ons, GPU types go in gpuPools")
    if len(set(types)) != len(types):
        raise ValueError("an instance type is listed twice")
    return types


def check_sizes(min_size: int, max_size: int, desired_size: int | None = None) -> None:
    if min_size < 0:
        raise ValueError(f"minSize {min_size} is negative")
    if max_size < 1:
        raise ValueError(f"maxSize {max_size} must be at least 1")
    if min_size > max_size:
        raise ValueError(f"minSize {min_size} is larger than maxSize {max_size}")
    if desired_size is not None and not min_size <= desired_size <= max_size:
        raise ValueError(f"desiredSize {desired_size} is outside minSize..maxSize ({min_size}..{max_size})")


def check_disk(disk_gib: int) -> int:
    if not MIN_DISK_GIB <= disk_gib <= MAX_DISK_GIB:
        raise ValueError(f"must be {MIN_DISK_GIB}..{MAX_DISK_GIB} GiB (container images for GPU work are large)")
    return disk_gib


def check_efa(instance_types: Sequence[str]) -> None:
    efa = facts.FACTS.efa_families
    off = [t for t in instance_types if facts.instance_family(t) not in efa]
    if off:
        raise ValueError(f"EFA is for multi-node training on {', '.join(efa)}; {off[0]} is not one")


def outside_allowlist(instance_types: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """Instance types no pattern of `allowed` (`g5.*` style) matches."""
    return [t for t in instance_types if not any(fnmatch.fnmatchcase(t, pattern) for pattern in allowed)]
