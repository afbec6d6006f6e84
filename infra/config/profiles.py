"""Environment-dependent defaults, in one place.

A stack's effective config is its profile below, deep-merged with what `Pulumi.<stack>.yaml` sets (the stack file
wins; lists are replaced, not merged). Keys are spelled as in the stack file (camelCase), so a default and an
override read the same. Each section's schema is in `infra/config/<section>.py`.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        # Destroyable: no protect, buckets may be force-destroyed, keys may have a short deletion window.
        "protectStatefulResources": False,
        "network": {},
        "storage": {},
        "cluster": {},
        "endpoints": {},
        "guardrails": {},
    },
    "staging": {
        "protectStatefulResources": True,
        "network": {},
        "storage": {},
        "cluster": {},
        "endpoints": {},
        "guardrails": {},
    },
    "prod": {
        "protectStatefulResources": True,
        "network": {},
        "storage": {},
        "cluster": {},
        "endpoints": {},
        "guardrails": {},
    },
}


def merge(base: Any, override: Any) -> Any:
    """Deep-merge `override` onto `base`: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = deepcopy(base)
        for key, value in override.items():
            out[key] = merge(base.get(key), value) if key in base else deepcopy(value)
        return out
    return deepcopy(override)


def with_profile(environment: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The stack's settings laid over its environment's profile."""
    return merge(PROFILES.get(environment, {}), settings)
