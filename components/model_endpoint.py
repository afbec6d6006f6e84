"""A SageMaker real-time endpoint that is private, encrypted, observed and safe to update.

Instance endpoints run in the private subnets behind a security group that can only reach the VPC endpoints,
capture requests and responses to the data-capture bucket with a KMS key, scale on invocations per instance,
and roll out blue/green (canary or linear) with automatic rollback on their 5XX and latency alarms. Serverless
endpoints (dev) skip what AWS does not support for them: VPC config, network isolation, data capture, blue/green.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pulumi
import pulumi_aws as aws

from components import facts
from components import sagemaker_rules as sm
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
"""Invocation metrics: Invocation4XXErrors, Invocation5XXErrors, ModelLatency (microseconds)."""
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
"""Instance metrics: CPUUtilization and GPUUtilization, summed over the instance's vCPUs/GPUs."""


class GrantSource(Protocol):
    """What the endpoint needs from the artifact store: `ArtifactStore` or `sagemaker_rules.BucketGrants`."""

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


@dataclass(frozen=True, kw_only=True)
class ServerlessSpec:
    memory_size_mb: int = 2048
    """One of AWS's serverless sizes (1024-6144 in 1024 steps)."""
    max_concurrency: int = 5
    """Concurrent invocations, 1-200."""
    provisioned_concurrency: int | None = None
    """Warm capacity, billed while idle. Default: none."""


@dataclass(frozen=True, kw_only=True)
class InstanceSpec:
    type: str = "ml.m5.large"
    """SageMaker real-time instance type; checked against `allowed_instance_types`."""
    initial_count: int = 2
    """Instances at creation. Default 2: two zones."""
    min_count: int = 2
    """Autoscaling floor."""
    max_count: int = 4
    """Autoscaling ceiling."""
    target_invocations_per_instance: int = 100
    """Target for `SageMakerVariantInvocationsPerInstance` (per instance per minute)."""
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60
    autoscaling: bool = True
    """Register the variant with Application Auto Scaling. Default on. SageMaker refuses to change the instance
    type of an autoscaled variant, so a type change is deployed with this off first (docs/endpoints.md)."""


@dataclass(frozen=True, kw_only=True)
class DeploymentSpec:
    traffic_shift: Literal["canary", "linear", "all-at-once"] = "canary"
    """Blue/green traffic routing: canary step then the rest, linear steps, or all at once."""
    step_unit: Literal["instances", "percent"] = "instances"
    step_value: int = 1
    wait_interval_seconds: int = 300
    """Bake time per step, while rollback alarms are watched."""
    termination_wait_seconds: int = 300
    """Old fleet kept this long after the shift, for a fast rollback."""
    max_execution_timeout_seconds: int = 3600


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    error_5xx_percent: float = 1.0
    """5XX share of invocations that alarms (and rolls back)."""
    error_4xx_percent: float = 5.0
    """4XX share of invocations that alarms (notification only)."""
    model_latency_p99_ms: int = 1000
    """p99 model latency that alarms (and rolls back)."""
    utilization_percent: int = 90
    """Average CPU (and GPU) busy share that alarms (notification only)."""
    period_seconds: int = 60
    evaluation_periods: int = 3


@dataclass(frozen=True, kw_only=True)
class ModelEndpointArgs:
    endpoint_name: str
    """Physical endpoint name (≤ 63, letters/digits/hyphens). Fixed, so alarms can name it before it exists and
    callers keep one name across deployments; endpoint configurations and models are auto-named instead."""
    model: str
    """Model name: its prefix (`<model>/`) in the models bucket is all the execution role may read."""
    image_uri: pulumi.Input[str]
    """Serving image (ECR)."""
    image_repository_arn: pulumi.Input[str]
    """The image's ECR repository: the only one the execution role may pull from."""
    model_data_key: str | None = None
    """Model archive key in the models bucket (under `<model>/`). Exactly one of this or `model_package_arn`."""
    model_package_arn: pulumi.Input[str] | None = None
    """A versioned model package to deploy; SageMaker refuses it unless its approval status is Approved."""
    model_package_group_name: pulumi.Input[str] | None = None
    """The model's registry group, exported with the endpoint for CI."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Container environment variables."""
    variant_name: str = "primary"
    """Production variant name, stable across deployments (alarm and autoscaling dimensions use it)."""
    serverless: ServerlessSpec | None = None
    """Serve serverless (CPU, no idle cost). Default None: instance-based, per `instance`."""
    instance: InstanceSpec = field(default_factory=InstanceSpec)
    """Instance fleet and autoscaling (ignored when `serverless` is set)."""
    deployment: DeploymentSpec = field(default_factory=DeploymentSpec)
    """Blue/green rollout (instance endpoints only)."""
    alarms: AlarmSpec = field(default_factory=AlarmSpec)
    data_capture_percentage: int | None = 20
    """Share of requests/responses captured, KMS-encrypted. None turns capture off (required for serverless)."""
    network_isolation: bool = True
    """No network for the model container. Serverless requires an explicit False."""
    log_retention_days: int = 90
    """Retention of `/aws/sagemaker/Endpoints/<endpoint>`, encrypted with `logs_kms_key_arn`."""
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
    def is_serverless(self) -> bool:
        return self.serverless is not None


