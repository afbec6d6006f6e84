"""Every shipped stack renders offline, with the cost tags on every taggable resource."""

import importlib
from functools import cache

import pytest

from preflight.project import load_project
from preflight.testing import REPO

STACKS = load_project(REPO).stacks()
COST_TAGS = {"CostCenter", "Owner", "Project", "Environment"}


@cache
def taggable(type_token: str) -> bool:
    """Whether the AWS provider's resource has `tagsAll` (its SDK class has `tags_all`), e.g. `aws:s3/bucket:Bucket`.
    A token the SDK does not resolve raises: a resource the test cannot judge must not pass unseen."""
    module, class_name = type_token.split(":")[1].split("/")[0], type_token.rsplit(":", 1)[1]
    return hasattr(getattr(importlib.import_module(f"pulumi_aws.{module}"), class_name), "tags_all")


def test_the_three_environments_are_shipped():
    assert STACKS == ["dev", "prod", "staging"]


def test_taggable_is_read_from_the_provider_sdk():
    assert taggable("aws:s3/bucket:Bucket") and taggable("aws:kms/key:Key")
    assert not taggable("aws:iam/rolePolicy:RolePolicy")


@pytest.mark.slow
@pytest.mark.parametrize("stack", STACKS)
def test_stack_renders_offline_with_cost_tags_on_every_taggable_resource(stack, shipped_stack):
    result = shipped_stack(stack)
    assert result.outputs["environment"] == stack
    resources = [r for r in result.resources if r.custom and r.type.startswith("aws:") and taggable(r.type)]
    assert len(resources) >= 50, f"{stack}: only {len(resources)} taggable resources rendered"
    assert [r.urn for r in resources if not COST_TAGS <= set(r.outputs.get("tagsAll") or {})] == []
