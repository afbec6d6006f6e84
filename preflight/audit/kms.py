"""KMS keys: enabled, rotation on, and the key policy."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, policy_document, statement_difference


def _read_key(ctx: Context) -> Any:
    key = ctx.record.id
    found = ctx.call("kms", "DescribeKey", missing=("NotFoundException",), KeyId=key)
    if found is ABSENT:
        return ABSENT
    meta = found.get("KeyMetadata", {})
    if meta.get("KeyState") == "PendingDeletion":
        return {"isEnabled": False, "_state": "PendingDeletion"}
    rotation = ctx.call("kms", "GetKeyRotationStatus", KeyId=key)
    policy = ctx.call("kms", "GetKeyPolicy", KeyId=key, PolicyName="default")
    return {
        "isEnabled": meta.get("Enabled"),
        "enableKeyRotation": rotation.get("KeyRotationEnabled", False),
        "policy": policy.get("Policy"),
    }


READERS = (
    Reader(
        "aws:kms/key:Key",
        "KMS key",
        _read_key,
        (
            Field("isEnabled", default=True, category="encryption"),
            Field("enableKeyRotation", default=False, category="encryption"),
            Field("policy", policy_document, show=statement_difference),
        ),
    ),
)
