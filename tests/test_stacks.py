"""Every shipped stack renders offline, with the cost tags on every taggable resource."""

import pytest

from preflight.project import load_project
from preflight.testing import REPO, render_stack

STACKS = load_project(REPO).stacks()


def test_the_three_environments_are_shipped():
    assert STACKS == ["dev", "prod", "staging"]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_renders_offline(stack):
    result = render_stack(stack)
    assert result.outputs["environment"] == stack
    for record in result.resources:
        if "tagsAll" in record.outputs:
            assert {"CostCenter", "Owner", "Project", "Environment"} <= set(record.outputs["tagsAll"]), record.urn
