"""Every shipped stack's cost: ordered figures, everything priced, budgets from one source, a PR's delta."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from infra.config import load
from preflight.cost import stack_cost
from preflight.cost.compare import compare
from preflight.policy import evaluate
from preflight.project import load_project
from preflight.testing import REPO

STACKS = ["dev", "staging", "prod"]


def _settings(name: str):
    config = load_project(REPO).stack_config(name)
    return load(config.values, stack=name, secret_keys=config.secret_keys)


@pytest.mark.parametrize("name", STACKS)
def test_idle_below_expected_at_most_max_and_every_resource_priced_or_free(name, shipped_stack):
    cost = stack_cost(shipped_stack(name), REPO)
    totals = cost["monthlyUsd"]
    assert totals["idle"] < totals["expected"] <= totals["max"]
    assert cost["notPriced"] == []
    assert cost["usageFile"] == f"usage/{name}.yaml"


@pytest.mark.parametrize("name", STACKS)
def test_scale_to_zero_gpu_pools_cost_nothing_idle(name, shipped_stack):
    result = shipped_stack(name)
    cost = {r["name"]: r for r in stack_cost(result, REPO)["resources"]}
    pools = [g for g in result.by_type("aws:eks/nodeGroup:NodeGroup") if g.inputs["scalingConfig"]["minSize"] == 0]
    # Karpenter's GPU NodePools (staging, prod) start at zero by construction.
    pools += result.by_type("kubernetes:karpenter.sh/v1:NodePool")
    assert pools
    for pool in pools:
        assert cost[pool.name]["monthlyUsd"]["idle"] == 0 and cost[pool.name]["monthlyUsd"]["max"] > 0


def _policy_config(name: str) -> dict:
    return json.loads((REPO / "policies" / "config" / f"{name}.json").read_text())


@pytest.mark.parametrize("name", STACKS)
def test_budget_rule_and_budget_alerts_use_the_stacks_guardrails_budget(name, shipped_stack):
    amount = _settings(name).guardrails.budget.monthly_usd
    assert _policy_config(name)["monthly-cost-budget"]["budgetUsd"] == amount
    assert float(shipped_stack(name).one("aws:budgets/budget:Budget").inputs["limitAmount"]) == amount


@pytest.mark.parametrize(("name", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")])
def test_a_max_over_budget_blocks_staging_and_prod_and_advises_in_dev(name, level, shipped_stack):
    config = _policy_config(name)
    config["monthly-cost-budget"] = {**config["monthly-cost-budget"], "budgetUsd": 100}
    found = [
        v for v in evaluate(shipped_stack(name), REPO / "policies", config=config) if v.policy == "monthly-cost-budget"
    ]
    assert [(v.enforcement, v.category) for v in found] == [(level, "cost")]
    assert "over its $100.00 budget" in found[0].message


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_budget_covers_the_configured_maximum_where_the_rule_is_mandatory(name, shipped_stack):
    cost = stack_cost(shipped_stack(name), REPO)
    assert cost["monthlyUsd"]["max"] <= _settings(name).guardrails.budget.monthly_usd
    found = evaluate(shipped_stack(name), REPO / "policies", config=_policy_config(name))
    assert [v.message for v in found if v.policy == "monthly-cost-budget"] == []


def test_comparison_shows_an_added_gpu_pool_with_its_monthly_delta(shipped_stack):
    before = shipped_stack("dev")
    pool = before.one("aws:eks/nodeGroup:NodeGroup", "cluster-gpu-nodes")
    added = replace(
        pool,
        urn=pool.urn.replace("cluster-gpu-nodes", "cluster-gpu-large-nodes"),
        name="cluster-gpu-large-nodes",
        inputs={**copy.deepcopy(pool.inputs), "instanceTypes": ["g5.2xlarge"]},
    )
    after = replace(before, resources=[*before.resources, added], cost=None)
    base = stack_cost(before, REPO)
    comparison = compare(base, stack_cost(after, REPO), "base.json")
    # 2 nodes x 730 h x $1.212 + 2 x 100 GiB x $0.08 gp3 at max; nothing while idle.
    assert comparison["changes"] == [
        {
            "change": "added",
            "urn": added.urn,
            "type": "aws:eks/nodeGroup:NodeGroup",
            "name": "cluster-gpu-large-nodes",
            "monthlyUsdDelta": {"idle": 0.0, "expected": 0.0, "max": 1785.52},
        }
    ]
    assert comparison["monthlyUsdDelta"] == {"idle": 0.0, "expected": 0.0, "max": 1785.52}


def test_comparison_with_a_base_without_the_stack_counts_everything_as_added(shipped_stack):
    cost = stack_cost(shipped_stack("dev"), REPO)
    comparison = compare(None, cost, "base.json")
    assert comparison["monthlyUsdDelta"] == cost["monthlyUsd"]
    assert {c["change"] for c in comparison["changes"]} == {"added"}


def test_comparison_shows_a_resource_that_becomes_not_priced(shipped_stack):
    before = shipped_stack("dev")
    base = stack_cost(before, REPO)
    pool = before.one("aws:eks/nodeGroup:NodeGroup", "cluster-gpu-nodes")
    changed = replace(pool, inputs={**copy.deepcopy(pool.inputs), "instanceTypes": ["x9.large"]})
    after = replace(before, resources=[changed if r is pool else r for r in before.resources], cost=None)
    (change,) = compare(base, stack_cost(after, REPO), "base.json")["changes"]
    assert (change["change"], change["name"], change["note"]) == (
        "changed",
        "cluster-gpu-nodes",
        "priced -> not priced",
    )
    assert change["monthlyUsdDelta"]["max"] == -1484.76
