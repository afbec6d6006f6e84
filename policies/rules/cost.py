"""Cost rules: every resource attributable, instance types and GPU capacity within the stack's budget, nothing
kept (and billed) forever by accident."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..costing.estimate import NOT_PRICED, Item, StackCost, estimate
from . import instances
from ._common import (
    UNKNOWN,
    StackIndex,
    elements,
    get,
    is_true,
    known,
    num,
    plain,
    resource_policy,
    setting,
    shown,
    stack_policy,
)
from ._s3 import BucketLinks
from ._types import (
    BUCKET_LIFECYCLE,
    EC2_INSTANCE,
    EKS_NODE_GROUP,
    KARPENTER_NODE_POOL,
    KUBERNETES_JOB,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    NAT_GATEWAY,
    PYTORCH_JOB,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_ENDPOINT_CONFIG,
    SAGEMAKER_NOTEBOOK,
    SCALABLE_TARGET,
)

# ---- tags ----------------------------------------------------------------------------------------------------

TAGS_SCHEMA = {
    "requiredTags": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
        "uniqueItems": True,
        "default": ["CostCenter", "Owner", "Project", "Environment"],
        "description": "Tag keys every taggable AWS resource must carry (in tagsAll: provider default tags count).",
    },
    "exemptTypes": {
        "type": "array",
        "items": {"type": "string", "pattern": "^[a-zA-Z0-9-]+:[a-zA-Z0-9/.-]+:[a-zA-Z0-9]+$"},
        "uniqueItems": True,
        "default": [],
        "description": "Resource type tokens (aws:<module>/<name>:<Type>) not judged by this rule.",
    },
}


def _check_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith("aws:"):
        return
    config = args.get_config()
    if args.resource_type in setting(config, "exemptTypes", TAGS_SCHEMA):
        return
    # The AWS provider adds tagsAll (its default tags merged with the resource's tags) to the checked inputs of
    # every taggable resource; a resource without it cannot carry tags.
    if "tagsAll" not in args.props:
        return
    tags = plain(known(get(args.props, "tagsAll", default={}), "tagsAll"))
    missing = [k for k in setting(config, "requiredTags", TAGS_SCHEMA) if not str(tags.get(k) or "").strip()]
    if missing:
        have = ", ".join(sorted(tags)) or "none"
        report(f"missing cost tags {', '.join(missing)} (tagsAll has: {have})")


REQUIRED_TAGS = resource_policy(
    "required-cost-tags",
    category="cost",
    severity=Severity.MEDIUM,
    description="Every taggable AWS resource carries the cost-allocation tags (judged on tagsAll, so provider default tags count).",
    remediation=(
        "Set the tags once as the AWS provider's default_tags (aws.Provider(default_tags={'tags': {...}})) so "
        "every resource inherits them, or pass tags= on the resource. Activate the keys as cost allocation tags "
        "in the Billing console."
    ),
    types=None,
    check=_check_tags,
    config=TAGS_SCHEMA,
)


# ---- instance types ------------------------------------------------------------------------------------------

INSTANCE_TYPES_SCHEMA = {
    "allowedInstanceTypes": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
        "uniqueItems": True,
        "default": [
            "t3.*", "t3a.*", "m5.*", "m6i.*", "m7i.*", "c5.*", "c6i.*", "c7i.*", "r5.*", "r6i.*", "r7i.*",
            "g4dn.*", "g5.*", "g6.*", "g6e.*",
            "ml.t3.*", "ml.m5.*", "ml.m6i.*", "ml.c5.*", "ml.c6i.*", "ml.r5.*", "ml.g4dn.*", "ml.g5.*", "ml.g6.*",
        ],
        "description": "Glob patterns (fnmatch, case-sensitive) of the EC2 and SageMaker instance types allowed.",
    }
}  # fmt: skip


def _instance_types(args: ResourceValidationArgs) -> list[tuple[str, object]]:
    """(where, instance type) for every instance type the resource would run."""
    props = args.props
    if args.resource_type in (EC2_INSTANCE, LAUNCH_TEMPLATE, SAGEMAKER_NOTEBOOK):
        return [("instanceType", get(props, "instanceType"))]
    if args.resource_type == EKS_NODE_GROUP:
        return [("instanceTypes", t) for t in elements(get(props, "instanceTypes"))]
    found = []
    for key in ("productionVariants", "shadowProductionVariants"):
        for variant in elements(get(props, key)):
            found.append((f"{key} {get(variant, 'variantName', default='?')}", get(variant, "instanceType")))
    return found


def _check_instance_types(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = setting(args.get_config(), "allowedInstanceTypes", INSTANCE_TYPES_SCHEMA)
    for where, instance_type in _instance_types(args):
        if instance_type is None:
            continue
        instance_type = known(instance_type, where.split(" ")[0])
        if not any(fnmatchcase(str(instance_type), pattern) for pattern in allowed):
            shown_patterns = ", ".join(allowed[:6]) + (f" and {len(allowed) - 6} more" if len(allowed) > 6 else "")
            report(f"{where} uses {instance_type}, which this stack does not allow (allowed: {shown_patterns})")


ALLOWED_INSTANCE_TYPES = resource_policy(
    "allowed-instance-types",
    category="cost",
    severity=Severity.MEDIUM,
    description="EC2 instances, launch templates, node groups and SageMaker variants use instance types from the stack's allowlist.",
    remediation=(
        "Pick an allowed instance type, or extend allowedInstanceTypes for this rule in the stack's policy config "
        "(policies/config/<stack>.json) after a cost review."
    ),
    types=[EC2_INSTANCE, LAUNCH_TEMPLATE, EKS_NODE_GROUP, SAGEMAKER_ENDPOINT_CONFIG, SAGEMAKER_NOTEBOOK],
    check=_check_instance_types,
    config=INSTANCE_TYPES_SCHEMA,
)


# ---- GPU capacity --------------------------------------------------------------------------------------------


@dataclass
class GpuCapacity:
    resource: PolicyResource
    label: str
    instance_type: str
    count: int
    """Instances at full scale."""

    @property
    def gpus(self) -> int:
        return self.count * instances.gpus(self.instance_type)


def node_group_instance_types(group: PolicyResource, index: StackIndex) -> list[str]:
    """The node group's instance types: its own list, else its launch template's type."""
    types = [str(t) for t in elements(get(group.props, "instanceTypes")) if t is not UNKNOWN]
    if types:
        return types
    return [str(t) for lt in index.launch_templates(group) if isinstance(t := get(lt.props, "instanceType"), str)]


def gpu_node_groups(index: StackIndex) -> list[tuple[PolicyResource, list[str]]]:
    found = []
    for group in index.of_type(EKS_NODE_GROUP):
        types = node_group_instance_types(group, index)
        gpu_types = [t for t in types if instances.is_gpu(t)]
        if gpu_types:
            found.append((group, gpu_types))
    return found


def _int(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def gpu_capacity(index: StackIndex) -> list[GpuCapacity]:
    """Every GPU the stack can run at full scale: node groups at maxSize, EC2 instances, SageMaker variants at
    their autoscaling maximum (or initial count)."""
    found: list[GpuCapacity] = []
    for group, types in gpu_node_groups(index):
        size = _int(get(group.props, "scalingConfig", "maxSize")) or 0
        # A mixed-type pool can land on its largest type: count that one.
        widest = max(types, key=instances.gpus)
        found.append(GpuCapacity(group, f"node group {group.name}", widest, size))
    for instance in index.of_type(EC2_INSTANCE):
        instance_type = get(instance.props, "instanceType")
        if isinstance(instance_type, str) and instances.is_gpu(instance_type):
            found.append(GpuCapacity(instance, f"instance {instance.name}", instance_type, 1))

    targets = {
        str(get(t.props, "resourceId")): _int(get(t.props, "maxCapacity")) for t in index.of_type(SCALABLE_TARGET)
    }
    configs = index.of_type(SAGEMAKER_ENDPOINT_CONFIG)
    users: dict[str, list[str]] = {c.urn: [] for c in configs}
    for endpoint in index.of_type(SAGEMAKER_ENDPOINT):
        for config in index.refers_to(endpoint, "endpointConfigName", configs, ("name", "id")):
            users[config.urn].append(str(get(endpoint.props, "name")))
    for config in configs:
        # A configuration no endpoint uses yet still counts once: the next deployment may use it.
        endpoint_names: list[str | None] = [*users[config.urn]] or [None]
        for endpoint_name in endpoint_names:
            for variant in elements(get(config.props, "productionVariants")):
                instance_type = get(variant, "instanceType")
                if not (isinstance(instance_type, str) and instances.is_gpu(instance_type)):
                    continue
                count = _int(get(variant, "initialInstanceCount")) or 1
                if endpoint_name is not None:
                    ceiling = targets.get(f"endpoint/{endpoint_name}/variant/{get(variant, 'variantName')}")
                    count = max(count, ceiling or 0)
                where = f"endpoint {endpoint_name}" if endpoint_name else f"endpoint configuration {config.name}"
                found.append(
                    GpuCapacity(config, f"{where} variant {get(variant, 'variantName')}", instance_type, count)
                )
    return found


GPU_POOL_SCHEMA = {
    "maxNodesPerPool": {
        "type": "integer",
        "minimum": 0,
        "default": 4,
        "description": "Largest maxSize a GPU node group may have.",
    }
}


def _check_gpu_pool_size(args: StackValidationArgs, report: ReportViolation) -> None:
    cap = setting(args.get_config(), "maxNodesPerPool", GPU_POOL_SCHEMA)
    index = StackIndex(args.resources)
    for group, types in gpu_node_groups(index):
        size = _int(get(group.props, "scalingConfig", "maxSize"))
        if size is not None and size > cap:
            report(
                f"GPU node group ({', '.join(types)}) can scale to {size} nodes; this stack allows at most {num(cap)} per pool",
                group.urn,
            )


GPU_POOL_MAX_SIZE = stack_policy(
    "gpu-pool-max-size",
    category="cost",
    severity=Severity.HIGH,
    description="GPU node groups cannot scale beyond the stack's per-pool cap.",
    remediation=(
        "Lower scaling_config.max_size of the GPU node group, or raise maxNodesPerPool for this rule in the "
        "stack's policy config after a budget review."
    ),
    check=_check_gpu_pool_size,
    config=GPU_POOL_SCHEMA,
)


def _check_gpu_scale_to_zero(args: StackValidationArgs, report: ReportViolation) -> None:
    for group, types in gpu_node_groups(StackIndex(args.resources)):
        minimum = _int(get(group.props, "scalingConfig", "minSize"))
        if minimum:
            report(
                f"GPU node group ({', '.join(types)}) keeps scalingConfig.minSize {minimum}: its GPUs are billed while idle",
                group.urn,
            )


GPU_POOL_SCALE_TO_ZERO = stack_policy(
    "gpu-pool-scale-to-zero",
    category="cost",
    severity=Severity.MEDIUM,
    description="GPU node groups can scale to zero when no GPU work is pending (outside prod).",
    remediation=(
        "Set scaling_config.min_size=0 (and desired_size=0) on the GPU node group; the cluster autoscaler or "
        "Karpenter adds nodes when a GPU pod is pending. Prod, which keeps warm capacity, disables this rule."
    ),
    check=_check_gpu_scale_to_zero,
)

GPU_TOTAL_SCHEMA = {
    "maxTotalGpus": {
        "type": "integer",
        "minimum": 0,
        "default": 16,
        "description": "Most GPUs the whole stack may run at full scale (node groups, instances, SageMaker variants).",
    }
}


def _check_gpu_total(args: StackValidationArgs, report: ReportViolation) -> None:
    cap = setting(args.get_config(), "maxTotalGpus", GPU_TOTAL_SCHEMA)
    capacity = [c for c in gpu_capacity(StackIndex(args.resources)) if c.gpus]
    total = sum(c.gpus for c in capacity)
    if total > cap:
        parts = "; ".join(f"{c.label}: {c.count} x {c.instance_type} = {c.gpus}" for c in capacity)
        report(f"the stack can run {total} GPUs at full scale ({parts}); this stack allows at most {num(cap)}")


GPU_TOTAL = stack_policy(
    "gpu-total-cap",
    category="cost",
    severity=Severity.HIGH,
    description="The stack's GPUs at full scale stay under its cap.",
    remediation=(
        "Lower the GPU pools' max_size, the SageMaker variants' instance counts or autoscaling maxima, or raise "
        "maxTotalGpus for this rule in the stack's policy config after a budget review."
    ),
    check=_check_gpu_total,
    config=GPU_TOTAL_SCHEMA,
)


# ---- retention -----------------------------------------------------------------------------------------------


def _check_log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    days = known(get(args.props, "retentionInDays"), "retentionInDays")
    if not days:
        report(f"retentionInDays is {shown(days)}: log events are kept, and billed, forever")


LOG_RETENTION = resource_policy(
    "log-group-retention",
    category="cost",
    severity=Severity.LOW,
    description="CloudWatch log groups expire their events.",
    remediation="Set retention_in_days on the aws.cloudwatch.LogGroup (e.g. 30 in dev, 365 in prod).",
    types=[LOG_GROUP],
    check=_check_log_retention,
)


def _check_lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
    links = BucketLinks.of(StackIndex(args.resources))
    configs = links.attached(BUCKET_LIFECYCLE)
    for bucket in links.buckets:
        statuses = [get(rule, "status") for c in configs[bucket.urn] for rule in elements(get(c.props, "rules"))]
        statuses += [
            "Enabled" if is_true(get(rule, "enabled")) else "Disabled"
            for rule in elements(get(bucket.props, "lifecycleRules"))
        ]
        if UNKNOWN in statuses or "Enabled" in statuses:
            continue
        report(
            "no lifecycle configuration with an enabled rule refers to this bucket: old versions and incomplete "
            "uploads are kept, and billed, forever",
            bucket.urn,
        )


S3_LIFECYCLE = stack_policy(
    "s3-lifecycle-rules",
    category="cost",
    severity=Severity.LOW,
    description="Every S3 bucket has lifecycle rules.",
    remediation=(
        "Declare an aws.s3.BucketLifecycleConfiguration for the bucket with at least an enabled rule that expires "
        "noncurrent versions and aborts incomplete multipart uploads."
    ),
    check=_check_lifecycle,
)

NAT_SCHEMA = {
    "maxNatGateways": {
        "type": "integer",
        "minimum": 0,
        "default": 1,
        "description": "Most public NAT gateways the stack may create (each is billed per hour and per GB).",
    }
}


def _check_nat_count(args: StackValidationArgs, report: ReportViolation) -> None:
    cap = setting(args.get_config(), "maxNatGateways", NAT_SCHEMA)
    gateways = [
        g for g in StackIndex(args.resources).of_type(NAT_GATEWAY) if get(g.props, "connectivityType") != "private"
    ]
    if len(gateways) > cap:
        names = ", ".join(sorted(g.name for g in gateways))
        report(f"the stack creates {len(gateways)} NAT gateways ({names}); this stack allows at most {num(cap)}")


NAT_GATEWAY_CAP = stack_policy(
    "nat-gateway-cap",
    category="cost",
    severity=Severity.MEDIUM,
    description="The number of NAT gateways stays under the stack's cap (one in dev).",
    remediation=(
        "Share one NAT gateway across AZs where an AZ outage may cut egress (dev), use VPC endpoints for AWS "
        "APIs, or raise maxNatGateways for this rule in the stack's policy config."
    ),
    check=_check_nat_count,
    config=NAT_SCHEMA,
)


# ---- monthly cost ---------------------------------------------------------------------------------------------

BUDGET_SCHEMA = {
    "budgetUsd": {
        "type": ["number", "null"],
        "minimum": 0,
        "default": None,
        "description": "The stack's monthly budget in USD: the amount of its ml-platform:guardrails budget (the same "
        "figure its AWS Budget alerts on). `max` must not exceed it. Unset: only the idle ceiling is judged.",
    },
    "idleCeilingUsd": {
        "type": "number",
        "minimum": 0,
        "default": 200,
        "description": "Most the stack may cost a month while nobody uses it (`idle`).",
    },
}


def _is_custom(resource: PolicyResource) -> bool:
    # Components have no provider; resource tokens of providers are `<package>:<module>/<name>:<Type>`.
    return resource.provider is not None or "/" in resource.resource_type.split(":")[1:2][0]


def _estimate(resources: list[PolicyResource]) -> StackCost:
    """The stack's estimate from what the rule sees: its resources (no usage file: traffic and stored data at 0)."""
    items = []
    for r in resources:
        if r.resource_type.startswith("pulumi:") or not _is_custom(r):
            continue
        region = get(r.provider.props, "region") if r.provider is not None else None
        props = plain(r.props)
        ident = get(r.props, "id")
        items.append(
            Item(
                r.urn,
                r.resource_type,
                r.name,
                props if isinstance(props, dict) else {},
                ident if isinstance(ident, str) else None,
                region if isinstance(region, str) else None,
            )
        )
    return estimate(items)


