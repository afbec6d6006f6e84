"""How each resource type is billed: one function per priced type, a table of types with no charge of their own,
and everything else reported as not priced (never as $0).

Quantities are monthly, in the unit of the price they multiply (hours, GB-months, requests...). Each figure is
(idle, expected, max); see `estimate.py` for what the three mean.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..rules.instances import gpus
from .model import FREE, NOT_PRICED, PRICED, Context, Cost, Item, Part
from .prices import HOURS_PER_MONTH

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GP3_FREE_IOPS, GP3_FREE_THROUGHPUT = 3000, 125
"""gp3 includes 3,000 IOPS and 125 MiB/s; only what is provisioned above is billed."""
DEFAULT_NODE_DISK_GIB = 20
"""EKS managed node groups without a launch template get a 20 GiB root volume."""

Figures = tuple[float, float, float]


class NotPriced(Exception):
    """Why a resource has no figure: a missing price, a value unknown until apply, no configured maximum."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _get(props: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(props, (list, tuple)) or step >= len(props):
                return None
            props = props[step]
        elif isinstance(props, Mapping):
            props = props.get(step)
        else:
            return None
    return props


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _required(value: Any, what: str) -> float:
    number = _num(value)
    if number is None:
        raise NotPriced(f"{what} is {'unknown until apply' if value is not None else 'not set'}")
    return number


def _qty(value: float) -> str:
    return f"{value:,.6g}"


class Bill:
    """The parts of one resource's bill, each a price times a monthly quantity per figure."""

    def __init__(self, item: Item, ctx: Context):
        self.item, self.ctx = item, ctx
        self.parts: list[Part] = []
        self.notes: list[str] = []

    def charge(self, key: str, what: str, idle: float, expected: float, max_: float) -> None:
        region = self.item.region
        if not region:
            raise NotPriced("its AWS region is not known (no provider region)")
        price = self.ctx.book.get(region, key)
        if price is None:
            raise NotPriced(f"no price for {key} in {region} in the snapshot (python -m preflight refresh-prices)")
        self.parts.append(Part(what, key, price.usd, price.unit, (idle, expected, max_)))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def cost(self) -> Cost:
        figures = [sum(p.usd * p.quantity[i] for p in self.parts) for i in range(3)]
        formula = " + ".join(
            f"{p.what}: {'/'.join(_qty(q) for q in _distinct(p.quantity))} x ${p.usd:g}/{p.unit}" for p in self.parts
        )
        if self.notes:
            formula += f" ({'; '.join(self.notes)})"
        prices = [self.ctx.book.get(self.item.region or "", p.price_key) for p in self.parts]
        return Cost(
            self.item.urn,
            self.item.type,
            self.item.name,
            PRICED,
            idle=figures[0],
            expected=figures[1],
            max=figures[2],
            formula=formula,
            prices=[p.json() for p in prices if p is not None],
        )


def _distinct(quantity: Figures) -> tuple[float, ...]:
    """(q,) when the three figures use the same quantity, else (idle, expected, max)."""
    return quantity[:1] if len(set(quantity)) == 1 else quantity


def _monthly(bill: Bill, key: str, what: str, count: Figures = (1, 1, 1)) -> None:
    """An hourly price for `count` units all month."""
    shown = "/".join(_qty(c) for c in _distinct(count))
    bill.charge(key, f"{what} ({HOURS_PER_MONTH} h x {shown})", *(HOURS_PER_MONTH * c for c in count))


# ---- compute ---------------------------------------------------------------------------------------------------


def _launch_template(ref: Any, ctx: Context, id_key: str = "id", name_key: str = "name") -> Item | None:
    """The launch template a `{id, name}` reference names, by id or else by name."""
    ref = ref if isinstance(ref, Mapping) else {}
    for template in ctx.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        if ref.get(id_key) and ref.get(id_key) in (template.id, _get(template.props, "id")):
            return template
        if ref.get(name_key) and ref.get(name_key) == _get(template.props, "name"):
            return template
    return None


def _ec2(ctx: Context, region: str | None, instance_type: str) -> float:
    price = ctx.book.get(region or "", f"ec2:{instance_type}")
    if price is None:
        raise NotPriced(
            f"no price for ec2:{instance_type} in {region} in the snapshot (python -m preflight refresh-prices)"
        )
    return price.usd


def _root_volume(bill: Bill, template: Item | None, group: Item, nodes: Figures) -> None:
    """Each node's root volume (from the launch template's first EBS mapping, else the node group's disk size)."""
    ebs = None
    if template is not None:
        for mapping in _list(_get(template.props, "blockDeviceMappings")):
            if isinstance(_get(mapping, "ebs"), Mapping):
                ebs = _get(mapping, "ebs")
                break
    if ebs is None:
        size = _num(_get(group.props, "diskSize")) or DEFAULT_NODE_DISK_GIB
        ebs = {"volumeType": "gp3", "volumeSize": size}
    _ebs(bill, ebs, "root volume", nodes)


