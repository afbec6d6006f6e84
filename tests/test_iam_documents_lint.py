"""Every IAM policy document every shipped stack renders — role trust and inline policies, managed policies (the
boundary), key, bucket, registry and topic policies — passes parliament without an error.

Errors are the findings the scanner configuration makes mandatory (`preflight/scanners/checkov-config.yaml`):
malformed documents, unknown actions, prefixes or operators, duplicate Sids — statements that cannot mean what
they say. Advisory findings are the scanner tests' business (each is fixed or accepted there with a reason)."""

import json

import pulumi_aws as aws
import pytest

from preflight.model import StackResult
from preflight.project import load_project
from preflight.scanners import iam_lint
from preflight.scanners.config import project_config
from preflight.testing import REPO, render

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = load_project(REPO).stacks()
CONFIG = project_config(REPO)


def errors(result: StackResult) -> list[str]:
    return [f"{v.policy} {v.name}: {v.message}" for v in iam_lint.scan(result, CONFIG) if v.enforcement == "mandatory"]


@pytest.fixture(params=STACKS)
def stack(request, shipped_stack) -> StackResult:
    return shipped_stack(request.param)


def test_every_policy_document_passes_parliament_without_errors(stack):
    assert errors(stack) == []


def test_the_lint_sees_every_kind_of_document(stack):
    kinds = {(d.record.type, d.field) for d in iam_lint.documents(stack)}
    assert {
        ("aws:iam/role:Role", "assumeRolePolicy"),
        ("aws:iam/rolePolicy:RolePolicy", "policy"),
        ("aws:iam/policy:Policy", "policy"),
        ("aws:kms/key:Key", "policy"),
        ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
        ("aws:sns/topicPolicy:TopicPolicy", "policy"),
    } <= kinds
    roles = {r.name for r in stack.by_type("aws:iam/role:Role")}
    linted_roles = {d.record.name for d in iam_lint.documents(stack) if d.field == "assumeRolePolicy"}
    assert linted_roles == roles


def test_a_deliberately_bad_document_is_an_error():
    def program():
        role = aws.iam.Role(
            "app",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        aws.iam.RolePolicy(
            "app-read",
            role=role.name,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::data/*"},
                        {"Sid": "Read", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data"},
                    ],
                }
            ),
        )

    assert sorted(errors(render(program))) == [
        (
            "parliament/DUPLICATE_SID app-read: policy of aws:iam/rolePolicy:RolePolicy 'app-read': Duplicate Statement Ids: "
            "Duplicate Statement Id 'Read' in policy"
        ),
        (
            "parliament/UNKNOWN_ACTION app-read: policy of aws:iam/rolePolicy:RolePolicy 'app-read': Unknown action: "
            "Unknown action s3:GetObjekt"
        ),
    ]
