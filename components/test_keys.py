"""PlatformKeys: validation, what it renders, and its key policies (golden files).

Regenerate the golden key policies with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_keys.py`.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from pydantic import ValidationError

from components.keys import PlatformKeys, PlatformKeysArgs, PlatformKeysSettings, validate_platform_keys
from components.kms_policies import ADMIN_ACTIONS, CRYPTO_ACTIONS, DOMAINS, AwsContext, KeyRoles, key_policy
from preflight.emulator.aws import ACCOUNT_ID
from preflight.model import StackResult
from preflight.testing import assert_golden, render

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
CTX = AwsContext(account_id=ACCOUNT_ID, partition="aws", region="us-west-2")


def args(**overrides) -> PlatformKeysArgs:
    """Keys args; overrides of a setting (`key_deletion_window_days=...`) go into `settings`, the rest are arguments."""
    settings = {k: overrides.pop(k) for k in list(overrides) if k in PlatformKeysSettings.model_fields}
    return replace(
        PlatformKeysArgs(alias_prefix="ml-platform/dev", settings=PlatformKeysSettings(**settings)), **overrides
    )


def render_keys(keys_args: PlatformKeysArgs) -> StackResult:
    return render(lambda: PlatformKeys("platform", keys_args))


@pytest.fixture(scope="module")
def protected() -> StackResult:
    """As the program wires them: the stack's roles use the keys, its platform-admin and CI deploy role run them."""
    return render_keys(
        args(
            iam_path="/ml-platform/dev/",
            administrator_role_names=("ml-platform-dev-platform-admin", "ml-platform-dev-ci-deploy"),
        )
    )


# -- validation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [6, 31])
def test_fails_when_deletion_window_is_outside_what_kms_accepts(days):
    # The settings validate themselves (the stack file's one-line form is in infra/config/test_storage.py).
    with pytest.raises(ValidationError) as info:
        PlatformKeysSettings(key_deletion_window_days=days)
    (error,) = info.value.errors()
    assert (
        str(error["ctx"]["error"]) == "must be between 7 and 30 days (the range AWS KMS accepts; below 30 only in dev)"
    )


@pytest.mark.parametrize("prefix", ["aws/platform", "ml platform", "/ml-platform", "ml-platform/", ""])
def test_fails_when_alias_prefix_is_reserved_or_malformed(prefix):
    with pytest.raises(ValueError) as info:
        validate_platform_keys(args(alias_prefix=prefix))
    assert str(info.value).startswith(f"alias_prefix = {prefix!r}: must be 1-200 letters, digits, '_', '-'")


# -- rendered keys -----------------------------------------------------------------------------------------------


def test_creates_one_key_per_domain_with_rotation_and_a_30_day_deletion_window(protected):
    keys = {r.name: r for r in protected.by_type(KEY)}
    assert sorted(keys) == sorted(f"platform-{d}" for d in DOMAINS)
    for key in keys.values():
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["rotationPeriodInDays"] == 365
        assert key.inputs["deletionWindowInDays"] == 30


def test_every_key_has_a_stack_scoped_alias_pointing_at_it(protected):
    for domain in DOMAINS:
        key = protected.one(KEY, f"platform-{domain}")
        alias = protected.one(ALIAS, f"platform-{domain}-alias")
        assert alias.inputs["name"] == f"alias/ml-platform/dev/{domain}"
        assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


def test_keys_and_aliases_are_protected_and_retained_by_default(protected):
    for record in protected.by_type(KEY) + protected.by_type(ALIAS):
        assert record.options["protect"] is True, record.name
        assert record.options["retainOnDelete"] is True, record.name


def test_unprotected_keys_take_the_shorter_dev_deletion_window():
    result = render_keys(args(protect=False, key_deletion_window_days=7))
    for record in result.by_type(KEY):
        assert record.inputs["deletionWindowInDays"] == 7
        assert record.options["protect"] is False
        assert record.options["retainOnDelete"] is False


