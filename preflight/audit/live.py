"""Read every supported resource of the state live, compare, and build the stack as it is live for the pack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from preflight.audit import budgets, ec2, ecr, eks, iam, kms, logs, s3, sagemaker
from preflight.audit.aws import ABSENT, Aws, NotChecked
from preflight.audit.drift import Context, Reader, differences
from preflight.audit.findings import deleted, drift, not_checked
from preflight.audit.state import State
from preflight.model import StackResult, Violation

READERS: dict[str, Reader] = {
    r.type: r for module in (s3, kms, eks, iam, ec2, logs, sagemaker, ecr, budgets) for r in module.READERS
}
"""Resource type -> how the audit reads it live."""


@dataclass
class LiveReading:
    live: dict[str, Any] = field(default_factory=dict)
    """URN -> live properties (Pulumi input shape), or ABSENT; URNs not checked are not here."""
    findings: list[Violation] = field(default_factory=list)
    unread_types: set[str] = field(default_factory=set)


def read_live(aws: Aws, state: State) -> LiveReading:
    out = LiveReading()
    for record in state.result.resources:
        if not record.custom or record.type.startswith("pulumi:"):
            continue
        reader = READERS.get(record.type)
        if reader is None:
            out.unread_types.add(record.type)
            continue
        ctx = Context(aws, state, record)
        try:
            reading = reader.read(ctx)
            declared = reader.declared(ctx) if reader.declared else record.inputs
        except NotChecked as exc:
            out.findings.append(not_checked(record, f"{reader.what} {record.id}", str(exc)))
            continue
        out.live[record.urn] = reading
        if reading is ABSENT:
            out.findings.append(deleted(record))
            continue
        for f, want, have in differences(reader, declared, reading):
            shown = f.show(want, have) if f.show else (want, have)
            out.findings.append(drift(record, f.label or f.path, *shown, f.category))
    return out


def _overlay(declared: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """`declared` with what was read live laid over it: objects merged key by key, anything else replaced, a
    property unset live removed."""
    merged = dict(declared)
    for key, value in live.items():
        if key.startswith("_"):
            continue
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def live_stack(state: State, live: Mapping[str, Any]) -> StackResult:
    """The stack as the policy pack sees it live: resources deleted out of band are gone, read ones carry their live
    properties (inputs for resource rules, outputs for stack rules), the rest their declared ones."""
    records = []
    for record in state.result.resources:
        reading = live.get(record.urn)
        if reading is ABSENT:
            continue
        if isinstance(reading, Mapping):
            record = replace(record, inputs=_overlay(record.inputs, reading), outputs=_overlay(record.outputs, reading))
        records.append(record)
    return StackResult(
        project=state.result.project, stack=state.result.stack, resources=tuple(records), outputs=state.result.outputs
    )
