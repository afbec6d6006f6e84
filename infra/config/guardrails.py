"""`ml-platform:guardrails`: what no platform role may exceed — regions and instance types — and who governs them."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from infra.config.base import Section

_EC2_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.(\*|[a-z0-9]+)$")
_SAGEMAKER_TYPE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.(\*|[a-z0-9]+)$")


class GuardrailsConfig(Section):
    """Guardrails every IAM role of the stack carries through its permission boundary."""

    allowed_regions: list[str] = Field(default_factory=list)
    """Regions platform roles may act in. Default: the stack's `aws:region` only (plus a replication region)."""
    allowed_instance_types: list[str] = Field(default_factory=lambda: ["m6i.large", "g5.xlarge"])
    """EC2 instance types node pools may launch; `g5.*` wildcards allowed. The boundary and the cost policies use it."""
    allowed_sagemaker_instance_types: list[str] = Field(default_factory=lambda: ["ml.m5.large"])
    """SageMaker instance types endpoints and jobs may use (`ml.*`); wildcards allowed."""

    @field_validator("allowed_instance_types")
    @classmethod
    def _ec2_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _EC2_TYPE.match(t) or t.startswith("ml.")]
        if bad:
            raise ValueError(f"not EC2 instance types: {bad}; expected names like 'g5.xlarge' or 'g5.*'")
        if not value:
            raise ValueError("empty: no node pool could launch; list the instance types pools may use")
        return value

    @field_validator("allowed_sagemaker_instance_types")
    @classmethod
    def _sagemaker_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _SAGEMAKER_TYPE.match(t)]
        if bad:
            raise ValueError(f"not SageMaker instance types: {bad}; expected names like 'ml.g5.xlarge' or 'ml.g5.*'")
        return value

    def regions(self, stack_region: str, *extra: str | None) -> list[str]:
        """The regions roles may act in: configured ones, or the stack's region plus any replication region."""
        return sorted(set(self.allowed_regions or [stack_region]) | {r for r in extra if r})
