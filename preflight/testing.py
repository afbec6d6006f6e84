"""Helpers for tests: render a program function, or one of this repository's stacks, offline."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from preflight.engine import run_program, run_stack
from preflight.model import StackResult
from preflight.project import load_project

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = {"aws:region": "us-west-2"}


def _encode(config: Mapping[str, Any]) -> dict[str, str]:
    """Config values as the language host passes them: strings, structured values as JSON text."""
    out = {}
    for key, value in config.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return out


def render(
    program: Callable[[], Any],
    *,
    config: Mapping[str, Any] | None = None,
    stack: str = "dev",
    project: str = "test",
) -> StackResult:
    """Run `program` (a function declaring resources) offline. `config` is the flat `namespace:key` map;
    `aws:region` defaults to us-west-2."""
    return run_program(program, project=project, stack=stack, config=_encode({**DEFAULT_CONFIG, **(config or {})}))


def render_stack(stack: str, overrides: Mapping[str, Any] | None = None) -> StackResult:
    """Render this repository's program for `Pulumi.<stack>.yaml`, with `overrides` laid over its config."""
    return run_stack(load_project(REPO), stack, _encode(overrides or {}))


GOLDEN = REPO / "components" / "golden"
"""Golden files: rendered documents checked in so that a change to one shows in review."""


def assert_golden(name: str, document: Any) -> None:
    """Compare `document` (a JSON-able value, or JSON text) with `components/golden/<name>`, as JSON.

    `UPDATE_GOLDEN=1` rewrites the file instead (review the diff before committing it)."""
    import os

    value = json.loads(document) if isinstance(document, str) else document
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(value, indent=2) + "\n")
    assert value == json.loads(path.read_text()), f"{path} differs; regenerate with UPDATE_GOLDEN=1 and review the diff"
