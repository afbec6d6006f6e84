"""Human output: a resource tree grouped by component, like `pulumi preview`, each resource's findings under it
(one line per finding), then the findings about the whole stack and the counts."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.console import Console
from rich.markup import escape

from preflight.cost.report import print_cost
from preflight.model import ResourceRecord, StackResult, Violation

_ENFORCEMENT_STYLE = {"mandatory": "bold red", "advisory": "yellow"}


def _finding(v: Violation) -> str:
    style = _ENFORCEMENT_STYLE.get(v.enforcement, "")
    return f"[{style}]{v.enforcement}[/] {escape(f'[{v.source}]')} {escape(v.policy)}: {escape(v.message)}"


def _ordered(violations: list[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (v.enforcement != "mandatory", v.source, v.policy, v.message))


def _tree_lines(result: StackResult, findings: dict[str, list[Violation]]) -> list[str]:
    children: dict[str | None, list[ResourceRecord]] = defaultdict(list)
    stack = next((r for r in result.resources if r.type == "pulumi:pulumi:Stack"), None)
    for record in result.resources:
        if record is stack:
            continue
        children[record.parent].append(record)

    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for i, record in enumerate(kids):
            last = i == len(kids) - 1
            branch = "└─ " if last else "├─ "
            op = " [cyan]>-[/cyan]  " if record.options.get("read") else " [green]+[/green]   "
            lines.append(f"{op}{prefix}{branch}{escape(record.type):<60} {escape(record.name)}")
            below = prefix + ("   " if last else "│  ")
            rail = "│  " if children.get(record.urn) else "   "
            for v in _ordered(findings.get(record.urn, [])):
                lines.append(f"     {below}{rail}[bold]✗[/bold] {_finding(v)}")
            walk(record.urn, below)

    if stack is not None:
        lines.append(f" [green]+[/green]   {escape(stack.type):<63} {escape(stack.name)}")
        for v in _ordered(findings.get(stack.urn, [])):
            lines.append(f"     [bold]✗[/bold] {_finding(v)}")
    walk(None, "")
    return lines


def print_stack(console: Console, result: StackResult) -> None:
    urns = {r.urn for r in result.resources}
    on_resources: dict[str, list[Violation]] = defaultdict(list)
    for v in result.violations:
        if v.urn in urns:
            on_resources[v.urn].append(v)
    console.print(f"[bold]Previewing stack[/bold] {escape(result.project)}/{escape(result.stack)} (offline)\n")
    console.print(f"     {'Type':<63} Name", style="bold")
    for line in _tree_lines(result, on_resources):
        console.print(line, highlight=False, soft_wrap=True)

    if result.outputs:
        console.print("\n[bold]Outputs:[/bold]")
        for key in sorted(result.outputs):
            console.print(f"    {escape(key)}: {escape(_short(result.outputs[key]))}", highlight=False)

    print_counts(console, result)

    print_cost(console, result)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    print_not_checked(console, result)
    print_violations(console, result)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else ("es" if word.endswith("ss") else "s"))


def count_kinds(records: list[ResourceRecord]) -> dict[str, int]:
    """Records by kind: stack, cloud resources, components, providers. The kinds add up to len(records)."""
    kinds = Counter(
        "stack"
        if r.type == "pulumi:pulumi:Stack"
        else "provider"
        if r.type.startswith("pulumi:providers:")
        else "cloud resource"
        if r.custom
        else "component"
        for r in records
    )
    return {k: kinds[k] for k in ("stack", "cloud resource", "component", "provider") if kinds[k]}


def print_counts(console: Console, result: StackResult) -> None:
    """`+ N to create` and `>- N to read`, each broken down so the parts add up, then cloud resources by type."""
    created = [r for r in result.resources if not r.options.get("read")]
    read = [r for r in result.resources if r.options.get("read")]
    breakdown = ", ".join(_plural(n, k) for k, n in count_kinds(created).items())
    console.print(f"\n[bold]Resources:[/bold]\n    [green]+ {len(created)} to create[/green] ({breakdown})")
    if read:
        by_type = ", ".join(f"{n} {t}" for t, n in sorted(Counter(r.type for r in read).items()))
        console.print(f"    [cyan]>- {len(read)} to read[/cyan] ({escape(by_type)})")
    counts = Counter(r.type for r in created if r.custom and not r.type.startswith("pulumi:providers:"))
    for type_, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        console.print(f"    {count:>4}  {escape(type_)}", highlight=False)


def print_not_checked(console: Console, result: StackResult) -> None:
    """What was not rendered, and what was read, so not checked: said in the counts, never left to look clean."""
    unrendered = [g for g in result.not_checked if g.kind == "unrendered"]
    reads = [g for g in result.not_checked if g.kind == "read"]
    if unrendered:
        console.print(
            f"\n[bold yellow]Not checked: {_plural(len(unrendered), 'component')} not rendered offline; "
            "the resources they create are not in this report[/]"
        )
    for gap in unrendered:
        console.print(f"    {escape(gap.type)} {escape(gap.name or '')}", highlight=False)
    if reads:
        console.print(
            f"\n[bold yellow]Not checked: {_plural(len(reads), 'read')} of existing resources this program does not "
            "manage; no policy pack judges a read (`pulumi preview` neither) and the scanners skip them[/]"
        )
    for gap in reads:
        console.print(f"    {escape(gap.type)} {escape(gap.name or '')}", highlight=False)


def print_violations(console: Console, result: StackResult) -> None:
    """Findings not about a resource of the tree (stack-wide ones), then the counts."""
    if not result.violations:
        console.print("\n[green]No policy violations or scanner findings.[/green]\n")
        return
    urns = {r.urn for r in result.resources}
    elsewhere = [v for v in result.violations if v.urn not in urns]
    if elsewhere:
        console.print("\n[bold]Stack findings:[/bold]")
        for v in _ordered(elsewhere):
            where = f"{escape(v.urn)}: " if v.urn else ""
            console.print(f"    [bold]✗[/bold] {where}{_finding(v)}", highlight=False, soft_wrap=True)
    mandatory = sum(v.enforcement == "mandatory" for v in result.violations)
    advisory = len(result.violations) - mandatory
    by_source = Counter(v.source for v in result.violations)
    sources = ", ".join(f"{n} {s}" for s, n in sorted(by_source.items()))
    style = "bold red" if mandatory else "yellow"
    console.print(f"\n[{style}]Findings: {mandatory} mandatory, {advisory} advisory[/] ({escape(sources)})\n")


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."
