"""docs/cost.md's table of the shipped stacks' figures is what preflight computes (regenerate it with
`PYTHONPATH=$PWD .venv/bin/python tests/test_cost_doc.py`)."""

from __future__ import annotations

import re

from infra.config import load
from preflight.cost import stack_cost
from preflight.project import load_project
from preflight.testing import REPO

DOC = REPO / "docs" / "cost.md"
STACKS = ["dev", "staging", "prod"]
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def table(render) -> str:
    lines = [
        "| Stack | Regions | Idle | Expected | Max | Budget | Max / budget |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in STACKS:
        cost = stack_cost(render(name), REPO)
        config = load_project(REPO).stack_config(name)
        budget = load(config.values, stack=name, secret_keys=config.secret_keys).guardrails.budget.monthly_usd
        t = cost["monthlyUsd"]
        lines.append(
            f"| {name} | {', '.join(cost['regions'])} | ${t['idle']:,.2f} | ${t['expected']:,.2f} | ${t['max']:,.2f} "
            f"| ${budget:,.0f} | {t['max'] / budget:.0%} |"
        )
    return "\n".join(lines)


def _section(text: str) -> str:
    match = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.DOTALL)
    assert match, f"{DOC} has no {BEGIN} ... {END} section"
    return match.group(1)


def test_docs_table_matches_the_shipped_stacks(shipped_stack):
    assert _section(DOC.read_text()) == table(shipped_stack)


if __name__ == "__main__":
    from preflight.testing import render_stack

    text = DOC.read_text()
    DOC.write_text(text.replace(_section(text), table(render_stack)))
