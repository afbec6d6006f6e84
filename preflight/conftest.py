"""Shared test setup for preflight's own tests."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds a virtualenv or downloads a package (minutes, not seconds)")
