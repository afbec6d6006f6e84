"""Stack configuration: one pydantic schema, environment profiles, and a loader with clear errors."""

from infra.config.loader import ConfigError, load, load_from_pulumi
from infra.config.schema import PlatformConfig

__all__ = ["ConfigError", "PlatformConfig", "load", "load_from_pulumi"]
