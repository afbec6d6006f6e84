"""`iam-privilege-escalation`: one foreign program per escalation method, each flagged with its exact message, and
the scoped shapes that are not escalations."""

from __future__ import annotations

import json
import os

import pulumi_aws as aws
import pytest

from .escalation import BOUNDARY_KEYED, METHODS, escalations, resource_kind

POLICY = "iam-privilege-escalation"
ACCOUNT = "123456789012"
STACK_ROLES = f"arn:aws:iam::{ACCOUNT}:role/team/dev/*"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/team/dev/boundary"

# AWS's spelling of each lower-case action, for documents and messages.
SPELLING = {
    "ec2:runinstances": "ec2:RunInstances",
    "lambda:createfunction": "lambda:CreateFunction",
    "lambda:invokefunction": "lambda:InvokeFunction",
    "lambda:createeventsourcemapping": "lambda:CreateEventSourceMapping",
    "glue:createdevendpoint": "glue:CreateDevEndpoint",
    "cloudformation:createstack": "cloudformation:CreateStack",
    "datapipeline:createpipeline": "datapipeline:CreatePipeline",
    "sagemaker:createnotebookinstance": "sagemaker:CreateNotebookInstance",
    "sagemaker:createtrainingjob": "sagemaker:CreateTrainingJob",
    "sagemaker:createprocessingjob": "sagemaker:CreateProcessingJob",
    "codebuild:createproject": "codebuild:CreateProject",
    "codebuild:startbuild": "codebuild:StartBuild",
    "ecs:registertaskdefinition": "ecs:RegisterTaskDefinition",
    "ecs:runtask": "ecs:RunTask",
    "iam:passrole": "iam:PassRole",
    "glue:updatedevendpoint": "glue:UpdateDevEndpoint",
    "lambda:updatefunctioncode": "lambda:UpdateFunctionCode",
}
IAM_SPELLING = {
    "CreateNewPolicyVersion": "iam:CreatePolicyVersion",
    "SetExistingDefaultPolicyVersion": "iam:SetDefaultPolicyVersion",
    "UpdateRolePolicyToAssumeIt": "iam:UpdateAssumeRolePolicy",
    "CreateRoleWithoutBoundary": "iam:CreateRole",
}


def spelled(method: str, action: str) -> str:
    if action in SPELLING:
        return SPELLING[action]
    return IAM_SPELLING.get(method, f"iam:{method}")


def method_document(method: str, resource: str = "*") -> dict:
    """A policy granting exactly the method's actions: its IAM action on `resource`, the others on '*'."""
    actions = [spelled(method, a) for a in METHODS[method]]
    key, *others = actions
    statements = [{"Sid": "Escalate", "Effect": "Allow", "Action": key, "Resource": resource}]
    if others:
        statements.append({"Sid": "Compute", "Effect": "Allow", "Action": others, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def expected(method: str, resource: str = "*") -> str:
    key = spelled(method, METHODS[method][0])
    why = " without an iam:PermissionsBoundary condition" if key.lower() in BOUNDARY_KEYED else ""
    return (
        f"app: statement 'Escalate' allows {key} on {resource!r}, wider than one IAM path or name prefix{why}: "
        f"privilege escalation ({method})"
    )


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_escalation_method_in_a_foreign_program_is_flagged(check, method):
    document = json.dumps(method_document(method))
    assert check(lambda: aws.iam.Policy("app", policy=document), POLICY) == [expected(method)]


def test_an_escalation_in_a_role_inline_policy_is_flagged(check):
    document = json.dumps(method_document("PutRolePolicy", "arn:aws:iam::123456789012:role/*"))
    program = lambda: aws.iam.RolePolicy("app", role="some-role", policy=document)
    assert check(program, POLICY) == [expected("PutRolePolicy", "arn:aws:iam::123456789012:role/*")]


def test_a_boundary_policy_granting_an_escalation_is_flagged(check):
    document = json.dumps(method_document("UpdateRolePolicyToAssumeIt"))

    def program():
        boundary = aws.iam.Policy("app", policy=document)
        aws.iam.Role(
            "bounded",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            permissions_boundary=boundary.arn,
        )

    assert check(program, POLICY) == [expected("UpdateRolePolicyToAssumeIt")]


# ---- the shapes that are not escalations (pure function: no program needed) ----------------------------------


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_method_scoped_to_one_path_is_not_an_escalation(method):
    kind = resource_kind(METHODS[method][0])
    resource = f"arn:aws:iam::{ACCOUNT}:{'role' if kind == '*' else kind}/team/dev/*"
    if METHODS[method][0].startswith("iam:"):
        assert list(escalations(method_document(method, resource))) == []


@pytest.mark.parametrize("action", sorted(a for a in BOUNDARY_KEYED if a.startswith("iam:") and "role" in a))
def test_a_role_write_on_any_role_conditioned_on_the_boundary_is_not_an_escalation(action):
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": action,
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
            }
        ]
    }
    assert list(escalations(document)) == []


def test_a_negated_or_if_exists_boundary_condition_does_not_count():
    for condition in (
        {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
        {"StringEqualsIfExists": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
        {"StringLike": {"iam:PermissionsBoundary": "*"}},
    ):
        document = {
            "Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*", "Condition": condition}]
        }
        assert [e.method for e in escalations(document)] == ["PutRolePolicy"], condition


def test_pass_role_alone_or_scoped_is_not_an_escalation_but_any_role_plus_compute_is():
    alone = {"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}
    assert list(escalations(alone)) == []
    scoped = {
        "Statement": [
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": STACK_ROLES},
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        ]
    }
    assert list(escalations(scoped)) == []
    scoped["Statement"][0]["Resource"] = "arn:aws:iam::123456789012:role/*"
    assert [e.method for e in escalations(scoped)] == ["CreateEC2WithExistingIP"]


def test_wildcards_and_not_action_grant_every_matching_method():
    everything = {"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    iam_only = {m for m, actions in METHODS.items() if all(a.startswith("iam:") for a in actions)}
    assert {e.method for e in escalations(everything)} == iam_only
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}
    assert {e.method for e in escalations(not_action)} == set(METHODS)


def test_a_write_on_another_resource_type_is_not_an_escalation():
    document = {
        "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": f"arn:aws:iam::{ACCOUNT}:oidc-provider/*"}]
    }
    assert list(escalations(document)) == []


def test_the_boundary_keyed_actions_are_the_ones_iam_documents_with_the_key():
    parliament = pytest.importorskip("parliament", reason="parliament carries the IAM definition")
    with open(os.path.join(os.path.dirname(parliament.__file__), "iam_definition.json")) as f:
        definition = json.load(f)
    iam = next(s for s in definition if s["prefix"] == "iam")
    keyed = {
        f"iam:{p['privilege'].lower()}"
        for p in iam["privileges"]
        for r in p["resource_types"]
        if "iam:PermissionsBoundary" in r["condition_keys"]
    }
    assert keyed == set(BOUNDARY_KEYED)


def test_a_statement_granting_many_methods_is_one_finding_naming_them_all(check):
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    (finding,) = check(lambda: aws.iam.Policy("app", policy=document), POLICY)
    first = min(METHODS)
    assert finding.startswith(
        f"app: statement 'All' allows {len(METHODS)} privilege-escalation methods on resources wider than one IAM "
        "path or name prefix (e.g. iam:CreateAccessKey on '*'): CreateAccessKey, "
    ), finding
    assert all(m in finding for m in METHODS) and first in finding
