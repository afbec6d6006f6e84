"""Every shipped stack passes its own policy config: no mandatory violation (what `pulumi preview
--policy-pack policies --policy-pack-config policies/config/<stack>.json` would enforce)."""

import pytest

from preflight.policy import evaluate
from preflight.project import load_project
from preflight.testing import REPO

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = load_project(REPO).stacks()


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_has_no_mandatory_policy_violation(stack, shipped_stack):
    config = REPO / "policies" / "config" / f"{stack}.json"
    violations = evaluate(shipped_stack(stack), REPO / "policies", config)
    mandatory = [f"{v.policy} {v.name}: {v.message}" for v in violations if v.enforcement == "mandatory"]
    assert mandatory == []
    # Every rule could judge every resource offline: none fell back to "can't run policy ... during preview".
    assert [f"{v.policy} {v.name}" for v in violations if v.message.startswith("can't run policy")] == []


def test_every_shipped_stack_has_a_policy_config():
    assert sorted(p.stem for p in (REPO / "policies" / "config").glob("*.json")) == sorted(STACKS)


ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"


def serverless_gaps(result) -> list[tuple[str, str, str]]:
    """What the pack must report for each serverless endpoint: no data capture on its configuration, neither
    network isolation nor a VPC on its model (AWS supports none of them for serverless)."""
    gaps = []
    for config in result.by_type(ENDPOINT_CONFIG):
        variants = config.inputs["productionVariants"]
        if not all("serverlessConfig" in v for v in variants):
            continue
        (model,) = [m for m in result.by_type(MODEL) if m.parent == config.parent]
        gaps += [("sagemaker-data-capture", config.name), ("sagemaker-model-network-isolation", model.name)]
        gaps += [("sagemaker-model-network-isolation", model.name)]  # isolation off, and no vpcConfig
    return sorted(gaps)


@pytest.mark.parametrize("stack", STACKS)
def test_serving_findings_are_exactly_the_serverless_gaps_and_advisory(stack, shipped_stack):
    result = shipped_stack(stack)
    config = REPO / "policies" / "config" / f"{stack}.json"
    types = {r.urn: r.type for r in result.resources}
    serving = [
        v
        for v in evaluate(result, REPO / "policies", config)
        if types.get(v.urn or "", "").startswith("aws:sagemaker/")
    ]
    assert sorted((v.policy, v.name) for v in serving) == serverless_gaps(result)
    assert {v.enforcement for v in serving} <= {"advisory"}


def test_dev_serves_serverless_and_the_other_stacks_do_not(shipped_stack):
    # What the test above proves depends on it: dev has gaps to report, staging and prod must have none.
    assert {stack: bool(serverless_gaps(shipped_stack(stack))) for stack in STACKS} == {
        stack: stack == "dev" for stack in STACKS
    }
