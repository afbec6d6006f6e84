"""Findings as a pull-request summary in Markdown: `--markdown FILE`.

Per stack: how many mandatory and advisory findings, then the mandatory ones in full and the advisory ones
folded away, and what preflight could not check offline. Short enough to paste as a PR comment.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from preflight.cost.report import cost_markdown
from preflight.model import StackResult, Violation

_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _cell(text: str | None) -> str:
    """Table-safe text: pipes escaped, line breaks flattened."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _resource(v: Violation) -> str:
    if not v.urn:
        return "(stack)"
    type_ = v.urn.split("::")[2].rsplit("$", 1)[-1]
    return f"`{_cell(v.name or v.urn.rsplit('::', 1)[-1])}` ({_cell(type_)})"


def _table(violations: list[Violation]) -> list[str]:
    lines = ["| Severity | Source | Check | Resource | Finding |", "| --- | --- | --- | --- | --- |"]
    for v in sorted(violations, key=lambda v: (_ORDER.get(v.severity, 9), v.source, v.policy, v.name or "")):
        finding = _cell(v.message) + (f" _Fix:_ {_cell(v.remediation)}" if v.remediation else "")
        lines.append(f"| {v.severity} | {v.source} | `{_cell(v.policy)}` | {_resource(v)} | {finding} |")
    return lines


def render_markdown(results: list[StackResult]) -> str:
    lines = ["# preflight", ""]
    lines += ["| Stack | Mandatory | Advisory | Resources |", "| --- | ---: | ---: | ---: |"]
    for r in results:
        counts = Counter(v.enforcement for v in r.violations)
        resources = sum(1 for x in r.resources if x.custom and not x.type.startswith("pulumi:providers:"))
        lines.append(
            f"| {_cell(r.project)}/{_cell(r.stack)} | {counts['mandatory']} | {counts['advisory']} | {resources} |"
        )
    for r in results:
        mandatory = [v for v in r.violations if v.enforcement == "mandatory"]
        advisory = [v for v in r.violations if v.enforcement != "mandatory"]
        verdict = (
            (
                "1 mandatory finding blocks this change"
                if len(mandatory) == 1
                else f"{len(mandatory)} mandatory findings block this change"
            )
            if mandatory
            else "no mandatory findings"
        )
        lines += ["", f"## {r.project}/{r.stack}: {verdict}"]
        lines += cost_markdown(r)
        if mandatory:
            lines += ["", "### Mandatory", "", *_table(mandatory)]
        if advisory:
            by_source = ", ".join(f"{n} {s}" for s, n in sorted(Counter(v.source for v in advisory).items()))
            lines += [
                "",
                f"<details><summary>Advisory: {len(advisory)} ({by_source})</summary>",
                "",
                *_table(advisory),
                "",
                "</details>",
            ]
        unrendered = [g for g in r.not_checked if g.kind == "unrendered"]
        reads = [g for g in r.not_checked if g.kind == "read"]
        if unrendered:
            lines += ["", f"**Not rendered, so not checked: {len(unrendered)} component(s)**", ""]
            lines += [f"- `{_cell(g.type)}` `{_cell(g.name)}`: {_cell(g.reason)}" for g in unrendered]
        if reads:
            lines += [
                "",
                f"**Read, not managed, so not judged by the policy packs nor scanned: {len(reads)} resource(s)**",
                "",
            ]
            lines += [f"- `{_cell(g.type)}` `{_cell(g.name)}`" for g in reads]
        if r.warnings:
            lines += ["", f"<details><summary>Not checked offline: {len(r.warnings)}</summary>", ""]
            lines += [f"- {_cell(w)}" for w in r.warnings]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def write_markdown(results: list[StackResult], path: Path | str) -> Path:
    out = Path(path)
    if out.parent != Path("."):
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(results), encoding="utf-8")
    return out