def test_replica_key_is_created_in_the_replica_region_only_when_asked(protected):
    assert "platform-artifacts-replica" not in {r.name for r in protected.by_type(KEY)}
    result = render_keys(args(replica_region="us-east-1"))
    replica = result.one(KEY, "platform-artifacts-replica")
    assert replica.inputs["region"] == "us-east-1"
    assert replica.outputs["arn"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/")
    assert result.one(ALIAS, "platform-artifacts-replica-alias").inputs["region"] == "us-east-1"
    assert json.loads(replica.inputs["policy"]) == key_policy("artifacts-replica", replace(CTX, region="us-east-1"))


def test_every_key_is_a_child_of_the_component(protected):
    component = protected.one("mlplatform:storage:PlatformKeys")
    for record in protected.by_type(KEY) + protected.by_type(ALIAS):
        assert record.parent == component.urn


# -- key policies ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_rendered_key_policy_matches_golden(protected, domain):
    rendered = json.loads(protected.one(KEY, f"platform-{domain}").inputs["policy"])
    assert rendered == key_policy(domain, CTX, ROLES)
    assert_golden(f"keys_policy_{domain}.json", rendered)


@pytest.mark.parametrize("domain", DOMAINS)
def test_only_the_account_root_gets_kms_star(domain):
    policy = key_policy(domain, CTX)
    admin = [s for s in policy["Statement"] if s["Action"] == "kms:*"]
    assert admin == [
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement is admin[0] or not any(a.endswith("*") for a in actions), statement["Sid"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_statement_opens_the_key_to_everyone_without_pinning_it_to_this_account(domain):
    for statement in key_policy(domain, CTX, ROLES)["Statement"]:
        if statement["Effect"] == "Allow" and statement["Principal"] in ("*", {"AWS": "*"}):
            assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT_ID, statement["Sid"]
        if "Service" in statement["Principal"]:
            assert "Condition" in statement, statement["Sid"]


def test_artifacts_and_sagemaker_keys_delegate_all_use_to_iam():
    for domain in ("artifacts", "sagemaker"):
        assert [s["Sid"] for s in key_policy(domain, CTX)["Statement"]] == ["AccountAdministration"]


def test_logs_key_admits_cloudwatch_logs_alarms_budgets_and_sns_publishers():
    by_sid = {s["Sid"]: s for s in key_policy("logs", CTX)["Statement"]}
    logs = by_sid["CloudWatchLogsEncryptLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-west-2.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-west-2:{ACCOUNT_ID}:log-group:*"}
    }
    alarms = by_sid["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    budgets = by_sid["BudgetsPublishToEncryptedTopics"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT_ID}:*"}
    sns = by_sid["AccountPrincipalsThroughSns"]
    assert sns["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sns["Condition"]["StringEquals"]["kms:ViaService"] == "sns.us-west-2.amazonaws.com"


def test_cluster_key_lets_only_the_auto_scaling_service_linked_role_use_it_for_node_volumes():
    statements = [s for s in key_policy("cluster", CTX)["Statement"] if s["Sid"] != "AccountAdministration"]
    slr = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    assert {s["Sid"] for s in statements} == {"AutoScalingUseForNodeVolumes", "AutoScalingAttachNodeVolumes"}
    for statement in statements:
        assert statement["Condition"]["ArnEquals"] == {"aws:PrincipalArn": slr}
    grant = next(s for s in statements if s["Action"] == "kms:CreateGrant")
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


ROLES = KeyRoles(
    administrator_arns=(
        f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform/dev/ml-platform-dev-platform-admin",
        f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform/dev/ml-platform-dev-ci-deploy",
    ),
    user_arn_pattern=f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform/dev/*",
)


@pytest.mark.parametrize("domain", DOMAINS)
def test_key_administrators_manage_but_are_denied_cryptography_and_users_are_the_stacks_roles(domain):
    by_sid = {s["Sid"]: s for s in key_policy(domain, CTX, ROLES)["Statement"]}
    admins = by_sid["KeyAdministrators"]
    assert admins["Action"] == list(ADMIN_ACTIONS)
    assert not set(admins["Action"]) & set(CRYPTO_ACTIONS)
    assert admins["Condition"]["ArnEquals"] == {"aws:PrincipalArn": sorted(ROLES.administrator_arns)}
    deny = by_sid["DenyKeyAdministratorsCryptography"]
    assert (deny["Effect"], deny["Action"]) == ("Deny", list(CRYPTO_ACTIONS))
    assert deny["Condition"] == {"ArnEquals": {"aws:PrincipalArn": sorted(ROLES.administrator_arns)}}
    users = by_sid["KeyUsers"]
    assert users["Condition"]["ArnLike"] == {"aws:PrincipalArn": ROLES.user_arn_pattern}
    # The root statement stays first, as AWS's default policy has it: the key can never become unmanageable.
    assert next(iter(by_sid)) == "AccountAdministration"


def test_the_rendered_keys_name_the_administrators_under_the_stacks_path():
    named = render_keys(args(iam_path="/ml-platform/dev/", administrator_role_names=("ml-platform-dev-ci-deploy",)))
    policy = json.loads(named.one(KEY, "platform-artifacts").inputs["policy"])
    (deny,) = [s for s in policy["Statement"] if s["Sid"] == "DenyKeyAdministratorsCryptography"]
    assert deny["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform/dev/ml-platform-dev-ci-deploy"
    ]


def test_fails_when_administrators_are_named_without_the_path():
    with pytest.raises(ValueError, match="administrator_role_names needs iam_path"):
        validate_platform_keys(args(administrator_role_names=("x",)))


def test_china_regions_use_the_china_service_domain():
    policy = key_policy("logs", AwsContext(account_id=ACCOUNT_ID, partition="aws-cn", region="cn-north-1"))
    logs = next(s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptLogGroups")
    assert logs["Principal"] == {"Service": "logs.cn-north-1.amazonaws.com.cn"}
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws-cn:iam::{ACCOUNT_ID}:root"}
