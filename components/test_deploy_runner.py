"""The deploy runner: what it renders offline, its service role's policy (golden file), and its settings' rules.

Regenerate the golden policy with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_deploy_runner.py`.
"""

from __future__ import annotations

import fnmatch

import pytest
from pydantic import ValidationError

from components import _iam_documents as docs
from components.deploy_runner import (
    DeployRunner,
    DeployRunnerSettings,
    runner_label,
    runner_policy,
    validate_runner,
)
from components.permission_boundary import PLATFORM_SERVICES
from components.test_guardrails import SCOPE
from infra.config import ConfigError, load
from preflight.testing import assert_golden, render

BOUNDARY = "arn:aws:iam::123456789012:policy/ml-platform-dev-permission-boundary"
KEY = "arn:aws:kms:us-west-2:123456789012:key/0b1e7a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
CONNECTION = "arn:aws:codeconnections:us-west-2:123456789012:connection/8f0c2b6e-3c55-4d2a-9a7e-5b1f4e0c9d21"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]

PROJECT = "aws:codebuild/project:Project"
WEBHOOK = "aws:codebuild/webhook:Webhook"
CONNECTION_TYPE = "aws:codeconnections/connection:Connection"


def _runner(settings: DeployRunnerSettings | None = None, **overrides):
    kwargs = {
        "project_name": "ml-platform-dev-deploy",
        "repository": "example-org/ml-platform",
        "vpc_id": "vpc-0123456789abcdef0",
        "private_subnet_ids": SUBNETS,
        "cluster_security_group_id": "sg-0cluster000000000",
        "logs_kms_key_arn": KEY,
        "log_retention_days": 30,
        "permissions_boundary": BOUNDARY,
    }
    kwargs.update(overrides)
    return lambda: DeployRunner("deploy-runner", settings or DeployRunnerSettings(), **kwargs)


