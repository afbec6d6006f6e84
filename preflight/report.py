"""Human output: a resource tree grouped by component, like `pulumi preview`, then the findings."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.console import Console
from rich.markup import escape

from preflight.model import ResourceRecord, StackResult, Violation

_ENFORCEMENT_STYLE = {"mandatory": "bold red", "advisory": "yellow"}


def _tree_lines(result: StackResult, marks: dict[str, str]) -> list[str]:
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
            mark = marks.get(record.urn, "")
            lines.append(f" [green]+[/green]   {prefix}{branch}{escape(record.type):<60} {escape(record.name)}{mark}")
            walk(record.urn, prefix + ("   " if last else "│  "))

    if stack is not None:
        lines.append(f" [green]+[/green]   {escape(stack.type):<63} {escape(stack.name)}")
    walk(None, "")
    return lines


def print_stack(console: Console, result: StackResult) -> None:
    by_urn: dict[str, list[Violation]] = defaultdict(list)
    for v in result.violations:
        by_urn[v.urn or ""].append(v)
    marks = {
        urn: f"  [{_ENFORCEMENT_STYLE.get(vs[0].enforcement, '')}]{len(vs)} finding{'s' if len(vs) > 1 else ''}[/]"
        for urn, vs in by_urn.items()
        if urn
    }
    console.print(f"[bold]Previewing stack[/bold] {escape(result.project)}/{escape(result.stack)} (offline)\n")
    console.print(f"     {'Type':<63} Name", style="bold")
    for line in _tree_lines(result, marks):
        console.print(line, highlight=False, soft_wrap=True)

    if result.outputs:
        console.print("\n[bold]Outputs:[/bold]")
        for key in sorted(result.outputs):
            console.print(f"    {escape(key)}: {escape(_short(result.outputs[key]))}", highlight=False)

    resources = [r for r in result.resources if r.type != "pulumi:pulumi:Stack"]
    custom = [r for r in resources if r.custom and not r.type.startswith("pulumi:providers:")]
    console.print(f"\n[bold]Resources:[/bold]\n    [green]+ {len(resources) + 1} to create[/green] "
                  f"({len(custom)} cloud resources, {len(resources) - len(custom)} components and providers)")
    counts = Counter(r.type for r in custom)
    for type_, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        console.print(f"    {count:>4}  {escape(type_)}", highlight=False)

    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    print_violations(console, result)


def print_violations(console: Console, result: StackResult) -> None:
    if not result.violations:
        console.print("\n[green]No policy violations or scanner findings.[/green]\n")
        return
    names = {r.urn: r for r in result.resources}
    console.print("\n[bold]Findings:[/bold]")
    for v in sorted(result.violations, key=lambda v: (v.enforcement != "mandatory", v.source, v.policy, v.urn or "")):
        record = names.get(v.urn or "")
        where = f"{record.type} ({record.name})" if record else (v.urn or "stack")
        style = _ENFORCEMENT_STYLE.get(v.enforcement, "")
        console.print(
            f"    [{style}]{v.enforcement:<9}[/] [{escape(v.source)}] {escape(v.policy)}  {escape(where)}: {escape(v.message)}",
            highlight=False,
            soft_wrap=True,
        )
    mandatory = sum(v.enforcement == "mandatory" for v in result.violations)
    console.print(f"\n    {mandatory} mandatory, {len(result.violations) - mandatory} advisory\n")


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."
