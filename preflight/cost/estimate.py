"""The estimate of a stack preflight recorded: its resources handed to the pack's estimator with the stack's usage
file, and the breakdown per component (the top-level component each resource belongs to)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.costing.estimate import NOT_PRICED, Cost, Item, StackCost, Usage, estimate
from policies.costing.prices import PriceBook
from preflight.model import UNKNOWN, ResourceRecord, StackResult


def _plain(value: Any) -> Any:
    """Recorded values with unknowns and secrets as None, which the estimator reads as 'not known'."""
    if value is UNKNOWN or value == "[secret]":
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def items(result: StackResult) -> list[Item]:
    """Every custom resource, with its inputs and the region of the provider that manages it."""
    by_urn = result.by_urn()
    found = []
    for record in result.resources:
        if not record.custom or record.type.startswith("pulumi:"):
            continue
        provider = by_urn.get((record.provider or "").rsplit("::", 1)[0])
        region = provider.inputs.get("region") if provider is not None else None
        props = {**_plain(record.outputs), **_plain(record.inputs)}
        found.append(
            Item(record.urn, record.type, record.name, props, record.id, region if isinstance(region, str) else None)
        )
    return found


@dataclass
class Component:
    urn: str | None
    """The top-level component's URN; None for resources declared outside any component."""
    type: str
    name: str
    costs: list[Cost]

    def total(self, figure: str) -> float:
        return sum(getattr(c, figure) for c in self.costs if c.status != NOT_PRICED)


def top_component(record: ResourceRecord, by_urn: Mapping[str, ResourceRecord]) -> ResourceRecord | None:
    """The outermost component in the resource's parent chain (below the stack), or None."""
    top = None
    parent = by_urn.get(record.parent or "")
    while parent is not None and parent.type != "pulumi:pulumi:Stack":
        if not parent.custom:
            top = parent
        parent = by_urn.get(parent.parent or "")
    return top


def components(result: StackResult, cost: StackCost) -> list[Component]:
    """Costs grouped by top-level component, costliest (at max, then expected) first."""
    by_urn = result.by_urn()
    groups: dict[str | None, Component] = {}
    for c in cost.resources:
        top = top_component(by_urn[c.urn], by_urn)
        key = top.urn if top else None
        if key not in groups:
            groups[key] = Component(key, top.type if top else "(stack)", top.name if top else "(no component)", [])
        groups[key].costs.append(c)
    return sorted(groups.values(), key=lambda g: (-g.total("max"), -g.total("expected"), g.name))


def estimate_stack(result: StackResult, usage: Usage | None = None, book: PriceBook | None = None) -> StackCost:
    return estimate(items(result), usage, book)


def cost_json(result: StackResult, cost: StackCost, usage_file: str | None) -> dict[str, Any]:
    """The `cost` member of a stack in the JSON document."""
    return {
        "currency": "USD",
        "snapshot": cost.snapshot,
        "regions": cost.regions,
        "usageFile": usage_file,
        "monthlyUsd": cost.totals(),
        "components": [
            {
                "urn": g.urn,
                "type": g.type,
                "name": g.name,
                "monthlyUsd": {f: round(g.total(f), 2) for f in ("idle", "expected", "max")},
            }
            for g in components(result, cost)
        ],
        "notPriced": [{"urn": c.urn, "type": c.type, "reason": c.formula} for c in cost.not_priced],
        "resources": [c.json() for c in cost.resources],
    }
