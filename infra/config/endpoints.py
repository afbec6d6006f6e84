"""`ml-platform:endpoints`: SageMaker model endpoints."""

from __future__ import annotations

from infra.config.base import Section


class EndpointsConfig(Section):
    """SageMaker model endpoints."""
