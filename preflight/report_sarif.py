"""Findings as SARIF 2.1.0, the format GitHub code scanning reads: `--sarif FILE`.

One run for every stack (code scanning refuses several runs of one tool and category in one upload); one rule
per check id; one result per finding, with the resource's URN as its logical location and, as its physical
location, where a reviewer can act on it: the line the program declared the resource (when the SDK reported it),
else the component class that creates it, else the stack's config file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from preflight.model import ResourceRecord, StackResult, Violation

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
_LEVEL = {"mandatory": "error", "advisory": "warning"}
_SKIP_DIRS = {".venv", ".venv-checkov", ".git", "node_modules", "__pycache__", "build", "out"}


def _tool_version() -> str:
    try:
        return metadata.version("ml-platform")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@cache
def _python_files(root: Path) -> tuple[Path, ...]:
    return tuple(
        sorted(
            p
            for p in root.rglob("*.py")
            if not (set(p.relative_to(root).parts[:-1]) & _SKIP_DIRS) and not p.name.startswith("test_")
        )
    )


@cache
def _declaration(root: Path, type_token: str) -> tuple[str, int] | None:
    """Where a component type is declared in the project's sources: the line holding its type token."""
    needle = re.compile(r"""["']""" + re.escape(type_token) + r"""["']""")
    for path in _python_files(root):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(lines, start=1):
            if needle.search(line):
                return path.relative_to(root).as_posix(), number
    return None


def _relative(uri: str, root: Path) -> str:
    path = Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _stack_file(root: Path, stack: str) -> str:
    for suffix in ("yaml", "yml"):
        if (root / f"Pulumi.{stack}.{suffix}").exists():
            return f"Pulumi.{stack}.{suffix}"
    return f"Pulumi.{stack}.yaml"


def location(result: StackResult, violation: Violation, root: Path) -> tuple[str, int]:
    """(path relative to the project, line) where a reviewer can act on a finding."""
    by_urn = result.by_urn()
    record: ResourceRecord | None = by_urn.get(violation.urn or "")
    while record is not None:
        if record.source is not None and record.source.uri:
            return _relative(record.source.uri, root), max(record.source.line, 1)
        if not record.custom:
            found = _declaration(root, record.type)
            if found:
                return found
        record = by_urn.get(record.parent or "")
    return _stack_file(root, result.stack), 1


def _rule_ids(violations: Iterable[Violation]) -> dict[tuple[str, str], str]:
    """(source, policy) -> rule id: the policy id, prefixed with its source only where two sources share it."""
    pairs = sorted({(v.source, v.policy) for v in violations})
    sources_of: dict[str, set[str]] = {}
    for source, policy in pairs:
        sources_of.setdefault(policy, set()).add(source)
    return {(s, p): (p if len(sources_of[p]) == 1 else f"{s}/{p}") for s, p in pairs}


def _short_description(v: Violation) -> str:
    if v.source == "checkov":
        return v.message.split(" (checkov looked at:", 1)[0]
    if v.source == "parliament":
        return f"IAM policy: {v.policy.split('/', 1)[-1].replace('_', ' ').lower()}"
    if v.source == "aws-api":
        return f"Value the AWS API accepts ({v.policy.split('/', 1)[-1]})"
    if v.source == "kubernetes-schema":
        return "Kubernetes object matches the API schema of its cluster's version"
    return v.policy


def build_sarif(results: list[StackResult], *, project_dir: Path | None = None) -> dict[str, Any]:
    """The SARIF log for the findings of some stacks (of one project)."""
    root = (project_dir or Path.cwd()).resolve()
    everything = [(r, v) for r in results for v in r.violations]
    ids = _rule_ids(v for _, v in everything)

    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for (source, policy), rule_id in sorted(ids.items(), key=lambda kv: kv[1]):
        example = next(v for _, v in everything if (v.source, v.policy) == (source, policy))
        index[rule_id] = len(rules)
        rules.append(
            {
                "id": rule_id,
                "shortDescription": {"text": _short_description(example)},
                "defaultConfiguration": {"level": _LEVEL.get(example.enforcement, "warning")},
                "properties": {
                    "source": source,
                    "category": example.category,
                    "enforcement": example.enforcement,
                    "tags": sorted({source, example.category}),
                },
            }
        )

    sarif_results: list[dict[str, Any]] = []
    for result, v in everything:
        rule_id = ids[(v.source, v.policy)]
        uri, line = location(result, v, root)
        text = f"[{result.stack}] {v.message}" + (f" Remediation: {v.remediation}" if v.remediation else "")
        entry: dict[str, Any] = {
            "ruleId": rule_id,
            "ruleIndex": index[rule_id],
            "level": _LEVEL.get(v.enforcement, "warning"),
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri, "uriBaseId": SRCROOT},
                        "region": {"startLine": line},
                    },
                    **(
                        {
                            "logicalLocations": [
                                {
                                    "name": v.name or v.urn.rsplit("::", 1)[-1],
                                    "fullyQualifiedName": v.urn,
                                    "kind": "resource",
                                }
                            ]
                        }
                        if v.urn
                        else {}
                    ),
                }
            ],
            # Stable across runs so code scanning tracks a finding instead of opening a new alert each time.
            "partialFingerprints": {
                "preflightFinding/v1": hashlib.sha256(
                    f"{result.project}|{result.stack}|{v.urn}|{rule_id}|{v.message}".encode()
                ).hexdigest()
            },
            "properties": {
                "project": result.project,
                "stack": result.stack,
                "urn": v.urn,
                "source": v.source,
                "severity": v.severity,
                "category": v.category,
                "enforcement": v.enforcement,
            },
        }
        sarif_results.append(entry)

    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": "preflight", "version": _tool_version(), "rules": rules}},
                "automationDetails": {"id": "preflight/"},
                "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri() + "/"}},
                "results": sarif_results,
                "properties": {"stacks": [f"{r.project}/{r.stack}" for r in results]},
            }
        ],
    }


def write_sarif(results: list[StackResult], path: Path | str, *, project_dir: Path | None = None) -> Path:
    """Write the SARIF log for `results` to `path`; locations are relative to `project_dir` (default: cwd)."""
    out = Path(path)
    if out.parent != Path("."):
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build_sarif(results, project_dir=project_dir), indent=2) + "\n", encoding="utf-8")
    return out