def _costliest(cost: StackCost, figure: str) -> str:
    top = sorted((c for c in cost.priced if getattr(c, figure) > 0), key=lambda c: -getattr(c, figure))[:3]
    return ", ".join(f"{c.name} ${getattr(c, figure):,.2f}" for c in top)


def _check_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    budget = setting(config, "budgetUsd", BUDGET_SCHEMA)
    ceiling = setting(config, "idleCeilingUsd", BUDGET_SCHEMA)
    cost = _estimate(list(args.resources))
    basis = "resources only; the usage file's traffic and storage are not included"
    if budget is not None and cost.max > budget:
        report(
            f"at its configured maximum (every pool and endpoint at full scale) the stack costs ${cost.max:,.2f} a "
            f"month, ${cost.max - budget:,.2f} over its ${budget:,.2f} budget ({basis}); costliest: "
            f"{_costliest(cost, 'max')}"
        )
    if cost.idle > ceiling:
        report(
            f"idle (pools at their minimum, no traffic) the stack costs ${cost.idle:,.2f} a month, "
            f"${cost.idle - ceiling:,.2f} over its ${ceiling:,.2f} idle ceiling ({basis}); costliest: "
            f"{_costliest(cost, 'idle')}"
        )
    unpriced = [c for c in cost.resources if c.status == NOT_PRICED]
    if unpriced:
        shown = "; ".join(f"{c.name} ({c.type}): {c.formula}" for c in unpriced[:5])
        more = f" and {len(unpriced) - 5} more" if len(unpriced) > 5 else ""
        report(f"{len(unpriced)} resource(s) could not be priced, so the budget cannot be confirmed: {shown}{more}")


