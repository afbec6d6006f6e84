"""`ml-platform:guardrails`: what no platform role may exceed — regions and instance types — and who governs them.

The settings are the guardrails component's own model (`GuardrailsSettings` in `components/guardrails.py`, whose
region and instance-type caps are the permission boundary's `PermissionBoundarySettings`): one declaration validates
the stack file and configures both components. Environment limits (instance types, budgets) are in
`infra/config/profiles.py`.
"""

from __future__ import annotations

from components.guardrails import GuardrailsSettings

GuardrailsConfig = GuardrailsSettings
"""The stack file's `ml-platform:guardrails` section."""

__all__ = ["GuardrailsConfig"]
