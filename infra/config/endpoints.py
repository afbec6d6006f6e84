"""`ml-platform:endpoints`: SageMaker model endpoints.

```yaml
ml-platform:endpoints:
  models:                       # one prefix per model in the models bucket, one registry group per model
    churn-classifier:
      image: ml-serving:1.4.2   # repository in this account's registry + tag/digest, or a private ECR image URI
      # gpu: true               # the image needs a GPU: never serverless, only GPU instance types
  endpoints:
    churn:                      # endpoint key; the endpoint is named <project>-<stack>-churn
      modelData: churn-classifier/1.4.2/model.tar.gz      # either a key under the model's prefix...
      # modelPackage: churn-classifier/3                  # ...or an approved version in the model's registry group
      instance: {type: ml.m5.xlarge}                      # anything under `defaults` can be overridden here
```

Each endpoint is its `defaults` (environment profile, then the stack file's `defaults`) with its own keys laid
over them. Environment rules live in the profile as explicit settings — `allowServerless` (dev only),
`minInstances` (2 in prod, so a zone can fail), `requireModelPackage` (staging/prod deploy registry versions,
which SageMaker only deploys once approved) — so relaxing one is a visible line in a stack file.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from components import facts
from components import sagemaker_rules as sm
from components.model_endpoint import AlarmSpec, DeploymentSpec, InstanceSpec, ServerlessSpec
from components.settings import FieldError, Section
from infra.config.profiles import merge

_KEY = re.compile(r"^[a-z0-9](?:-?[a-z0-9])*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_KEY_LENGTH = 32
"""Endpoint and model keys become part of AWS names (`<project>-<stack>-<key>`, ≤ 63 characters)."""


def _check_key(kind: str, key: str) -> None:
    if not _KEY.match(key) or len(key) > MAX_KEY_LENGTH:
        raise FieldError(
            key,
            key,
            f"{kind} keys must be lowercase letters, digits and single hyphens, at most {MAX_KEY_LENGTH} "
            "characters (they become part of SageMaker names)",
        )


class ModelSpec(Section):
    """A model served by endpoints: its serving image. Its artifacts live under `<model>/` in the models bucket."""

    image: str
    """`repository:tag` or `repository@sha256:<digest>` in this account's registry, or a private ECR image URI
    (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`). The execution role may pull only this
    repository."""
    description: str = ""
    """Shown on the model's registry group."""
    gpu: bool = False
    """The serving image needs an NVIDIA GPU. Default false (a CPU model). A GPU model cannot be served serverless
    (CPU only) and its endpoints must use a GPU instance type."""

    @field_validator("image")
    @classmethod
    def _ecr(cls, value: str) -> str:
        # A first path segment with a dot is a registry host (Docker's rule): only ECR's host form is accepted.
        from_other_registry = "/" in value and "." in value.split("/", 1)[0] and not sm.ECR_URI.match(value)
        if from_other_registry or not (sm.ECR_SHORT.match(value) or sm.ECR_URI.match(value)):
            raise ValueError(
                "must be an ECR image: `repository:tag`, `repository@sha256:<64 hex>`, or "
                "`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` (SageMaker pulls only from ECR)"
            )
        return value


class ServerlessSettings(Section):
    """Serverless inference: no instances, no idle cost. CPU only; dev only."""

    memory_size_mb: int = 2048
    """One of 1024, 2048, 3072, 4096, 5120, 6144 (AWS's serverless sizes)."""
    max_concurrency: int = 5
    """Concurrent invocations, 1-200."""
    provisioned_concurrency: int | None = None
    """Warm capacity (billed while idle), ≤ maxConcurrency. Default: none, so nothing is billed when idle."""

    @field_validator("memory_size_mb")
    @classmethod
    def _memory(cls, value: int) -> int:
        sizes = sm.serverless_memory_sizes_mb()
        if value not in sizes:
            raise ValueError(f"not a serverless memory size; AWS allows {', '.join(map(str, sizes))} (MB)")
        return value

    @field_validator("max_concurrency", "provisioned_concurrency")
    @classmethod
    def _concurrency(cls, value: int | None) -> int | None:
        low, high = sm.serverless_concurrency_range()
        if value is not None and not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> ServerlessSettings:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise FieldError(
                "provisionedConcurrency",
                self.provisioned_concurrency,
                f"must not exceed maxConcurrency ({self.max_concurrency})",
            )
        return self


class InstanceSettings(Section):
    """Instance-based serving: a fleet in the private subnets, autoscaled on invocations per instance."""

    type: str = "ml.m5.large"
    """A SageMaker real-time instance type, and in the stack's instance allowlist."""
    initial_count: int = 2
    """Instances when the endpoint is created; between minCount and maxCount."""
    min_count: int = 2
    """Autoscaling floor. Default 2: a fleet in two zones, and room for a one-instance canary."""
    max_count: int = 4
    """Autoscaling ceiling."""
    target_invocations_per_instance: int = 100
    """Target-tracking value for `SageMakerVariantInvocationsPerInstance` (invocations per instance per minute)."""
    scale_in_cooldown_seconds: int = 300
    """Wait after a scale-in before the next one: slow, so a dip does not drop capacity it will need again."""
    scale_out_cooldown_seconds: int = 60
    """Wait after a scale-out before the next one: short, so load spikes are met quickly."""
    autoscaling: bool = True
    """Register the variant with Application Auto Scaling (minCount-maxCount). SageMaker refuses to change the
    instance type of an autoscaled variant: deploy `autoscaling: false` first, then the new type with it back on."""

    @field_validator("type")
    @classmethod
    def _sagemaker_type(cls, value: str) -> str:
        problem = sm.instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("initial_count", "min_count", "max_count")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 (an instance endpoint cannot scale to zero; use serverless in dev)")
        return value

    @field_validator("target_invocations_per_instance")
    @classmethod
    def _target(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 invocation per instance per minute")
        return value

    @field_validator("scale_in_cooldown_seconds", "scale_out_cooldown_seconds")
    @classmethod
    def _cooldown(cls, value: int) -> int:
        if not 0 <= value <= 3600:
            raise ValueError("must be between 0 and 3600 seconds")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> InstanceSettings:
        if self.min_count > self.max_count:
            raise FieldError("minCount", self.min_count, f"must not exceed maxCount ({self.max_count})")
        if not self.min_count <= self.initial_count <= self.max_count:
            raise FieldError(
                "initialCount",
                self.initial_count,
                f"must be between minCount ({self.min_count}) and maxCount ({self.max_count})",
            )
        return self


class TrafficStep(Section):
    """Size of the canary, or of each linear step."""

    unit: Literal["instances", "percent"] = "instances"
    """`instances` (INSTANCE_COUNT) or `percent` of the fleet (CAPACITY_PERCENT)."""
    value: int = 1
    """At least 1."""

    @field_validator("value")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value


class DeploymentSettings(Section):
    """Blue/green update of instance endpoints, with automatic rollback on the 5XX and latency alarms."""

    traffic_shift: Literal["canary", "linear", "all-at-once"] = "canary"
    """How traffic moves to the new fleet: a canary step then the rest, equal linear steps, or all at once.
    Rollback alarms are watched in every case."""
    step: TrafficStep = TrafficStep()
    """Canary size, or linear step size. Canary ≤ 50% of the smallest fleet; linear steps 10-50%."""
    wait_interval_seconds: int = 300
    """Bake time after each traffic step, while the rollback alarms are watched (0-3600)."""
    termination_wait_seconds: int = 300
    """How long the old fleet is kept after the shift completes, for a fast rollback (0-3600)."""
    max_execution_timeout_seconds: int = 3600
    """Upper bound on the whole deployment (600-28800)."""

    @field_validator("wait_interval_seconds")
    @classmethod
    def _wait(cls, value: int) -> int:
        low, high = sm.wait_interval_range()
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} seconds")
        return value

    @field_validator("termination_wait_seconds")
    @classmethod
    def _termination(cls, value: int) -> int:
        low, high = sm.termination_wait_range()
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} seconds")
        return value

    @field_validator("max_execution_timeout_seconds")
    @classmethod
    def _timeout(cls, value: int) -> int:
        low, high = sm.max_execution_timeout_range()
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} seconds")
        return value


class AlarmSettings(Section):
    """Alarm thresholds. The 5XX and latency alarms also drive automatic rollback."""

    error_5xx_percent: float = Field(default=1.0, alias="error5xxPercent")
    """Share of invocations answered 5XX (per period) that trips the alarm and rolls a deployment back."""
    error_4xx_percent: float = Field(default=5.0, alias="error4xxPercent")
    """Share of invocations answered 4XX (per period): notifies (clients sending bad requests), no rollback."""
    model_latency_p99_ms: int = 1000
    """p99 model latency in milliseconds that trips the alarm and rolls a deployment back."""
    utilization_percent: int = 90
    """Average busy share of the instance's CPUs (or GPUs, on GPU instances) that notifies."""
    period_seconds: int = 60
    """Metric period: SageMaker publishes every minute, so a multiple of 60."""
    evaluation_periods: int = 3
    """Consecutive breaching periods before the alarm fires."""

    @field_validator("error_5xx_percent", "error_4xx_percent")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 < value <= 100:
            raise ValueError("must be a percentage above 0 and at most 100")
        return value

    @field_validator("model_latency_p99_ms")
    @classmethod
    def _latency(cls, value: int) -> int:
        if not 1 <= value <= 60_000:
            raise ValueError("must be between 1 and 60000 ms (real-time invocations time out after 60 s)")
        return value

    @field_validator("utilization_percent")
    @classmethod
    def _utilization(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("must be a percentage between 1 and 100 (of the instance's CPUs or GPUs)")
        return value

    @field_validator("period_seconds")
    @classmethod
    def _period(cls, value: int) -> int:
        if value < 60 or value % 60:
            raise ValueError("must be a multiple of 60 seconds (SageMaker publishes endpoint metrics every minute)")
        return value

    @field_validator("evaluation_periods")
    @classmethod
    def _periods(cls, value: int) -> int:
        if not 1 <= value <= 60:
            raise ValueError("must be between 1 and 60")
        return value


class DataCaptureSettings(Section):
    """Request/response capture to the data-capture bucket, KMS-encrypted, under `<endpoint>/`."""

    enabled: bool = True
    """On by default for instance endpoints. Serverless endpoints cannot capture (AWS limitation)."""
    sampling_percentage: int = 20
    """Share of invocations captured, 1-100."""

    @field_validator("sampling_percentage")
    @classmethod
    def _sampling(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("must be between 1 and 100 (to capture nothing, set dataCapture.enabled: false)")
        return value


class EndpointSettings(Section):
    """What every endpoint can set, and `defaults` provides."""

    serving: Literal["serverless", "instance"] = "instance"
    """`instance` (private VPC fleet, blue/green, autoscaling) or `serverless` (dev only: no VPC config, network
    isolation, data capture or blue/green — AWS does not support them for serverless)."""
    serverless: ServerlessSettings = ServerlessSettings()
    instance: InstanceSettings = InstanceSettings()
    deployment: DeploymentSettings = DeploymentSettings()
    alarms: AlarmSettings = AlarmSettings()
    data_capture: DataCaptureSettings = DataCaptureSettings()
    network_isolation: bool = True
    """The model container gets no network access (artifacts are still fetched by SageMaker). Instance only."""
    log_retention_days: int = 90
    """Retention of the endpoint's CloudWatch log group (encrypted with the logs key)."""

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return facts.check_log_retention(value)

    @model_validator(mode="after")
    def _traffic_fits_fleet(self) -> EndpointSettings:
        if self.serving != "instance":
            return self
        shift, step = self.deployment.traffic_shift, self.deployment.step
        problem = sm.traffic_step_problem(shift, step.unit, step.value, self.instance.min_count)
        if problem:
            raise FieldError("deployment.step.value", step.value, problem)
        problem = sm.guardrails_problem(self.instance.type, shift)
        if problem:
            raise FieldError("deployment.trafficShift", shift, problem)
        d = self.deployment
        problem = sm.deployment_timeout_problem(
            shift=shift,
            unit=step.unit,
            value=step.value,
            largest_fleet=self.instance.max_count,
            wait=d.wait_interval_seconds,
            termination=d.termination_wait_seconds,
            timeout=d.max_execution_timeout_seconds,
        )
        if problem:
            raise FieldError("deployment.maxExecutionTimeoutSeconds", d.max_execution_timeout_seconds, problem)
        watched = self.alarms.period_seconds * self.alarms.evaluation_periods
        if shift != "all-at-once" and watched > self.deployment.wait_interval_seconds:
            raise FieldError(
                "deployment.waitIntervalSeconds",
                self.deployment.wait_interval_seconds,
                f"shorter than the rollback alarms need to fire (alarms.periodSeconds × evaluationPeriods = "
                f"{watched} s); a bad step would be promoted before its alarm could roll it back",
            )
        return self


class EndpointSpec(EndpointSettings):
    """One endpoint: what it serves, plus any override of `defaults`."""

    model_data: str | None = None
    """Key of the model archive in the models bucket: `<model>/<path>`, e.g. `churn-classifier/1.4.2/model.tar.gz`."""
    model_package: str | None = None
    """A version in the model's registry group, `<model>/<version>`: SageMaker deploys it only once Approved."""
    variant_name: str = "primary"
    """Production variant name; kept across deployments so alarms and autoscaling follow the endpoint."""
    environment: dict[str, str] = Field(default_factory=dict)
    """Environment variables for the serving container (not for secrets: they are visible in the model)."""

    @field_validator("model_data")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith(("s3://", "/")) or ".." in value.split("/") or "/" not in value or value.endswith("/"):
            raise ValueError(
                "must be an object key in the models bucket, `<model>/<path>` (e.g. churn-classifier/1.4.2/model.tar.gz), "
                "without s3:// or a leading slash"
            )
        return value

    @field_validator("model_package")
    @classmethod
    def _package(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z0-9](?:-?[a-z0-9])*/[1-9][0-9]*$", value):
            raise ValueError("must be `<model>/<version number>`, e.g. churn-classifier/3")
        return value

    @field_validator("variant_name")
    @classmethod
    def _variant(cls, value: str) -> str:
        if not sm.NAME_PATTERN.match(value):
            raise ValueError("must be letters, digits and hyphens, at most 63 characters (a SageMaker variant name)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> EndpointSpec:
        if (self.model_data is None) == (self.model_package is None):
            raise FieldError(
                "modelData",
                self.model_data,
                "set exactly one of modelData (an archive in the models bucket) or modelPackage (an approved registry version)",
            )
        return self

    @property
    def model(self) -> str:
        """The served model: the first path segment of modelData / modelPackage."""
        return (self.model_data or self.model_package or "").split("/", 1)[0]

    @property
    def model_package_version(self) -> int | None:
        """The registry version `modelPackage` names (`churn-classifier/3` -> 3), or None."""
        return int(self.model_package.split("/")[1]) if self.model_package else None


class EndpointsConfig(Section):
    """SageMaker model endpoints."""

    allow_serverless: bool = False
    """Whether `serving: serverless` is accepted. Profile: dev only — serverless has no VPC, network isolation,
    data capture or blue/green, which staging and prod require."""
    min_instances: int = 1
    """Smallest instance fleet an endpoint may have. Profile: 2 in prod, so an endpoint survives a zone failure."""
    require_model_package: bool = False
    """Endpoints must deploy registry versions (`modelPackage`), which SageMaker refuses unless Approved.
    Profile: on in staging and prod."""
    notification_emails: list[str] = Field(default_factory=list)
    """Addresses subscribed to every endpoint's alarm topic (each must confirm by email)."""
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    """Models by name: the name is the model's prefix in the models bucket and its registry group."""
    defaults: EndpointSettings = EndpointSettings()
    """Settings every endpoint starts from (environment profile + stack file)."""
    endpoints: dict[str, EndpointSpec] = Field(default_factory=dict)
    """Endpoints by key. Default: none."""

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        # Each endpoint is validated as defaults + its own keys, so an override reads like a default.
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults", {})
        endpoints = data.get("endpoints")
        if isinstance(defaults, dict) and isinstance(endpoints, dict):
            data = {
                **data,
                "endpoints": {k: merge(defaults, v) if isinstance(v, dict) else v for k, v in endpoints.items()},
            }
        return data

    @field_validator("notification_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not _EMAIL.match(email):
                raise ValueError(f"{email!r} is not an email address")
        return value

    @field_validator("min_instances")
    @classmethod
    def _min_instances(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @model_validator(mode="after")
    def _endpoints_fit_the_stack(self) -> EndpointsConfig:
        for name in self.models:
            try:
                _check_key("model", name)
            except FieldError as exc:
                raise FieldError(f"models.{name}", name, exc.message) from None
        for key, ep in self.endpoints.items():
            where = f"endpoints.{key}"
            try:
                _check_key("endpoint", key)
            except FieldError as exc:
                raise FieldError(where, key, exc.message) from None
            if ep.model_data is not None and ep.model not in self.models:
                raise FieldError(
                    f"{where}.modelData",
                    ep.model_data,
                    f"unknown model bucket prefix '{ep.model}/'; the models bucket has one prefix per model under "
                    f"`models` ({', '.join(f'{m}/' for m in sorted(self.models)) or 'none declared'})",
                )
            if ep.model_package is not None and ep.model not in self.models:
                raise FieldError(
                    f"{where}.modelPackage",
                    ep.model_package,
                    f"unknown model '{ep.model}'; declared under `models`: {', '.join(sorted(self.models)) or 'none'}",
                )
            if self.require_model_package and ep.model_package is None:
                raise FieldError(
                    f"{where}.modelData",
                    ep.model_data,
                    "this stack deploys only approved registry versions (requireModelPackage): set "
                    "modelPackage: <model>/<version> instead of modelData",
                )
            gpu_model = ep.model in self.models and self.models[ep.model].gpu
            if ep.serving == "serverless" and gpu_model:
                raise FieldError(
                    f"{where}.serving",
                    ep.serving,
                    f"model '{ep.model}' needs a GPU (models.{ep.model}.gpu) and serverless endpoints are CPU only; "
                    "use serving: instance with a GPU instance type",
                )
            if ep.serving == "instance" and gpu_model and not sm.is_gpu(ep.instance.type):
                raise FieldError(
                    f"{where}.instance.type",
                    ep.instance.type,
                    f"model '{ep.model}' needs a GPU (models.{ep.model}.gpu); use a GPU instance type "
                    f"({', '.join(sm.gpu_families()[:4])}, ...), e.g. ml.g5.xlarge",
                )
            if ep.serving == "serverless":
                if not self.allow_serverless:
                    raise FieldError(
                        f"{where}.serving",
                        ep.serving,
                        "serverless endpoints are allowed only in dev (allowServerless): they cannot run in the VPC, "
                        "isolate the container, capture data or deploy blue/green; use serving: instance",
                    )
                continue
            if ep.instance.min_count < self.min_instances:
                raise FieldError(
                    f"{where}.instance.minCount",
                    ep.instance.min_count,
                    f"must be at least {self.min_instances} (minInstances) so the endpoint keeps serving when an "
                    "availability zone fails",
                )
        return self

    def cross_section_problem(
        self, *, allowed_instance_types: Collection[str], buckets: Collection[str], registries: Collection[str]
    ) -> FieldError | None:
        """The first endpoint setting another section rules out, as a `FieldError` keyed from the top of
        `PlatformConfig` (`endpoints.endpoints.<key>.instance.type`), or None. `PlatformConfig` calls it with
        the guardrails allowlist and the storage section's bucket purposes and registry names.
        """
        if self.endpoints:
            for purpose in ("models", "data-capture"):
                if purpose not in buckets:
                    return FieldError(
                        "storage.buckets",
                        list(buckets),
                        f"endpoints need the '{purpose}' bucket (model archives under models/, captured requests "
                        "under data-capture/); add it or remove ml-platform:endpoints.endpoints",
                    )
        for name, model in self.models.items():
            if sm.ECR_SHORT.match(model.image):
                repository = sm.split_image(model.image)[0]
                if repository not in registries:
                    return FieldError(
                        f"endpoints.models.{name}.image",
                        model.image,
                        f"no registry '{repository}' in this stack (storage.registries: {', '.join(sorted(registries)) or 'none'}); "
                        "use one of them or a full ECR image URI",
                    )
        for key, ep in self.endpoints.items():
            if ep.serving == "instance" and not sm.allowlisted(ep.instance.type, list(allowed_instance_types)):
                return FieldError(
                    f"endpoints.endpoints.{key}.instance.type",
                    ep.instance.type,
                    f"not in the stack's instance allowlist (guardrails): {', '.join(sorted(allowed_instance_types)) or 'empty'}",
                )
        return None


def component_args(spec: EndpointSpec) -> dict[str, Any]:
    """The `ModelEndpointArgs` fields an endpoint's config decides (the wiring adds names, buckets, keys, network)."""
    serverless = spec.serving == "serverless"
    d = spec.deployment
    return {
        "variant_name": spec.variant_name,
        "environment": dict(spec.environment),
        "serverless": ServerlessSpec(**spec.serverless.model_dump()) if serverless else None,
        "instance": InstanceSpec(**spec.instance.model_dump()),
        "deployment": DeploymentSpec(
            traffic_shift=d.traffic_shift,
            step_unit=d.step.unit,
            step_value=d.step.value,
            wait_interval_seconds=d.wait_interval_seconds,
            termination_wait_seconds=d.termination_wait_seconds,
            max_execution_timeout_seconds=d.max_execution_timeout_seconds,
        ),
        "alarms": AlarmSpec(**spec.alarms.model_dump()),
        # Serverless supports neither capture nor isolation (AWS); dev accepts that gap (allowServerless).
        "data_capture_percentage": (
            spec.data_capture.sampling_percentage if spec.data_capture.enabled and not serverless else None
        ),
        "network_isolation": spec.network_isolation and not serverless,
        "log_retention_days": spec.log_retention_days,
        "model_data_key": spec.model_data,
    }
