"""Guardrails: exact CI trust, MFA on personas, nothing allows `*` on `*`, golden documents, budget alerts.

Regenerate the golden documents with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_guardrails.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pulumi
import pytest

from components import _iam_documents as docs
from components.bucket_policies import grant_statements
from components.guardrails import Guardrails, GuardrailsArgs, GuardrailsSettings, validate_guardrails
from preflight.emulator.aws import ACCOUNT_ID
from preflight.model import StackResult
from preflight.testing import assert_golden, render

BOUNDARY = f"arn:aws:iam::{ACCOUNT_ID}:policy/ml-platform-dev-permission-boundary"
PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
LOGS_KEY = f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/11111111-1111-1111-1111-111111111111"
CLUSTER_KEY = f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/22222222-2222-2222-2222-222222222222"
BUCKETS = {"datasets": "arn:aws:s3:::ml-datasets", "models": "arn:aws:s3:::ml-models"}
ADMIN = "arn:aws:iam::111122223333:role/ml-platform-admins"
SCOPE = docs.ProjectScope(
    partition="aws",
    account_id=ACCOUNT_ID,
    region="us-west-2",
    project="ml-platform",
    name_prefix="ml-platform-dev",
    registry_prefix="ml-platform/dev",
    cluster_name="ml-platform-dev",
    budget_name="ml-platform-dev-monthly",
    iam_path="/ml-platform/dev/",
    environment="dev",
    bucket_prefix="artifacts-",
)

ROLE = "aws:iam/role:Role"
INLINE = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BUDGET = "aws:budgets/budget:Budget"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"


class Grants:
    """The artifact store's grants for two buckets sharing LOGS_KEY, without the store."""

    def grant_statements(self, purpose, access, prefix=""):
        return pulumi.Output.from_input(
            grant_statements(
                bucket_arn=BUCKETS[purpose], kms_key_arn=LOGS_KEY, region="us-west-2", access=access, prefix=prefix
            )
        )


def args(**overrides) -> GuardrailsArgs:
    """Guardrails args; overrides of a setting (`personas=...`, `github=...`) replace that setting, the rest are
    arguments. By default every persona, GitHub and a budget with an email address."""
    settings = {
        "personas": {p: {"principals": [ADMIN]} for p in docs.PERSONAS},
        "github": {"repository": "example-org/ml-platform"},
        "budget": {"monthly_usd": 500, "emails": ["team@example.com"]},
    }
    settings.update({k: overrides.pop(k) for k in list(overrides) if k in GuardrailsSettings.model_fields})
    base = GuardrailsArgs(
        name_prefix="ml-platform-dev",
        project="ml-platform",
        environment="dev",
        permissions_boundary=BOUNDARY,
        role_regions=["us-west-2"],
        cluster_name="ml-platform-dev",
        registry_prefix="ml-platform/dev",
        alert_kms_key_arn=LOGS_KEY,
        ebs_kms_key_arn=CLUSTER_KEY,
        bucket_arns=BUCKETS,
        key_arns=[LOGS_KEY],
        artifact_grants=Grants(),
        settings=GuardrailsSettings(**settings),
        experiment_tracking=True,
    )
    return replace(base, **overrides)


def render_guardrails(guardrails_args: GuardrailsArgs) -> StackResult:
    return render(lambda: Guardrails("guardrails", guardrails_args))


@pytest.fixture(scope="module")
def full() -> StackResult:
    return render_guardrails(args())


def role_doc(result: StackResult, role: str, field: str = "assumeRolePolicy") -> dict:
    return json.loads(result.one(ROLE, f"guardrails-{role}-role").inputs[field])


def inline_doc(result: StackResult, name: str) -> dict:
    return json.loads(result.one(INLINE, name).inputs["policy"])


# -- CI trust ------------------------------------------------------------------------------------------------


def test_preview_role_trusts_only_pull_requests_of_the_repository_for_sts(full):
    (st,) = role_doc(full, "ci-preview")["Statement"]
    provider = full.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert st["Principal"] == {"Federated": provider.outputs["arn"]} and provider.outputs["arn"] == PROVIDER
    assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert st["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:example-org/ml-platform:pull_request",
        }
    }