def _ebs(bill: Bill, ebs: Mapping[str, Any], what: str, count: Figures) -> None:
    kind = str(ebs.get("volumeType") or ebs.get("type") or "gp2")
    size = _required(ebs.get("volumeSize", ebs.get("size")), f"{what} size")
    if kind == "gp3":
        bill.charge("ebs:gp3-storage", f"{what} GiB-months ({_qty(size)} GiB each)", *(size * c for c in count))
        iops = (_num(ebs.get("iops")) or GP3_FREE_IOPS) - GP3_FREE_IOPS
        if iops > 0:
            bill.charge(
                "ebs:gp3-iops", f"{what} IOPS-months above 3,000 ({_qty(iops)} each)", *(iops * c for c in count)
            )
        throughput = (_num(ebs.get("throughput")) or GP3_FREE_THROUGHPUT) - GP3_FREE_THROUGHPUT
        if throughput > 0:
            bill.charge(
                "ebs:gp3-throughput",
                f"{what} MiB/s-months above 125 ({_qty(throughput)} each)",
                *(throughput * c for c in count),
            )
    elif kind == "gp2":
        bill.charge("ebs:gp2-storage", f"{what} GiB-months ({_qty(size)} GiB each)", *(size * c for c in count))
    else:
        raise NotPriced(f"{what} of type {kind} has no pricing rule (gp3 and gp2 are priced)")


def _nodes(bill: Bill, item: Item, ctx: Context, types: list[str], template: Item | None, sizes: Figures) -> None:
    """A pool of `sizes` (min, desired, max) nodes: the first listed type for idle and expected (on-demand groups
    launch by priority), the costliest listed type for max (the pool may land on it), and each node's root volume."""
    low, desired, high = sizes
    average = _num(ctx.usage_of("nodeGroups", item).get("averageNodes"))
    expected = desired if average is None else min(max(average, low), high)
    first = types[0]
    costliest = max(types, key=lambda t: _ec2(ctx, item.region, t))
    bill.charge(f"ec2:{first}", f"{first} node-hours", HOURS_PER_MONTH * low, HOURS_PER_MONTH * expected, 0)
    bill.charge(
        f"ec2:{costliest}", f"{costliest} node-hours at max (costliest listed type)", 0, 0, HOURS_PER_MONTH * high
    )
    _root_volume(bill, template, item, (low, expected, high))
    bill.note(f"nodes {_qty(low)}/{_qty(expected)}/{_qty(high)}")


def node_group(item: Item, ctx: Context, bill: Bill) -> None:
    template = _launch_template(_get(item.props, "launchTemplate"), ctx)
    types = [str(t) for t in _list(_get(item.props, "instanceTypes")) if isinstance(t, str)]
    if not types and template is not None and isinstance(_get(template.props, "instanceType"), str):
        types = [_get(template.props, "instanceType")]
    if not types:
        raise NotPriced("instance types unknown (none on the node group, nor on a launch template it refers to)")
    scaling = _get(item.props, "scalingConfig") or {}
    low = _required(scaling.get("minSize"), "scalingConfig.minSize")
    high = _required(scaling.get("maxSize"), "scalingConfig.maxSize")
    desired = _num(scaling.get("desiredSize"))
    _nodes(bill, item, ctx, types, template, (low, low if desired is None else desired, high))
    if _get(item.props, "capacityType") == "SPOT":
        bill.note("SPOT capacity priced at on-demand: a ceiling, spot prices vary")


def autoscaling_group(item: Item, ctx: Context, bill: Bill) -> None:
    mixed = _get(item.props, "mixedInstancesPolicy", "launchTemplate")
    if isinstance(mixed, Mapping):
        spec = _get(mixed, "launchTemplateSpecification")
        template = _launch_template(spec, ctx, "launchTemplateId", "launchTemplateName")
        overrides = _list(_get(mixed, "overrides"))
        if any(_get(o, "weightedCapacity") or _get(o, "instanceRequirements") for o in overrides):
            raise NotPriced(
                "mixedInstancesPolicy overrides with weightedCapacity or instanceRequirements have no pricing rule"
            )
        types = [str(_get(o, "instanceType")) for o in overrides if isinstance(_get(o, "instanceType"), str)]
    else:
        template = _launch_template(_get(item.props, "launchTemplate"), ctx)
        types = []
    if not types and template is not None and isinstance(_get(template.props, "instanceType"), str):
        types = [_get(template.props, "instanceType")]
    if not types:
        raise NotPriced("instance types unknown (no overrides, nor a launch template with an instanceType)")
    low = _required(_get(item.props, "minSize"), "minSize")
    high = _required(_get(item.props, "maxSize"), "maxSize")
    desired = _num(_get(item.props, "desiredCapacity"))
    _nodes(bill, item, ctx, types, template, (low, low if desired is None else desired, high))


