"""A SageMaker real-time endpoint that is private, encrypted, observed and safe to update.

Instance endpoints run in the private subnets behind a security group that can only reach the VPC endpoints,
capture requests and responses to the data-capture bucket with a KMS key, scale on invocations per instance,
and roll out blue/green (canary or linear) with automatic rollback on their 5XX and latency alarms. Serverless
endpoints (dev) skip what AWS does not support for them: VPC config, network isolation, data capture, blue/green.

Settings are declared once, below (`EndpointSettings`, `EndpointSpec` and their sections): the stack file's
`ml-platform:endpoints` is validated against them (`infra/config/endpoints.py`) and the component takes the same
model as `ModelEndpointArgs.settings`. Values known only at deployment (names, ARNs, image URIs, Outputs) are
separate arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from components import facts
from components import sagemaker_rules as sm
from components.settings import FieldError, Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
"""Invocation metrics: Invocation4XXErrors, Invocation5XXErrors, ModelLatency (microseconds)."""
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
"""Instance metrics: CPUUtilization and GPUUtilization, summed over the instance's vCPUs/GPUs."""


class GrantSource(Protocol):
    """What the endpoint needs from the artifact store: `ArtifactStore` or `sagemaker_rules.BucketGrants`."""

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


# -- settings: what the stack file sets per endpoint (`ml-platform:endpoints.defaults` and `.endpoints.<key>`) ------


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

    @property
    def is_serverless(self) -> bool:
        return self.serving == "serverless"

    @property
    def capture_percentage(self) -> int | None:
        """Share of invocations captured, or None: capture off, or a serverless endpoint (AWS cannot capture
        there; dev accepts that gap with `allowServerless`)."""
        return self.data_capture.sampling_percentage if self.data_capture.enabled and not self.is_serverless else None

    @property
    def isolated(self) -> bool:
        """Network isolation in effect: serverless endpoints do not support it (AWS)."""
        return self.network_isolation and not self.is_serverless


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
        """The served model: the first path segment of modelData / modelPackage. Its prefix (`<model>/`) in the
        models bucket is all the execution role may read."""
        return (self.model_data or self.model_package or "").split("/", 1)[0]

    @property
    def model_package_version(self) -> int | None:
        """The registry version `modelPackage` names (`churn-classifier/3` -> 3), or None."""
        return int(self.model_package.split("/")[1]) if self.model_package else None


# -- the component -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ModelEndpointArgs:
    endpoint_name: str
    """Physical endpoint name (≤ 63, letters/digits/hyphens). Fixed, so alarms can name it before it exists and
    callers keep one name across deployments; endpoint configurations and models are auto-named instead."""
    settings: EndpointSpec
    """What the stack file sets for this endpoint, validated when built: the model it serves (`modelData` or
    `modelPackage`), serving mode, fleet, rollout, alarms, capture, isolation, log retention, variant, environment."""
    image_uri: pulumi.Input[str]
    """Serving image (ECR)."""
    image_repository_arn: pulumi.Input[str]
    """The image's ECR repository: the only one the execution role may pull from."""
    model_package_arn: pulumi.Input[str] | None = None
    """The registry version `settings.model_package` names, as an ARN: required with it, and only with it.
    SageMaker refuses it unless its approval status is Approved."""
    model_package_group_name: pulumi.Input[str] | None = None
    """The model's registry group, exported with the endpoint for CI."""
    models_bucket_name: pulumi.Input[str]
    data_capture_bucket_name: pulumi.Input[str]
    artifact_grants: GrantSource
    """Builds the S3 + KMS statements for the model prefix (read) and the capture prefix (write)."""
    volume_kms_key_arn: pulumi.Input[str]
    """Encrypts the instances' storage volumes (not given to local-NVMe types, which AWS encrypts in hardware)."""
    data_capture_kms_key_arn: pulumi.Input[str]
    """Encrypts captured data. Must be the data-capture bucket's own key: its bucket policy denies uploads under
    any other key, and the capture grant's KMS actions are on that key."""
    logs_kms_key_arn: pulumi.Input[str]
    """Encrypts the endpoint's log group and its alarm topic."""
    permissions_boundary: pulumi.Input[str]
    """Permission boundary of the execution role."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Subnets for the model's ENIs (instance endpoints)."""
    vpc_id: pulumi.Input[str] | None = None
    endpoint_security_group_id: pulumi.Input[str] | None = None
    """The VPC interface endpoints' security group: the model may reach it on 443, nothing else but S3.
    None when the VPC has no interface endpoints: the model then reaches S3 only."""
    s3_prefix_list_id: pulumi.Input[str] | None = None
    """The S3 gateway endpoint's prefix list: model artifacts are fetched through it."""
    allowed_instance_types: Sequence[str] | None = None
    """The stack's instance allowlist. None: any SageMaker type."""
    notification_emails: Sequence[str] = ()
    """Subscribed to the alarm topic (each confirms by email)."""
    runbook: str = "docs/runbooks/model-rollback.md"
    """Linked from every alarm's description: what to do when it fires."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags; cost tags come from the provider's default tags."""

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def is_serverless(self) -> bool:
        return self.settings.is_serverless


