"""`ml-platform:cluster`: the EKS cluster, its node pools and the teams the Kubernetes layer serves.

The rules live with the components (`components/cluster_rules.py`, `components/gpu_labels.py`) so config and component
can never disagree; this module maps each rule to the key it blames. Environment differences (pool sizes, GPU pools,
log retention, whether inference may run on spot only) are in `infra/config/profiles.py`. The check that pool
instance types sit inside `guardrails.allowedInstanceTypes` is in `infra/config/schema.py` (it reads two sections).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from components import cluster_rules as rules
from components import facts
from components.cluster import NodePoolSpec
from components.karpenter import KarpenterSettings, gpu_limit, pool_problem
from components.kubernetes_layer import parse_quantity
from components.kueue import Flavor, KueueSettings, quota_problem
from components.settings import FieldError, Section

_TEAM_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CPU = re.compile(r"^\d+(\.\d+)?m?$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _blame_sizes(min_size: int, max_size: int, desired_size: int | None = None) -> None:
    try:
        rules.check_sizes(min_size, max_size, desired_size)
    except ValueError as exc:
        message = str(exc)
        key, value = (
            ("desiredSize", desired_size)
            if message.startswith("desiredSize")
            else ("maxSize", max_size)
            if message.startswith("maxSize")
            else ("minSize", min_size)
        )
        raise FieldError(key, value, message) from None


def _unique(key: str, values, suffix: str | None = None) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            where = f"{key}.{i}" + (f".{suffix}" if suffix else "")
            raise FieldError(where, value, "listed twice; each must be unique")
        seen.add(value)


class SystemPoolConfig(Section):
    """On-demand CPU nodes for the cluster's own add-ons (CoreDNS, EBS CSI controller, autoscaler)."""

    instance_types: tuple[str, ...] = ("m6i.large",)
    """Non-GPU instance types, e.g. ["m6i.large"]."""
    min_size: int = 2
    """At least 1: CoreDNS and the autoscaler must always have somewhere to run. Default 2 (survives a node loss)."""
    max_size: int = 4
    desired_size: int = 2
    """Nodes at creation; later left to the autoscaler (changes here are ignored after the first deployment)."""
    disk_gib: int = 50
    """Encrypted gp3 root volume, GiB (at least 50)."""

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return rules.check_cpu_instance_types(value)

    @field_validator("disk_gib")
    @classmethod
    def _disk(cls, value: int) -> int:
        return rules.check_disk(value)

    @model_validator(mode="after")
    def _sizes(self) -> SystemPoolConfig:
        if self.min_size < 1:
            raise FieldError("minSize", self.min_size, "the system pool needs at least 1 node (it runs CoreDNS)")
        _blame_sizes(self.min_size, self.max_size, self.desired_size)
        return self