def instance(item: Item, ctx: Context, bill: Bill) -> None:
    instance_type = _get(item.props, "instanceType")
    if not isinstance(instance_type, str):
        raise NotPriced("instanceType is unknown until apply")
    _monthly(bill, f"ec2:{instance_type}", instance_type)
    root = _get(item.props, "rootBlockDevice")
    if isinstance(root, Mapping) and root.get("volumeSize") is not None:
        _ebs(bill, root, "root volume", (1, 1, 1))
    else:
        bill.note("root volume sized by the AMI: not included")


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: Any) -> float | None:
    """A Kubernetes resource quantity (`"100"`, `"500m"`, `"1000Gi"`) as a number; None if it is not one."""
    number = _num(value)
    if number is not None:
        return number
    match = _QUANTITY.match(str(value or ""))
    if not match or match.group(2) not in _SUFFIX:
        return None
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def _requirement(requirements: Sequence[Any], key: str) -> list[str] | None:
    for req in requirements:
        if _get(req, "key") == key and _get(req, "operator") == "In":
            return [str(v) for v in _list(_get(req, "values"))]
    return None


def karpenter_node_pool(item: Item, ctx: Context, bill: Bill) -> None:
    """`spec.limits` caps what the pool may launch: `max` is the most the limits allow on the costliest allowed
    type; `idle` is 0 (Karpenter launches nodes only for pending pods)."""
    spec = _get(item.props, "spec") or {}
    limits = _get(spec, "limits") or {}
    parsed = {k: quantity(limits.get(k)) for k in ("cpu", "memory", "nvidia.com/gpu") if limits.get(k) is not None}
    caps = {k: v for k, v in parsed.items() if v is not None}
    if not caps or len(caps) != len(parsed):
        raise NotPriced("spec.limits sets no cpu, memory or nvidia.com/gpu limit: the pool has no maximum to price")
    requirements = _list(_get(spec, "template", "spec", "requirements"))
    region = item.region or ""
    types = _requirement(requirements, "node.kubernetes.io/instance-type")
    if types is None:
        families = _requirement(requirements, "karpenter.k8s.aws/instance-family")
        if families is None:
            raise NotPriced(
                "spec.template.spec.requirements names no instance types or families (node.kubernetes.io/instance-type "
                "or karpenter.k8s.aws/instance-family with operator In): the costliest type cannot be bounded"
            )
        types = [
            k.split(":", 1)[1] for k in ctx.book.keys(region, "ec2:") if k.split(":", 1)[1].split(".")[0] in families
        ]
        if not types:
            raise NotPriced(f"no prices for instance families {', '.join(families)} in {region} in the snapshot")
    worst: tuple[float, str, int] | None = None
    for instance_type in types:
        price = ctx.book.get(region, f"ec2:{instance_type}")
        if price is None or price.vcpu is None or price.memory_gib is None:
            raise NotPriced(f"no price (with vCPUs and memory) for ec2:{instance_type} in {region} in the snapshot")
        per_node = {"cpu": price.vcpu, "memory": price.memory_gib * 2**30, "nvidia.com/gpu": gpus(instance_type)}
        counts = [math.floor(cap / per_node[k]) for k, cap in caps.items() if per_node[k]]
        nodes = min(counts) if counts else 0
        if worst is None or nodes * price.usd > worst[0]:
            worst = (nodes * price.usd, instance_type, nodes)
    assert worst is not None
    _, costliest, nodes = worst
    average = _num(ctx.usage_of("nodePools", item).get("averageNodes")) or 0.0
    cheapest = min(types, key=lambda t: ctx.book.get(region, f"ec2:{t}").usd)  # type: ignore[union-attr]
    bill.charge(f"ec2:{cheapest}", f"{cheapest} node-hours (usage averageNodes)", 0, HOURS_PER_MONTH * average, 0)
    bill.charge(f"ec2:{costliest}", f"{costliest} node-hours the limits allow", 0, 0, HOURS_PER_MONTH * nodes)
    shown = ", ".join(f"{k} {limits[k]}" for k in caps)
    bill.note(f"limits {shown} allow {nodes} x {costliest}; root volumes not included (EC2NodeClass)")


def eks_cluster(item: Item, ctx: Context, bill: Bill) -> None:
    # AWS's default support type is EXTENDED: a version past standard support keeps running at the extended rate.
    support = _get(item.props, "upgradePolicy", "supportType") or "EXTENDED"
    if support == "STANDARD":
        _monthly(bill, "eks:cluster-standard", "control plane")
        return
    bill.charge(
        "eks:cluster-standard",
        f"control plane (standard support) {HOURS_PER_MONTH} h",
        HOURS_PER_MONTH,
        HOURS_PER_MONTH,
        0,
    )
    bill.charge("eks:cluster-extended", f"control plane (extended support) {HOURS_PER_MONTH} h", 0, 0, HOURS_PER_MONTH)
    bill.note("upgradePolicy.supportType EXTENDED: max at the extended-support rate the version reaches")


# ---- network ---------------------------------------------------------------------------------------------------


def nat_gateway(item: Item, ctx: Context, bill: Bill) -> None:
    _monthly(bill, "vpc:nat-gateway", "NAT gateway")
    gb = _num(ctx.usage_of("natGateways", item).get("dataProcessedGb")) or 0.0
    bill.charge("vpc:nat-gateway-data", "data processed GB", 0, gb, gb)