def validate_model_endpoint(args: ModelEndpointArgs) -> None:
    """Raise ValueError listing every problem with `args` (pure: no engine needed).

    The settings validated themselves when they were built; what is left is what only the wiring knows: the
    endpoint's name, the registry version's ARN, the stack's instance allowlist and the network."""
    s = args.settings
    problems: list[str] = []
    if not sm.NAME_PATTERN.match(args.endpoint_name):
        problems.append(
            f"endpoint_name {args.endpoint_name!r}: letters, digits and hyphens only, at most 63 characters"
        )
    if (s.model_package is None) != (args.model_package_arn is None):
        problems.append(
            "model_package_arn is required exactly when settings.model_package names a registry version "
            f"(model_package: {s.model_package!r})"
        )
    if not s.is_serverless:
        problem = sm.instance_type_problem(s.instance.type, args.allowed_instance_types)
        if problem:
            problems.append(f"instance type {s.instance.type!r}: {problem}")
        for label, value in (("private_subnet_ids", args.private_subnet_ids), ("vpc_id", args.vpc_id),
                             ("s3_prefix_list_id", args.s3_prefix_list_id)):  # fmt: skip
            if value is None:
                problems.append(f"{label} is required for an instance endpoint (it runs in the VPC)")
    if problems:
        raise ValueError(f"ModelEndpoint {args.endpoint_name}: " + "; ".join(problems))


@dataclass(frozen=True)
class AlarmPlan:
    """One CloudWatch alarm on the endpoint's variant, before it is declared."""

    role: str
    name: str
    namespace: str
    metric: str
    threshold: float
    description: str
    rollback: bool
    statistic: str | None = None
    extended_statistic: str | None = None


