"""GPU capacity running: the stack's GPU node groups with instances in service, read from their Auto Scaling
groups (advisory: it is what the account pays for now, not a misconfiguration).

The hourly on-demand cost is not reported: this repository has no price table yet, and a guessed price would be a
number nobody can check. The finding says so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from components._gpu import is_gpu_instance_type
from preflight.audit.aws import Aws, NotChecked
from preflight.audit.findings import GPU_CAPACITY, finding, not_checked
from preflight.audit.state import State
from preflight.model import Violation

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NO_PRICE = "hourly on-demand cost not reported: this repository has no instance price table"


def gpu_capacity(aws: Aws, state: State, live: Mapping[str, Any]) -> list[Violation]:
    found = []
    for record in state.result.by_type(NODE_GROUP):
        reading = live.get(record.urn)
        types = [str(t) for t in record.inputs.get("instanceTypes") or []]
        if not isinstance(reading, Mapping) or not any(is_gpu_instance_type(t) for t in types):
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
        found.append(
            finding(
                GPU_CAPACITY,
                record,
                f"node group {record.id}: {count} GPU instance(s) running ({detail}); {NO_PRICE}",
                enforcement="advisory",
                severity="low",
                category="cost",
                remediation="Expected for running work; otherwise let the pool scale to zero (minSize 0) or lower its "
                "desired size.",
            )
        )
    return found
