"""Scanner configuration: enforcement per check, and justified skips.

Every finding any scanner reports is a `Violation` whose `policy` is a check id (`CKV_AWS_37`, a parliament
issue such as `UNKNOWN_ACTION`, `aws-api/eks.TaintEffect`, `kubernetes-schema`). The configuration decides, per
id, whether a finding blocks (`mandatory`) or informs (`advisory`), and which findings are accepted on purpose.
A skip must say why: the file does not load otherwise.

Two layers: preflight's defaults (`checkov-config.yaml` beside this file: enforcement only, no skips, since a
skip names one project's resources), and the scanned project's own file on top (`.preflight/checkov.yaml`, or
`[tool.preflight.checkov]` in its `pyproject.toml`, found in the project directory or a parent up to the
repository root; `--scanner-config FILE` instead). The project's entries win; its skips are the only skips.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from preflight.model import ResourceRecord

DEFAULT_CONFIG = Path(__file__).with_name("checkov-config.yaml")
ENFORCEMENTS = ("mandatory", "advisory")
SEVERITIES = ("low", "medium", "high", "critical")
CATEGORIES = ("encryption", "access", "cost", "reliability")
_MIN_REASON = 20
"""A reason shorter than this ("n/a", "false positive") explains nothing to the next reader."""


class ScannerConfigError(Exception):
    """The scanner configuration file is wrong; the message names the file, the entry and what is allowed."""


@dataclass(frozen=True)
class CheckPolicy:
    enforcement: str
    severity: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Skip:
    check: str
    reason: str
    resources: tuple[str, ...] = ()
    """Patterns (fnmatch) on the Pulumi type token, logical name or URN; empty means every resource."""

    def matches(self, check: str, record: ResourceRecord | None) -> bool:
        if check != self.check:
            return False
        if not self.resources:
            return True
        if record is None:
            return False
        return any(
            fnmatch.fnmatchcase(text, pattern)
            for pattern in self.resources
            for text in (record.type, record.name, record.urn)
        )


@dataclass(frozen=True)
class ScannerConfig:
    default_enforcement: str = "advisory"
    checks: Mapping[str, CheckPolicy] = field(default_factory=dict)
    skips: tuple[Skip, ...] = ()
    path: Path | None = None

    def policy(self, check: str) -> CheckPolicy:
        """The check's own entry; else the first pattern (`aws-api/*`) that matches it; else the default."""
        exact = self.checks.get(check)
        if exact is not None:
            return exact
        for pattern, policy in self.checks.items():
            if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(check, pattern):
                return policy
        return CheckPolicy(self.default_enforcement)

    def enforcement(self, check: str) -> str:
        return self.policy(check).enforcement

    def skip_for(self, check: str, record: ResourceRecord | None) -> Skip | None:
        return next((s for s in self.skips if s.matches(check, record)), None)


def _fail(path: Path, where: str, value: Any, allowed: str) -> ScannerConfigError:
    return ScannerConfigError(f"{path.name}: {where} = {value!r}: {allowed}")


def _check_policy(path: Path, where: str, raw: Any) -> CheckPolicy:
    if isinstance(raw, str):
        raw = {"enforcement": raw}
    if not isinstance(raw, dict):
        raise _fail(
            path,
            where,
            raw,
            "must be mandatory, advisory, or a mapping with enforcement (and optionally severity, category)",
        )
    unknown = set(raw) - {"enforcement", "severity", "category"}
    if unknown:
        raise _fail(path, where, raw, f"unknown key(s) {sorted(unknown)}; allowed: enforcement, severity, category")
    enforcement = raw.get("enforcement")
    if enforcement not in ENFORCEMENTS:
        raise _fail(path, f"{where}.enforcement", enforcement, f"must be one of {', '.join(ENFORCEMENTS)}")
    severity = raw.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise _fail(path, f"{where}.severity", severity, f"must be one of {', '.join(SEVERITIES)}")
    category = raw.get("category")
    if category is not None and category not in CATEGORIES:
        raise _fail(path, f"{where}.category", category, f"must be one of {', '.join(CATEGORIES)}")
    return CheckPolicy(enforcement, severity, category)