def alarm_plan(args: ModelEndpointArgs) -> list[AlarmPlan]:
    """The endpoint's alarms: 5XX and latency (which also roll deployments back), 4XX, CPU and — on GPU
    instances — GPU utilisation. Thresholds in the metric's own units."""
    a, prefix = args.settings.alarms, f"{args.endpoint_name}-{args.settings.variant_name}"
    rollback = not args.is_serverless
    plans = [
        AlarmPlan(
            role="5xx",
            name=f"{prefix}-5xx-errors",
            namespace=SAGEMAKER_NAMESPACE,
            metric="Invocation5XXErrors",
            # Each invocation reports 0 or 1, so the Average is the error rate.
            statistic="Average",
            threshold=a.error_5xx_percent / 100,
            description=f"More than {a.error_5xx_percent}% of invocations answered 5XX",
            rollback=rollback,
        ),
        AlarmPlan(
            role="latency",
            name=f"{prefix}-model-latency-p99",
            namespace=SAGEMAKER_NAMESPACE,
            metric="ModelLatency",
            extended_statistic="p99",
            threshold=a.model_latency_p99_ms * 1000,  # ModelLatency is reported in microseconds
            description=f"p99 model latency above {a.model_latency_p99_ms} ms",
            rollback=rollback,
        ),
        AlarmPlan(
            role="4xx",
            name=f"{prefix}-4xx-errors",
            namespace=SAGEMAKER_NAMESPACE,
            metric="Invocation4XXErrors",
            statistic="Average",
            threshold=a.error_4xx_percent / 100,
            description=f"More than {a.error_4xx_percent}% of invocations answered 4XX",
            rollback=False,
        ),
    ]
    if not args.is_serverless:
        itype = args.settings.instance.type
        plans.append(
            AlarmPlan(
                role="cpu",
                name=f"{prefix}-cpu-utilization",
                namespace=INSTANCE_NAMESPACE,
                metric="CPUUtilization",
                statistic="Average",
                threshold=float(a.utilization_percent * sm.vcpu_count(itype)),
                description=f"CPUs above {a.utilization_percent}% busy ({sm.vcpu_count(itype)} vCPUs on {itype})",
                rollback=False,
            )
        )
        if sm.is_gpu(itype):
            plans.append(
                AlarmPlan(
                    role="gpu",
                    name=f"{prefix}-gpu-utilization",
                    namespace=INSTANCE_NAMESPACE,
                    metric="GPUUtilization",
                    statistic="Average",
                    threshold=float(a.utilization_percent * sm.gpu_count(itype)),
                    description=f"GPUs above {a.utilization_percent}% busy ({sm.gpu_count(itype)} GPUs on {itype})",
                    rollback=False,
                )
            )
    return plans


def traffic_routing(d: DeploymentSettings) -> dict[str, Any]:
    """The blue/green traffic routing block, engine-shaped (camelCase keys as recorded)."""
    unit = {"instances": "INSTANCE_COUNT", "percent": "CAPACITY_PERCENT"}[d.step.unit]
    routing: dict[str, Any] = {
        "type": {"canary": "CANARY", "linear": "LINEAR", "all-at-once": "ALL_AT_ONCE"}[d.traffic_shift],
        "waitIntervalInSeconds": d.wait_interval_seconds,
    }
    if d.traffic_shift == "canary":
        routing["canarySize"] = {"type": unit, "value": d.step.value}
    if d.traffic_shift == "linear":
        routing["linearStepSize"] = {"type": unit, "value": d.step.value}
    return routing


def _routing_args(
    d: DeploymentSettings,
) -> aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs:
    r = traffic_routing(d)
    size = aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationCanarySizeArgs
    step = aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationLinearStepSizeArgs
    return aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(
        type=r["type"],
        wait_interval_in_seconds=r["waitIntervalInSeconds"],
        canary_size=size(**r["canarySize"]) if "canarySize" in r else None,
        linear_step_size=step(**r["linearStepSize"]) if "linearStepSize" in r else None,
    )


