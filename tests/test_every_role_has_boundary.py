"""Every IAM role in every shipped stack carries that stack's permission boundary: no role can exceed it."""

import json

import pulumi_aws as aws
import pytest

from preflight.model import StackResult
from preflight.project import load_project
from preflight.testing import REPO, render

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = load_project(REPO).stacks()
ROLE = "aws:iam/role:Role"
BOUNDARY_POLICY = "aws:iam/policy:Policy"


def boundary_arn(result: StackResult) -> str:
    """The ARN of the policy the PermissionBoundary component creates (the stack has exactly one)."""
    components = {r.urn for r in result.by_type("mlplatform:iam:PermissionBoundary")}
    (policy,) = [p for p in result.by_type(BOUNDARY_POLICY) if p.parent in components]
    return policy.outputs["arn"]


def roles_without(result: StackResult, arn: str) -> list[str]:
    return sorted(r.name for r in result.by_type(ROLE) if r.inputs.get("permissionsBoundary") != arn)


@pytest.fixture(params=STACKS)
def stack(request, shipped_stack) -> StackResult:
    return shipped_stack(request.param)


def test_every_role_has_the_stacks_boundary(stack):
    arn = boundary_arn(stack)
    assert arn == f"arn:aws:iam::123456789012:policy/ml-platform-{stack.stack}-permission-boundary"
    assert roles_without(stack, arn) == []


def test_the_stack_has_the_guardrails_roles_it_promises(stack):
    names = {r.name for r in stack.by_type(ROLE)}
    assert {"guardrails-ci-preview-role", "guardrails-ci-deploy-role", "guardrails-platform-admin-role"} <= names
    assert len(names) >= 6


def test_a_role_without_the_boundary_is_reported():
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )

    def program():
        aws.iam.Role("bounded", assume_role_policy=trust, permissions_boundary="arn:aws:iam::123456789012:policy/b")
        aws.iam.Role("unbounded", assume_role_policy=trust)
        aws.iam.Role(
            "other-boundary", assume_role_policy=trust, permissions_boundary="arn:aws:iam::123456789012:policy/x"
        )

    assert roles_without(render(program), "arn:aws:iam::123456789012:policy/b") == ["other-boundary", "unbounded"]
