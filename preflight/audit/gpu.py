"""GPU capacity running: the stack's GPU node groups with instances in service, read from their Auto Scaling
groups (advisory: it is what the account pays for now, not a misconfiguration), with their hourly on-demand cost
from the price snapshot the cost estimate uses (`policies/costing/prices.json`). A type the snapshot does not price
is named as such, never counted as free."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from components.facts import is_gpu
from policies.costing import prices
from preflight.audit.aws import Aws, NotChecked
from preflight.audit.findings import GPU_CAPACITY, finding, not_checked
from preflight.audit.state import State
from preflight.model import Violation

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def gpu_capacity(aws: Aws, state: State, live: Mapping[str, Any]) -> list[Violation]:
    found = []
    for record in state.result.by_type(NODE_GROUP):
        reading = live.get(record.urn)
        types = [str(t) for t in record.inputs.get("instanceTypes") or []]
        if not isinstance(reading, Mapping) or not any(is_gpu(t) for t in types):
            continue
        names = list(reading.get("_autoScalingGroups") or [])
        what = f"GPU instances running in node group {record.id}"
        if not names:
            found.append(not_checked(record, what, "EKS names no Auto Scaling group for the node group"))
            continue
        try:
            groups = aws.call(
                "autoscaling",
                "DescribeAutoScalingGroups",
                region=state.region_of(record),
                AutoScalingGroupNames=names,
            ).get("AutoScalingGroups", [])
        except NotChecked as exc:
            found.append(not_checked(record, what, str(exc)))
            continue
        seen = {g.get("AutoScalingGroupName") for g in groups}
        if set(names) - seen:
            found.append(
                not_checked(record, what, f"Auto Scaling group(s) {', '.join(sorted(set(names) - seen))} not found")
            )
            continue
        running = Counter(
            i.get("InstanceType", "unknown type")
            for g in groups
            for i in g.get("Instances", [])
            if i.get("LifecycleState") == "InService"
        )
        if not running:
            continue
        count = sum(running.values())
        detail = ", ".join(f"{n} {t}" for t, n in sorted(running.items()))
        cost = _hourly_cost(running, state.region_of(record))
        found.append(
            finding(
                GPU_CAPACITY,
                record,
                f"node group {record.id}: {count} GPU instance(s) running ({detail}); {cost}",
                enforcement="advisory",
                severity="low",
                category="cost",
                remediation="Expected for running work; otherwise let the pool scale to zero (minSize 0) or lower its "
                "desired size.",
            )
        )
    return found


def _hourly_cost(running: Counter[str], region: str | None) -> str:
    book = prices.load()
    hourly, unpriced = 0.0, []
    for instance_type, n in sorted(running.items()):
        price = book.get(region or "", f"ec2:{instance_type}")
        if price is None:
            unpriced.append(instance_type)
        else:
            hourly += n * price.usd
    if unpriced:
        return (
            f"hourly on-demand cost not known: the price snapshot ({book.snapshot}) has no price for "
            f"{', '.join(unpriced)} in {region or 'an unknown region'}"
        )
    return f"${hourly:,.2f} an hour on demand (price snapshot {book.snapshot}, {region})"
