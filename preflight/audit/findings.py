"""The audit's own findings, in preflight's `Violation` shape so the tree, JSON, SARIF and Markdown reports take them
as they are. Policy ids say what kind of finding it is; `source` is always "audit"."""

from __future__ import annotations

import json
from typing import Any

from preflight.model import SECRET, ResourceRecord, Violation

SOURCE = "audit"
DRIFT = "audit-drift"
DELETED = "audit-deleted"
NOT_CHECKED = "audit-not-checked"
ROLLBACK = "audit-sagemaker-rollback"
ORPHAN = "audit-orphan"
COST_TAGS = "audit-cost-tags"
GPU_CAPACITY = "audit-gpu-capacity"

_SHOWN = 400


def shown(value: Any) -> str:
    """A value for a one-line message: compact JSON, shortened; "[secret]" stays "[secret]"."""
    if value is None:
        return "(not set)"
    if value == SECRET:
        return SECRET
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def finding(
    policy: str,
    record: ResourceRecord | None,
    message: str,
    *,
    enforcement: str = "mandatory",
    severity: str = "high",
    category: str = "access",
    remediation: str = "",
) -> Violation:
    return Violation(
        source=SOURCE,
        policy=policy,
        category=category,
        enforcement=enforcement,
        severity=severity,
        urn=record.urn if record else None,
        name=record.name if record else None,
        message=message,
        remediation=remediation,
    )


def drift(record: ResourceRecord, prop: str, declared: Any, live: Any, category: str) -> Violation:
    return finding(
        DRIFT,
        record,
        f"{record.type} {record.id or record.name}: {prop} is {shown(live)} live, {shown(declared)} in the state",
        category=category,
        remediation="Someone changed it outside Pulumi: run `pulumi up` to restore the declared value, or change "
        "the program if the live value is intended.",
    )


def deleted(record: ResourceRecord) -> Violation:
    return finding(
        DELETED,
        record,
        f"{record.type} {record.id or record.name} is in the state but does not exist live: deleted out of band",
        remediation="Run `pulumi refresh` then `pulumi up` to recreate it, or remove it from the program.",
    )


def not_checked(record: ResourceRecord | None, what: str, reason: str) -> Violation:
    return finding(
        NOT_CHECKED,
        record,
        f"not checked: {what}: {reason}",
        enforcement="advisory",
        severity="medium",
        remediation="Give the audit role the IAM actions in docs/audit.md and run the audit again; until then this "
        "is unknown, not compliant.",
    )
