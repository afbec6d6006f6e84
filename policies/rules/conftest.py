"""Rule tests render a small pulumi-aws program offline and run the whole pack on it, as `preflight` does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from preflight.policy import evaluate
from preflight.testing import render

PACK = Path(__file__).resolve().parents[1]


def findings(program: Callable[[], Any], policy: str, config: Mapping[str, Any] | None = None) -> list[str]:
    """`<resource name>: <message>` for each violation of `policy` (`stack: ...` for stack-wide ones)."""
    result = render(program)
    return [f"{v.name or 'stack'}: {v.message}" for v in evaluate(result, PACK, config=config) if v.policy == policy]


@pytest.fixture
def check() -> Callable[..., list[str]]:
    return findings
