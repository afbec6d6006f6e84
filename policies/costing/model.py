"""The data a stack's cost is made of: the resources priced (`Item`), each one's bill (`Part`, `Cost`), the stack's
totals (`StackCost`) and what a pricing rule may look at (`Context`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .prices import PriceBook

PRICED, FREE, NOT_PRICED = "priced", "free", "not priced"

Usage = Mapping[str, Mapping[str, Mapping[str, float]]]
"""Usage section (`nodeGroups`, `natGateways`, ...) -> resource logical name -> field -> value."""


@dataclass(frozen=True)
class Item:
    """One resource as the estimator sees it: plain values (unknown values as anything not a number/string)."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    id: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Part:
    """One billed dimension of a resource: its price and the monthly quantity (in the price's unit) per figure."""

    what: str
    price_key: str
    usd: float
    unit: str
    quantity: tuple[float, float, float]
    """(idle, expected, max)."""


@dataclass
class Cost:
    urn: str
    type: str
    name: str
    status: str
    """`priced`, `free` (no charge of its own: the reason says where its cost shows) or `not priced`."""
    idle: float = 0.0
    expected: float = 0.0
    max: float = 0.0
    formula: str = ""
    """How the figures were made (priced) or why there are none (free, not priced)."""
    prices: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "status": self.status,
            "monthlyUsd": {"idle": _cents(self.idle), "expected": _cents(self.expected), "max": _cents(self.max)},
            "formula": self.formula,
            "prices": self.prices,
        }


@dataclass
class StackCost:
    snapshot: str
    regions: list[str]
    resources: list[Cost]

    @property
    def priced(self) -> list[Cost]:
        return [c for c in self.resources if c.status == PRICED]

    @property
    def not_priced(self) -> list[Cost]:
        return [c for c in self.resources if c.status == NOT_PRICED]

    @property
    def idle(self) -> float:
        return sum(c.idle for c in self.priced)

    @property
    def expected(self) -> float:
        return sum(c.expected for c in self.priced)

    @property
    def max(self) -> float:
        return sum(c.max for c in self.priced)

    def totals(self) -> dict[str, float]:
        return {"idle": _cents(self.idle), "expected": _cents(self.expected), "max": _cents(self.max)}


def _cents(value: float) -> float:
    return round(value + 0.0, 2)


class Context:
    """What a pricing rule may look at: prices, usage and the other resources of the stack."""

    def __init__(self, items: list[Item], book: PriceBook, usage: Usage):
        self.items = items
        self.book = book
        self.usage = usage
        self._by_type: dict[str, list[Item]] = {}
        for item in items:
            self._by_type.setdefault(item.type, []).append(item)

    def of_type(self, type_: str) -> list[Item]:
        return self._by_type.get(type_, [])

    def usage_of(self, section: str, item: Item) -> Mapping[str, float]:
        return self.usage.get(section, {}).get(item.name, {})
