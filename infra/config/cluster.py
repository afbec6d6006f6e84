"""`ml-platform:cluster`: The EKS cluster, its node pools and the Kubernetes layer."""

from __future__ import annotations

from infra.config.base import Section


class ClusterConfig(Section):
    """The EKS cluster, its node pools and the Kubernetes layer."""
