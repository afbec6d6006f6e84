"""The base every stack-file setting is declared on: camelCase keys, unknown keys rejected, frozen values.

A setting is declared once — type, default, description, validation — on a `Section` subclass. The stack file is
validated against it (`infra/config`), and the component that uses the setting takes the same model, so a default
or a rule never has a second copy. Values known only at deployment (ARNs, subnet ids, Outputs) are not settings:
components take them as separate arguments.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Section(BaseModel):
    """Base of every `ml-platform:*` config section.

    Keys are camelCase in the stack file (`azCount`), snake_case in Python (`az_count`).
    Unknown keys are errors (with a did-you-mean), never silently ignored.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=True,
        # The docstring under each field is its description: the settings table in docs/settings.md is built from it.
        use_attribute_docstrings=True,
    )


class FieldError(ValueError):
    """Raise from a model-level validator to blame one key, with its value, instead of the whole section.

    `key` is relative to the section being validated, dotted for nesting (`"natStrategy"`, `"pools.0.maxSize"`).
    """

    def __init__(self, key: str, value: Any, message: str):
        super().__init__(message)
        self.key = key
        self.value = value
        self.message = message


def days_between(value: int, low: int, high: int, what: str) -> int:
    """`value` if within `low`-`high` days; else ValueError saying the range and what the days are for."""
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high} days ({what})")
    return value
