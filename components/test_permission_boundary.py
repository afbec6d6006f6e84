"""The boundary denies what the platform promises it denies: one assertion per statement."""

import fnmatch
import json
from dataclasses import replace

import pytest

from components.permission_boundary import (
    ALWAYS_DENIED,
    GLOBAL_ACTIONS,
    PLATFORM_SERVICES,
    ROLE_WRITES_WITH_BOUNDARY_KEY,
    ROLE_WRITES_WITHOUT_BOUNDARY_KEY,
    TAGGED_CREATE_ACTIONS,
    PermissionBoundary,
    PermissionBoundaryArgs,
    PermissionBoundarySettings,
    boundary_document,
)
from preflight.testing import render

ARGS = PermissionBoundaryArgs(
    policy_name="ml-platform-dev-permission-boundary",
    iam_path="/ml-platform/dev/",
    object_lock_role_name="ml-platform-dev-ci-deploy",
    role_regions=["us-west-2"],
    settings=PermissionBoundarySettings(
        allowed_instance_types=["m6i.large", "g5.*"], allowed_sagemaker_instance_types=["ml.m5.large"]
    ),
)
ARN = "arn:aws:iam::123456789012:policy/ml-platform/dev/ml-platform-dev-permission-boundary"


def statement(sid: str, args: PermissionBoundaryArgs = ARGS) -> dict:
    doc = boundary_document(args, partition="aws", account_id="123456789012")
    return next(s for s in doc["Statement"] if s.get("Sid") == sid)


def test_allows_regional_services_only_in_allowed_regions_and_global_ones_anywhere():
    st = statement("AllowPlatformServices")
    assert st["Action"] == sorted(PLATFORM_SERVICES) and st["Resource"] == "*"
    assert st["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-west-2"]}}
    assert statement("AllowGlobalServices")["Action"] == list(GLOBAL_ACTIONS)


def test_allows_iam_writes_only_on_the_stacks_roles_oidc_providers_and_service_linked_roles():
    assert statement("AllowIamInStack")["Resource"] == [
        "arn:aws:iam::123456789012:role/ml-platform/dev/*",
        "arn:aws:iam::123456789012:oidc-provider/*",
        "arn:aws:iam::123456789012:role/aws-service-role/*",
    ]


def test_denies_iam_users_access_keys_and_removing_boundaries():
    assert {
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:UpdateLoginProfile",
        "iam:AddUserToGroup",
        "iam:DeleteRolePermissionsBoundary",
        "iam:CreatePolicyVersion",
        "s3:BypassGovernanceRetention",
        "kms:ScheduleKeyDeletion",
    } <= set(statement("DenyEscapes")["Action"])


def test_denies_stopping_cloudtrail_config_and_guardduty():
    actions = set(statement("DenyEscapes")["Action"])
    assert {"cloudtrail:Stop*", "config:Stop*", "guardduty:Delete*"} <= actions


def test_denies_put_object_with_other_than_kms_encryption():
    st = statement("DenyPutObjectWithoutKms")
    assert st["Action"] == "s3:PutObject"
    assert st["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": ["aws:kms", "aws:kms:dsse"]}
    }


def test_denies_sagemaker_jobs_and_models_without_vpc_or_volume_kms():
    assert "sagemaker:CreateModel" in statement("DenySageMakerJobsWithoutVpc")["Action"]
    assert statement("DenySageMakerJobsWithoutVpc")["Condition"] == {"Null": {"sagemaker:VpcSubnets": "true"}}
    assert statement("DenySageMakerJobsWithoutVolumeKms")["Condition"] == {"Null": {"sagemaker:VolumeKmsKey": "true"}}


def test_models_may_skip_vpc_only_when_serverless_is_allowed():
    args = PermissionBoundaryArgs(**{**ARGS.__dict__, "require_sagemaker_model_vpc": False})
    assert "sagemaker:CreateModel" not in statement("DenySageMakerJobsWithoutVpc", args)["Action"]
    assert "sagemaker:CreateTrainingJob" in statement("DenySageMakerJobsWithoutVpc", args)["Action"]


