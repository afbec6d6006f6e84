"""What an on-call engineer looks at and what wakes them: cluster metrics, one dashboard, alarms with runbooks.

`Monitoring` installs the `amazon-cloudwatch-observability` EKS add-on (Container Insights with enhanced
observability; GPU metrics from its own NVIDIA DCGM integration, so the Kubernetes layer's standalone DCGM exporter
stays off; container logs into KMS-encrypted log groups with the stack's retention), declares the on-call alarms
(each description links its runbook in `docs/runbooks/`) on the stack's one encrypted alert topic with the email
and HTTPS subscriptions from config, and one CloudWatch dashboard built from the components' names and outputs.

What is alarmed and drawn is planned by pure functions (`alarm_plans`, `dashboard_body`) that tests call directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import field_validator

from components import cluster_rules, facts
from components import sagemaker_rules as sm
from components.model_monitor import DataQualitySettings
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, cluster_pod_identity_trust

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
"""Invocation metrics (Invocations, Invocation4XXErrors, Invocation5XXErrors, ModelLatency in microseconds)."""
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
"""Instance metrics (CPUUtilization, GPUUtilization: percent summed over the instance's vCPUs/GPUs)."""
CONTAINER_INSIGHTS_NAMESPACE = "ContainerInsights"
GPU_SCHEMA = "ContainerInsights,ClusterName,GpuDevice,InstanceId,InstanceType,NodeName"
"""The one Container Insights dimension set of the GPU metrics that carries `InstanceType`: a pool's GPUs are told
apart from another pool's by their instance types (config refuses two GPU pools sharing one)."""
BILLING_REGION = "us-east-1"
"""AWS/Billing `EstimatedCharges` exists only in us-east-1, whatever the stack's region."""
AUTOSCALER_CONTAINER = "cluster-autoscaler"
"""The Kubernetes layer's autoscaler container; its error lines (klog `E....`) are counted from container logs."""
AGENT_SERVICE_ACCOUNT = ("amazon-cloudwatch", "cloudwatch-agent")
"""Namespace and service account of the add-on's CloudWatch agent and Fluent Bit (the Pod Identity association)."""
CONTAINER_INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance")
"""`/aws/containerinsights/<cluster>/<kind>`: created here first so they carry the key and retention."""
ALARM_PERIOD_SECONDS = 60

RUNBOOKS = {
    "endpoint": "endpoint-errors-latency.md",
    "gpu-pending": "gpu-pods-pending.md",
    "gpu-idle": "gpu-idle-spend.md",
    "node-not-ready": "node-not-ready.md",
    "budget": "budget-forecast-breach.md",
    "drift": "drift-found.md",
    "rollback": "model-rollback.md",
    "promotion": "model-promotion.md",
}
"""Runbook per alarm family, in `docs/runbooks/` (a test proves each exists and is linked)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MonitoringSettings(Section):
    """`ml-platform:monitoring`: cluster metrics, on-call alarms and their thresholds, model-quality monitoring.
    Environment defaults in `infra/config/profiles.py`."""

    container_insights: bool = True
    """Install the CloudWatch observability add-on: node/pod/GPU metrics and container logs. Default on; the GPU,
    pending-pod, node and autoscaler alarms need it. Off: those alarms and panels are not created (and the
    Kubernetes layer may run the standalone DCGM exporter instead)."""
    alarm_emails: tuple[str, ...] = ()
    """Subscribed by email to the stack's alert topic (each address confirms once). Default none."""
    alarm_https_endpoints: tuple[str, ...] = ()
    """HTTPS endpoints subscribed to the alert topic: chat or paging integrations that accept SNS messages (e.g. a
    PagerDuty or Opsgenie SNS URL). Default none."""
    runbook_base_url: str = "docs/runbooks"
    """Where alarm descriptions point for runbooks: the repository path by default, or a URL to the same files
    (e.g. `https://github.com/<org>/<repo>/blob/main/docs/runbooks`)."""
    endpoint_error_percent: float = 1.0
    """Share of an endpoint's invocations answering 5XX, sustained for `endpointAlarmMinutes`, that pages."""
    endpoint_latency_p99_ms: int = 1000
    """p99 model latency, sustained for `endpointAlarmMinutes`, that pages."""
    endpoint_alarm_minutes: int = 10
    """How long an endpoint error or latency breach lasts before it pages (the rollback alarms act within minutes;
    these say the problem outlived a rollback)."""
    max_instances_minutes: int = 30
    """An instance endpoint running at its autoscaling ceiling this long pages: it cannot absorb more load."""
    gpu_idle_percent: float = 10
    """A GPU pool whose average GPU utilisation stays below this while nodes run is idle spend."""
    gpu_idle_hours: int = 2
    """How long a GPU pool may idle before it pages (a forgotten job or notebook). 1-24."""
    pending_pods_minutes: int = 15
    """Pods pending this long page: GPU capacity, quota or a pool at its maximum."""
    node_not_ready_minutes: int = 10
    """A node failing a condition this long pages."""
    autoscaler_errors: int = 5
    """Cluster-autoscaler error log lines within 5 minutes that page."""
    data_quality: DataQualitySettings = DataQualitySettings()
    """SageMaker Model Monitor data-quality schedules on endpoints that capture data (`components/model_monitor.py`)."""

    @field_validator("alarm_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_emails(value)

    @field_validator("alarm_https_endpoints")
    @classmethod
    def _https(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_https_endpoints(value)

    @field_validator("runbook_base_url")
    @classmethod
    def _runbooks(cls, value: str) -> str:
        return check_runbook_base(value)

    @field_validator("endpoint_error_percent", "gpu_idle_percent")
    @classmethod
    def _percent(cls, value: float) -> float:
        return check_percent(value)

    @field_validator("endpoint_latency_p99_ms")
    @classmethod
    def _latency(cls, value: int) -> int:
        if not 1 <= value <= 60_000:
            raise ValueError("must be 1-60000 ms (SageMaker times an invocation out after 60 s)")
        return value

    @field_validator(
        "endpoint_alarm_minutes", "max_instances_minutes", "pending_pods_minutes", "node_not_ready_minutes"
    )
    @classmethod
    def _minutes(cls, value: int) -> int:
        return check_minutes(value)

    @field_validator("gpu_idle_hours")
    @classmethod
    def _hours(cls, value: int) -> int:
        if not 1 <= value <= 24:
            raise ValueError("must be 1-24 hours (CloudWatch evaluates an alarm over at most one day)")
        return value

    @field_validator("autoscaler_errors")
    @classmethod
    def _errors(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 (error lines per 5 minutes)")
        return value


def check_emails(emails: Sequence[str]) -> tuple[str, ...]:
    for email in emails:
        if not _EMAIL.match(email):
            raise ValueError(f"{email!r} is not an email address")
    if len(set(emails)) != len(emails):
        raise ValueError("an address is listed twice")
    return tuple(emails)


def check_https_endpoints(urls: Sequence[str]) -> tuple[str, ...]:
    for url in urls:
        if not re.match(r"^https://[^\s/]+(/\S*)?$", url):
            raise ValueError(f"{url!r}: SNS delivers alerts only to https:// URLs (no plain http)")
    if len(set(urls)) != len(urls):
        raise ValueError("a URL is listed twice")
    return tuple(urls)


def check_runbook_base(value: str) -> str:
    value = value.rstrip("/")
    if not value or " " in value:
        raise ValueError("set a repository path (docs/runbooks) or an https:// URL to the runbooks")
    if "://" in value and not value.startswith("https://"):
        raise ValueError("runbook links must be https:// URLs or repository paths")
    return value


def check_percent(value: float) -> float:
    if not 0 < value < 100:
        raise ValueError("must be above 0 and below 100 (percent)")
    return value


def check_minutes(value: int) -> int:
    if not 1 <= value <= 1440:
        raise ValueError("must be 1-1440 minutes (CloudWatch evaluates an alarm over at most one day)")
    return value


def runbook_link(base: str, family: str) -> str:
    return f"{base.rstrip('/')}/{RUNBOOKS[family]}"


# -- what is watched -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EndpointTarget:
    """One endpoint variant as monitoring sees it."""

    endpoint_name: str
    variant_name: str
    serverless: bool
    max_instances: int | None = None
    """The autoscaling ceiling (instance endpoints)."""
    gpus_per_instance: int = 0

    @classmethod
    def of(cls, args: Any) -> EndpointTarget:
        """From a `ModelEndpointArgs`: the same values the endpoint and its alarms were declared with."""
        settings = args.settings
        serverless = settings.is_serverless
        itype = settings.instance.type
        return cls(
            endpoint_name=args.endpoint_name,
            variant_name=settings.variant_name,
            serverless=serverless,
            max_instances=None if serverless else settings.instance.max_count,
            gpus_per_instance=0 if serverless or not sm.is_gpu(itype) else sm.gpu_count(itype),
        )

    @property
    def dimensions(self) -> dict[str, str]:
        return {"EndpointName": self.endpoint_name, "VariantName": self.variant_name}


@dataclass(frozen=True, kw_only=True)
class GpuPoolTarget:
    name: str
    instance_types: tuple[str, ...]

    @property
    def gpus_per_node(self) -> int:
        # One GPU count per pool, and a tabled one, are config rules (`check_gpu_instance_types`).
        return facts.gpu_count(self.instance_types[0]) or 0


def shared_instance_types(pools: Sequence[GpuPoolTarget]) -> dict[str, list[str]]:
    """Instance type -> pools listing it, for types in more than one pool (their GPU metrics cannot be split)."""
    seen: dict[str, list[str]] = {}
    for pool in pools:
        for t in pool.instance_types:
            seen.setdefault(t, []).append(pool.name)
    return {t: names for t, names in seen.items() if len(names) > 1}


@dataclass(frozen=True, kw_only=True)
class BudgetView:
    name: str
    monthly_usd: float
    forecast_threshold_percent: float
    actual_threshold_percent: float


def gpu_pool_filter(cluster_name: str, pool: GpuPoolTarget) -> str:
    """SEARCH term selecting one pool's GPUs (dashboards)."""
    types = " OR ".join(f'InstanceType="{t}"' for t in pool.instance_types)
    return f'{{{GPU_SCHEMA}}} ClusterName="{cluster_name}" ({types})'


def gpu_pool_query(metric: str, function: str, cluster_name: str, pool: GpuPoolTarget) -> str:
    """Metrics Insights query over one pool's GPUs (alarms cannot use SEARCH; they can use Metrics Insights)."""
    types = " OR ".join(f"InstanceType = '{t}'" for t in pool.instance_types)
    return f"SELECT {function}({metric}) FROM SCHEMA({GPU_SCHEMA}) WHERE ClusterName = '{cluster_name}' AND ({types})"


@dataclass(frozen=True, kw_only=True)
class AlarmPlan:
    """One alarm before it is declared: a single metric, or one Metrics Insights query."""

    key: str
    """Stable child-name suffix."""
    name: str
    description: str
    """What breached, and the runbook link."""
    runbook: str
    comparison: str
    threshold: float
    evaluation_periods: int
    period: int = ALARM_PERIOD_SECONDS
    namespace: str | None = None
    metric: str | None = None
    dimensions: Mapping[str, str] | None = None
    statistic: str | None = None
    extended_statistic: str | None = None
    query: str | None = None


def alarm_plans(
    settings: MonitoringSettings,
    *,
    cluster_name: str,
    endpoints: Sequence[EndpointTarget],
    gpu_pools: Sequence[GpuPoolTarget],
    autoscaler_metric: tuple[str, str] | None,
) -> list[AlarmPlan]:
    """The stack's on-call alarms. Thresholds in the metric's own units; every description links its runbook."""
    s = settings
    plans: list[AlarmPlan] = []

    def describe(text: str, family: str) -> tuple[str, str]:
        link = runbook_link(s.runbook_base_url, family)
        return f"{text}. Runbook: {link}", link

    for e in endpoints:
        prefix = f"{e.endpoint_name}-{e.variant_name}"
        description, link = describe(
            f"{e.endpoint_name}/{e.variant_name}: more than {s.endpoint_error_percent}% of invocations answered 5XX "
            f"for {s.endpoint_alarm_minutes} min",
            "endpoint",
        )
        plans.append(
            AlarmPlan(
                key=f"{prefix}-5xx",
                name=f"{prefix}-oncall-5xx-rate",
                description=description,
                runbook=link,
                namespace=SAGEMAKER_NAMESPACE,
                metric="Invocation5XXErrors",
                dimensions=e.dimensions,
                # Each invocation reports 0 or 1: the Average is the error rate.
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=s.endpoint_error_percent / 100,
                evaluation_periods=s.endpoint_alarm_minutes,
            )
        )
        description, link = describe(
            f"{e.endpoint_name}/{e.variant_name}: p99 model latency above {s.endpoint_latency_p99_ms} ms "
            f"for {s.endpoint_alarm_minutes} min",
            "endpoint",
        )
        plans.append(
            AlarmPlan(
                key=f"{prefix}-latency",
                name=f"{prefix}-oncall-latency-p99",
                description=description,
                runbook=link,
                namespace=SAGEMAKER_NAMESPACE,
                metric="ModelLatency",
                dimensions=e.dimensions,
                extended_statistic="p99",
                comparison="GreaterThanThreshold",
                threshold=s.endpoint_latency_p99_ms * 1000,  # microseconds
                evaluation_periods=s.endpoint_alarm_minutes,
            )
        )
        if not e.serverless and e.max_instances is not None:
            description, link = describe(
                f"{e.endpoint_name}/{e.variant_name}: at its maximum of {e.max_instances} instances for "
                f"{s.max_instances_minutes} min; it cannot scale out further",
                "endpoint",
            )
            plans.append(
                AlarmPlan(
                    key=f"{prefix}-max-instances",
                    name=f"{prefix}-at-max-instances",
                    description=description,
                    runbook=link,
                    namespace=INSTANCE_NAMESPACE,
                    # Every in-service instance reports CPUUtilization once a minute: the sample count is the
                    # instance count (SageMaker publishes no instance-count metric).
                    metric="CPUUtilization",
                    dimensions=e.dimensions,
                    statistic="SampleCount",
                    comparison="GreaterThanOrEqualToThreshold",
                    threshold=float(e.max_instances),
                    evaluation_periods=s.max_instances_minutes,
                )
            )

    if not s.container_insights:
        return plans

    for pool in gpu_pools:
        description, link = describe(
            f"GPU pool {pool.name} of {cluster_name}: GPUs below {s.gpu_idle_percent}% busy on average for "
            f"{s.gpu_idle_hours} h while nodes run (idle GPU spend)",
            "gpu-idle",
        )
        plans.append(
            AlarmPlan(
                key=f"gpu-{pool.name}-idle",
                name=f"{cluster_name}-gpu-{pool.name}-idle",
                description=description,
                runbook=link,
                # No GPU nodes means no data, which is not breaching: the alarm only fires while nodes run.
                query=gpu_pool_query("node_gpu_utilization", "AVG", cluster_name, pool),
                comparison="LessThanThreshold",
                threshold=s.gpu_idle_percent,
                period=3600,
                evaluation_periods=s.gpu_idle_hours,
            )
        )
    cluster = {"ClusterName": cluster_name}
    description, link = describe(
        f"{cluster_name}: pods pending for {s.pending_pods_minutes} min (GPU capacity, quota or a pool at its maximum)",
        "gpu-pending",
    )
    plans.append(
        AlarmPlan(
            key="pending-pods",
            name=f"{cluster_name}-pods-pending",
            description=description,
            runbook=link,
            namespace=CONTAINER_INSIGHTS_NAMESPACE,
            metric="pod_status_pending",
            dimensions=cluster,
            # Minimum over each minute: a pod that is scheduled within the minute does not count.
            statistic="Minimum",
            comparison="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=s.pending_pods_minutes,
        )
    )
    description, link = describe(
        f"{cluster_name}: a node has failed a condition (not Ready, pressure) for {s.node_not_ready_minutes} min",
        "node-not-ready",
    )
    plans.append(
        AlarmPlan(
            key="nodes-not-ready",
            name=f"{cluster_name}-nodes-not-ready",
            description=description,
            runbook=link,
            namespace=CONTAINER_INSIGHTS_NAMESPACE,
            metric="cluster_failed_node_count",
            dimensions=cluster,
            statistic="Minimum",
            comparison="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=s.node_not_ready_minutes,
        )
    )
    if autoscaler_metric is not None:
        description, link = describe(
            f"{cluster_name}: cluster-autoscaler logged {s.autoscaler_errors} or more errors in 5 min (scale-ups "
            "failing: quota, capacity, IAM)",
            "gpu-pending",
        )
        plans.append(
            AlarmPlan(
                key="autoscaler-errors",
                name=f"{cluster_name}-autoscaler-errors",
                description=description,
                runbook=link,
                namespace=autoscaler_metric[0],
                metric=autoscaler_metric[1],
                dimensions={},
                statistic="Sum",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=s.autoscaler_errors,
                period=300,
                evaluation_periods=1,
            )
        )
    return plans


# -- the dashboard ---------------------------------------------------------------------------------------------


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], **options: Any) -> list[Any]:
    row: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        row += [key, value]
    return row + ([options] if options else [])


def _graph(title: str, metrics: list[list[Any]], *, region: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {"title": title, "region": region, "view": "timeSeries", "metrics": metrics, **properties},
    }


def _text(markdown: str) -> dict[str, Any]:
    return {"type": "text", "properties": {"markdown": markdown}}


def dashboard_body(
    *,
    region: str,
    cluster_name: str,
    endpoints: Sequence[EndpointTarget],
    gpu_pools: Sequence[GpuPoolTarget],
    budget: BudgetView,
    alarm_arns: Sequence[str],
    container_insights: bool,
    autoscaler_metric: tuple[str, str] | None,
    runbook_base_url: str,
) -> dict[str, Any]:
    """The stack's dashboard: endpoints, GPU pools, cluster, spend, alarm states — in that order, top to bottom."""
    rows: list[list[dict[str, Any]]] = []
    rows.append([_text(f"# Alarms\nEvery alarm's description links its runbook ({runbook_base_url}).")])
    rows.append([{"type": "alarm", "properties": {"title": "On-call alarms", "alarms": sorted(alarm_arns)}}])

    rows.append([_text("# Endpoints\nPer endpoint and variant. ModelLatency is in microseconds.")])
    for e in endpoints:
        d = e.dimensions
        label = f"{e.endpoint_name} / {e.variant_name}"
        row = [
            _graph(
                f"{label}: invocations and errors",
                [
                    _metric(SAGEMAKER_NAMESPACE, "Invocations", d, stat="Sum", label="invocations"),
                    _metric(SAGEMAKER_NAMESPACE, "Invocation4XXErrors", d, stat="Sum", label="4XX"),
                    _metric(SAGEMAKER_NAMESPACE, "Invocation5XXErrors", d, stat="Sum", label="5XX"),
                ],
                region=region,
                stat="Sum",
                period=60,
            ),
            _graph(
                f"{label}: model latency (µs)",
                [
                    _metric(SAGEMAKER_NAMESPACE, "ModelLatency", d, stat="p50", label="p50"),
                    _metric(SAGEMAKER_NAMESPACE, "ModelLatency", d, stat="p99", label="p99"),
                ],
                region=region,
                period=60,
            ),
        ]
        if e.serverless:
            row.append(_text(f"**{label}** is serverless: no instances, so no instance count or CPU/GPU metrics."))
        else:
            utilisation = [
                _metric(INSTANCE_NAMESPACE, "CPUUtilization", d, stat="Average", label="CPU % (sum over vCPUs)")
            ]
            if e.gpus_per_instance:
                utilisation.append(
                    _metric(INSTANCE_NAMESPACE, "GPUUtilization", d, stat="Average", label="GPU % (sum over GPUs)")
                )
            row += [
                _graph(
                    f"{label}: instances (max {e.max_instances})",
                    [_metric(INSTANCE_NAMESPACE, "CPUUtilization", d, stat="SampleCount", label="instances")],
                    region=region,
                    period=60,
                    annotations={"horizontal": [{"label": "autoscaling maximum", "value": e.max_instances}]},
                ),
                _graph(f"{label}: utilisation", utilisation, region=region, period=60),
            ]
        rows.append(row)

    if container_insights:
        rows.append(
            [_text("# GPU pools\nPer pool, from Container Insights (DCGM). Nodes = GPUs reporting / GPUs per node.")]
        )
        for i, pool in enumerate(gpu_pools):
            search = gpu_pool_filter(cluster_name, pool)
            rows.append(
                [
                    _graph(
                        f"{pool.name}: nodes",
                        [
                            [
                                {
                                    "id": f"g{i}",
                                    "expression": f"SEARCH('{search} MetricName=\"node_gpu_utilization\"', 'SampleCount', 60)",
                                    "visible": False,
                                }
                            ],
                            [{"id": f"n{i}", "expression": f"SUM(g{i}) / {pool.gpus_per_node}", "label": "nodes"}],
                        ],
                        region=region,
                    ),
                    _graph(
                        f"{pool.name}: GPU and GPU-memory utilisation %",
                        [
                            [
                                {
                                    "id": f"u{i}",
                                    "expression": f"AVG(SEARCH('{search} MetricName=\"node_gpu_utilization\"', 'Average', 300))",
                                    "label": "GPU %",
                                }
                            ],
                            [
                                {
                                    "id": f"m{i}",
                                    "expression": f"AVG(SEARCH('{search} MetricName=\"node_gpu_memory_utilization\"', 'Average', 300))",
                                    "label": "GPU memory %",
                                }
                            ],
                        ],
                        region=region,
                        yAxis={"left": {"min": 0, "max": 100}},
                    ),
                ]
            )
        cluster = {"ClusterName": cluster_name}
        rows.append([_text(f"# Cluster {cluster_name}")])
        cluster_row = [
            _graph(
                "Pending pods",
                [_metric(CONTAINER_INSIGHTS_NAMESPACE, "pod_status_pending", cluster, stat="Maximum", label="pending")],
                region=region,
                period=60,
            ),
            _graph(
                "Nodes and failed nodes",
                [
                    _metric(CONTAINER_INSIGHTS_NAMESPACE, "cluster_node_count", cluster, stat="Maximum", label="nodes"),
                    _metric(
                        CONTAINER_INSIGHTS_NAMESPACE,
                        "cluster_failed_node_count",
                        cluster,
                        stat="Maximum",
                        label="failed",
                    ),
                ],
                region=region,
                period=60,
            ),
            _graph(
                "API server 5XX responses",
                [
                    _metric(
                        CONTAINER_INSIGHTS_NAMESPACE, "apiserver_request_total_5xx", cluster, stat="Sum", label="5XX"
                    )
                ],
                region=region,
                period=60,
            ),
        ]
        if autoscaler_metric is not None:
            cluster_row.append(
                _graph(
                    "cluster-autoscaler errors",
                    [_metric(autoscaler_metric[0], autoscaler_metric[1], {}, stat="Sum", label="error lines")],
                    region=region,
                    period=300,
                )
            )
        rows.append(cluster_row)
    else:
        rows.append(
            [_text("# Cluster\nContainer Insights is off (`monitoring.containerInsights`): no GPU or cluster metrics.")]
        )

    rows.append(
        [
            _text(
                f"# Spend\nBudget **{budget.name}**: {budget.monthly_usd:.2f} USD a month; AWS Budgets alerts the "
                f"alert topic at {budget.forecast_threshold_percent:g}% forecast and {budget.actual_threshold_percent:g}% "
                f"actual ([runbook]({runbook_link(runbook_base_url, 'budget')})). Budgets publishes no CloudWatch "
                "metric: the budget's actual and forecast are on the Budgets console. The graph is the account's "
                f"estimated charges, which exist only in {BILLING_REGION} and need billing alerts enabled."
            ),
            _graph(
                "Estimated charges this month (account, USD)",
                [_metric("AWS/Billing", "EstimatedCharges", {"Currency": "USD"}, stat="Maximum", label="estimated")],
                region=BILLING_REGION,
                period=21600,
                annotations={"horizontal": [{"label": "budget", "value": budget.monthly_usd}]},
            ),
        ]
    )
    return {"widgets": _layout(rows)}


def _layout(rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Place rows top to bottom on CloudWatch's 24-column grid; widgets in a row share its width."""
    widgets, y = [], 0
    for row in rows:
        is_header = len(row) == 1 and row[0]["type"] == "text"
        height = 2 if is_header else 6
        width = 24 // len(row)
        for i, widget in enumerate(row):
            widgets.append({**widget, "x": i * width, "y": y, "width": width, "height": height})
        y += height
    return widgets


def dashboard_metric_dimensions(body: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric a dashboard body draws, SEARCH expressions included."""
    found = []
    for widget in body["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            if isinstance(row[0], dict):
                expression = row[0]["expression"]
                for term in re.findall(r"SEARCH\('\{([^}]*)\}([^']*)'", expression):
                    schema, rest = term
                    namespace = schema.split(",")[0]
                    metric = re.search(r'MetricName="([^"]+)"', rest)
                    dims = dict(re.findall(r'(ClusterName)="([^"]+)"', rest))
                    found.append((namespace, metric.group(1) if metric else "", dims))
                continue
            names = [v for v in row if isinstance(v, str)]
            found.append((names[0], names[1], dict(zip(names[2::2], names[3::2], strict=True))))
    return found


# -- the component ---------------------------------------------------------------------------------------------


class Monitoring(pulumi.ComponentResource):
    """The CloudWatch observability add-on (optional), on-call alarms on the stack's alert topic, subscriptions,
    and the stack's dashboard.

    Creates: [agent role (WorkloadRole, Pod Identity), Container Insights log groups, the EKS add-on, the autoscaler
    error metric filter], email/HTTPS subscriptions to `alert_topic_arn`, one alarm per `alarm_plans` entry, the
    dashboard. Attributes: `alarm_names` (key -> name), `dashboard_name`, `addon` (or None)."""

    def __init__(
        self,
        name: str,
        settings: MonitoringSettings,
        *,
        dashboard_name: str,
        region: str,
        partition: str,
        cluster_name: str,
        cluster_arn: pulumi.Input[str],
        cluster_version: str,
        endpoints: Sequence[EndpointTarget],
        endpoint_names: Sequence[pulumi.Input[str]],
        gpu_pools: Sequence[GpuPoolTarget],
        budget: BudgetView,
        alert_topic_arn: pulumi.Input[str],
        logs_kms_key_arn: pulumi.Input[str],
        log_retention_days: int,
        permissions_boundary: pulumi.Input[str],
        extra_alarm_arns: Sequence[pulumi.Input[str]] = (),
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlplatform:monitoring:Monitoring", name, None, opts)
        overlap = shared_instance_types(gpu_pools)
        if overlap:
            t, pools = next(iter(overlap.items()))
            raise ValueError(
                f"Monitoring {name}: GPU pools {', '.join(pools)} share {t}; per-pool GPU metrics are told apart by "
                "instance type, so give each pool its own types"
            )
        facts.check_log_retention(log_retention_days)
        child = pulumi.ResourceOptions(parent=self)

        self.addon: aws.eks.Addon | None = None
        autoscaler_metric: tuple[str, str] | None = None
        if settings.container_insights:
            self.agent_role = WorkloadRole(
                f"{name}-cloudwatch-agent",
                WorkloadRoleArgs(
                    assume_role_policy=cluster_pod_identity_trust(cluster_arn, *AGENT_SERVICE_ACCOUNT),
                    permissions_boundary=permissions_boundary,
                    # What AWS documents for the add-on; its X-Ray actions are outside the boundary and unused
                    # (Application Signals is not configured).
                    managed_policy_arns=[f"arn:{partition}:iam::aws:policy/CloudWatchAgentServerPolicy"],
                    description=f"CloudWatch agent and Fluent Bit of EKS cluster {cluster_name}",
                ),
                opts=child,
            )
            self.log_groups = {
                kind: aws.cloudwatch.LogGroup(
                    f"{name}-containerinsights-{kind}",
                    name=f"/aws/containerinsights/{cluster_name}/{kind}",
                    kms_key_id=logs_kms_key_arn,
                    retention_in_days=log_retention_days,
                    opts=child,
                )
                for kind in CONTAINER_INSIGHTS_LOG_GROUPS
            }
            self.addon = aws.eks.Addon(
                f"{name}-{cluster_rules.OBSERVABILITY_ADDON}",
                cluster_name=cluster_name,
                addon_name=cluster_rules.OBSERVABILITY_ADDON,
                addon_version=cluster_rules.OBSERVABILITY_ADDON_VERSIONS[cluster_rules.check_version(cluster_version)],
                configuration_values=json.dumps(addon_configuration(), sort_keys=True),
                pod_identity_associations=[
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=self.agent_role.arn, service_account=AGENT_SERVICE_ACCOUNT[1]
                    )
                ],
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.agent_role, *self.log_groups.values()]),
            )
            autoscaler_metric = (f"MLPlatform/{cluster_name}", "ClusterAutoscalerErrors")
            self.autoscaler_errors = aws.cloudwatch.LogMetricFilter(
                f"{name}-autoscaler-errors",
                log_group_name=self.log_groups["application"].name,
                # Fluent Bit's records carry the container name; klog error lines start with `E` + date.
                pattern=f'{{ ($.kubernetes.container_name = "{AUTOSCALER_CONTAINER}") && ($.log = "E*") }}',
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    namespace=autoscaler_metric[0], name=autoscaler_metric[1], value="1", default_value="0"
                ),
                opts=child,
            )

        self.subscriptions = {
            key: aws.sns.TopicSubscription(
                f"{name}-alert-{key}", topic=alert_topic_arn, protocol=protocol, endpoint=endpoint, opts=child
            )
            for key, protocol, endpoint in subscription_plan(settings)
        }

        self.plans = alarm_plans(
            settings,
            cluster_name=cluster_name,
            endpoints=endpoints,
            gpu_pools=gpu_pools,
            autoscaler_metric=autoscaler_metric,
        )
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for plan in self.plans:
            query = (
                [
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="q", expression=plan.query, period=plan.period, return_data=True
                    )
                ]
                if plan.query
                else None
            )
            self.alarms[plan.key] = aws.cloudwatch.MetricAlarm(
                f"{name}-{plan.key}",
                name=plan.name,
                alarm_description=plan.description,
                namespace=None if query else plan.namespace,
                metric_name=None if query else plan.metric,
                dimensions=None if query else (dict(plan.dimensions or {}) or None),
                statistic=plan.statistic,
                extended_statistic=plan.extended_statistic,
                period=None if query else plan.period,
                metric_queries=query,
                comparison_operator=plan.comparison,
                threshold=plan.threshold,
                evaluation_periods=plan.evaluation_periods,
                datapoints_to_alarm=plan.evaluation_periods,
                # No traffic, no GPU nodes, no pods: nothing to page about.
                treat_missing_data="notBreaching",
                alarm_actions=[alert_topic_arn],
                ok_actions=[alert_topic_arn],
                opts=child,
            )

        alarm_arns = [a.arn for a in self.alarms.values()] + list(extra_alarm_arns)
        body = pulumi.Output.all(cluster_name, list(endpoint_names), alarm_arns).apply(
            lambda v: json.dumps(
                dashboard_body(
                    region=region,
                    cluster_name=v[0],
                    # The endpoints' names as the endpoints report them (the same fixed names the alarms use).
                    endpoints=[replace(e, endpoint_name=n) for e, n in zip(endpoints, v[1], strict=True)],
                    gpu_pools=gpu_pools,
                    budget=budget,
                    alarm_arns=v[2],
                    container_insights=settings.container_insights,
                    autoscaler_metric=autoscaler_metric,
                    runbook_base_url=settings.runbook_base_url,
                ),
                indent=1,
            )
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=dashboard_name, dashboard_body=body, opts=child
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.alarm_names = {key: alarm.name for key, alarm in self.alarms.items()}
        self.register_outputs({"dashboard_name": self.dashboard_name, "alarm_names": self.alarm_names})


def addon_configuration() -> dict[str, Any]:
    """The add-on's configuration: enhanced Container Insights with GPU (DCGM) metrics and container logs. Setting
    the agent's config replaces the add-on default, which also turns on Application Signals (traces): not used."""
    return {
        "agent": {
            "config": {
                "logs": {
                    "metrics_collected": {
                        "kubernetes": {"enhanced_container_insights": True, "accelerated_compute_metrics": True}
                    }
                }
            }
        },
        "containerLogs": {"enabled": True},
    }


def subscription_plan(settings: MonitoringSettings) -> list[tuple[str, str, str]]:
    """(child key, protocol, endpoint) per subscription, keyed by the address so adding one never replaces another."""

    def key(value: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:60]

    return [(f"email-{key(e)}", "email", e) for e in sorted(settings.alarm_emails)] + [
        (f"https-{key(u.removeprefix('https://'))}", "https", u) for u in sorted(settings.alarm_https_endpoints)
    ]
