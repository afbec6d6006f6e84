"""CloudWatch log groups: retention and KMS key."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, key_id


def _read_group(ctx: Context) -> Any:
    name = ctx.record.id
    groups = ctx.pages("logs", "DescribeLogGroups", "logGroups", logGroupNamePrefix=name)
    group = next((g for g in groups if g.get("logGroupName") == name), None)
    if group is None:
        return ABSENT
    return {"retentionInDays": group.get("retentionInDays"), "kmsKeyId": group.get("kmsKeyId")}


READERS = (
    Reader(
        "aws:cloudwatch/logGroup:LogGroup",
        "log group",
        _read_group,
        (
            # 0 and unset both mean "never expire".
            Field("retentionInDays", lambda v: v or None, category="reliability"),
            Field("kmsKeyId", key_id, category="encryption"),
        ),
    ),
)
