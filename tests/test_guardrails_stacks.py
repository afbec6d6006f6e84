"""Each shipped stack renders its guardrails: a budget at its environment's limit, the CI roles, the personas its
file lists, account baselines only where opted in, and the outputs the guardrails promise."""

import pytest

from infra.config import load
from preflight.model import StackResult
from preflight.project import load_project
from preflight.testing import REPO

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = load_project(REPO).stacks()
BASELINES = (
    "aws:ebs/encryptionByDefault:EncryptionByDefault",
    "aws:ebs/defaultKmsKey:DefaultKmsKey",
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
    "aws:costexplorer/costAllocationTag:CostAllocationTag",
)


@pytest.fixture(params=STACKS)
def stack(request, shipped_stack) -> StackResult:
    return shipped_stack(request.param)


def test_budget_uses_the_environments_limit_and_alerts_to_the_exported_topic(stack):
    budget = stack.one("aws:budgets/budget:Budget")
    assert budget.inputs["name"] == stack.outputs["budgetName"] == f"ml-platform-{stack.stack}-monthly"
    config = load_project(REPO).stack_config(stack.stack)
    settings = load(config.values, stack=stack.stack, secret_keys=config.secret_keys)
    assert float(budget.inputs["limitAmount"]) == settings.guardrails.budget.monthly_usd
    assert [n["subscriberSnsTopicArns"] for n in budget.inputs["notifications"]] == [
        [stack.outputs["budgetAlertTopicArn"]]
    ] * 2
    topic = stack.one("aws:sns/topic:Topic", "guardrails-budget-alerts")
    logs_key = stack.one("aws:kms/key:Key", "platform-logs")
    assert topic.inputs["kmsMasterKeyId"] == logs_key.outputs["arn"]


def test_ci_roles_and_personas_are_exported(stack):
    ci = stack.outputs["ciRoleArns"]
    assert set(ci) == {"preview", "deploy"} and all(arn.startswith("arn:aws:iam::") for arn in ci.values())
    expected = {"dev": {"platform-admin", "ml-engineer", "data-scientist"}}.get(
        stack.stack, {"platform-admin", "ml-engineer", "auditor"}
    )
    assert set(stack.outputs["personaRoleArns"]) == expected


def test_account_baselines_only_in_the_stack_that_opts_in(stack):
    found = [t for t in BASELINES if stack.by_type(t)]
    assert found == (list(BASELINES) if stack.stack == "prod" else [])
