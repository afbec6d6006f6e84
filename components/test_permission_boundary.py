"""The boundary denies what the platform promises it denies: one assertion per statement."""

import json

import pytest

from components.permission_boundary import (
    GLOBAL_SERVICES,
    TAGGED_CREATE_ACTIONS,
    PermissionBoundary,
    PermissionBoundaryArgs,
    boundary_document,
)
from preflight.testing import render

ARGS = PermissionBoundaryArgs(
    policy_name="ml-platform-dev-permission-boundary",
    allowed_regions=["us-west-2"],
    ec2_instance_types=["m6i.large", "g5.*"],
    sagemaker_instance_types=["ml.m5.large"],
)
ARN = "arn:aws:iam::123456789012:policy/ml-platform-dev-permission-boundary"


def statement(sid: str, args: PermissionBoundaryArgs = ARGS) -> dict:
    doc = boundary_document(args, partition="aws", account_id="123456789012")
    return next(s for s in doc["Statement"] if s.get("Sid") == sid)


def test_denies_actions_outside_allowed_regions_except_global_services():
    st = statement("DenyOutsideAllowedRegions")
    assert st["Effect"] == "Deny" and st["NotAction"] == list(GLOBAL_SERVICES)
    assert st["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": ["us-west-2"]}}


def test_denies_iam_users_and_access_keys():
    assert {"iam:CreateUser", "iam:CreateAccessKey"} <= set(statement("DenyLongLivedCredentials")["Action"])


def test_denies_changing_the_boundary_itself_and_removing_boundaries():
    assert statement("DenyBoundaryTampering")["Resource"] == ARN
    assert set(statement("DenyRemovingBoundaries")["Action"]) == {
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteUserPermissionsBoundary",
    }
    st = statement("DenyRolesWithoutThisBoundary")
    assert st["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": ARN}}


def test_denies_stopping_cloudtrail_config_and_guardduty():
    actions = set(statement("DenyStoppingAudit")["Action"])
    assert {"cloudtrail:StopLogging", "config:StopConfigurationRecorder", "guardduty:DeleteDetector"} <= actions


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
    many = PermissionBoundaryArgs(**{**ARGS.__dict__, "ec2_instance_types": [f"g5.size{i}xlarge" for i in range(300)]})
    with pytest.raises(ValueError, match="over IAM's 6144 for a managed policy"):
        boundary_document(many, partition="aws", account_id="123456789012")


def test_renders_as_a_named_managed_policy_with_its_own_arn_inside():
    r = render(lambda: PermissionBoundary("boundary", ARGS))
    policy = r.one("aws:iam/policy:Policy")
    assert policy.outputs["arn"] == ARN
    assert ARN in json.loads(policy.inputs["policy"])["Statement"][3]["Resource"]


DENY_SIDS = [
    "DenyOutsideAllowedRegions",
    "DenyLongLivedCredentials",
    "DenyBoundaryTampering",
    "DenyRemovingBoundaries",
    "DenyRolesWithoutThisBoundary",
    "DenyStoppingAudit",
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
    assert [s["Sid"] for s in doc["Statement"] if s["Effect"] == "Allow"] == ["AllowPlatformServices"]


def test_denies_every_way_of_rewriting_or_deleting_the_boundary_policy():
    st = statement("DenyBoundaryTampering")
    assert st["Effect"] == "Deny"
    assert set(st["Action"]) == {
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
    }


def test_roles_may_be_created_or_rebounded_only_with_this_boundary():
    st = statement("DenyRolesWithoutThisBoundary")
    assert (st["Effect"], st["Action"], st["Resource"]) == (
        "Deny",
        ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
        "*",
    )


def test_long_lived_credentials_are_denied_everywhere():
    st = statement("DenyLongLivedCredentials")
    assert (st["Effect"], st["Resource"]) == ("Deny", "*")
    assert set(st["Action"]) == {
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "iam:UpdateAccessKey",
    }


def test_the_ci_deploy_role_creates_roles_only_with_the_boundary_this_document_names():
    # The deploy role may create roles only with the boundary (components/_iam_documents.py), and the boundary it
    # carries denies creating them otherwise: both sides name the same ARN.
    from components._iam_documents import ProjectScope, ci_deploy_policy

    scope = ProjectScope(
        partition="aws",
        account_id="123456789012",
        region="us-west-2",
        project="ml-platform",
        name_prefix="ml-platform-dev",
        registry_prefix="ml-platform/dev",
        cluster_name="ml-platform-dev",
        budget_name="ml-platform-dev-monthly",
    )
    deploy = ci_deploy_policy(scope, boundary_arn=ARN, allowed_regions=["us-west-2"])
    (create,) = [s for s in deploy["Statement"] if s["Sid"] == "CreateRolesOnlyWithTheBoundary"]
    assert (
        create["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
        == statement("DenyRolesWithoutThisBoundary")["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"]
    )
