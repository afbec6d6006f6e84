"""A stack's monthly cost from its resources: per resource (priced, free or not priced) and the stack's
`idle`, `expected` and `max` figures.

- `idle`: what runs when nobody uses the platform: pools at their minimum, serverless and request-priced
  services at zero traffic; stored data (S3, log and image storage from the usage file) still counts.
- `expected`: desired sizes, plus the traffic and storage of the usage file.
- `max`: every pool and endpoint at its configured maximum (the exposure the budget must cover), with the usage
  file's traffic.

Input is plain data (`Item`), so the policy pack (from `PolicyResource`s) and preflight (from its recorded
graph) price the same stack the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .model import FREE, NOT_PRICED, PRICED, Context, Cost, Item, Part, StackCost, Usage
from .prices import PriceBook, load
from .rules import price

__all__ = ["FREE", "NOT_PRICED", "PRICED", "Cost", "Item", "Part", "StackCost", "Usage", "estimate"]


def estimate(items: Iterable[Item], usage: Usage | None = None, book: PriceBook | None = None) -> StackCost:
    """Price every resource of a stack. `items`: its custom resources (components are not billed); providers and
    the stack itself are skipped."""
    resources = [_own_region(i) for i in items if not i.type.startswith("pulumi:")]
    # Kubernetes objects (a Karpenter NodePool) launch nodes in their cluster's region.
    clusters = {i.region for i in resources if i.type == "aws:eks/cluster:Cluster" and i.region}
    if len(clusters) == 1:
        (region,) = clusters
        resources = [
            replace(i, region=region) if i.region is None and i.type.startswith("kubernetes:") else i for i in resources
        ]
    book = book or load()
    context = Context(resources, book, usage or {})
    costs = [price(item, context) for item in resources]
    regions = sorted({i.region for i in resources if i.region})
    return StackCost(snapshot=book.snapshot, regions=regions, resources=costs)


def _own_region(item: Item) -> Item:
    """pulumi-aws v7 resources may take a `region` of their own, which wins over their provider's."""
    region = item.props.get("region")
    return replace(item, region=region) if isinstance(region, str) and region else item
