"""The stack-config error every section and the loader raise, and the project's config namespace."""

from __future__ import annotations

import pulumi

NAMESPACE = "ml-platform"
"""The project's config namespace: stack-file keys are `ml-platform:<section>`."""


class ConfigError(pulumi.RunError):
    """Bad stack config. A `RunError`, so the Pulumi CLI prints the lines without a traceback."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems
