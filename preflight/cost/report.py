"""The cost of a stack for people: a table per component under the resource tree, a Markdown section for the
pull-request summary, and the comparison with a base document. Everything reads the stack's `cost` JSON member,
so what is printed is what `--json` documents."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from preflight.model import StackResult

FIGURES = ("idle", "expected", "max")


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _delta(value: float) -> str:
    return f"{'+' if value > 0 else '-' if value < 0 else '±'}${abs(value):,.2f}"


def print_cost(console: Console, result: StackResult) -> None:
    cost = result.cost
    if cost is None:
        return
    totals = cost["monthlyUsd"]
    usage = cost["usageFile"] or "no usage file: traffic and storage at 0"
    console.print(
        f"\n[bold]Monthly cost[/bold] (USD, on-demand prices of {escape(cost['snapshot'])}, "
        f"{escape(', '.join(cost['regions']) or 'no region')}; {escape(usage)}):"
    )
    console.print(f"    {'Component':<48} {'idle':>12} {'expected':>12} {'max':>12}", style="bold", highlight=False)
    for group in cost["components"]:
        figures = group["monthlyUsd"]
        if not any(figures.values()):
            continue
        label = f"{group['name']} ({group['type'].rsplit(':', 1)[-1]})" if group["urn"] else group["name"]
        console.print(
            f"    {escape(label):<48} " + " ".join(f"{_usd(figures[f]):>12}" for f in FIGURES), highlight=False
        )
    console.print(
        f"    {'[bold]Total[/bold]':<61} " + " ".join(f"{_usd(totals[f]):>12}" for f in FIGURES), highlight=False
    )
    for item in cost["notPriced"]:
        name = item["urn"].rsplit("::", 1)[-1]
        console.print(
            f"    [yellow]not priced:[/yellow] {escape(name)} ({escape(item['type'])}): {escape(item['reason'])}",
            highlight=False,
        )
    comparison = cost.get("comparison")
    if comparison:
        print_comparison(console, comparison)


def print_comparison(console: Console, comparison: dict[str, Any]) -> None:
    delta = comparison["monthlyUsdDelta"]
    shown = ", ".join(f"{f} {_delta(delta[f])}" for f in FIGURES)
    console.print(f"\n[bold]Cost change against {escape(comparison['base'])}:[/bold] {shown}", highlight=False)
    if not comparison["baseHasStack"]:
        console.print("    (the base document has no cost for this stack: every resource counts as added)")
    for change in comparison["changes"]:
        d = change["monthlyUsdDelta"]
        note = f" [{change['note']}]" if change.get("note") else ""
        console.print(
            f"    {change['change']:<8} {escape(change['name'])} ({escape(change['type'])}): "
            + ", ".join(f"{f} {_delta(d[f])}" for f in FIGURES)
            + escape(note),
            highlight=False,
        )


def cost_markdown(result: StackResult) -> list[str]:
    """The stack's cost section for `--markdown` (empty when cost was not estimated)."""
    cost = result.cost
    if cost is None:
        return []
    totals = cost["monthlyUsd"]
    lines = [
        "",
        f"### Monthly cost: idle {_usd(totals['idle'])}, expected {_usd(totals['expected'])}, max {_usd(totals['max'])}",
    ]
    comparison = cost.get("comparison")
    if comparison:
        delta = comparison["monthlyUsdDelta"]
        lines += ["", "Change against the base: " + ", ".join(f"{f} **{_delta(delta[f])}**" for f in FIGURES)]
        if comparison["changes"]:
            lines += ["", "| Change | Resource | Idle | Expected | Max |", "| --- | --- | ---: | ---: | ---: |"]
            for change in comparison["changes"]:
                d = change["monthlyUsdDelta"]
                lines.append(
                    f"| {change['change']} | `{change['name']}` ({change['type']}) | "
                    + " | ".join(_delta(d[f]) for f in FIGURES)
                    + " |"
                )
    lines += ["", "| Component | Idle | Expected | Max |", "| --- | ---: | ---: | ---: |"]
    for group in cost["components"]:
        figures = group["monthlyUsd"]
        if any(figures.values()):
            lines.append(f"| {group['name']} | " + " | ".join(_usd(figures[f]) for f in FIGURES) + " |")
    lines.append("| **Total** | " + " | ".join(f"**{_usd(totals[f])}**" for f in FIGURES) + " |")
    if cost["notPriced"]:
        lines += [
            "",
            f"Not priced ({len(cost['notPriced'])}): "
            + "; ".join(f"`{i['urn'].rsplit('::', 1)[-1]}` ({i['type']}): {i['reason']}" for i in cost["notPriced"]),
        ]
    return lines
