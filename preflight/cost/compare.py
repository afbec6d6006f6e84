"""`--compare BASE.json`: the cost of each stack against a previous `--json` document: resources added, removed
or changed, each with its monthly delta, and the stack's totals before and after. Resources with no charge of
their own are left out unless their status changed; a not-priced one is always shown (its cost is unknown)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIGURES = ("idle", "expected", "max")
NOT_PRICED = "not priced"


class CompareError(Exception):
    """A base document that cannot be compared with: one line naming the file and what is wrong."""


def load_base(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(project, stack) -> that stack's `cost` member in the base document."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CompareError(f"{path}: cannot read the base document: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CompareError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}); give a `python -m preflight --json` document"
        ) from None
    stacks = document.get("stacks") if isinstance(document, dict) else None
    if not isinstance(stacks, list):
        raise CompareError(f"{path}: stacks: missing; give a `python -m preflight --json` document")
    base: dict[tuple[str, str], dict[str, Any]] = {}
    for stack in stacks:
        if isinstance(stack, dict) and isinstance(stack.get("cost"), dict):
            base[(str(stack.get("project")), str(stack.get("stack")))] = stack["cost"]
    return base


def _status(resource: dict[str, Any] | None) -> str:
    return "absent" if resource is None else str(resource.get("status"))


def _figures(resource: dict[str, Any] | None) -> dict[str, float]:
    if resource is None or resource.get("status") == NOT_PRICED:
        return dict.fromkeys(FIGURES, 0.0)
    return {f: float(resource["monthlyUsd"][f]) for f in FIGURES}


def compare(base: dict[str, Any] | None, current: dict[str, Any], origin: str) -> dict[str, Any]:
    """The `comparison` member of a stack's cost: what changed against `base` (None: the stack is new)."""
    before = {r["urn"]: r for r in (base or {}).get("resources", [])}
    after = {r["urn"]: r for r in current["resources"]}
    changes = []
    for urn in sorted(before.keys() | after.keys()):
        old, new = before.get(urn), after.get(urn)
        was, now = _figures(old), _figures(new)
        delta = {f: round(now[f] - was[f], 2) for f in FIGURES}
        status_changed = old is not None and new is not None and old.get("status") != new.get("status")
        if not any(delta.values()) and not status_changed and NOT_PRICED not in {_status(old), _status(new)}:
            continue  # unchanged, or a resource with no charge of its own added or removed
        change = "added" if old is None else "removed" if new is None else "changed"
        ref = new or old
        assert ref is not None
        entry = {"change": change, "urn": urn, "type": ref["type"], "name": ref["name"], "monthlyUsdDelta": delta}
        if status_changed or NOT_PRICED in {_status(old), _status(new)}:
            entry["note"] = f"{_status(old)} -> {_status(new)}"
        changes.append(entry)
    changes.sort(key=lambda c: (-abs(c["monthlyUsdDelta"]["max"]), -abs(c["monthlyUsdDelta"]["expected"]), c["urn"]))
    totals_before = (base or {}).get("monthlyUsd") or dict.fromkeys(FIGURES, 0.0)
    return {
        "base": origin,
        "baseHasStack": base is not None,
        "monthlyUsdBefore": totals_before,
        "monthlyUsdDelta": {f: round(current["monthlyUsd"][f] - float(totals_before[f]), 2) for f in FIGURES},
        "changes": changes,
    }
