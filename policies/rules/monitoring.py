"""Monitoring rules (reliability): what serves or costs GPU money has an alarm someone receives.

Both are advisory in the shipped policy configs: an alarm can live in another stack or account, which this pack
cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from ._common import UNKNOWN, StackIndex, elements, get, is_unknown, stack_policy
from ._types import EKS_CLUSTER, KARPENTER_NODE_POOL, SAGEMAKER_ENDPOINT, SAGEMAKER_ENDPOINT_CONFIG
from .cost import gpu_node_groups, nodepool_instance_types, nodepool_is_gpu

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ENDPOINT_ALARMS = {"error": "Invocation5XXErrors", "latency": "ModelLatency"}
"""What an endpoint's alarms must watch: its server errors and its model latency."""
GPU_METRIC = "node_gpu_utilization"
"""Container Insights' per-node GPU utilisation (the CloudWatch observability add-on's DCGM integration)."""
BELOW = ("LessThanThreshold", "LessThanOrEqualToThreshold", "LessThanLowerThreshold")


def _watched(alarm: Any) -> Iterator[tuple[Any, dict[str, Any], str | None]]:
    """(metric name, dimensions, None) for each metric an alarm reads, (None, {}, expression) for each expression."""
    props = alarm.props
    if get(props, "metricName") is not None:
        yield get(props, "metricName"), dict(get(props, "dimensions") or {}), None
    for query in elements(get(props, "metricQueries")):
        metric = get(query, "metric")
        if metric:
            yield get(metric, "metricName"), dict(get(metric, "dimensions") or {}), None
        expression = get(query, "expression")
        if isinstance(expression, str):
            yield None, {}, expression


def _matches(value: Any, wanted: set[str]) -> bool:
    # A dimension value known only after deployment is given the benefit of the doubt.
    return is_unknown(value) or (not wanted and value is not None) or str(value) in wanted


def _check_endpoint_alarms(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    alarms = index.of_type(METRIC_ALARM)
    configs = index.of_type(SAGEMAKER_ENDPOINT_CONFIG)
    for endpoint in index.of_type(SAGEMAKER_ENDPOINT):
        name = get(endpoint.props, "name")
        if not isinstance(name, str) or is_unknown(name):
            continue
        variants = {
            str(v)
            for config in index.refers_to(endpoint, "endpointConfigName", configs, ("name", "id"))
            for v in (get(p, "variantName") for p in elements(get(config.props, "productionVariants")))
            if v is not None and v is not UNKNOWN
        }
        missing = [
            f"{kind} ({metric})"
            for kind, metric in ENDPOINT_ALARMS.items()
            if not any(
                watched == metric
                and _matches(dims.get("EndpointName"), {name})
                and _matches(dims.get("VariantName"), variants)
                for alarm in alarms
                for watched, dims, _ in _watched(alarm)
            )
        ]
        if missing:
            shown = ", ".join(sorted(variants)) or "<variant>"
            report(
                f"no {' or '.join(missing)} alarm with dimensions EndpointName={name} and VariantName={shown}: "
                "nobody is told when the endpoint fails or slows down",
                endpoint.urn,
            )


SAGEMAKER_ENDPOINT_ALARMS = stack_policy(
    "sagemaker-endpoint-alarms",
    category="reliability",
    severity=Severity.MEDIUM,
    description="Every SageMaker endpoint has an error (5XX) and a latency alarm on its EndpointName/VariantName.",
    remediation=(
        "Declare aws.cloudwatch.MetricAlarm resources on AWS/SageMaker Invocation5XXErrors and ModelLatency with "
        "dimensions EndpointName and VariantName (both: a metric without the variant does not exist), with alarm "
        "actions to the stack's alert topic (components/monitoring.py does)."
    ),
    check=_check_endpoint_alarms,
)


def _covers(alarm: Any, cluster: str, instance_types: list[str]) -> bool:
    if get(alarm.props, "comparisonOperator") not in BELOW:
        return False
    for metric, dims, expression in _watched(alarm):
        if metric == GPU_METRIC and _matches(dims.get("ClusterName"), {cluster}):
            pool = dims.get("InstanceType")
            if pool is None or _matches(pool, set(instance_types)):
                return True
        text = expression or ""
        in_cluster = f"'{cluster}'" in text or f'"{cluster}"' in text
        in_pool = "InstanceType" not in text or any(t in text for t in instance_types)
        if in_cluster and GPU_METRIC in text and in_pool:
            return True
    return False


def _check_gpu_idle_alarm(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    alarms = index.of_type(METRIC_ALARM)
    for group, types in gpu_node_groups(index):
        cluster = get(group.props, "clusterName")
        if not isinstance(cluster, str) or is_unknown(cluster):
            continue
        if not any(_covers(alarm, cluster, types) for alarm in alarms):
            report(
                f"no idle-GPU alarm: nothing alarms when {GPU_METRIC} of cluster {cluster} ({', '.join(types)}) stays "
                "below a threshold, so idle GPU nodes bill unnoticed",
                group.urn,
            )
    # Karpenter NodePools carry no cluster name: an alarm on any of the stack's clusters that watches the pool's
    # instance types covers it (a pool without an instance-type requirement needs a cluster-wide alarm).
    clusters = [c for c in (get(r.props, "name") for r in index.of_type(EKS_CLUSTER)) if isinstance(c, str)]
    for pool in index.of_type(KARPENTER_NODE_POOL):
        if not nodepool_is_gpu(pool.props) or not clusters or any(is_unknown(c) for c in clusters):
            continue
        types = [t for t in nodepool_instance_types(pool.props) if not is_unknown(t)]
        if not any(_covers(alarm, cluster, types) for alarm in alarms for cluster in clusters):
            report(
                f"no idle-GPU alarm: nothing alarms when {GPU_METRIC} of cluster {', '.join(clusters)} "
                f"({', '.join(types) or 'any instance type'}) stays below a threshold, so idle GPU nodes of this "
                "Karpenter NodePool bill unnoticed",
                pool.urn,
            )


GPU_POOL_IDLE_ALARM = stack_policy(
    "gpu-pool-idle-alarm",
    category="reliability",
    severity=Severity.LOW,
    description="Every GPU node group and GPU Karpenter NodePool has an alarm on idle GPUs (Container Insights node_gpu_utilization below a threshold).",
    remediation=(
        "Install the amazon-cloudwatch-observability add-on and declare an aws.cloudwatch.MetricAlarm with "
        "comparison LessThanThreshold on ContainerInsights node_gpu_utilization for the cluster (a Metrics "
        "Insights query filtered to the pool's instance types, as components/monitoring.py does)."
    ),
    check=_check_gpu_idle_alarm,
)

POLICIES = [SAGEMAKER_ENDPOINT_ALARMS, GPU_POOL_IDLE_ALARM]
