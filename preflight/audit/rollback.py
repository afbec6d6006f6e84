"""Silent SageMaker rollbacks: the endpoint serves another configuration than the state's, or its last deployment
failed. `pulumi up` can finish while SageMaker's deployment guardrails roll an endpoint back to the configuration it
had; nothing in the state says so. docs/runbooks/model-rollback.md says what to do with this finding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.audit.findings import ROLLBACK, finding
from preflight.audit.state import State
from preflight.model import Violation

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
FAILED_STATUSES = ("Failed", "UpdateRollbackFailed")
RUNBOOK = "docs/runbooks/model-rollback.md"


def rollbacks(state: State, live: Mapping[str, Any]) -> list[Violation]:
    found = []
    for record in state.result.by_type(ENDPOINT):
        reading = live.get(record.urn)
        if not isinstance(reading, Mapping):
            continue  # deleted or not checked: reported as such
        declared = record.inputs.get("endpointConfigName")
        serving = reading.get("endpointConfigName")
        reason = reading.get("_failureReason") or "SageMaker reports no failure reason"
        status = reading.get("_status")
        if serving != declared:
            message = (
                f"endpoint {record.id} serves endpoint configuration {serving!r}, not {declared!r} as the state says: "
                f"the last deployment was rolled back or the endpoint was changed outside Pulumi (status {status}; "
                f"{reason})"
            )
        elif status in FAILED_STATUSES:
            message = (
                f"endpoint {record.id} on configuration {declared!r}: its last deployment ended {status} ({reason})"
            )
        else:
            continue
        found.append(
            finding(
                ROLLBACK,
                record,
                message,
                category="reliability",
                remediation=f"Follow {RUNBOOK}: find why the new configuration failed, then redeploy or pin the "
                "configuration that serves.",
            )
        )
    return found
