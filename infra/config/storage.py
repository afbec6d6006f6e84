"""`ml-platform:storage`: KMS keys, the artifact store's buckets and the ECR image registries."""

from __future__ import annotations

from infra.config.base import Section


class StorageConfig(Section):
    """KMS keys, the artifact store's buckets and the ECR image registries."""