def validate_model_endpoint(args: ModelEndpointArgs) -> None:
    """Raise ValueError listing every problem with `args` (pure: no engine needed)."""
    problems = [*_source_problems(args), *_alarm_problems(args.alarms)]
    if args.serverless is not None:
        problems += _serverless_problems(args, args.serverless)
    else:
        problems += _instance_problems(args, args.instance)
        problems += _deployment_problems(args.deployment, args.instance)
    if problems:
        raise ValueError(f"ModelEndpoint {args.endpoint_name}: " + "; ".join(problems))


def _source_problems(args: ModelEndpointArgs) -> list[str]:
    """Names, what is served, capture and log retention."""
    problems: list[str] = []
    if not sm.NAME_PATTERN.match(args.endpoint_name):
        problems.append(
            f"endpoint_name {args.endpoint_name!r}: letters, digits and hyphens only, at most 63 characters"
        )
    if not sm.NAME_PATTERN.match(args.variant_name):
        problems.append(f"variant_name {args.variant_name!r}: letters, digits and hyphens only, at most 63 characters")
    if (args.model_data_key is None) == (args.model_package_arn is None):
        problems.append("set exactly one of model_data_key or model_package_arn")
    if args.model_data_key is not None and not args.model_data_key.startswith(f"{args.model}/"):
        problems.append(f"model_data_key {args.model_data_key!r} is outside the model's prefix '{args.model}/'")
    if args.data_capture_percentage is not None and not 1 <= args.data_capture_percentage <= 100:
        problems.append(
            f"data_capture_percentage {args.data_capture_percentage}: must be 1-100, or None for no capture"
        )
    if args.log_retention_days not in facts.log_retention_days():
        problems.append(f"log_retention_days {args.log_retention_days}: not a CloudWatch Logs retention value")
    return problems


def _alarm_problems(a: AlarmSpec) -> list[str]:
    problems: list[str] = []
    if not (0 < a.error_5xx_percent <= 100 and 0 < a.error_4xx_percent <= 100):
        problems.append("alarm error percentages must be above 0 and at most 100")
    if not 1 <= a.model_latency_p99_ms <= 60_000:
        problems.append(f"model_latency_p99_ms {a.model_latency_p99_ms}: must be 1-60000")
    if not 1 <= a.utilization_percent <= 100:
        problems.append(f"utilization_percent {a.utilization_percent}: must be 1-100")
    if a.period_seconds < 60 or a.period_seconds % 60 or not 1 <= a.evaluation_periods <= 60:
        problems.append("alarm period must be a multiple of 60 s and evaluation_periods 1-60")
    return problems


def _serverless_problems(args: ModelEndpointArgs, s: ServerlessSpec) -> list[str]:
    problems: list[str] = []
    if s.memory_size_mb not in sm.serverless_memory_sizes_mb():
        problems.append(f"serverless memory_size_mb {s.memory_size_mb}: allowed {sm.serverless_memory_sizes_mb()}")
    low, high = sm.serverless_concurrency_range()
    if not low <= s.max_concurrency <= high:
        problems.append(f"serverless max_concurrency {s.max_concurrency}: must be {low}-{high}")
    if s.provisioned_concurrency is not None and not low <= s.provisioned_concurrency <= s.max_concurrency:
        problems.append(
            f"serverless provisioned_concurrency {s.provisioned_concurrency}: must be {low}-max_concurrency"
        )
    # AWS rejects these for serverless; asking for them is a mistake, not something to drop silently.
    if args.data_capture_percentage is not None:
        problems.append("serverless endpoints cannot capture data: pass data_capture_percentage=None")
    if args.network_isolation:
        problems.append("serverless endpoints do not support network isolation: pass network_isolation=False")
    return problems


def _instance_problems(args: ModelEndpointArgs, i: InstanceSpec) -> list[str]:
    problems: list[str] = []
    problem = sm.instance_type_problem(i.type, args.allowed_instance_types)
    if problem:
        problems.append(f"instance type {i.type!r}: {problem}")
    if not 1 <= i.min_count <= i.initial_count <= i.max_count:
        problems.append(
            f"instance counts must satisfy 1 <= min ({i.min_count}) <= initial ({i.initial_count}) <= max ({i.max_count})"
        )
    if i.target_invocations_per_instance < 1:
        problems.append("target_invocations_per_instance must be at least 1")
    for label, value in (("private_subnet_ids", args.private_subnet_ids), ("vpc_id", args.vpc_id),
                         ("s3_prefix_list_id", args.s3_prefix_list_id)):  # fmt: skip
        if value is None:
            problems.append(f"{label} is required for an instance endpoint (it runs in the VPC)")
    return problems


