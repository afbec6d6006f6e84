"""`ml-platform:guardrails`: personas, GitHub, budget and account baselines — defaults, and every error's line."""

import json

import pytest

from components.guardrails import GuardrailsSettings
from infra.config import ConfigError, load
from infra.config.profiles import PROFILES

TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}
BASE = {"aws:region": "us-west-2", "ml-platform:environment": "dev", "ml-platform:tags": json.dumps(TAGS)}
ADMIN = "arn:aws:iam::111122223333:role/ml-platform-admins"


def guardrails(section: dict, environment: str = "dev"):
    values = {**BASE, "ml-platform:environment": environment, "ml-platform:guardrails": json.dumps(section)}
    return load(values, stack=environment).guardrails


def problems(section: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        guardrails(section)
    return info.value.problems


# -- defaults ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_environment_has_a_budget_with_80_forecast_and_100_actual_and_no_baselines(environment):
    g = load({**BASE, "ml-platform:environment": environment}, stack=environment).guardrails
    assert g.budget.monthly_usd == PROFILES[environment]["guardrails"]["budget"]["monthlyUsd"] > 0
    assert (g.budget.forecast_threshold_percent, g.budget.actual_threshold_percent) == (80, 100)
    assert g.budget.emails == []
    assert (
        g.account_baselines.ebs_encryption_by_default,
        g.account_baselines.s3_public_access_block,
        g.account_baselines.cost_allocation_tags,
    ) == (False, False, False)
    assert g.personas == {} and g.github is None


def test_profile_budget_keeps_the_existing_instance_allowlists():
    for environment in PROFILES:
        assert {"allowedInstanceTypes", "allowedSagemakerInstanceTypes", "budget"} <= set(
            PROFILES[environment]["guardrails"]
        )


def test_the_stack_files_section_is_the_components_settings_model():
    g = guardrails(
        {
            "personas": {"platform-admin": {"principals": [ADMIN]}, "auditor": {}},
            "github": {"repository": "example-org/ml-platform"},
            "budget": {"monthlyUsd": 250, "emails": ["a@example.com"]},
            "accountBaselines": {"s3PublicAccessBlock": True},
        },
        environment="staging",
    )
    assert isinstance(g, GuardrailsSettings)
    assert g.personas["platform-admin"].principals == [ADMIN] and g.personas["auditor"].principals == []
    assert g.github is not None
    assert (g.github.repository, g.github.deploy_environment, g.github.preview_pull_requests) == (
        "example-org/ml-platform",
        None,  # the component uses the stack's environment
        True,
    )
    assert (g.budget.monthly_usd, g.budget.emails) == (250, ["a@example.com"])
    assert g.account_baselines.s3_public_access_block is True


def test_a_named_deploy_environment_and_an_existing_provider_are_kept():
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    g = guardrails({"github": {"repository": "o/r", "deployEnvironment": "production", "oidcProviderArn": provider}})
    assert g.github is not None
    assert (g.github.deploy_environment, g.github.oidc_provider_arn) == ("production", provider)


# -- errors --------------------------------------------------------------------------------------------------

KEY = "Pulumi.dev.yaml: ml-platform:guardrails"


def test_fails_when_a_persona_is_unknown_naming_the_allowed_ones():
    assert problems({"personas": {"ml-enginer": {"principals": [ADMIN]}}}) == [
        (
            f'{KEY}.personas.ml-enginer = {{"principals": ["{ADMIN}"]}}: unknown persona \'ml-enginer\'; '
            "did you mean 'ml-engineer'? (allowed: platform-admin, ml-engineer, data-scientist, auditor, model-approver)"
        )
    ]
    assert problems({"personas": {"root": {}}}) == [
        f"{KEY}.personas.root = {{}}: unknown persona 'root'; (allowed: platform-admin, ml-engineer, data-scientist, auditor, model-approver)"
    ]


def test_fails_when_an_allowed_region_is_not_an_aws_region():
    # Without this the typo would be written into every role's permission boundary, locking the roles out.
    (line,) = problems({"allowedRegions": ["us-west-2", "us-wset-2"]})
    assert line.startswith(
        f"{KEY}.allowedRegions[1] = 'us-wset-2': not an AWS region; did you mean 'us-west-2'? the aws partition has: "
    )
    assert "eu-west-1" in line


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:iam::1111:role/x", "arn:aws:iam::111122223333:role/*", "arn:aws:s3:::bucket", "111122223333", "*"],
)
def test_fails_when_a_principal_is_not_an_iam_principal_arn(arn):
    assert problems({"personas": {"auditor": {"principals": [arn]}}}) == [
        (
            f"{KEY}.personas.auditor.principals[0] = {arn!r}: not an IAM principal ARN; expected "
            "arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>"
        )
    ]


def test_fails_when_a_principal_is_listed_twice_or_the_session_is_too_long():
    assert problems({"personas": {"auditor": {"principals": [ADMIN, ADMIN], "maxSessionHours": 13}}}) == [
        f"{KEY}.personas.auditor.principals[1] = '{ADMIN}': listed twice; each principal may be listed once",
        f"{KEY}.personas.auditor.maxSessionHours = 13: must be between 1 and 12 hours (IAM's limits for a role session)",
    ]


@pytest.mark.parametrize(
    "repository", ["ml-platform", "example-org/", "/ml-platform", "-org/repo", "org/a/b", "org/re po", "org/.."]
)
def test_fails_when_the_repository_is_not_owner_slash_name(repository):
    assert problems({"github": {"repository": repository}}) == [
        f"{KEY}.github.repository = {repository!r}: must be a GitHub repository as 'owner/name', e.g. 'example-org/ml-platform'"
    ]


def test_fails_when_github_has_no_repository():
    assert problems({"github": {}}) == [f"{KEY}.github.repository: missing; this key is required"]


def test_fails_on_a_branch_given_as_a_ref_and_on_a_malformed_environment_or_provider():
    assert problems(
        {
            "github": {
                "repository": "o/r",
                "previewBranches": ["main", "refs/heads/dev"],
                "deployEnvironment": "prod:eu",
                "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X",
            }
        }
    ) == [
        f"{KEY}.github.previewBranches[1] = 'refs/heads/dev': not a branch name; give names like 'main' or 'release/*' (without refs/heads/)",
        (
            f"{KEY}.github.deployEnvironment = 'prod:eu': not a GitHub environment name: 1-255 characters, none of ':', '*', '?', "
            "no leading '/' or space"
        ),
        (
            f"{KEY}.github.oidcProviderArn = 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X': "
            "not the GitHub OIDC provider's ARN; expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com"
        ),
    ]


@pytest.mark.parametrize("amount", [0, -1, -0.01])
def test_fails_when_the_budget_is_not_positive(amount):
    assert problems({"budget": {"monthlyUsd": amount}}) == [
        f"{KEY}.budget.monthlyUsd = {amount!r}: must be greater than 0 (US dollars per month)"
    ]


def test_fails_on_a_bad_budget_email_threshold_or_too_many_emails():
    assert problems({"budget": {"emails": ["ops@example.com", "finance"], "forecastThresholdPercent": 0}}) == [
        f"{KEY}.budget.emails[1] = 'finance': not an email address",
        f"{KEY}.budget.forecastThresholdPercent = 0: must be a percentage of the monthly limit, above 0 and at most 1000",
    ]
    many = [f"u{i}@example.com" for i in range(11)]
    (line,) = problems({"budget": {"emails": many}})
    assert line.startswith(f"{KEY}.budget.emails = ")
    assert line.endswith(": 11 addresses; AWS Budgets notifies at most 10 per alert (use the SNS topic for more)")


def test_fails_on_an_unknown_baseline_key_with_did_you_mean():
    (line,) = problems({"accountBaselines": {"ebsEncryption": True}})
    assert line.startswith(f"{KEY}.accountBaselines.ebsEncryption: unknown key; did you mean 'ebsEncryptionByDefault'?")


def test_fails_when_no_workflow_could_assume_the_preview_role():
    assert problems({"github": {"repository": "o/r", "previewPullRequests": False}}) == [
        (
            f"{KEY}.github.previewPullRequests = False: the preview role needs pull requests or at least one branch to "
            "trust; set previewBranches or previewPullRequests: true"
        )
    ]
    assert guardrails({"github": {"repository": "o/r", "previewPullRequests": False, "previewBranches": ["main"]}})


def test_fails_when_an_allowed_instance_type_is_of_the_other_service_or_the_list_is_empty():
    assert problems(
        {"allowedInstanceTypes": ["g5.xlarge", "ml.g5.xlarge"], "allowedSagemakerInstanceTypes": ["g5.*"]}
    ) == [
        (
            f'{KEY}.allowedInstanceTypes = ["g5.xlarge", "ml.g5.xlarge"]: not EC2 instance types: [\'ml.g5.xlarge\']; '
            "expected names like 'g5.xlarge' or 'g5.*'"
        ),
        (
            f"{KEY}.allowedSagemakerInstanceTypes = [\"g5.*\"]: not SageMaker instance types: ['g5.*']; expected names "
            "like 'ml.g5.xlarge' or 'ml.g5.*'"
        ),
    ]
    assert problems({"allowedInstanceTypes": []}) == [
        f"{KEY}.allowedInstanceTypes = []: empty: no node pool could launch; list the instance types pools may use"
    ]
