"""`ml-platform:guardrails`: IAM guardrails: permission boundary, personas, CI roles, budgets, account baselines."""

from __future__ import annotations

from infra.config.base import Section


class GuardrailsConfig(Section):
    """IAM guardrails: permission boundary, personas, CI roles, budgets, account baselines."""