def test_denies_instance_types_outside_the_allowlists():
    assert statement("DenyEc2InstanceTypesOutsideAllowlist")["Condition"] == {
        "StringNotLike": {"ec2:InstanceType": ["g5.*", "m6i.large"]}
    }
    assert statement("DenySageMakerInstanceTypesOutsideAllowlist")["Condition"] == {
        "ForAnyValue:StringNotLike": {"sagemaker:InstanceTypes": ["ml.m5.large"]}
    }


@pytest.mark.parametrize("key", ["CostCenter", "Owner", "Project", "Environment"])
def test_denies_creating_resources_without_each_cost_tag(key):
    st = statement(f"DenyCreateWithout{key}Tag")
    assert st["Action"] == list(TAGGED_CREATE_ACTIONS)
    assert st["Condition"] == {"Null": {f"aws:RequestTag/{key}": "true"}}


def test_no_statement_allows_everything_on_everything():
    doc = boundary_document(ARGS, partition="aws", account_id="123456789012")
    assert not [s for s in doc["Statement"] if s["Effect"] == "Allow" and s.get("Action") in ("*", ["*"])]


def test_fails_when_the_document_outgrows_iams_limit():
    types = [f"g5.size{i}xlarge" for i in range(300)]
    many = replace(ARGS, settings=PermissionBoundarySettings(allowed_instance_types=types))
    with pytest.raises(ValueError, match="over IAM's 6144 for a managed policy"):
        boundary_document(many, partition="aws", account_id="123456789012")


def test_renders_as_a_named_managed_policy_with_its_own_arn_inside():
    r = render(lambda: PermissionBoundary("boundary", ARGS))
    policy = r.one("aws:iam/policy:Policy")
    assert policy.outputs["arn"] == ARN
    assert policy.inputs["path"] == "/ml-platform/dev/"
    denies = json.loads(policy.inputs["policy"])["Statement"]
    assert ARN in [
        st["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"]
        for st in denies
        if st["Sid"] == "DenyRolesWithoutThisBoundary"
    ]


DENY_SIDS = [
    "DenyEscapes",
    "DenyRolesWithoutThisBoundary",
    "DenyRolesOutsideStackPath",
    "DenyDeletingAuditLogs",
    "DenyObjectLockConfiguration",
    "DenyPutObjectWithoutKms",
    "DenySageMakerJobsWithoutVpc",
    "DenySageMakerJobsWithoutVolumeKms",
    "DenyEc2InstanceTypesOutsideAllowlist",
    "DenySageMakerInstanceTypesOutsideAllowlist",
    "DenyCreateWithoutCostCenterTag",
    "DenyCreateWithoutOwnerTag",
    "DenyCreateWithoutProjectTag",
    "DenyCreateWithoutEnvironmentTag",
]
"""Every Deny statement, each asserted by its own test above: a new statement must join this list and get one."""


def test_the_boundary_denies_exactly_the_asserted_statements_and_allows_only_platform_services():
    doc = boundary_document(ARGS, partition="aws", account_id="123456789012")
    assert [s["Sid"] for s in doc["Statement"] if s["Effect"] == "Deny"] == DENY_SIDS
    assert [s["Sid"] for s in doc["Statement"] if s["Effect"] == "Allow"] == [
        "AllowPlatformServices",
        "AllowGlobalServices",
        "AllowIamInStack",
    ]


def test_role_writes_need_this_boundary_or_the_stacks_path():
    st = statement("DenyRolesWithoutThisBoundary")
    assert (st["Action"], st["Resource"]) == (list(ROLE_WRITES_WITH_BOUNDARY_KEY), "*")
    st = statement("DenyRolesOutsideStackPath")
    assert (st["Action"], st["NotResource"]) == (
        list(ROLE_WRITES_WITHOUT_BOUNDARY_KEY),
        "arn:aws:iam::123456789012:role/ml-platform/dev/*",
    )


def test_only_the_named_deploy_role_may_set_object_lock():
    st = statement("DenyObjectLockConfiguration")
    assert st["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/ml-platform/dev/ml-platform-dev-ci-deploy"}
    }
    nobody = PermissionBoundaryArgs(**{**ARGS.__dict__, "object_lock_role_name": None})
    assert "Condition" not in statement("DenyObjectLockConfiguration", nobody)