MONTHLY_COST_BUDGET = stack_policy(
    "monthly-cost-budget",
    category="cost",
    severity=Severity.HIGH,
    description="The stack's monthly cost at full scale stays within its budget, and its idle cost under a ceiling.",
    remediation=(
        "Lower the maxima that drive the cost (node group max_size, Karpenter NodePool limits, endpoint autoscaling "
        "maxima, serverless max_concurrency), or raise the stack's ml-platform:guardrails budget and budgetUsd for "
        "this rule in policies/config/<stack>.json together after a budget review; see docs/cost.md."
    ),
    check=_check_budget,
    config=BUDGET_SCHEMA,
)


# ---- Karpenter and Kueue ------------------------------------------------------------------------------------

GPU_RESOURCE = "nvidia.com/gpu"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


def nodepool_instance_types(props) -> list[str]:
    """The instance types a NodePool's `node.kubernetes.io/instance-type` requirements name."""
    return [
        t
        for requirement in elements(get(props, "spec", "template", "spec", "requirements"))
        if get(requirement, "key") == "node.kubernetes.io/instance-type"
        for t in elements(get(requirement, "values"))
        if isinstance(t, str)
    ]


def nodepool_is_gpu(props) -> bool:
    """A NodePool that launches GPU nodes: GPU instance types in its requirements, or GPU labels or limits."""
    if any(instances.is_gpu(t) for t in nodepool_instance_types(props)):
        return True
    template = get(props, "spec", "template")
    labels = get(template, "metadata", "labels", default={}) or {}
    return get(labels, "nvidia.com/gpu.present") == "true" or get(props, "spec", "limits", GPU_RESOURCE) is not None


