"""Every shipped stack passes its own policy config: no mandatory violation (what `pulumi preview
--policy-pack policies --policy-pack-config policies/config/<stack>.json` would enforce)."""

import pytest

from preflight.policy import evaluate
from preflight.project import load_project
from preflight.testing import REPO, render_stack

STACKS = load_project(REPO).stacks()


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_has_no_mandatory_policy_violation(stack):
    config = REPO / "policies" / "config" / f"{stack}.json"
    violations = evaluate(render_stack(stack), REPO / "policies", config)
    mandatory = [f"{v.policy} {v.name}: {v.message}" for v in violations if v.enforcement == "mandatory"]
    assert mandatory == []
    # Every rule could judge every resource offline: none fell back to "can't run policy ... during preview".
    assert [f"{v.policy} {v.name}" for v in violations if v.message.startswith("can't run policy")] == []


def test_every_shipped_stack_has_a_policy_config():
    assert sorted(p.stem for p in (REPO / "policies" / "config").glob("*.json")) == sorted(STACKS)
