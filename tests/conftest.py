"""Shared fixtures for whole-stack tests."""

from functools import cache

import pytest

from preflight.model import StackResult
from preflight.testing import render_stack


@cache
def _rendered(stack: str) -> StackResult:
    return render_stack(stack)


@pytest.fixture(scope="session")
def shipped_stack():
    """`shipped_stack(name)`: the shipped stack rendered offline with its own config, once per test session.
    Read-only: tests must not change the result."""
    return _rendered