def test_deploy_role_trusts_only_the_stacks_github_environment(full):
    (st,) = role_doc(full, "ci-deploy")["Statement"]
    assert st["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:example-org/ml-platform:environment:dev",
        }
    }


def test_preview_branch_patterns_use_string_like_and_the_audience_stays_exact():
    subjects = docs.preview_subjects("o/r", branches=["main", "release/*"])
    (st,) = docs.github_oidc_trust(PROVIDER, subjects)["Statement"]
    assert st["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {
            "token.actions.githubusercontent.com:sub": [
                "repo:o/r:pull_request",
                "repo:o/r:ref:refs/heads/main",
                "repo:o/r:ref:refs/heads/release/*",
            ]
        },
    }


def test_oidc_provider_is_githubs_with_the_sts_audience(full):
    provider = full.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_an_existing_provider_is_trusted_instead_of_creating_one():
    existing = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    r = render_guardrails(
        args(github={"repository": "o/r", "deploy_environment": "prod", "oidc_provider_arn": existing})
    )
    assert r.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert role_doc(r, "ci-deploy")["Statement"][0]["Principal"] == {"Federated": existing}


def test_without_github_there_are_no_ci_roles_and_no_provider():
    r = render_guardrails(args(github=None))
    assert not [x for x in r.by_type(ROLE) if "-ci-" in x.name]
    assert r.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []


