"""The pack's definition, shared by `__main__.py` (which serves it to the Pulumi CLI) and `preflight.policy`
(which evaluates it offline): the same policy objects, the same defaults, in both places."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from .rules import access, cost, encryption, monitoring, reliability

PACK_NAME = "ml-platform-guardrails"

ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY
"""Secure by default: a rule blocks the deployment unless the stack's policy config relaxes it."""

INITIAL_CONFIG = None
"""Rule settings take their schema defaults; each stack's file under `config/` overrides them."""

DESCRIPTION = "Encryption, access, cost and reliability guardrails for Pulumi AWS programs (ML platform blueprint)."


def build_policies() -> list[Policy]:
    policies: list[Policy] = [
        *encryption.POLICIES,
        *access.POLICIES,
        *cost.POLICIES,
        *reliability.POLICIES,
        *monitoring.POLICIES,
    ]
    names = [p.name for p in policies]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"policy names must be unique in a pack: {', '.join(duplicates)}")
    return policies