class GpuPoolConfig(Section):
    """A managed node group of GPU nodes: tainted, labelled and able to scale from zero."""

    name: str
    """Pool name, 2-32 lowercase letters, digits or '-'; becomes the node label `ml-platform/pool`. Unique."""
    instance_types: tuple[str, ...]
    """GPU instance types (g4dn, g5, g6, g6e, p4d, p5 ...), all with the same GPU count, e.g. ["g6.xlarge", "g5.xlarge"]."""
    capacity: Literal["on_demand", "spot"] = "on_demand"
    """on_demand | spot. Spot is cheaper and can be reclaimed with two minutes' notice."""
    min_size: int = 0
    """Default 0: no GPU is billed while no GPU pod is pending."""
    max_size: int = 2
    disk_gib: int = 100
    """Encrypted gp3 root volume (Bottlerocket: the data volume), GiB. At least 50."""
    ami_type: Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"] = "AL2023_x86_64_NVIDIA"
    """EKS-optimised AMI with the NVIDIA driver."""
    purpose: Literal["training", "inference"] = "training"
    """Becomes the node label `ml-platform/purpose`; with `requireOnDemandInference`, decides what must be on-demand."""
    efa: bool = False
    """Elastic Fabric Adapter and a cluster placement group (one AZ), for multi-node training on p4d/p5."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        rules.check_pool_name(value)
        if value == rules.SYSTEM_POOL:
            raise ValueError(f"'{rules.SYSTEM_POOL}' is the system pool's name; pick another")
        return value

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return rules.check_gpu_instance_types(value)

    @field_validator("disk_gib")
    @classmethod
    def _disk(cls, value: int) -> int:
        return rules.check_disk(value)

    @model_validator(mode="after")
    def _consistent(self) -> GpuPoolConfig:
        _blame_sizes(self.min_size, self.max_size)
        if self.efa:
            try:
                rules.check_efa(self.instance_types)
            except ValueError as exc:
                raise FieldError("efa", self.efa, str(exc)) from None
        return self

    @property
    def gpus_per_node(self) -> int:
        return facts.gpu_count(self.instance_types[0]) or 0  # an untabled type fails `_gpu_types`


class TeamConfig(Section):
    """A team: a namespace with quotas, served by the Kubernetes layer."""

    name: str
    """Namespace name (DNS label, at most 63 characters). Unique."""
    gpu_quota: int = 0
    """Most `nvidia.com/gpu` the team's pods may request at once."""
    cpu_quota: str = "16"
    """Most CPU the team's pods may request (a Kubernetes quantity: "16", "500m")."""
    memory_quota: str = "64Gi"
    """Most memory the team's pods may request (a Kubernetes quantity: "64Gi")."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _TEAM_NAME.match(value):
            raise ValueError(
                "must be a DNS label: at most 63 lowercase letters, digits or '-', alphanumeric at both ends"
            )
        if value in _RESERVED_NAMESPACES or value.startswith("kube-"):
            raise ValueError(
                f"reserved Kubernetes namespace; pick another name (reserved: {', '.join(_RESERVED_NAMESPACES)}, kube-*)"
            )
        return value

    @field_validator("gpu_quota")
    @classmethod
    def _gpus(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("cpu_quota")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value):
            raise ValueError("not a CPU quantity; expected cores ('16', '2.5') or millicores ('500m')")
        if parse_quantity(value) <= 0:
            raise ValueError("must be more than 0 (the Kubernetes layer's container defaults must fit in it)")
        return value

    @field_validator("memory_quota")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.match(value):
            raise ValueError("not a memory quantity; expected e.g. '64Gi', '512Mi'")
        if parse_quantity(value) <= 0:
            raise ValueError("must be more than 0 (the Kubernetes layer's container defaults must fit in it)")
        return value


class ClusterConfig(Section):
    """The EKS cluster, its node pools and the teams. Defaults are the secure ones; profiles size them."""

    version: str = Field(default_factory=lambda: facts.FACTS.eks.default_version)
    """Kubernetes version, one of `eks.testedVersions` in `components/facts/aws.json` (default: its
    `eks.defaultVersion`). Upgrade one minor version at a time."""
    endpoint_public_access: bool = False
    """Default off: the API is reachable from inside the VPC only (private endpoint)."""
    public_access_cidrs: tuple[str, ...] = ()
    """With `endpointPublicAccess`, the public ranges allowed to reach the API (required then; never 0.0.0.0/0)."""
    admin_role_arns: tuple[str, ...] = ()
    """IAM roles given cluster-admin through EKS access entries. Default: none (whoever deploys gets no admin)."""
    addon_versions: dict[str, str] = Field(default_factory=dict)
    """Override a pinned add-on version, e.g. {"coredns": "v1.13.1-eksbuild.1"}. Default: the pinned row for `version`
    in `eks.addonVersions` of `components/facts/aws.json`."""
    log_retention_days: int = 365
    """Days CloudWatch keeps control-plane logs (api, audit, authenticator, controllerManager, scheduler)."""
    system_pool: SystemPoolConfig = SystemPoolConfig()
    gpu_pools: tuple[GpuPoolConfig, ...] = ()
    """GPU node pools. Default: none (profiles add them)."""
    require_on_demand_inference: bool = True
    """Default on: if any GPU pool serves inference, at least one inference pool is on-demand (spot can vanish)."""
    teams: tuple[TeamConfig, ...] = ()
    """Team namespaces with GPU/CPU/memory quotas."""
    gpu_capacity: Literal["karpenter", "node-groups"] = "node-groups"
    """Who brings GPU nodes up: `node-groups` (a managed node group per GPU pool, scaled by the cluster-autoscaler)
    or `karpenter` (a NodePool per GPU pool; no GPU node groups). Never both. The system pool is always a managed
    node group."""
    karpenter: KarpenterSettings = KarpenterSettings()
    """Karpenter's chart, AMI pin, expiry and disruption budgets (used with `gpuCapacity: karpenter`)."""
    kueue: KueueSettings = KueueSettings()
    """Kueue's chart (installed when there are GPU pools and teams)."""

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return rules.check_version(value)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return facts.check_log_retention(value)

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        for addon, pinned in self.addon_versions.items():
            try:
                rules.check_addon_version(addon, pinned, self.version)
            except ValueError as exc:
                raise FieldError(f"addonVersions.{addon}", pinned, str(exc)) from None
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise FieldError(
                "publicAccessCidrs",
                [],
                "required with endpointPublicAccess: list the public ranges allowed to reach the API",
            )
        if self.public_access_cidrs and not self.endpoint_public_access:
            raise FieldError(
                "publicAccessCidrs",
                list(self.public_access_cidrs),
                "has no effect while endpointPublicAccess is false; remove it, or turn the public endpoint on",
            )
        for i, cidr in enumerate(self.public_access_cidrs):
            try:
                rules.check_public_access_cidr(cidr)
            except ValueError as exc:
                raise FieldError(f"publicAccessCidrs.{i}", cidr, str(exc)) from None
        _unique("adminRoleArns", self.admin_role_arns)
        for i, arn in enumerate(self.admin_role_arns):
            try:
                rules.check_admin_role_arn(arn)
            except ValueError as exc:
                raise FieldError(f"adminRoleArns.{i}", arn, str(exc)) from None
        keys = [rules.role_key(a) for a in self.admin_role_arns]
        if len(set(keys)) != len(keys):
            raise FieldError(
                "adminRoleArns", list(self.admin_role_arns), "two roles share a name; role names must differ"
            )
        _unique("gpuPools", [p.name for p in self.gpu_pools], suffix="name")
        inference = [p for p in self.gpu_pools if p.purpose == "inference"]
        if self.require_on_demand_inference and inference and all(p.capacity == "spot" for p in inference):
            raise FieldError(
                "gpuPools",
                [p.name for p in inference],
                "every inference pool is spot; add an on_demand inference pool, or set requireOnDemandInference: false",
            )
        _unique("teams", [t.name for t in self.teams], suffix="name")
        capacity = sum(p.max_size * p.gpus_per_node for p in self.gpu_pools)
        for i, team in enumerate(self.teams):
            if team.gpu_quota > capacity:
                raise FieldError(
                    f"teams.{i}.gpuQuota",
                    team.gpu_quota,
                    f"more than all GPU pools can provide at full scale ({capacity}); lower it or grow a pool's maxSize",
                )
        if self.gpu_capacity == "karpenter":
            for i, pool in enumerate(self.gpu_pools):
                problem = pool_problem(min_size=pool.min_size, ami_type=pool.ami_type)
                if problem is not None:
                    key, value, message = problem
                    raise FieldError(f"gpuPools.{i}.{key}", value, message)
        if self.gpu_pools and self.teams:
            quota_message = quota_problem(self.teams, self.kueue_flavors)
            if quota_message is not None:
                raise FieldError("teams", [t.name for t in self.teams], quota_message)
        return self

    @property
    def kueue_flavors(self) -> tuple[Flavor, ...]:
        """A Kueue flavor per GPU pool, with the GPUs the pool can bring up (its NodePool limit)."""
        return tuple(Flavor(pool=p.name, purpose=p.purpose, gpu_limit=gpu_limit(p)) for p in self.gpu_pools)

    def component_args(self) -> dict[str, Any]:
        """Keyword arguments for `components.cluster.ClusterArgs` that come from this section (the program adds the
        name, region, subnets, keys, boundary and tags)."""
        system = self.system_pool
        return {
            "version": self.version,
            "endpoint_public_access": self.endpoint_public_access,
            "public_access_cidrs": tuple(self.public_access_cidrs),
            "admin_roles": {rules.role_key(arn): arn for arn in self.admin_role_arns},
            "addon_versions": self.resolved_addon_versions,
            "log_retention_days": self.log_retention_days,
            "system_pool": NodePoolSpec(
                name=rules.SYSTEM_POOL,
                instance_types=system.instance_types,
                min_size=system.min_size,
                max_size=system.max_size,
                desired_size=system.desired_size,
                disk_gib=system.disk_gib,
            ),
            "gpu_pools": tuple(
                NodePoolSpec(
                    name=pool.name,
                    instance_types=pool.instance_types,
                    capacity=pool.capacity,
                    min_size=pool.min_size,
                    max_size=pool.max_size,
                    disk_gib=pool.disk_gib,
                    ami_type=pool.ami_type,
                    purpose=pool.purpose,
                    efa=pool.efa,
                )
                for pool in self.gpu_pools
            ),
        }

    @property
    def resolved_addon_versions(self) -> dict[str, str]:
        """Every managed add-on's version: the pinned row for `version`, with `addonVersions` laid over it."""
        return rules.addon_versions(self.version, self.addon_versions)