def _email_key(email: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")


class ModelEndpoint(pulumi.ComponentResource):
    """A SageMaker model, endpoint configuration and endpoint, with its execution role, security group, log
    group, alarms + encrypted SNS topic, and (instance endpoints) autoscaling and blue/green auto-rollback.

    Creates: log group, [security group], execution role (WorkloadRole), model, endpoint configuration
    (auto-named), endpoint, alarm topic [+ email subscriptions], alarms, [scalable target + target-tracking policy,
    unless `instance.autoscaling` is off].
    """

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:serving:ModelEndpoint", name, None, opts)
        validate_model_endpoint(args)
        self.args = args
        """The validated arguments (plain values: monitoring reads names, variant and fleet size from them)."""
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        serverless = settings.is_serverless
        tags = dict(args.tags)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # SageMaker writes to this fixed name; creating it first gives it the key and retention.
            name=f"/aws/sagemaker/Endpoints/{args.endpoint_name}",
            kms_key_id=args.logs_kms_key_arn,
            retention_in_days=settings.log_retention_days,
            tags=tags,
            opts=child,
        )

        network: pulumi.Output[dict[str, Any]] | None = None
        self.security_group: aws.ec2.SecurityGroup | None = None
        if not serverless:
            self.security_group = aws.ec2.SecurityGroup(
                f"{name}-sg",
                vpc_id=args.vpc_id,
                description=f"SageMaker endpoint {args.endpoint_name}: egress to VPC endpoints only",
                # No ingress: invocations reach the model through SageMaker, not through this group.
                egress=[
                    *(
                        [
                            aws.ec2.SecurityGroupEgressArgs(
                                description="HTTPS to the VPC interface endpoints",
                                protocol="tcp",
                                from_port=443,
                                to_port=443,
                                security_groups=[args.endpoint_security_group_id],
                            )
                        ]
                        if args.endpoint_security_group_id is not None
                        else []
                    ),
                    aws.ec2.SecurityGroupEgressArgs(
                        description="HTTPS to S3 through the gateway endpoint (model artifacts)",
                        protocol="tcp",
                        from_port=443,
                        to_port=443,
                        prefix_list_ids=[args.s3_prefix_list_id],
                    ),
                ],
                tags={**tags, "Name": f"{args.endpoint_name}-model"},
                opts=child,
            )
            network = pulumi.Output.all(self.security_group.arn, args.private_subnet_ids, args.vpc_id).apply(
                lambda v: sm.network_resources(v[0], v[1], v[2])
            )

        capture_prefix = f"{args.endpoint_name}/"
        capture = settings.capture_percentage is not None
        model_read = args.artifact_grants.grant_statements("models", "read", prefix=f"{args.model}/")
        capture_write = (
            args.artifact_grants.grant_statements("data-capture", "write", prefix=capture_prefix)
            if capture
            else pulumi.Output.from_input([])
        )
        policy = pulumi.Output.all(
            model_read, capture_write, args.image_repository_arn, self.log_group.arn, network
        ).apply(
            lambda v: json.dumps(
                sm.execution_role_policy(
                    model_read=v[0], capture_write=v[1], repository_arn=v[2], log_group_arn=v[3], network=v[4]
                )
            )
        )
        self.execution_role = WorkloadRole(
            f"{name}-execution",
            WorkloadRoleArgs(
                # SageMaker assumes the role only for this account's resources in this region (confused deputy).
                assume_role_policy=pulumi.Output.all(
                    aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id,
                    aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition,
                    aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region,
                ).apply(
                    lambda v: service_trust(
                        "sagemaker.amazonaws.com",
                        source_account=v[0],
                        source_arn=f"arn:{v[1]}:sagemaker:{v[2]}:{v[0]}:*",
                    )
                ),
                permissions_boundary=args.permissions_boundary,
                policies={"serving": policy},
                description=f"SageMaker execution role of endpoint {args.endpoint_name}",
            ),
            opts=child,
        )

        if args.model_package_arn is not None:
            container = aws.sagemaker.ModelPrimaryContainerArgs(
                model_package_name=args.model_package_arn, environment=dict(settings.environment) or None
            )
        else:
            container = aws.sagemaker.ModelPrimaryContainerArgs(
                image=args.image_uri,
                model_data_url=pulumi.Output.concat("s3://", args.models_bucket_name, "/", settings.model_data or ""),
                environment=dict(settings.environment) or None,
            )
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.execution_role.arn,
            primary_container=container,
            enable_network_isolation=settings.isolated,
            vpc_config=None
            if serverless
            else aws.sagemaker.ModelVpcConfigArgs(
                subnets=args.private_subnet_ids,
                security_group_ids=[self.security_group.id],  # type: ignore[union-attr]
            ),
            tags=tags,
            # SageMaker checks the role's permissions when the model is created: wait for its policy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.execution_role]),
        )

        variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=settings.variant_name,
            model_name=self.model.name,
            initial_variant_weight=1.0,
            **(
                {
                    "serverless_config": aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                        memory_size_in_mb=settings.serverless.memory_size_mb,
                        max_concurrency=settings.serverless.max_concurrency,
                        provisioned_concurrency=settings.serverless.provisioned_concurrency,
                    )
                }
                if serverless
                else {
                    "instance_type": settings.instance.type,
                    "initial_instance_count": settings.instance.initial_count,
                }
            ),
        )
        self.data_capture_uri: pulumi.Output[str] | None = (
            pulumi.Output.concat("s3://", args.data_capture_bucket_name, "/", capture_prefix) if capture else None
        )
        self.endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            # No name: the engine generates one, so a change creates the new configuration before the old one
            # is deleted (a fixed name makes the replacement collide with the configuration still in use).
            production_variants=[variant],
            # Local-NVMe instance types are hardware-encrypted and AWS rejects a volume key for them.
            kms_key_arn=None
            if (not serverless and sm.has_local_storage(settings.instance.type))
            else args.volume_kms_key_arn,
            data_capture_config=aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                enable_capture=True,
                initial_sampling_percentage=settings.capture_percentage,
                destination_s3_uri=self.data_capture_uri,
                kms_key_id=args.data_capture_kms_key_arn,
                capture_options=[
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Input"),
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Output"),
                ],
            )
            if capture
            else None,
            tags=tags,
            opts=child,
        )

        self.alarm_topic = aws.sns.Topic(
            f"{name}-alarms",
            kms_master_key_id=args.logs_kms_key_arn,
            display_name=f"SageMaker endpoint {args.endpoint_name} alarms",
            tags=tags,
            opts=child,
        )
        self.subscriptions = {
            email: aws.sns.TopicSubscription(
                f"{name}-alarm-email-{_email_key(email)}",
                topic=self.alarm_topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
            for email in sorted(set(args.notification_emails))
        }

        self.alarm_plans = alarm_plan(args)
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for plan in self.alarm_plans:
            self.alarms[plan.role] = aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-{plan.role}",
                name=plan.name,
                alarm_description=f"{plan.description}. Runbook: {args.runbook}",
                namespace=plan.namespace,
                metric_name=plan.metric,
                # Both dimensions, or the alarm watches a metric that does not exist and never fires.
                dimensions={"EndpointName": args.endpoint_name, "VariantName": settings.variant_name},
                statistic=plan.statistic,
                extended_statistic=plan.extended_statistic,
                comparison_operator="GreaterThanThreshold",
                threshold=plan.threshold,
                period=settings.alarms.period_seconds,
                evaluation_periods=settings.alarms.evaluation_periods,
                # No traffic is not an outage (and must not roll back a quiet deployment).
                treat_missing_data="notBreaching",
                alarm_actions=[self.alarm_topic.arn],
                ok_actions=[self.alarm_topic.arn],
                tags=tags,
                opts=child,
            )
        rollback_alarms = [self.alarms[p.role] for p in self.alarm_plans if p.rollback]

        deployment = None
        if not serverless:
            d = settings.deployment
            deployment = aws.sagemaker.EndpointDeploymentConfigArgs(
                blue_green_update_policy=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
                    traffic_routing_configuration=_routing_args(d),
                    termination_wait_in_seconds=d.termination_wait_seconds,
                    maximum_execution_timeout_in_seconds=d.max_execution_timeout_seconds,
                ),
                auto_rollback_configuration=aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
                    alarms=[
                        aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=alarm.name)
                        for alarm in rollback_alarms
                    ]
                ),
            )
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            deployment_config=deployment,
            tags=tags,
            opts=child,
        )

        self.scaling_target: aws.appautoscaling.Target | None = None
        self.scaling_policy: aws.appautoscaling.Policy | None = None
        if not serverless and settings.instance.autoscaling:
            i = settings.instance
            resource_id = pulumi.Output.concat("endpoint/", self.endpoint.name, "/variant/", settings.variant_name)
            self.scaling_target = aws.appautoscaling.Target(
                f"{name}-scaling-target",
                service_namespace="sagemaker",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=resource_id,
                min_capacity=i.min_count,
                max_capacity=i.max_count,
                tags=tags,
                opts=child,
            )
            self.scaling_policy = aws.appautoscaling.Policy(
                f"{name}-scaling-policy",
                name=f"{args.endpoint_name}-{settings.variant_name}-invocations",
                policy_type="TargetTrackingScaling",
                service_namespace=self.scaling_target.service_namespace,
                scalable_dimension=self.scaling_target.scalable_dimension,
                resource_id=self.scaling_target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="SageMakerVariantInvocationsPerInstance",
                    ),
                    target_value=float(i.target_invocations_per_instance),
                    scale_in_cooldown=i.scale_in_cooldown_seconds,
                    scale_out_cooldown=i.scale_out_cooldown_seconds,
                ),
                opts=child,
            )

        self.endpoint_name = self.endpoint.name
        self.endpoint_arn = self.endpoint.arn
        self.endpoint_config_name = self.endpoint_config.name
        self.model_name = self.model.name
        self.execution_role_arn = self.execution_role.arn
        self.alarm_topic_arn = self.alarm_topic.arn
        self.alarm_names = {role: alarm.name for role, alarm in self.alarms.items()}
        self.alarm_thresholds = {p.role: p.threshold for p in self.alarm_plans}
        self.rollback_alarm_names = [p.name for p in self.alarm_plans if p.rollback]
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_arn": self.endpoint_arn,
                "endpoint_config_name": self.endpoint_config_name,
                "model_name": self.model_name,
                "execution_role_arn": self.execution_role_arn,
                "alarm_topic_arn": self.alarm_topic_arn,
                "alarm_names": self.alarm_names,
                "alarm_thresholds": self.alarm_thresholds,
                "rollback_alarm_names": self.rollback_alarm_names,
                "data_capture_uri": self.data_capture_uri,
                "log_group_name": self.log_group.name,
                "model_package_group_name": args.model_package_group_name,
            }
        )

    def summary(self) -> pulumi.Output[dict[str, Any]]:
        """What a stack exports per endpoint: names, alarm names and thresholds, where data is captured."""
        return pulumi.Output.from_input(
            {
                "endpointName": self.endpoint_name,
                "endpointConfigName": self.endpoint_config_name,
                "modelName": self.model_name,
                "executionRoleArn": self.execution_role_arn,
                "alarmTopicArn": self.alarm_topic_arn,
                "alarmNames": self.alarm_names,
                "alarmThresholds": self.alarm_thresholds,
                "rollbackAlarmNames": self.rollback_alarm_names,
                "dataCaptureUri": self.data_capture_uri,
            }
        )


def image_source(
    reference: str,
    *,
    repository_urls: Mapping[str, pulumi.Input[str]],
    repository_arns: Mapping[str, pulumi.Input[str]],
    partition: str,
) -> tuple[pulumi.Input[str], pulumi.Input[str]]:
    """(image URI, repository ARN) for a model's image: `repo:tag` in one of the stack's registries (by its
    short name), or a full private ECR image URI (another account's, e.g. AWS's prebuilt serving images)."""
    if sm.ECR_URI.match(reference):
        return reference, sm.ecr_repository_arn(reference, partition=partition)
    repository, suffix = sm.split_image(reference)
    if repository not in repository_urls:
        raise ValueError(
            f"image {reference!r}: no registry {repository!r} in this stack (registries: "
            f"{', '.join(sorted(repository_urls)) or 'none'}); use one of them or a full ECR image URI"
        )
    return pulumi.Output.concat(repository_urls[repository], suffix), repository_arns[repository]