def public_ip(item: Item, ctx: Context, bill: Bill) -> None:
    _monthly(bill, "vpc:public-ipv4", "public IPv4 address")


def vpc_endpoint(item: Item, ctx: Context, bill: Bill) -> None:
    kind = _get(item.props, "vpcEndpointType") or "Gateway"
    if kind == "Gateway":
        raise _Free("gateway endpoints (S3, DynamoDB) carry no charge")
    if kind != "Interface":
        raise NotPriced(f"vpcEndpointType {kind} has no pricing rule (Interface and Gateway are priced)")
    subnets = _get(item.props, "subnetIds")
    if not isinstance(subnets, (list, tuple)) or not all(isinstance(s, str) for s in subnets):
        raise NotPriced("subnetIds are unknown until apply: the number of AZs is not known")
    azs = len(subnets)
    _monthly(bill, "vpc:interface-endpoint-az", "endpoint AZs", (azs, azs, azs))
    gb = _num(ctx.usage_of("vpcEndpoints", item).get("dataProcessedGb")) or 0.0
    bill.charge("vpc:interface-endpoint-data", "data processed GB", 0, gb, gb)


def ebs_volume(item: Item, ctx: Context, bill: Bill) -> None:
    props = dict(item.props)
    props.setdefault("type", "gp2")
    _ebs(bill, {"volumeType": props.get("type"), **props}, "volume", (1, 1, 1))


# ---- SageMaker -------------------------------------------------------------------------------------------------


def _endpoint_config(endpoint: Item, ctx: Context) -> Item | None:
    wanted = _get(endpoint.props, "endpointConfigName")
    for config in ctx.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        if wanted and wanted in (config.id, _get(config.props, "name")):
            return config
    return None


def sagemaker_endpoint(item: Item, ctx: Context, bill: Bill) -> None:
    config = _endpoint_config(item, ctx)
    if config is None:
        raise NotPriced("its endpoint configuration is not in the stack (endpointConfigName refers to none)")
    name = _get(item.props, "name")
    targets = {_get(t.props, "resourceId"): t for t in ctx.of_type("aws:appautoscaling/target:Target")}
    usage = ctx.usage_of("endpoints", item)
    variants = [("", v) for v in _list(_get(config.props, "productionVariants"))]
    variants += [("shadow ", v) for v in _list(_get(config.props, "shadowProductionVariants"))]
    for prefix, variant in variants:
        label = f"{prefix}variant {_get(variant, 'variantName') or '?'}"
        serverless = _get(variant, "serverlessConfig")
        if isinstance(serverless, Mapping):
            _serverless(bill, label, serverless, usage)
            continue
        instance_type = _get(variant, "instanceType")
        if not isinstance(instance_type, str):
            raise NotPriced(f"{label}: instanceType unknown until apply")
        initial = _num(_get(variant, "initialInstanceCount")) or 1
        target = targets.get(f"endpoint/{name}/variant/{_get(variant, 'variantName')}")
        low = _num(_get(target.props, "minCapacity")) if target else None
        high = _num(_get(target.props, "maxCapacity")) if target else None
        counts = (low if low is not None else initial, initial, max(initial, high or 0))
        _monthly(bill, f"sagemaker:{instance_type}", f"{label} {instance_type} instances", counts)


def _serverless(bill: Bill, label: str, config: Mapping[str, Any], usage: Mapping[str, float]) -> None:
    memory_gb = _required(config.get("memorySizeInMb"), f"{label} serverlessConfig.memorySizeInMb") / 1024
    concurrency = _required(config.get("maxConcurrency"), f"{label} serverlessConfig.maxConcurrency")
    if _num(config.get("provisionedConcurrency")):
        raise NotPriced(f"{label}: provisioned concurrency has no pricing rule")
    requests = _num(usage.get("requests")) or 0.0
    seconds = (_num(usage.get("averageDurationMs")) or 0.0) / 1000
    busy = requests * seconds * memory_gb
    full = concurrency * memory_gb * SECONDS_PER_MONTH
    bill.charge(
        "sagemaker:serverless-compute",
        f"{label} GB-s ({_qty(memory_gb)} GB, {_qty(concurrency)} max concurrency)",
        0,
        busy,
        max(full, busy),
    )
    gb = requests * (_num(usage.get("averagePayloadKb")) or 0.0) / 1e6
    bill.charge("sagemaker:serverless-data", f"{label} data in and out GB", 0, gb, gb)


# ---- keys, logs, storage, notifications ------------------------------------------------------------------------


def kms_key(item: Item, ctx: Context, bill: Bill) -> None:
    bill.charge("kms:key", "key-months", 1, 1, 1)
    requests = _num(ctx.usage_of("kmsKeys", item).get("requests")) or 0.0
    bill.charge("kms:requests", "requests / 10,000", 0, requests / 1e4, requests / 1e4)


