"""The one typed schema for a stack's `ml-platform:*` keys (plus `aws:region`)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from components import sagemaker_rules as sm
from components.cluster_rules import outside_allowlist
from components.deploy_runner import DeployRunnerSettings
from components.experiment_tracking import ExperimentTrackingSettings
from components.model_promotion import ModelPromotionSettings
from components.monitoring import GpuPoolTarget, MonitoringSettings, shared_instance_types
from components.regions import Region, known_regions
from components.settings import FieldError, Section
from infra.config.cluster import ClusterConfig
from infra.config.endpoints import EndpointsConfig
from infra.config.guardrails import GuardrailsConfig
from infra.config.network import NetworkConfig
from infra.config.storage import StorageConfig

Environment = Literal["dev", "staging", "prod"]
REQUIRED_TAG_KEYS = ("CostCenter", "Owner", "Project")
"""Cost-allocation tags every stack must set; `Environment` is added from the stack's environment."""


class PlatformConfig(Section):
    """A stack's validated configuration. Built by `infra.config.load`; every component reads from here."""

    environment: Environment
    """dev | staging | prod. Picks the defaults in `infra/config/profiles.py`."""
    region: Region
    """From `aws:region`; checked against the regions botocore knows."""
    tags: dict[str, str]
    """Cost-allocation tags: `CostCenter`, `Owner`, `Project` required; more allowed. `Environment` is derived."""
    protect_stateful_resources: bool
    """Pulumi `protect` + `retain_on_delete` on keys, buckets, registries. Default: off in dev, on elsewhere."""
    network: NetworkConfig = NetworkConfig()
    storage: StorageConfig = StorageConfig()
    cluster: ClusterConfig = ClusterConfig()
    endpoints: EndpointsConfig = EndpointsConfig()
    guardrails: GuardrailsConfig = GuardrailsConfig()
    deploy_runner: DeployRunnerSettings = DeployRunnerSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    experiment_tracking: ExperimentTrackingSettings = ExperimentTrackingSettings()
    model_promotion: ModelPromotionSettings = ModelPromotionSettings()

    @model_validator(mode="after")
    def _cost_tags(self) -> PlatformConfig:
        for key in REQUIRED_TAG_KEYS:
            if not self.tags.get(key, "").strip():
                raise FieldError(
                    f"tags.{key}", self.tags.get(key), f"required cost-allocation tag; set a non-empty `{key}`"
                )
        if "Environment" in self.tags:
            raise FieldError(
                "tags.Environment", self.tags["Environment"], "derived from `ml-platform:environment`; remove it"
            )
        return self

    @model_validator(mode="after")
    def _endpoints_fit_the_stack(self) -> PlatformConfig:
        problem = self.endpoints.cross_section_problem(
            allowed_instance_types=self.guardrails.allowed_sagemaker_instance_types,
            buckets=self.storage.buckets,
            registries=self.storage.registries,
        )
        if problem is not None:
            raise problem
        return self

    @model_validator(mode="after")
    def _storage_fits_stack(self) -> PlatformConfig:
        # Rules the storage section cannot check alone: a short key deletion window only in dev, replication
        # into another region than the stack's.
        problem = self.storage.stack_problem(environment=self.environment, region=self.region)
        if problem is not None:
            raise problem
        return self

    @model_validator(mode="after")
    def _cluster_within_guardrails(self) -> PlatformConfig:
        # Cheap to catch here, and otherwise a node group that never launches: the boundary denies RunInstances.
        allowed = self.guardrails.allowed_instance_types
        pools = [("cluster.systemPool", self.cluster.system_pool.instance_types)] + [
            (f"cluster.gpuPools.{i}", pool.instance_types) for i, pool in enumerate(self.cluster.gpu_pools)
        ]
        for key, types in pools:
            outside = outside_allowlist(types, allowed)
            if outside:
                raise FieldError(
                    f"{key}.instanceTypes",
                    list(types),
                    f"{', '.join(outside)} not in guardrails.allowedInstanceTypes ({', '.join(allowed)}); "
                    "add it there or pick an allowed type",
                )
        if self.environment == "prod" and self.cluster.system_pool.min_size < 2:
            raise FieldError(
                "cluster.systemPool.minSize",
                self.cluster.system_pool.min_size,
                "prod needs at least 2 system nodes (in different AZs) so CoreDNS survives a node or AZ loss",
            )
        return self

    @model_validator(mode="after")
    def _runner_has_a_repository(self) -> PlatformConfig:
        # Without GitHub there is no CI (no CI roles either), so the default creates no runner; asking for one
        # explicitly is a mistake worth a line.
        explicit = "enabled" in self.deploy_runner.model_fields_set
        if explicit and self.deploy_runner.enabled and self.guardrails.github is None:
            raise FieldError(
                "deployRunner.enabled",
                True,
                "the deploy runner serves a GitHub repository: set guardrails.github.repository, "
                "or opt out with deployRunner.enabled: false",
            )
        return self

    @property
    def creates_deploy_runner(self) -> bool:
        return self.deploy_runner.enabled and self.guardrails.github is not None

    @model_validator(mode="after")
    def _monitoring_fits_stack(self) -> PlatformConfig:
        # Per-pool GPU metrics are told apart by instance type; the monitor runs on a SageMaker instance type the
        # boundary must allow.
        if self.monitoring.container_insights:
            pools = [GpuPoolTarget(name=p.name, instance_types=p.instance_types) for p in self.cluster.gpu_pools]
            for t, names in shared_instance_types(pools).items():
                i = next(i for i, p in enumerate(self.cluster.gpu_pools) if p.name == names[-1])
                raise FieldError(
                    f"cluster.gpuPools.{i}.instanceTypes",
                    list(self.cluster.gpu_pools[i].instance_types),
                    f"{t} is also in pool {names[0]}; with monitoring.containerInsights each GPU pool needs its own "
                    "instance types (per-pool GPU metrics are told apart by instance type)",
                )
        dq = self.monitoring.data_quality
        problem = sm.instance_type_problem(dq.instance_type, self.guardrails.allowed_sagemaker_instance_types)
        if dq.enabled and problem:
            raise FieldError("monitoring.dataQuality.instanceType", dq.instance_type, problem)
        return self

    @model_validator(mode="after")
    def _teams_have_their_buckets(self) -> PlatformConfig:
        # Each team's role reads datasets/<team>/ and writes models/<team>/ (components/team_identity.py).
        missing = [b for b in ("datasets", "models") if b not in self.storage.buckets]
        if self.cluster.teams and missing:
            raise FieldError(
                "storage.buckets",
                list(self.storage.buckets),
                f"cluster.teams need the {' and '.join(missing)} bucket(s) (each team reads datasets/<team>/ and "
                "writes models/<team>/); add them or remove the teams",
            )
        return self

    @property
    def replica_region(self) -> str | None:
        """Where the models bucket replicates to (and the replica key lives), or None."""
        return self.storage.models_replication.destination_region if self.storage.models_replication else None

    @property
    def role_regions(self) -> list[str]:
        """Regions every platform role may act in (the permission boundary's and the personas' condition)."""
        return self.guardrails.regions(self.region, self.replica_region)

    @property
    def partition(self) -> str:
        return known_regions()[self.region]

    @property
    def default_tags(self) -> dict[str, str]:
        """Tags the AWS provider puts on every taggable resource (its `defaultTags`)."""
        return {**self.tags, "Environment": self.environment}
