"""Fixtures for the tests that prove a setting is declared once: change its one line in a copy of the program and
watch every consumer see it, in a fresh interpreter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

Edits = Mapping[str, Sequence[tuple[str, str]]]
"""Per file (relative to the repository): (old, new) replacements, each `old` found exactly once."""


@pytest.fixture
def edited_program(tmp_path: Path) -> Callable[[Edits], Path]:
    """A copy of the program (its packages and stack files) with `edits` applied; returns the copy's root."""

    def copy(edits: Edits) -> Path:
        for package in ("components", "infra", "preflight"):
            shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "test_*"))
        for stack_file in REPO.glob("Pulumi*.yaml"):
            shutil.copy(stack_file, tmp_path / stack_file.name)
        (tmp_path / ".venv").symlink_to(Path(sys.prefix).resolve())
        for path, changes in edits.items():
            text = (tmp_path / path).read_text()
            for old, new in changes:
                assert text.count(old) == 1, f"{path}: {old.strip()!r} is no longer declared on one line"
                text = text.replace(old, new)
            (tmp_path / path).write_text(text)
        return tmp_path

    return copy


@pytest.fixture
def probe() -> Callable[[Path, str], Any]:
    """Run `script` with `root` as the program (cwd and import path) in a fresh interpreter; its last line of output,
    parsed as JSON."""

    def run(root: Path, script: str) -> Any:
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONPATH": str(root)},
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    return run