def log_group(item: Item, ctx: Context, bill: Bill) -> None:
    usage = ctx.usage_of("logGroups", item)
    ingested = _num(usage.get("ingestedGb")) or 0.0
    stored = _num(usage.get("storedGb")) or 0.0
    key = (
        "logs:ingestion-infrequent-access"
        if _get(item.props, "logGroupClass") == "INFREQUENT_ACCESS"
        else "logs:ingestion"
    )
    bill.charge(key, "ingested GB", 0, ingested, ingested)
    bill.charge("logs:storage", "stored GB", stored, stored, stored)


def metric_alarm(item: Item, ctx: Context, bill: Bill) -> None:
    queries = [q for q in _list(_get(item.props, "metricQueries")) if _get(q, "metric") is not None]
    metrics = max(1, len(queries))
    period = _num(_get(item.props, "period"))
    key = "cloudwatch:alarm-high-resolution" if period is not None and period < 60 else "cloudwatch:alarm-standard"
    bill.charge(key, "alarm metrics", metrics, metrics, metrics)


_S3_CLASSES = {
    "standardGb": "s3:standard",
    "intelligentTieringGb": "s3:intelligent-tiering",
    "standardIaGb": "s3:standard-ia",
    "onezoneIaGb": "s3:onezone-ia",
    "glacierIrGb": "s3:glacier-ir",
    "glacierGb": "s3:glacier",
    "deepArchiveGb": "s3:deep-archive",
}


def s3_bucket(item: Item, ctx: Context, bill: Bill) -> None:
    usage = ctx.usage_of("buckets", item)
    for field, key in _S3_CLASSES.items():
        gb = _num(usage.get(field))
        if gb:
            bill.charge(key, f"{field[:-2]} GB", gb, gb, gb)
    if not bill.parts:
        bill.charge("s3:standard", "standard GB (none in the usage file)", 0, 0, 0)
    bill.note("requests and transfer not included")


def replication(item: Item, ctx: Context, bill: Bill) -> None:
    gb = _num(ctx.usage_of("replications", item).get("replicatedGb")) or 0.0
    bill.charge("s3:inter-region-transfer", "replicated GB", 0, gb, gb)
    bill.note("assumes a destination in another region; replicas are billed as the destination bucket's storage")


def ecr_repository(item: Item, ctx: Context, bill: Bill) -> None:
    gb = _num(ctx.usage_of("repositories", item).get("storedGb")) or 0.0
    bill.charge("ecr:storage", "stored GB", gb, gb, gb)


def budget(item: Item, ctx: Context, bill: Bill) -> None:
    days = HOURS_PER_MONTH / 24
    bill.charge("budgets:budget", "budget-days", days, days, days)
    bill.note("the payer account's first two budgets are free: not assumed")


def sns_topic(item: Item, ctx: Context, bill: Bill) -> None:
    usage = ctx.usage_of("topics", item)
    publishes = (_num(usage.get("publishes")) or 0.0) / 1e6
    emails = (_num(usage.get("emailNotifications")) or 0.0) / 1e5
    bill.charge("sns:publish", "publishes / million", 0, publishes, publishes)
    bill.charge("sns:email", "email notifications / 100,000", 0, emails, emails)
    bill.note("the topic itself has no charge")


def sqs_queue(item: Item, ctx: Context, bill: Bill) -> None:
    fifo = bool(_get(item.props, "fifoQueue"))
    requests = (_num(ctx.usage_of("queues", item).get("requests")) or 0.0) / 1e6
    bill.charge("sqs:fifo-requests" if fifo else "sqs:requests", "requests / million", 0, requests, requests)
    bill.note("the queue itself has no charge; the account's first million requests a month are free: not assumed")


_CODEBUILD = {
    "BUILD_GENERAL1_SMALL": "codebuild:linux-general1-small",
    "BUILD_GENERAL1_MEDIUM": "codebuild:linux-general1-medium",
    "BUILD_GENERAL1_LARGE": "codebuild:linux-general1-large",
}


def codebuild_project(item: Item, ctx: Context, bill: Bill) -> None:
    """Build minutes: none idle, the usage file's when expected, every concurrent build running all month at max."""
    environment = _get(item.props, "environment") or {}
    kind, compute = _get(environment, "type"), _get(environment, "computeType")
    if kind != "LINUX_CONTAINER" or compute not in _CODEBUILD:
        raise NotPriced(
            f"environment {kind} {compute} has no pricing rule (LINUX_CONTAINER with {', '.join(_CODEBUILD)} is priced)"
        )
    limit = _required(_get(item.props, "concurrentBuildLimit"), "concurrentBuildLimit (the builds' configured maximum)")
    minutes = _num(ctx.usage_of("buildProjects", item).get("buildMinutes")) or 0.0
    full = limit * HOURS_PER_MONTH * 60
    bill.charge(_CODEBUILD[compute], f"build minutes ({_qty(limit)} concurrent at max)", 0, minutes, max(full, minutes))


def event_bus(item: Item, ctx: Context, bill: Bill) -> None:
    events = (_num(ctx.usage_of("eventBuses", item).get("events")) or 0.0) / 1e6
    bill.charge("events:custom", "custom events / million", 0, events, events)


