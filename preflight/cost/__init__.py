"""Monthly cost of a stack before it is deployed (see docs/cost.md).

The estimator itself (price snapshot, pricing rules per resource type, the stack's idle/expected/max) ships inside
the policy pack, `policies/costing/`, because the `monthly-cost-budget` rule runs it under the Pulumi CLI where
only the pack is importable. This package adds what only preflight does: usage files (`usage.py`), the estimate of
a recorded stack with its per-component breakdown (`estimate.py`), the comparison with a previous JSON document
(`compare.py`), the reports (`report.py`) and `refresh-prices` (`refresh.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.cost import usage as _usage
from preflight.cost.compare import CompareError, compare, load_base
from preflight.cost.estimate import cost_json, estimate_stack
from preflight.cost.usage import UsageError
from preflight.model import StackResult

__all__ = ["CompareError", "UsageError", "load_base", "stack_cost"]


def stack_cost(
    result: StackResult,
    project_dir: Path,
    base: dict[tuple[str, str], dict[str, Any]] | None = None,
    base_origin: Path | None = None,
) -> dict[str, Any]:
    """The stack's `cost` member: its estimate with `usage/<stack>.yaml`, compared with `base` when given.
    Raises `UsageError` (one line per problem) for a bad usage file."""
    usage, origin = _usage.load(project_dir, result.stack)
    if origin is not None:
        problems = _usage.unmatched(usage, result, origin)
        if problems:
            raise UsageError(problems)
    document = cost_json(result, estimate_stack(result, usage.sections()), origin)
    if base is not None:
        document["comparison"] = compare(base.get((result.project, result.stack)), document, str(base_origin))
    return document