# -- personas ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", docs.PERSONAS)
def test_every_persona_requires_mfa_and_names_its_principals(full, persona):
    (st,) = role_doc(full, persona)["Statement"]
    assert st == {
        "Sid": "AssumeWithMfa",
        "Effect": "Allow",
        "Principal": {"AWS": ADMIN},
        "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    }


def test_every_role_carries_the_boundary(full):
    roles = full.by_type(ROLE)
    assert len(roles) == 7  # five personas, two CI roles
    assert {r.inputs["permissionsBoundary"] for r in roles} == {BOUNDARY}


def test_personas_get_read_only_job_function_policies_and_never_admin_ones(full):
    attached = {(a.name, a.inputs["policyArn"]) for a in full.by_type(ATTACHMENT)}
    assert ("guardrails-auditor-SecurityAudit", "arn:aws:iam::aws:policy/SecurityAudit") in attached
    assert ("guardrails-data-scientist-ViewOnlyAccess", "arn:aws:iam::aws:policy/ViewOnlyAccess") in attached
    assert not [
        n
        for n, arn in attached
        if re.search(r"(AdministratorAccess|PowerUserAccess|IAMFullAccess|ReadOnlyAccess)$", arn)
    ]
    assert not [p for p in full.by_type(INLINE) if p.name.startswith("guardrails-auditor")]


def test_data_scientist_reads_datasets_and_writes_only_the_experiments_and_mlflow_prefixes_of_models(full):
    statements = inline_doc(full, "guardrails-data-scientist-access")["Statement"]
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert [s["Resource"] for s in writes] == [
        "arn:aws:s3:::ml-models/experiments/*",
        "arn:aws:s3:::ml-models/mlflow/*",
    ]
    reads = {s["Resource"] for s in statements if "s3:GetObject" in s["Action"]}
    assert reads == {
        "arn:aws:s3:::ml-datasets/*",
        "arn:aws:s3:::ml-models/*",
        "arn:aws:s3:::ml-models/experiments/*",
        "arn:aws:s3:::ml-models/mlflow/*",
    }


MLFLOW_SERVER = f"arn:aws:sagemaker:us-west-2:{ACCOUNT_ID}:mlflow-tracking-server/ml-platform-dev-mlflow"


def _mlflow_actions(result: StackResult, persona: str) -> dict[str, list[str]]:
    """Resource -> MLflow (and presigned-URL) actions the persona's policy allows."""
    found: dict[str, list[str]] = {}
    for s in inline_doc(result, f"guardrails-{persona}-access")["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        mlflow = [a for a in actions if "mlflow" in a.lower()]
        if mlflow:
            found.setdefault(s["Resource"], []).extend(mlflow)
    return found


def test_personas_reach_the_tracking_server_per_the_access_model(full):
    engineer = _mlflow_actions(full, "ml-engineer")
    assert "sagemaker-mlflow:*" in engineer[MLFLOW_SERVER]
    scientist = _mlflow_actions(full, "data-scientist")[MLFLOW_SERVER]
    assert {"sagemaker-mlflow:CreateRun", "sagemaker-mlflow:Log*", "sagemaker-mlflow:Get*"} <= set(scientist)
    assert not [a for a in scientist if "Delete" in a or a.endswith(":*")], "scientists log, never delete"
    approver = _mlflow_actions(full, "model-approver")[MLFLOW_SERVER]
    writes = ("Create", "Log", "Set", "Update", "Delete")
    assert not [a for a in approver if a.startswith("sagemaker-mlflow:") and a.split(":")[1].startswith(writes)]
    for persona in ("ml-engineer", "data-scientist", "model-approver"):
        ui = _mlflow_actions(full, persona)
        assert ui["*"] == ["sagemaker-mlflow:AccessUI"]
        assert "sagemaker:CreatePresignedMlflowTrackingServerUrl" in ui[MLFLOW_SERVER]
    assert _mlflow_actions(full, "platform-admin") == {}, "the key administrator reads no experiment data"


def test_personas_get_no_mlflow_access_without_a_tracking_server():
    r = render_guardrails(args(experiment_tracking=False, github=None))
    for persona in ("ml-engineer", "data-scientist", "model-approver"):
        assert _mlflow_actions(r, persona) == {}
    assert "mlflow/" not in json.dumps(inline_doc(r, "guardrails-data-scientist-access"))


def test_persona_grants_skip_bucket_purposes_the_store_does_not_have(full):
    # platform-admin is granted data-capture and access-logs reads, but this store has neither bucket.
    resources = json.dumps(inline_doc(full, "guardrails-platform-admin-access"))
    assert "data-capture" not in resources and "access-logs" not in resources


def test_platform_admin_changes_only_instances_tagged_with_the_project():
    (st,) = [s for s in docs.persona_statements("platform-admin", SCOPE) if s["Sid"] == "OperatePlatformInstances"]
    assert st["Condition"] == {"StringEquals": {"aws:ResourceTag/Project": "ml-platform"}}
    assert st["Resource"] == f"arn:aws:ec2:us-west-2:{ACCOUNT_ID}:instance/*"


def test_personas_without_principals_get_no_role():
    r = render_guardrails(args(personas={"auditor": {"principals": [ADMIN]}}, github=None))
    assert [x.name for x in r.by_type(ROLE)] == ["guardrails-auditor-role"]


def test_session_length_follows_the_persona():
    r = render_guardrails(
        args(personas={"platform-admin": {"principals": [ADMIN], "max_session_hours": 4}}, github=None)
    )
    assert r.one(ROLE).inputs["maxSessionDuration"] == 4 * 3600


# -- nothing grants everything ---------------------------------------------------------------------------------


def test_no_statement_in_any_guardrails_document_allows_everything_on_everything(full):
    documents = [json.loads(p.inputs["policy"]) for p in full.by_type(INLINE)]
    documents += [json.loads(full.one(TOPIC_POLICY).inputs["policy"])]
    assert len(documents) == 7
    assert [docs.allows_everything_on_everything(d) for d in documents] == [[]] * 7


def test_the_star_on_star_check_catches_a_wildcard_and_a_not_action():
    bad = {
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "B", "Effect": "Allow", "NotAction": "iam:*", "Resource": ["*"]},
            {"Sid": "C", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"},
        ]
    }
    assert docs.allows_everything_on_everything(bad) == ["A", "B"]


def test_deploy_role_creates_roles_only_with_the_boundary_and_acts_only_in_allowed_regions():
    doc = docs.ci_deploy_policy(SCOPE, boundary_arn=BOUNDARY, allowed_regions=["us-west-2", "us-east-1"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["WriteStackRolesOnlyWithTheBoundary"]["Condition"] == {
        "StringEquals": {"iam:PermissionsBoundary": BOUNDARY}
    }
    assert (
        by_sid["WriteStackRolesOnlyWithTheBoundary"]["Resource"] == "arn:aws:iam::123456789012:role/ml-platform/dev/*"
    )
    attach = by_sid["AttachAllowlistedPoliciesToStackRoles"]["Condition"]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" not in attach["ArnEquals"]["iam:PolicyARN"]
    assert by_sid["PassStackRolesToPlatformServices"]["Resource"] == "arn:aws:iam::123456789012:role/ml-platform/dev/*"
    assert by_sid["ManagePlatformServicesInAllowedRegions"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}
    }
    assert "iam:CreateUser" not in json.dumps(doc) and "iam:CreateAccessKey" not in json.dumps(doc)
    assert "ActivateCostAllocationTags" not in by_sid


# -- golden files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["platform-admin", "ml-engineer", "data-scientist", "model-approver"])
def test_persona_policies_match_golden_files(full, persona):
    assert_golden(f"guardrails_persona_{persona}.json", inline_doc(full, f"guardrails-{persona}-access"))


def test_ci_and_topic_documents_match_golden_files(full):
    assert_golden("guardrails_ci_preview_trust.json", role_doc(full, "ci-preview"))
    assert_golden("guardrails_ci_deploy_trust.json", role_doc(full, "ci-deploy"))
    assert_golden("guardrails_ci_preview_policy.json", inline_doc(full, "guardrails-ci-preview-read-platform"))
    assert_golden("guardrails_ci_deploy_policy.json", inline_doc(full, "guardrails-ci-deploy-deploy-platform"))
    assert_golden("guardrails_persona_trust.json", role_doc(full, "auditor"))
    assert_golden("guardrails_budget_topic_policy.json", json.loads(full.one(TOPIC_POLICY).inputs["policy"]))


# -- budget ----------------------------------------------------------------------------------------------------


def test_budget_is_monthly_in_usd_and_counts_only_this_projects_environment(full):
    budget = full.one(BUDGET)
    assert {k: budget.inputs[k] for k in ("name", "budgetType", "limitAmount", "limitUnit", "timeUnit", "metrics")} == {
        "name": "ml-platform-dev-monthly",
        "budgetType": "COST",
        "limitAmount": "500.00",
        "limitUnit": "USD",
        "timeUnit": "MONTHLY",
        "metrics": "UnblendedCost",
    }
    assert budget.inputs["filterExpression"] == {
        "ands": [
            {"tags": {"key": "Project", "values": ["ml-platform"], "matchOptions": ["EQUALS"]}},
            {"tags": {"key": "Environment", "values": ["dev"], "matchOptions": ["EQUALS"]}},
        ]
    }


def test_budget_alerts_at_80_forecast_and_100_actual_to_the_topic_and_the_emails(full):
    topic_arn = full.one(TOPIC).outputs["arn"]
    notifications = full.one(BUDGET).inputs["notifications"]
    assert [
        (n["notificationType"], n["threshold"], n["thresholdType"], n["comparisonOperator"]) for n in notifications
    ] == [
        ("FORECASTED", 80, "PERCENTAGE", "GREATER_THAN"),
        ("ACTUAL", 100, "PERCENTAGE", "GREATER_THAN"),
    ]
    assert all(n["subscriberSnsTopicArns"] == [topic_arn] for n in notifications)
    assert all(n["subscriberEmailAddresses"] == ["team@example.com"] for n in notifications)


def test_alert_topic_is_encrypted_and_only_budgets_and_alarms_of_this_account_may_publish(full):
    topic = full.one(TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == LOGS_KEY
    statements = json.loads(full.one(TOPIC_POLICY).inputs["policy"])["Statement"]
    allows = {s["Principal"]["Service"]: s for s in statements if s["Effect"] == "Allow"}
    assert set(allows) == {"budgets.amazonaws.com", "cloudwatch.amazonaws.com"}
    assert all(s["Action"] == "sns:Publish" for s in allows.values())
    assert allows["budgets.amazonaws.com"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT_ID}:*"},
    }
    assert allows["cloudwatch.amazonaws.com"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-west-2:{ACCOUNT_ID}:alarm:*"},
    }
    assert full.one(BUDGET).options["dependsOn"] == [full.one(TOPIC_POLICY).urn]


def test_the_logs_key_lets_budgets_publish_to_the_topic_it_encrypts():
    from components.kms_policies import AwsContext, key_policy

    statements = key_policy("logs", AwsContext(account_id=ACCOUNT_ID, partition="aws", region="us-west-2"))["Statement"]
    (st,) = [s for s in statements if s.get("Principal") == {"Service": "budgets.amazonaws.com"}]
    assert set(st["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


# -- account baselines ---------------------------------------------------------------------------------------------


def test_account_baselines_are_off_by_default(full):
    for type_ in (
        "aws:ebs/encryptionByDefault:EncryptionByDefault",
        "aws:ebs/defaultKmsKey:DefaultKmsKey",
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
        "aws:costexplorer/costAllocationTag:CostAllocationTag",
    ):
        assert full.by_type(type_) == []


def test_account_baselines_when_opted_in():
    r = render_guardrails(
        args(
            account_baselines={
                "ebs_encryption_by_default": True,
                "s3_public_access_block": True,
                "cost_allocation_tags": True,
            }
        )
    )
    assert r.one("aws:ebs/encryptionByDefault:EncryptionByDefault").inputs["enabled"] is True
    assert r.one("aws:ebs/defaultKmsKey:DefaultKmsKey").inputs["keyArn"] == CLUSTER_KEY
    block = r.one("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock").inputs
    assert [
        block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    ] == [True] * 4
    tags = {
        t.inputs["tagKey"]: t.inputs["status"]
        for t in r.by_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    }
    assert tags == {"CostCenter": "Active", "Environment": "Active", "Owner": "Active", "Project": "Active"}
    deploy = inline_doc(r, "guardrails-ci-deploy-deploy-platform")
    assert "ActivateCostAllocationTags" in {s["Sid"] for s in deploy["Statement"]}


# -- validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"personas": {"admin": {"principals": [ADMIN]}}},
            "unknown persona 'admin'; (allowed: platform-admin, ml-engineer, data-scientist, auditor, model-approver)",
        ),
        (
            {"personas": {"auditor": {"principals": ["*"]}}},
            "not an IAM principal ARN; expected arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>",
        ),
        (
            {"github": {"repository": "ml-platform"}},
            "must be a GitHub repository as 'owner/name', e.g. 'example-org/ml-platform'",
        ),
        (
            {"github": {"repository": "o/r", "preview_pull_requests": False}},
            "the preview role needs pull requests or at least one branch to trust",
        ),
        ({"budget": {"monthly_usd": 0}}, "must be greater than 0 (US dollars per month)"),
        (
            {"budget": {"monthly_usd": 10, "actual_threshold_percent": 0}},
            "must be a percentage of the monthly limit, above 0 and at most 1000",
        ),
    ],
)
def test_fails_when_settings_are_invalid(settings, message):
    # The same model validates the stack file (see infra/config/test_guardrails.py for the one-line messages).
    with pytest.raises(ValueError) as info:
        GuardrailsSettings(**settings)
    (error,) = info.value.errors()
    assert str(error["ctx"]["error"]).startswith(message)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"account_baselines": {"ebs_encryption_by_default": True}, "ebs_kms_key_arn": None},
            "settings.account_baselines.ebs_encryption_by_default needs ebs_kms_key_arn",
        ),
        ({"role_regions": []}, "role_regions is empty"),
    ],
)
def test_fails_when_args_are_invalid(overrides, message):
    with pytest.raises(ValueError) as info:
        validate_guardrails(args(**overrides))
    assert str(info.value).startswith(message)
