"""Independent scanners on a rendered stack: checkov, parliament, AWS API values, Kubernetes schemas.

Our own policy pack is only as good as our imagination; these bring checks maintained elsewhere to a Pulumi
program, offline. `run` returns their findings as `Violation`s, to be reported beside the policy pack's.
Which findings block is `checkov-config.yaml` beside this file, with the scanned project's own configuration
(`.preflight/checkov.yaml`, where its accepted findings and their reasons live) on top: see `config.py`.
"""

from __future__ import annotations

from pathlib import Path

from preflight import collector
from preflight.model import StackResult, Violation
from preflight.scanners import aws_values, checkov, iam_lint, k8s
from preflight.scanners.config import DEFAULT_CONFIG, ScannerConfig, ScannerConfigError, load_config, project_config

__all__ = [
    "DEFAULT_CONFIG",
    "PendingScan",
    "ScannerConfig",
    "ScannerConfigError",
    "load_config",
    "project_config",
    "run",
    "scan",
    "start",
]


def _checkov_root(project_dir: Path) -> Path:
    """The repository whose `.venv-checkov` to use: the project's, when it has one, else preflight's own."""
    for candidate in (project_dir, *project_dir.parents):
        if (candidate / checkov.VENV_NAME).exists():
            return candidate
    return checkov.REPO_ROOT


class PendingScan:
    """A stack's scanner findings: the in-process scanners' already, checkov's when its run ends."""

    def __init__(self, found: list[Violation], checkov_scan: checkov.PendingScan | None):
        self._found = found
        self._checkov = checkov_scan
        self._checkov_started = checkov_scan

    def with_unscanned(self, result: StackResult) -> StackResult:
        """`result` with what checkov cannot scan, known as soon as it starts: counted in `unmapped_types`, and a
        warning for each type."""
        return result if self._checkov_started is None else self._checkov_started.with_unscanned(result)

    def violations(self) -> list[Violation]:
        """Wait for checkov (if it ran) and return every finding."""
        if self._checkov is not None:
            self._found = self._found + self._checkov.violations()
            self._checkov = None
        return list(self._found)


@collector.paused()
def start(
    result: StackResult,
    *,
    project_dir: Path,
    config: ScannerConfig | None = None,
    use_checkov: bool = True,
) -> PendingScan:
    """Start every scanner on one stack; checkov keeps running in its own process while the caller goes on
    (to render the next stack, say). Raises `checkov.CheckovUnavailable` when checkov is not installed."""
    config = config or project_config(project_dir)
    pending = checkov.start(result, config, root=_checkov_root(Path(project_dir).resolve())) if use_checkov else None
    found: list[Violation] = []
    found += aws_values.scan(result, config)
    found += iam_lint.scan(result, config)
    found += k8s.schema_violations(result, config)
    return PendingScan(found, pending)


def run(
    result: StackResult,
    *,
    project_dir: Path,
    config: ScannerConfig | None = None,
    use_checkov: bool = True,
) -> list[Violation]:
    """Every scanner on one stack, waiting for all of them."""
    return start(result, project_dir=project_dir, config=config, use_checkov=use_checkov).violations()


def scan(
    result: StackResult,
    *,
    project_dir: Path,
    config: ScannerConfig | None = None,
    use_checkov: bool = True,
) -> StackResult:
    """`result` with every scanner's findings after its violations, and what checkov cannot scan (see `run`)."""
    pending = start(result, project_dir=project_dir, config=config, use_checkov=use_checkov)
    return pending.with_unscanned(result).with_violations(pending.violations())
