"""Shared fixtures for whole-stack tests."""

from functools import cache

import pytest

from preflight.model import StackResult, Violation
from preflight.scanners import run
from preflight.testing import REPO, render_stack


@cache
def _rendered(stack: str) -> StackResult:
    return render_stack(stack)


@pytest.fixture(scope="session")
def shipped_stack():
    """`shipped_stack(name)`: the shipped stack rendered offline with its own config, once per test session.
    Shared safely: a StackResult cannot be changed, so no test sees what another did with it."""
    return _rendered


@cache
def _scanned(stack: str) -> tuple[StackResult, tuple[Violation, ...]]:
    result = _rendered(stack)
    return result, tuple(run(result, project_dir=REPO))


@pytest.fixture(scope="session")
def scanned_stack():
    """`scanned_stack(name)`: (the rendered stack, every scanner's findings on it), scanned once per test session
    whichever tests read it: checkov alone takes seconds per stack."""
    return _scanned