def _deployment_problems(d: DeploymentSpec, i: InstanceSpec) -> list[str]:
    """Blue/green traffic steps, guardrails and waits, against the fleet they shift."""
    problems = [
        p
        for p in (
            sm.traffic_step_problem(d.traffic_shift, d.step_unit, d.step_value, i.min_count),
            sm.guardrails_problem(i.type, d.traffic_shift),
        )
        if p
    ]
    timeout = sm.deployment_timeout_problem(
        shift=d.traffic_shift,
        unit=d.step_unit,
        value=d.step_value,
        largest_fleet=i.max_count,
        wait=d.wait_interval_seconds,
        termination=d.termination_wait_seconds,
        timeout=d.max_execution_timeout_seconds,
    )
    if timeout:
        problems.append(f"max_execution_timeout_seconds {d.max_execution_timeout_seconds}: {timeout}")
    for label, value, (low, high) in (
        ("wait_interval_seconds", d.wait_interval_seconds, sm.wait_interval_range()),
        ("termination_wait_seconds", d.termination_wait_seconds, sm.termination_wait_range()),
        ("max_execution_timeout_seconds", d.max_execution_timeout_seconds, sm.max_execution_timeout_range()),
    ):
        if not low <= value <= high:
            problems.append(f"{label} {value}: must be {low}-{high}")
    return problems


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
    a, prefix = args.alarms, f"{args.endpoint_name}-{args.variant_name}"
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
        itype = args.instance.type
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


def traffic_routing(d: DeploymentSpec) -> dict[str, Any]:
    """The blue/green traffic routing block, engine-shaped (camelCase keys as recorded)."""
    unit = {"instances": "INSTANCE_COUNT", "percent": "CAPACITY_PERCENT"}[d.step_unit]
    routing: dict[str, Any] = {
        "type": {"canary": "CANARY", "linear": "LINEAR", "all-at-once": "ALL_AT_ONCE"}[d.traffic_shift],
        "waitIntervalInSeconds": d.wait_interval_seconds,
    }
    if d.traffic_shift == "canary":
        routing["canarySize"] = {"type": unit, "value": d.step_value}
    if d.traffic_shift == "linear":
        routing["linearStepSize"] = {"type": unit, "value": d.step_value}
    return routing


def _routing_args(
    d: DeploymentSpec,
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
        serverless = args.is_serverless
        tags = dict(args.tags)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # SageMaker writes to this fixed name; creating it first gives it the key and retention.
            name=f"/aws/sagemaker/Endpoints/{args.endpoint_name}",
            kms_key_id=args.logs_kms_key_arn,
            retention_in_days=args.log_retention_days,
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
                lambda v: _network_resources(v[0], v[1], v[2])
            )

        capture_prefix = f"{args.endpoint_name}/"
        capture = args.data_capture_percentage is not None
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
                model_package_name=args.model_package_arn, environment=dict(args.environment) or None
            )
        else:
            container = aws.sagemaker.ModelPrimaryContainerArgs(
                image=args.image_uri,
                model_data_url=pulumi.Output.concat("s3://", args.models_bucket_name, "/", args.model_data_key or ""),
                environment=dict(args.environment) or None,
            )
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.execution_role.arn,
            primary_container=container,
            enable_network_isolation=args.network_isolation,
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
            variant_name=args.variant_name,
            model_name=self.model.name,
            initial_variant_weight=1.0,
            **(
                {
                    "serverless_config": aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                        memory_size_in_mb=args.serverless.memory_size_mb,
                        max_concurrency=args.serverless.max_concurrency,
                        provisioned_concurrency=args.serverless.provisioned_concurrency,
                    )
                }
                if args.serverless is not None
                else {"instance_type": args.instance.type, "initial_instance_count": args.instance.initial_count}
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
            if (not serverless and sm.has_local_storage(args.instance.type))
            else args.volume_kms_key_arn,
            data_capture_config=aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                enable_capture=True,
                initial_sampling_percentage=args.data_capture_percentage,
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
                dimensions={"EndpointName": args.endpoint_name, "VariantName": args.variant_name},
                statistic=plan.statistic,
                extended_statistic=plan.extended_statistic,
                comparison_operator="GreaterThanThreshold",
                threshold=plan.threshold,
                period=args.alarms.period_seconds,
                evaluation_periods=args.alarms.evaluation_periods,
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
            d = args.deployment
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
        if not serverless and args.instance.autoscaling:
            i = args.instance
            resource_id = pulumi.Output.concat("endpoint/", self.endpoint.name, "/variant/", args.variant_name)
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
                name=f"{args.endpoint_name}-{args.variant_name}-invocations",
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


def _network_resources(security_group_arn: str, subnet_ids: Sequence[str], vpc_id: str) -> dict[str, Any]:
    """ARNs for the ENI statements, built from the security group's ARN (same partition, region, account)."""
    head = security_group_arn.split(":security-group/")[0]  # arn:<partition>:ec2:<region>:<account>
    return {
        "subnet_arns": [f"{head}:subnet/{subnet}" for subnet in subnet_ids],
        "security_group_arn": security_group_arn,
        "network_interface_arn": f"{head}:network-interface/*",
        "vpc_arn": f"{head}:vpc/{vpc_id}",
    }


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