NODEPOOL_LIMITS_SCHEMA = {
    "maxGpusPerNodePool": {
        "type": "integer",
        "minimum": 0,
        "default": 32,
        "description": "Largest `limits.nvidia.com/gpu` a GPU Karpenter NodePool may have.",
    }
}


def _check_nodepool_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not nodepool_is_gpu(args.props):
        return
    cap = setting(args.get_config(), "maxGpusPerNodePool", NODEPOOL_LIMITS_SCHEMA)
    limits = plain(known(get(args.props, "spec", "limits", default={}), "spec.limits")) or {}
    missing = [k for k in (GPU_RESOURCE, "cpu") if limits.get(k) in (None, "")]
    if missing:
        report(
            f"GPU NodePool has no spec.limits for {', '.join(missing)}: Karpenter would launch GPU nodes without bound"
        )
        return
    try:
        gpus = int(str(limits[GPU_RESOURCE]))
    except ValueError:
        report(f"spec.limits.{GPU_RESOURCE} is {shown(limits[GPU_RESOURCE])}, not a whole number of GPUs")
        return
    if gpus > cap:
        report(f"spec.limits.{GPU_RESOURCE} is {gpus}; this stack allows at most {num(cap)} per NodePool")


KARPENTER_NODEPOOL_LIMITS = resource_policy(
    "karpenter-nodepool-limits",
    category="cost",
    severity=Severity.HIGH,
    description="GPU Karpenter NodePools set limits for GPUs and CPU, within the stack's per-pool GPU cap.",
    remediation=(
        "Set spec.limits (nvidia.com/gpu and cpu) on the NodePool, e.g. the pool's maxSize times GPUs/vCPUs per "
        "node, or raise maxGpusPerNodePool for this rule in the stack's policy config after a budget review."
    ),
    types=[KARPENTER_NODE_POOL],
    check=_check_nodepool_limits,
    config=NODEPOOL_LIMITS_SCHEMA,
)