def test_the_ci_deploy_role_creates_roles_only_with_the_boundary_this_document_names():
    # The deploy role may create roles only with the boundary (components/_iam_documents.py), and the boundary it
    # carries denies creating them otherwise: both sides name the same ARN.
    from components._iam_documents import ci_deploy_policy
    from components.test_guardrails import SCOPE as scope

    deploy = ci_deploy_policy(scope, boundary_arn=ARN, allowed_regions=["us-west-2"])
    (create,) = [s for s in deploy["Statement"] if s["Sid"] == "WriteStackRolesOnlyWithTheBoundary"]
    assert (
        create["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
        == statement("DenyRolesWithoutThisBoundary")["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"]
    )


# ---- a small evaluator: each escape through the boundary is refused -----------------------------------------


STACK_ROLE = "arn:aws:iam::123456789012:role/ml-platform/dev/app-role-1234567"
OTHER_ROLE = "arn:aws:iam::123456789012:role/ml-platform/prod/app-role-7654321"
DEPLOY = "arn:aws:iam::123456789012:role/ml-platform/dev/ml-platform-dev-ci-deploy"
PERSONA = "arn:aws:iam::123456789012:role/ml-platform/dev/platform-admin-role-1234567"
BASE = {"aws:RequestedRegion": "us-west-2", "aws:PrincipalArn": PERSONA}


def _matches(patterns, value) -> bool:
    return any(
        fnmatch.fnmatchcase(value.lower(), str(p).lower())
        for p in (patterns if isinstance(patterns, list) else [patterns])
    )


def _condition_holds(condition: dict, context: dict) -> bool:
    """The operators the boundary uses, with IAM's semantics for a missing key."""
    for operator, tests in condition.items():
        for key, expected in tests.items():
            values = expected if isinstance(expected, list) else [expected]
            actual = context.get(key)
            if operator == "Null":
                if (actual is None) != (values[0] == "true"):
                    return False
            elif operator in ("StringEquals", "ArnEquals"):
                if actual is None or actual not in values:
                    return False
            elif operator in ("StringNotEquals", "ArnNotEquals") or operator == "StringNotEqualsIfExists":
                if actual is not None and actual in values:
                    return False
            elif operator == "StringNotLike":
                if actual is not None and _matches(values, actual):
                    return False
            elif operator == "ForAnyValue:StringNotLike":
                if not any(not _matches(values, v) for v in actual or []):
                    return False
            else:
                raise AssertionError(f"the evaluator does not know {operator}: teach it before trusting a result")
    return True


def _applies(st: dict, action: str, resource: str, context: dict) -> bool:
    if "Action" in st and not _matches(st["Action"], action):
        return False
    if "NotAction" in st and _matches(st["NotAction"], action):
        return False
    if "Resource" in st and not _matches(st["Resource"], resource):
        return False
    if "NotResource" in st and _matches(st["NotResource"], resource):
        return False
    return _condition_holds(st.get("Condition", {}), context)


def decide(action: str, resource: str, **context: str) -> str:
    """'Allow' or 'Deny' from the boundary alone (explicit deny wins, then an allow, else the implicit deny)."""
    doc = boundary_document(ARGS, partition="aws", account_id="123456789012")
    ctx = {**BASE, **context}
    applying = [st["Effect"] for st in doc["Statement"] if _applies(st, action, resource, ctx)]
    return "Deny" if "Deny" in applying or "Allow" not in applying else "Allow"


ESCAPES = [
    (
        "iam:PutRolePolicy on a role without this boundary",
        "iam:PutRolePolicy",
        OTHER_ROLE,
        {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/other"},
    ),
    ("iam:AttachRolePolicy on an unbounded role", "iam:AttachRolePolicy", STACK_ROLE, {}),
    ("iam:CreateRole without a boundary", "iam:CreateRole", STACK_ROLE, {}),
    ("iam:UpdateAssumeRolePolicy on another stack's role", "iam:UpdateAssumeRolePolicy", OTHER_ROLE, {}),
    ("iam:PassRole of another stack's role", "iam:PassRole", OTHER_ROLE, {}),
    ("iam:DeleteRole of another stack's role", "iam:DeleteRole", OTHER_ROLE, {}),
    ("iam:TagRole of another stack's role", "iam:TagRole", OTHER_ROLE, {}),
    ("iam:CreatePolicyVersion of the boundary", "iam:CreatePolicyVersion", ARN, {}),
    (
        "iam:SetDefaultPolicyVersion of another policy",
        "iam:SetDefaultPolicyVersion",
        "arn:aws:iam::123456789012:policy/x",
        {},
    ),
    (
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        STACK_ROLE,
        {"iam:PermissionsBoundary": ARN},
    ),
    ("iam:PutUserPolicy", "iam:PutUserPolicy", "arn:aws:iam::123456789012:user/u", {}),
    ("iam:AddUserToGroup", "iam:AddUserToGroup", "arn:aws:iam::123456789012:group/admins", {}),
    ("iam:CreateLoginProfile", "iam:CreateLoginProfile", "arn:aws:iam::123456789012:user/u", {}),
    ("iam:UpdateLoginProfile", "iam:UpdateLoginProfile", "arn:aws:iam::123456789012:user/u", {}),
    (
        "iam:CreateServiceSpecificCredential",
        "iam:CreateServiceSpecificCredential",
        "arn:aws:iam::123456789012:user/u",
        {},
    ),
    ("iam:UploadSSHPublicKey", "iam:UploadSSHPublicKey", "arn:aws:iam::123456789012:user/u", {}),
    ("iam:AttachGroupPolicy", "iam:AttachGroupPolicy", "arn:aws:iam::123456789012:group/admins", {}),
    ("s3:BypassGovernanceRetention", "s3:BypassGovernanceRetention", "arn:aws:s3:::models/m", {}),
    (
        "s3:PutBucketObjectLockConfiguration by a persona",
        "s3:PutBucketObjectLockConfiguration",
        "arn:aws:s3:::models",
        {},
    ),
    ("kms:ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", "arn:aws:kms:us-west-2:123456789012:key/k", {}),
    (
        "logs:DeleteLogGroup of the EKS audit log",
        "logs:DeleteLogGroup",
        "arn:aws:logs:us-west-2:123456789012:log-group:/aws/eks/ml-platform-dev/cluster",
        {},
    ),
    (
        "logs:DeleteLogGroup of VPC flow logs",
        "logs:DeleteLogGroup",
        "arn:aws:logs:us-west-2:123456789012:log-group:/aws/vpc-flow-logs/network-1",
        {},
    ),
    ("cloudtrail:StopLogging", "cloudtrail:StopLogging", "*", {}),
    ("ec2:DescribeInstances in another region", "ec2:DescribeInstances", "*", {"aws:RequestedRegion": "eu-west-1"}),
]


@pytest.mark.parametrize("escape", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_the_rendered_boundary_refuses_each_escape(escape):
    _, action, resource, context = escape
    assert decide(action, resource, **context) == "Deny"


ALLOWED = [
    ("a stack role's policy, with this boundary", "iam:PutRolePolicy", STACK_ROLE, {"iam:PermissionsBoundary": ARN}),
    ("a stack role created with this boundary", "iam:CreateRole", STACK_ROLE, {"iam:PermissionsBoundary": ARN}),
    ("passing a stack role", "iam:PassRole", STACK_ROLE, {}),
    (
        "object lock by the deploy role",
        "s3:PutBucketObjectLockConfiguration",
        "arn:aws:s3:::models",
        {"aws:PrincipalArn": DEPLOY},
    ),
    (
        "deleting an endpoint's log group",
        "logs:DeleteLogGroup",
        "arn:aws:logs:us-west-2:123456789012:log-group:/aws/sagemaker/Endpoints/x",
        {},
    ),
]


@pytest.mark.parametrize("case", ALLOWED, ids=[c[0] for c in ALLOWED])
def test_the_boundary_still_allows_the_legitimate_neighbour_of_each_escape(case):
    # Proves the evaluator is not refusing everything: the same calls, in the stack, pass.
    _, action, resource, context = case
    assert decide(action, resource, **context) == "Allow"


def test_every_always_denied_action_is_refused():
    for action in ALWAYS_DENIED:
        assert decide(action.replace("*", "X"), "*") == "Deny", action