def dashboard(item: Item, ctx: Context, bill: Bill) -> None:
    # The account's first three dashboards are free; a stack cannot know how many others exist, so it pays.
    bill.charge("cloudwatch:dashboard", "dashboard", 1, 1, 1)


def log_metric_filter(item: Item, ctx: Context, bill: Bill) -> None:
    transformations = max(1, len(_list(_get(item.props, "metricTransformation"))))
    bill.charge(
        "cloudwatch:custom-metric", "custom metrics it publishes", transformations, transformations, transformations
    )


_MONITOR_CRON = re.compile(r"^cron\(0 (\*|\d{1,2}|(\d{1,2})/(\d{1,2})) \? \* \* \*\)$")


def _runs_per_day(expression: Any) -> int:
    match = _MONITOR_CRON.match(expression) if isinstance(expression, str) else None
    if match is None:
        raise NotPriced(f"schedule {expression!r} is not an hourly, daily or every-N-hours cron expression")
    hours, start, step = match.groups()
    if hours == "*":
        return 24
    if step is not None:
        return len(range(int(start), 24, int(step)))
    return 1


def monitoring_schedule(item: Item, ctx: Context, bill: Bill) -> None:
    """Every run for its whole allowed time: an upper bound that holds idle too, since the schedule runs regardless."""
    config = _get(item.props, "monitoringScheduleConfig") or {}
    wanted = _get(config, "monitoringJobDefinitionName")
    definition = next(
        (d for t in _JOB_DEFINITIONS for d in ctx.of_type(t) if wanted is not None and _get(d.props, "name") == wanted),
        None,
    )
    if definition is None:
        raise NotPriced("its job definition is not in the stack (monitoringJobDefinitionName refers to none)")
    runs = _runs_per_day(_get(config, "scheduleConfig", "scheduleExpression")) * HOURS_PER_MONTH / 24
    cluster = _get(definition.props, "jobResources", "clusterConfig") or {}
    instance_type = _get(cluster, "instanceType")
    if not isinstance(instance_type, str):
        raise NotPriced("jobResources.clusterConfig.instanceType is unknown until apply")
    count = _required(_get(cluster, "instanceCount"), "jobResources.clusterConfig.instanceCount")
    runtime = _required(
        _get(definition.props, "stoppingCondition", "maxRuntimeInSeconds"), "stoppingCondition.maxRuntimeInSeconds"
    )
    hours = runs * runtime / 3600 * count
    bill.charge(
        f"sagemaker:{instance_type}",
        f"{_qty(runs)} runs x {_qty(runtime)} s x {_qty(count)} {instance_type}",
        hours,
        hours,
        hours,
    )
    bill.note("processing billed at the instance type's hourly rate, every run at its time limit")


_JOB_DEFINITIONS = ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",)


def mlflow_tracking_server(item: Item, ctx: Context, bill: Bill) -> None:
    """A tracking server bills every hour it exists, whatever its use."""
    size = _get(item.props, "trackingServerSize") or "Small"
    _monthly(bill, f"sagemaker:mlflow-tracking-server-{str(size).lower()}", f"MLflow tracking server ({size}) hours")


_SCHEDULER_CRON = re.compile(
    r"^cron\((?P<minute>\d{1,2}) (?P<hour>\*|\d{1,2}) (?P<dom>\*|\?) \* (?P<dow>\*|\?|[A-Za-z0-9,]+) \*\)$"
)
_SCHEDULER_RATE = re.compile(r"^rate\((?P<n>[1-9][0-9]*) (?P<unit>minute|hour|day)s?\)$")
_RATE_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


def scheduled_runs(expression: Any) -> float:
    """Runs a month of an EventBridge Scheduler expression: `rate(n unit)`, or a cron at a fixed minute, every hour or
    at one hour, every day or on listed weekdays (what retraining schedules use). Anything else is not priced."""
    text = expression if isinstance(expression, str) else ""
    rate = _SCHEDULER_RATE.match(text)
    if rate:
        return HOURS_PER_MONTH / (int(rate.group("n")) * _RATE_HOURS[rate.group("unit")])
    cron = _SCHEDULER_CRON.match(text)
    if cron is None or (cron.group("dom") == "?") == (cron.group("dow") == "?"):
        raise NotPriced(
            f"schedule {expression!r}: only rate(n unit) and cron(M H|* * or ? * days *) expressions are priced"
        )
    per_day = 24 if cron.group("hour") == "*" else 1
    dow = cron.group("dow")
    days_a_week = 7 if dow in ("*", "?") else len(dow.split(","))
    return per_day * days_a_week * HOURS_PER_MONTH / (24 * 7)


_PIPELINE_JOBS = {
    "Training": ("ResourceConfig", "trainingHours"),
    "Processing": ("ProcessingResources", "processingHours"),
}


def _pipeline_steps(steps: Any) -> list[Mapping[str, Any]]:
    """Every step, including those inside condition steps' branches."""
    found = []
    for step in _list(steps):
        if isinstance(step, Mapping):
            found.append(step)
            found += _pipeline_steps(_get(step, "Arguments", "IfSteps")) + _pipeline_steps(
                _get(step, "Arguments", "ElseSteps")
            )
    return found


