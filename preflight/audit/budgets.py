"""AWS Budgets: the limit, its unit and period, the budget type."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, number


def _read_budget(ctx: Context) -> Any:
    # The provider's id is "<account id>:<budget name>".
    account, _, name = str(ctx.record.id).partition(":")
    found = ctx.call("budgets", "DescribeBudget", missing=("NotFoundException",), AccountId=account, BudgetName=name)
    if found is ABSENT:
        return ABSENT
    budget = found.get("Budget", {})
    limit = budget.get("BudgetLimit") or {}
    return {
        "limitAmount": limit.get("Amount"),
        "limitUnit": limit.get("Unit"),
        "timeUnit": budget.get("TimeUnit"),
        "budgetType": budget.get("BudgetType"),
    }


READERS = (
    Reader(
        "aws:budgets/budget:Budget",
        "budget",
        _read_budget,
        (
            Field("limitAmount", number, category="cost"),
            Field("limitUnit", category="cost"),
            Field("timeUnit", category="cost"),
            Field("budgetType", category="cost"),
        ),
    ),
)
