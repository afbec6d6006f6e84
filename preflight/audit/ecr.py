"""ECR repositories: tag immutability, scan on push, encryption."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, key_id


def _read_repository(ctx: Context) -> Any:
    found = ctx.call(
        "ecr", "DescribeRepositories", missing=("RepositoryNotFoundException",), repositoryNames=[ctx.record.id]
    )
    repos = [] if found is ABSENT else found.get("repositories", [])
    if not repos:
        return ABSENT
    repo = repos[0]
    encryption = repo.get("encryptionConfiguration") or {}
    tags = ctx.call("ecr", "ListTagsForResource", resourceArn=repo["repositoryArn"]).get("tags", [])
    return {
        "_tags": {t["Key"]: t["Value"] for t in tags},
        "imageTagMutability": repo.get("imageTagMutability"),
        "imageScanningConfiguration": {"scanOnPush": (repo.get("imageScanningConfiguration") or {}).get("scanOnPush")},
        "encryptionConfigurations": [
            {"encryptionType": encryption.get("encryptionType"), "kmsKey": encryption.get("kmsKey")}
        ],
    }


READERS = (
    Reader(
        "aws:ecr/repository:Repository",
        "ECR repository",
        _read_repository,
        (
            Field("imageTagMutability", default="MUTABLE"),
            Field("imageScanningConfiguration.scanOnPush", default=False),
            Field("encryptionConfigurations[].encryptionType", default=["AES256"], category="encryption"),
            Field("encryptionConfigurations[].kmsKey", lambda v: [key_id(x) for x in v], category="encryption"),
        ),
    ),
)