def sagemaker_pipeline(item: Item, ctx: Context, bill: Bill) -> None:
    """Its training and processing jobs: per execution, each job's instances for the usage file's hours (default: its
    time limit); executions a month from the enabled schedules that start it (the usage file's `runsPerMonth` wins
    for `expected`). Scheduled runs happen whatever the traffic, so they count idle too; `max` is every run at its
    jobs' time limits."""
    text = _get(item.props, "pipelineDefinition")
    try:
        definition = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        definition = None
    if not isinstance(definition, Mapping):
        raise NotPriced("pipelineDefinition is unknown until apply")
    arn = _get(item.props, "arn")
    schedules = [
        s
        for s in ctx.of_type("aws:scheduler/schedule:Schedule")
        if arn is not None and _get(s.props, "target", "arn") == arn and _get(s.props, "state") != "DISABLED"
    ]
    scheduled = sum(scheduled_runs(_get(s.props, "scheduleExpression")) for s in schedules)
    usage = ctx.usage_of("pipelines", item)
    runs = _num(usage.get("runsPerMonth"))
    runs = scheduled if runs is None else runs
    jobs = 0
    for step in _pipeline_steps(definition.get("Steps")):
        kind = step.get("Type")
        if kind not in _PIPELINE_JOBS:
            continue
        resources_key, hours_key = _PIPELINE_JOBS[kind]
        resources = _get(step, "Arguments", resources_key) or {}
        resources = _get(resources, "ClusterConfig") or resources
        instance_type = _get(resources, "InstanceType")
        if not isinstance(instance_type, str):
            raise NotPriced(f"step {step.get('Name')}: its instance type is not a fixed value")
        count = _required(_get(resources, "InstanceCount"), f"step {step.get('Name')}'s InstanceCount")
        limit = _required(
            _get(step, "Arguments", "StoppingCondition", "MaxRuntimeInSeconds"),
            f"step {step.get('Name')}'s StoppingCondition.MaxRuntimeInSeconds",
        )
        hours = _num(usage.get(hours_key))
        hours = limit / 3600 if hours is None else hours
        bill.charge(
            f"sagemaker:{instance_type}",
            f"{step.get('Name')}: {_qty(runs)} runs x {_qty(hours)} h x {_qty(count)} {instance_type}",
            scheduled * hours * count,
            runs * hours * count,
            max(runs, scheduled) * limit / 3600 * count,
        )
        jobs += 1
    if not jobs:
        raise _Free("no training or processing step: its steps carry no instance charge")
    bill.note(
        "jobs billed at the instance type's hourly rate; "
        + (f"{_qty(scheduled)} scheduled runs a month" if schedules else "no enabled schedule starts it")
    )


class _Free(Exception):
    """No charge of its own (the reason says where its cost shows, if anywhere)."""


PRICING: dict[str, Callable[[Item, Context, Bill], None]] = {
    "aws:eks/nodeGroup:NodeGroup": node_group,
    "aws:autoscaling/group:Group": autoscaling_group,
    "aws:ec2/instance:Instance": instance,
    "kubernetes:karpenter.sh/v1:NodePool": karpenter_node_pool,
    "aws:eks/cluster:Cluster": eks_cluster,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": public_ip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:ebs/volume:Volume": ebs_volume,
    "aws:sagemaker/endpoint:Endpoint": sagemaker_endpoint,
    "aws:kms/key:Key": kms_key,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:s3/bucket:Bucket": s3_bucket,
    "aws:s3/bucketV2:BucketV2": s3_bucket,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": replication,
    "aws:ecr/repository:Repository": ecr_repository,
    "aws:budgets/budget:Budget": budget,
    "aws:sns/topic:Topic": sns_topic,
    "aws:cloudwatch/eventBus:EventBus": event_bus,
    "aws:sqs/queue:Queue": sqs_queue,
    "aws:codebuild/project:Project": codebuild_project,
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": mlflow_tracking_server,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": log_metric_filter,
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": monitoring_schedule,
    "aws:sagemaker/pipeline:Pipeline": sagemaker_pipeline,
}

USAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "nodeGroups": ("aws:eks/nodeGroup:NodeGroup", "aws:autoscaling/group:Group"),
    "nodePools": ("kubernetes:karpenter.sh/v1:NodePool",),
    "natGateways": ("aws:ec2/natGateway:NatGateway",),
    "vpcEndpoints": ("aws:ec2/vpcEndpoint:VpcEndpoint",),
    "endpoints": ("aws:sagemaker/endpoint:Endpoint",),
    "kmsKeys": ("aws:kms/key:Key",),
    "logGroups": ("aws:cloudwatch/logGroup:LogGroup",),
    "buckets": ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"),
    "replications": ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",),
    "repositories": ("aws:ecr/repository:Repository",),
    "topics": ("aws:sns/topic:Topic",),
    "eventBuses": ("aws:cloudwatch/eventBus:EventBus",),
    "queues": ("aws:sqs/queue:Queue",),
    "buildProjects": ("aws:codebuild/project:Project",),
    "pipelines": ("aws:sagemaker/pipeline:Pipeline",),
}
"""Which resource type each section of a usage file describes (keys: the resources' logical names)."""