def test_default_runner_is_private_encrypted_unprivileged_and_listens_for_queued_jobs_only():
    r = render(_runner())
    project = r.one(PROJECT)
    assert project.inputs["name"] == "ml-platform-dev-deploy"
    vpc = project.inputs["vpcConfig"]
    assert vpc["subnets"] == SUBNETS and vpc["vpcId"] == "vpc-0123456789abcdef0"
    assert vpc["securityGroupIds"] == [r.one("aws:ec2/securityGroup:SecurityGroup").id]
    assert project.inputs["environment"]["privilegedMode"] is False
    assert project.inputs["encryptionKey"] == KEY
    assert project.inputs["source"]["location"] == "https://github.com/example-org/ml-platform.git"
    assert project.inputs["source"]["auth"]["type"] == "CODECONNECTIONS"
    assert project.inputs["logsConfig"]["cloudwatchLogs"]["status"] == "ENABLED"
    logs = r.one("aws:cloudwatch/logGroup:LogGroup")
    assert (logs.inputs["kmsKeyId"], logs.inputs["retentionInDays"]) == (KEY, 30)
    assert logs.inputs["name"] == "/aws/codebuild/ml-platform-dev-deploy"
    webhook = r.one(WEBHOOK)
    assert webhook.inputs["filterGroups"] == [{"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}]
    assert webhook.inputs["buildType"] == "BUILD"
    # Created, and PENDING until an administrator completes the GitHub handshake.
    assert r.one(CONNECTION_TYPE).inputs["providerType"] == "GitHub"


def test_runner_role_carries_the_boundary_and_no_deploy_rights():
    r = render(_runner())
    role = r.one("aws:iam/role:Role")
    assert role.inputs["permissionsBoundary"] == BOUNDARY
    assert '"codebuild.amazonaws.com"' in role.inputs["assumeRolePolicy"]
    assert r.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert r.one(PROJECT).property_dependencies["serviceRole"] == [role.urn]


def test_runner_reaches_the_cluster_api_on_443_only_from_its_own_security_group():
    r = render(_runner())
    sg = r.one("aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs.get("ingress") in (None, [])
    assert [(e["fromPort"], e["toPort"]) for e in sg.inputs["egress"]] == [(443, 443)]
    rule = r.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["securityGroupId"] == "sg-0cluster000000000"
    assert rule.inputs["referencedSecurityGroupId"] == sg.id
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (443, 443, "tcp")
    assert "cidrIpv4" not in rule.inputs


def test_an_existing_connection_is_used_instead_of_creating_one():
    r = render(_runner(DeployRunnerSettings(connection_arn=CONNECTION)))
    assert r.by_type(CONNECTION_TYPE) == []
    assert r.one(PROJECT).inputs["source"]["auth"]["resource"] == CONNECTION


def test_children_are_named_after_the_component_and_parented_to_it():
    r = render(_runner())
    component = r.one("mlplatform:ci:DeployRunner")
    for t in (PROJECT, WEBHOOK, CONNECTION_TYPE, "aws:cloudwatch/logGroup:LogGroup"):
        child = r.one(t)
        assert child.name.startswith("deploy-runner-") and child.parent == component.urn


def test_runner_policy_golden():
    assert_golden(
        "deploy_runner_policy.json",
        runner_policy(
            log_group_arn="arn:aws:logs:us-west-2:123456789012:log-group:/aws/codebuild/ml-platform-dev-deploy",
            connection_arn=CONNECTION,
            subnet_arns=[f"arn:aws:ec2:us-west-2:123456789012:subnet/{s}" for s in SUBNETS],
            security_group_arn="arn:aws:ec2:us-west-2:123456789012:security-group/sg-0runner0000000000",
        ),
    )


def test_runs_on_label_is_codebuilds_project_run_and_attempt():
    assert runner_label("ml-platform-dev-deploy") == (
        "codebuild-ml-platform-dev-deploy-${{ github.run_id }}-${{ github.run_attempt }}"
    )


def test_fails_when_no_subnet_is_given():
    with pytest.raises(ValueError, match="subnet_arns is empty"):
        runner_policy(log_group_arn="arn", connection_arn=CONNECTION, subnet_arns=[], security_group_arn="sg")


VALID = {"project_name": "ml-platform-dev-deploy", "repository": "example-org/ml-platform", "log_retention_days": 30}


def test_fails_when_the_project_name_is_not_a_codebuild_name():
    with pytest.raises(ValueError, match=r"project_name = 'ml platform': CodeBuild names are 2-255"):
        validate_runner(**{**VALID, "project_name": "ml platform"})


def test_fails_when_the_repository_is_not_owner_and_name():
    with pytest.raises(ValueError, match=r"repository = 'ml-platform': must be 'owner/name'"):
        validate_runner(**{**VALID, "repository": "ml-platform"})


def test_fails_when_log_retention_is_not_a_cloudwatch_value():
    with pytest.raises(ValueError, match="log_retention_days = 31: CloudWatch Logs accepts only these"):
        validate_runner(**{**VALID, "log_retention_days": 31})


# -- settings, as the stack file sees them -----------------------------------------------------------------------

BASE = {
    "aws:region": "us-west-2",
    "ml-platform:environment": "dev",
    "ml-platform:tags": {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"},
}


def _load(**settings):
    return load({**BASE, **{f"ml-platform:{k}": v for k, v in settings.items()}}, stack="dev")


def test_default_settings_create_a_runner_when_github_is_configured():
    cfg = _load(guardrails={"github": {"repository": "example-org/ml-platform"}})
    assert cfg.deploy_runner == DeployRunnerSettings() and cfg.creates_deploy_runner


def test_opting_out_is_explicit_in_the_stack_file():
    cfg = _load(guardrails={"github": {"repository": "example-org/ml-platform"}}, deployRunner={"enabled": False})
    assert not cfg.creates_deploy_runner


def test_opting_out_is_flagged_in_the_preview():
    from preflight.testing import render_stack

    result = render_stack("dev", {"ml-platform:deployRunner": {"enabled": False}})
    assert result.by_type(PROJECT) == []
    assert any("deployRunner.enabled is false" in w for w in result.warnings), result.warnings


def test_no_runner_without_github_by_default():
    assert not _load().creates_deploy_runner


def test_fails_when_the_runner_is_asked_for_without_github():
    with pytest.raises(ConfigError) as err:
        _load(deployRunner={"enabled": True})
    assert err.value.problems == [
        (
            "Pulumi.dev.yaml: ml-platform:deployRunner.enabled = True: the deploy runner serves a GitHub repository: "
            "set guardrails.github.repository, or opt out with deployRunner.enabled: false"
        )
    ]


def test_fails_when_the_connection_arn_is_not_a_connection():
    with pytest.raises(ConfigError) as err:
        _load(deployRunner={"connectionArn": "arn:aws:iam::123456789012:role/x"})
    assert err.value.problems[0].startswith(
        "Pulumi.dev.yaml: ml-platform:deployRunner.connectionArn = 'arn:aws:iam::123456789012:role/x': "
        "not a CodeConnections connection ARN"
    )


def test_fails_when_the_image_is_not_a_pinned_curated_image():
    with pytest.raises(ConfigError) as err:
        _load(deployRunner={"image": "aws/codebuild/standard:latest"})
    assert (
        "ml-platform:deployRunner.image = 'aws/codebuild/standard:latest': must be a CodeBuild-curated image"
        in (err.value.problems[0])
    )


def test_fails_when_the_build_timeout_is_out_of_codebuilds_range():
    with pytest.raises(ValidationError, match="build_timeout_minutes|buildTimeoutMinutes"):
        DeployRunnerSettings(build_timeout_minutes=3000)


# -- what the IAM guardrails must allow for the runner (owned by the boundary and the CI deploy policy) ----------

RUNNER_PROJECT_ACTIONS = ("codebuild:CreateProject", "codebuild:CreateWebhook", "codeconnections:CreateConnection")


def _allowed(action: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def test_the_boundary_allows_every_action_the_runner_role_is_granted():
    policy = runner_policy(
        log_group_arn="arn",
        connection_arn=CONNECTION,
        subnet_arns=["arn:aws:ec2:r:1:subnet/s"],
        security_group_arn="sg",
    )
    actions = [a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert [a for a in actions if not _allowed(a, PLATFORM_SERVICES)] == []


def test_the_ci_deploy_role_may_manage_the_runner_and_only_its_own_project():
    policy = docs.ci_deploy_policy(SCOPE, boundary_arn=BOUNDARY, allowed_regions=["us-west-2"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    project = f"arn:aws:codebuild:us-west-2:{SCOPE.account_id}:project/{SCOPE.name_prefix}-deploy"
    other = f"arn:aws:codebuild:us-west-2:{SCOPE.account_id}:project/someone-elses-build"
    runner = by_sid["ManagePlatformRunner"]
    assert _allowed("codebuild:CreateProject", [runner["Action"]]) and _allowed(
        "codebuild:CreateWebhook", [runner["Action"]]
    )
    assert fnmatch.fnmatchcase(project, runner["Resource"]) and not fnmatch.fnmatchcase(other, runner["Resource"])
    assert _allowed("codeconnections:CreateConnection", [by_sid["ManageRunnerConnections"]["Action"]])
    assert [a for a in RUNNER_PROJECT_ACTIONS if not _allowed(a, PLATFORM_SERVICES)] == []
    assert "codebuild.amazonaws.com" in docs.PASSED_TO_SERVICES