def _requests_gpus(pod_spec) -> bool:
    for container in elements(get(pod_spec, "containers")) + elements(get(pod_spec, "initContainers")):
        for kind in ("requests", "limits"):
            if get(container, "resources", kind, GPU_RESOURCE) not in (None, "0", 0):
                return True
    return False


def _job_templates(args: ResourceValidationArgs) -> list:
    """The pod templates of a Job, or of each replica type of a PyTorchJob."""
    if args.resource_type == KUBERNETES_JOB:
        return [get(args.props, "spec", "template")]
    return [get(spec, "template") for spec in (get(args.props, "spec", "pytorchReplicaSpecs") or {}).values()]


def _check_job_queue_label(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not any(_requests_gpus(get(t, "spec")) for t in _job_templates(args)):
        return
    labels = get(args.props, "metadata", "labels", default={}) or {}
    if not str(get(labels, QUEUE_LABEL) or "").strip():
        report(
            f"requests {GPU_RESOURCE} without the {QUEUE_LABEL} label: Kueue does not queue it, so it bypasses the "
            "team's queue and waits on the namespace quota instead"
        )


GPU_JOB_QUEUE_LABEL = resource_policy(
    "gpu-job-queue-label",
    category="cost",
    severity=Severity.MEDIUM,
    description="Jobs and PyTorchJobs that request GPUs carry a Kueue queue label.",
    remediation=(
        f"Add metadata.labels['{QUEUE_LABEL}'] = 'training' (the team namespace's LocalQueue) to the Job or PyTorchJob."
    ),
    types=[KUBERNETES_JOB, PYTORCH_JOB],
    check=_check_job_queue_label,
)


DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"


def _check_job_do_not_disrupt(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for template in _job_templates(args):
        if not _requests_gpus(get(template, "spec")):
            continue
        annotations = get(template, "metadata", "annotations", default={}) or {}
        if str(get(annotations, DO_NOT_DISRUPT)) != "true":
            report(
                f'GPU pods without the {DO_NOT_DISRUPT}: "true" annotation: Karpenter\'s consolidation or expiry can '
                "evict a running training job and lose the work since its last checkpoint"
            )
            return


GPU_JOB_DO_NOT_DISRUPT = resource_policy(
    "gpu-job-do-not-disrupt",
    category="cost",
    severity=Severity.MEDIUM,
    description="Jobs and PyTorchJobs that request GPUs mark their pods do-not-disrupt for Karpenter.",
    remediation=(
        f"Add spec.template.metadata.annotations['{DO_NOT_DISRUPT}'] = 'true' to the Job (each replica's template "
        "of a PyTorchJob); the node is removed when the job ends."
    ),
    types=[KUBERNETES_JOB, PYTORCH_JOB],
    check=_check_job_do_not_disrupt,
)


POLICIES = [
    REQUIRED_TAGS,
    ALLOWED_INSTANCE_TYPES,
    GPU_POOL_MAX_SIZE,
    GPU_POOL_SCALE_TO_ZERO,
    GPU_TOTAL,
    LOG_RETENTION,
    S3_LIFECYCLE,
    NAT_GATEWAY_CAP,
    MONTHLY_COST_BUDGET,
    KARPENTER_NODEPOOL_LIMITS,
    GPU_JOB_QUEUE_LABEL,
    GPU_JOB_DO_NOT_DISRUPT,
]