_NO_CHARGE = "no charge of its own"
FREE_TYPES: dict[str, str] = {
    "aws:ec2/launchTemplate:LaunchTemplate": "billed through the node groups and Auto Scaling groups that launch it",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "billed through the endpoints that use it",
    "aws:sagemaker/model:Model": "billed through the endpoints that serve it",
    "aws:ec2/flowLog:FlowLog": "its records are billed as ingestion of the destination log group (usage file)",
    "aws:s3/bucketLogging:BucketLogging": "log objects are billed as storage of the target bucket (usage file)",
    "aws:appautoscaling/target:Target": "sets the capacity the endpoint is priced at",
    "aws:appautoscaling/policy:Policy": _NO_CHARGE,
    "aws:cloudwatch/eventRule:EventRule": "rules and AWS service events carry no charge",
    "aws:cloudwatch/eventTarget:EventTarget": _NO_CHARGE,
    "aws:autoscaling/tag:Tag": _NO_CHARGE,
    "aws:eks/addon:Addon": "runs on the cluster's nodes",
    "aws:eks/accessEntry:AccessEntry": _NO_CHARGE,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _NO_CHARGE,
    "aws:ec2/tag:Tag": _NO_CHARGE,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _NO_CHARGE,
    "aws:ec2/placementGroup:PlacementGroup": _NO_CHARGE,
    "aws:ebs/defaultKmsKey:DefaultKmsKey": _NO_CHARGE,
    "aws:ebs/encryptionByDefault:EncryptionByDefault": _NO_CHARGE,
    "aws:costexplorer/costAllocationTag:CostAllocationTag": _NO_CHARGE,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "model artifacts are billed as S3 storage (usage file)",
    "aws:scheduler/schedule:Schedule": "EventBridge Scheduler's first 14 million invocations a month carry no charge",
    "aws:cloudwatch/eventConnection:EventConnection": "no charge of its own (its secret is managed by EventBridge)",
    "aws:cloudwatch/eventApiDestination:EventApiDestination": (
        "invocations bill per million (a promotion is a handful a month); not included"
    ),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": "billed through the monitoring schedules that run it",
}
FREE_PREFIXES: dict[str, str] = {
    "aws:iam/": "IAM carries no charge",
    "aws:vpc/securityGroup": _NO_CHARGE,
    "aws:ec2/vpc:": _NO_CHARGE,
    "aws:ec2/subnet:": _NO_CHARGE,
    "aws:ec2/route": _NO_CHARGE,
    "aws:ec2/internetGateway:": "no charge of its own (data transfer out is not included)",
    "aws:ec2/securityGroup": _NO_CHARGE,
    "aws:ec2/defaultSecurityGroup:": _NO_CHARGE,
    "aws:ec2/networkAcl": _NO_CHARGE,
    "aws:s3/bucket": "bucket settings carry no charge of their own",
    "aws:s3/accountPublicAccessBlock:": _NO_CHARGE,
    "aws:kms/alias:": _NO_CHARGE,
    "aws:sns/topicPolicy:": _NO_CHARGE,
    "aws:sns/topicSubscription:": "deliveries are billed on the topic (usage file)",
    "aws:sqs/queuePolicy:": _NO_CHARGE,
    "aws:codebuild/webhook:": _NO_CHARGE,
    "aws:codeconnections/connection:": _NO_CHARGE,
    "aws:codestarconnections/connection:": _NO_CHARGE,
    "aws:ecr/lifecyclePolicy:": _NO_CHARGE,
    "aws:ecr/repositoryPolicy:": _NO_CHARGE,
    "aws:cloudwatch/logResourcePolicy:": _NO_CHARGE,
    "kubernetes:": "runs on the cluster's nodes, priced with their node groups",
    "random:": "creates no cloud resource",
    "tls:": "creates no cloud resource",
}


def price(item: Item, ctx: Context) -> Cost:
    """The resource's monthly cost, or why it is free, or why it is not priced."""
    rule = PRICING.get(item.type)
    if rule is None:
        reason = FREE_TYPES.get(item.type) or next(
            (why for prefix, why in FREE_PREFIXES.items() if item.type.startswith(prefix)), None
        )
        if reason is None:
            return Cost(item.urn, item.type, item.name, NOT_PRICED, formula="no pricing rule for this resource type")
        return Cost(item.urn, item.type, item.name, FREE, formula=reason)
    bill = Bill(item, ctx)
    try:
        rule(item, ctx, bill)
    except _Free as free:
        return Cost(item.urn, item.type, item.name, FREE, formula=str(free))
    except NotPriced as why:
        return Cost(item.urn, item.type, item.name, NOT_PRICED, formula=str(why))
    return bill.cost()