def parse_config(raw: Any, path: Path = DEFAULT_CONFIG) -> ScannerConfig:
    """Validate a loaded YAML document; raise `ScannerConfigError` naming the file, the entry and what is allowed."""
    if not isinstance(raw, dict):
        raise _fail(path, "<document>", raw, "must be a mapping with default_enforcement, checks, skip")
    unknown = set(raw) - {"default_enforcement", "checks", "skip"}
    if unknown:
        raise _fail(
            path, "<document>", sorted(unknown), "unknown top-level key(s); allowed: default_enforcement, checks, skip"
        )
    default = raw.get("default_enforcement", "advisory")
    if default not in ENFORCEMENTS:
        raise _fail(path, "default_enforcement", default, f"must be one of {', '.join(ENFORCEMENTS)}")
    checks_raw = raw.get("checks") or {}
    if not isinstance(checks_raw, dict):
        raise _fail(path, "checks", checks_raw, "must be a mapping of check id -> enforcement")
    checks = {str(k): _check_policy(path, f"checks.{k}", v) for k, v in checks_raw.items()}

    skips: list[Skip] = []
    skips_raw = raw.get("skip") or []
    if not isinstance(skips_raw, list):
        raise _fail(path, "skip", skips_raw, "must be a list of {check, reason, resources?}")
    for i, entry in enumerate(skips_raw):
        where = f"skip[{i}]"
        if not isinstance(entry, dict) or not entry.get("check"):
            raise _fail(
                path, where, entry, "must be a mapping with `check` (a check id, or a list of them) and `reason`"
            )
        ids = entry["check"] if isinstance(entry["check"], list) else [entry["check"]]
        if not all(isinstance(c, str) and c for c in ids):
            raise _fail(path, f"{where}.check", entry["check"], "must be a check id or a list of check ids")
        where = f"skip[{i}] ({', '.join(ids)})"
        unknown = set(entry) - {"check", "reason", "resources"}
        if unknown:
            raise _fail(path, where, sorted(unknown), "unknown key(s); allowed: check, reason, resources")
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.strip()) < _MIN_REASON:
            raise _fail(
                path,
                f"{where}.reason",
                reason,
                f"every skip needs a written reason (at least {_MIN_REASON} characters) saying why the finding is accepted",
            )
        resources = entry.get("resources") or []
        if isinstance(resources, str):
            resources = [resources]
        if not isinstance(resources, list) or not all(isinstance(r, str) and r for r in resources):
            raise _fail(
                path, f"{where}.resources", resources, "must be a list of patterns on type token, logical name or URN"
            )
        skips += [Skip(check, " ".join(reason.split()), tuple(resources)) for check in ids]
    return ScannerConfig(default_enforcement=default, checks=checks, skips=tuple(skips), path=path)


PROJECT_FILE = Path(".preflight") / "checkov.yaml"
"""The scanned project's scanner configuration, relative to its directory (or a parent up to the repository)."""


def find_project_config(project_dir: Path) -> Path | None:
    """The project's `.preflight/checkov.yaml`, else a `pyproject.toml` with `[tool.preflight.checkov]`; looked
    for in the project directory and its parents, up to the repository root (the directory holding `.git`)."""
    for directory in (project_dir, *project_dir.parents):
        if (directory / PROJECT_FILE).is_file():
            return directory / PROJECT_FILE
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _pyproject_table(pyproject) is not None:
            return pyproject
        if (directory / ".git").exists():
            break
    return None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScannerConfigError(f"{path}: not valid TOML: {exc}") from None
    table = doc.get("tool", {}).get("preflight", {}).get("checkov")
    return table if table is not None else None


def layer(base: ScannerConfig, top: ScannerConfig, *, own_default: bool = True) -> ScannerConfig:
    """`top` (a project's file) over `base` (preflight's defaults): its checks win, its skips are added, and its
    default enforcement applies when it sets one."""
    return ScannerConfig(
        default_enforcement=top.default_enforcement if own_default else base.default_enforcement,
        checks={**base.checks, **top.checks},
        skips=base.skips + top.skips,
        path=top.path,
    )


def project_config(project_dir: Path, override: Path | None = None) -> ScannerConfig:
    """The configuration a project's scan uses: preflight's defaults, with the project's file (or `override`,
    `--scanner-config`) on top. A project without a file gets the defaults alone."""
    base = load_config(DEFAULT_CONFIG)
    path = override if override is not None else find_project_config(Path(project_dir).resolve())
    if path is None:
        return base
    raw = _document(path)
    return layer(base, parse_config(raw, path), own_default=isinstance(raw, dict) and "default_enforcement" in raw)


def _document(path: Path) -> Any:
    """The configuration document in `path`: a YAML file, or the `[tool.preflight.checkov]` table of a pyproject."""
    if path.name == "pyproject.toml":
        if not path.is_file():
            raise ScannerConfigError(f"{path}: scanner configuration not found")
        table = _pyproject_table(path)
        if table is None:
            raise ScannerConfigError(f"{path}: no [tool.preflight.checkov] table")
        return table
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ScannerConfigError(f"{path}: scanner configuration not found") from None
    except yaml.YAMLError as exc:
        raise ScannerConfigError(f"{path.name}: not valid YAML: {str(exc).splitlines()[0]}") from None


def load_config(path: Path = DEFAULT_CONFIG) -> ScannerConfig:
    """One configuration file on its own (preflight's defaults unless given another)."""
    return parse_config(_document(path), path)
