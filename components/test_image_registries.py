"""ImageRegistries: validation, what each repository renders (scan on push, immutable tags, KMS, lifecycle,
protection), and its repository and lifecycle policies (golden files).

Regenerate the golden policies with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_image_registries.py`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components.image_registries import (
    PULL_ACTIONS,
    PUSH_ACTIONS,
    ImageRegistries,
    ImageRegistriesArgs,
    ImageRegistriesSettings,
    lifecycle_policy,
    repository_policy,
    validate_image_registries,
)
from preflight.emulator.aws import ACCOUNT_ID
from preflight.model import StackResult
from preflight.testing import assert_golden, render

KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/0b1e7a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
PATH = "/ml-platform/prod/"

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"


def args(**overrides: Any) -> ImageRegistriesArgs:
    """Registry args; overrides of a setting (`registries=...`) go into `settings`, the rest are arguments."""
    settings = {k: overrides.pop(k) for k in list(overrides) if k in ImageRegistriesSettings.model_fields}
    base = ImageRegistriesArgs(
        name_prefix="ml-platform/prod",
        kms_key_arn=KEY_ARN,
        platform_role_path=PATH,
        settings=ImageRegistriesSettings(**settings),
    )
    return replace(base, **overrides)


def render_registries(registry_args: ImageRegistriesArgs) -> StackResult:
    def program() -> None:
        registries = ImageRegistries("images", registry_args)
        pulumi.export("urls", registries.repository_urls)
        pulumi.export("arns", registries.repository_arns)

    return render(program)


@cache
def protected() -> StackResult:
    return render_registries(args())


@cache
def unprotected() -> StackResult:
    return render_registries(args(name_prefix="ml-platform/dev", protect=False, untagged_image_expiry_days=3))


# -- validation --------------------------------------------------------------------------------------------------


def fails(**overrides: Any) -> str:
    with pytest.raises(ValueError) as info:
        validate_image_registries(args(**overrides))
    return str(info.value)


def settings_fail(**settings: Any) -> str:
    """The message of the settings' own validation (the stack file's one-line form is in infra/config/test_storage.py)."""
    with pytest.raises(ValidationError) as info:
        ImageRegistriesSettings(**settings)
    (error,) = info.value.errors()
    return str(error["ctx"]["error"])


def test_fails_when_no_repository_is_named():
    assert settings_fail(registries=()) == "list at least one repository name (e.g. training, serving)"


def test_fails_when_a_repository_is_named_twice():
    assert settings_fail(registries=("serving", "serving")) == "listed twice; each registry name appears once"


@pytest.mark.parametrize("bad", ["Serving", "serving-", "-serving", "serving//gpu", "a" * 201])
def test_fails_when_a_repository_name_breaks_ecr_rules(bad):
    assert settings_fail(registries=("training", bad)) == (
        "not a valid ECR repository name: 2-200 lowercase letters, digits and . _ - /, "
        "starting and ending with a letter or digit"
    )


def test_fails_when_the_name_prefix_breaks_ecr_rules():
    assert fails(name_prefix="ML-Platform/prod").startswith("name_prefix = 'ML-Platform/prod': ")


def test_fails_when_the_full_repository_name_is_longer_than_ecr_allows():
    prefix = "ml-platform/" + "p" * 60
    full = f"{prefix}/" + "a" * 200
    assert fails(name_prefix=prefix, registries=("a" * 200,)) == (
        f"repository {full!r}: ECR names are 2-256 characters; this one has 273"
    )


@pytest.mark.parametrize("path", ["/", "ml-platform/prod/", "/ml-platform/prod", "/ml-platform/*/"])
def test_fails_when_the_platform_role_path_is_not_one_stack_path(path):
    assert fails(platform_role_path=path) == (
        f"platform_role_path = {path!r}: give the stack's IAM path, e.g. '/ml-platform/prod/' "
        "(starting and ending with '/', not the root '/', no wildcards)"
    )


@pytest.mark.parametrize("days", [0, 366])
def test_fails_when_untagged_image_expiry_is_out_of_range(days):
    assert settings_fail(untagged_image_expiry_days=days) == (
        "must be between 1 and 365 days (how long an untagged image is kept before it expires)"
    )


# -- rendered repositories ---------------------------------------------------------------------------------------


def test_one_repository_per_name_under_the_stack_prefix_keyed_by_name():
    result = protected()
    repos = {r.name: r for r in result.by_type(REPOSITORY)}
    assert sorted(repos) == ["images-serving", "images-training"]
    assert repos["images-serving"].inputs["name"] == "ml-platform/prod/serving"
    assert repos["images-training"].inputs["name"] == "ml-platform/prod/training"
    component = result.one("mlplatform:storage:ImageRegistries")
    assert all(r.parent == component.urn for r in result.resources if r.type.startswith("aws:ecr/"))


def test_nested_names_become_dashed_logical_names():
    result = render_registries(args(registries=("serving/gpu",)))
    assert result.one(REPOSITORY, "images-serving-gpu").inputs["name"] == "ml-platform/prod/serving/gpu"
    assert result.one(POLICY, "images-serving-gpu-policy")


def test_every_repository_scans_images_on_push():
    for repo in protected().by_type(REPOSITORY):
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, repo.name


def test_every_repository_has_immutable_tags():
    for repo in protected().by_type(REPOSITORY):
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE", repo.name


def test_every_repository_is_encrypted_with_the_given_kms_key():
    for repo in protected().by_type(REPOSITORY):
        assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY_ARN}], repo.name


def test_every_repository_expires_untagged_images_after_the_configured_days():
    for result, days in ((protected(), 14), (unprotected(), 3)):
        for repo in result.by_type(REPOSITORY):
            role = repo.name.removeprefix("images-")
            lifecycle = result.one(LIFECYCLE, f"images-{role}-lifecycle")
            assert lifecycle.inputs["repository"] == repo.inputs["name"]
            (rule,) = json.loads(lifecycle.inputs["policy"])["rules"]
            assert rule["selection"] == {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": days,
            }
            assert rule["action"] == {"type": "expire"}


def test_protected_repositories_and_their_policies_are_retained_and_never_force_deleted():
    result = protected()
    for record in result.by_type(REPOSITORY) + result.by_type(LIFECYCLE) + result.by_type(POLICY):
        assert record.options["protect"] is True, record.name
        assert record.options["retainOnDelete"] is True, record.name
    assert all(r.inputs["forceDelete"] is False for r in result.by_type(REPOSITORY))


def test_unprotected_repositories_are_deleted_with_their_images():
    result = unprotected()
    for record in result.by_type(REPOSITORY) + result.by_type(LIFECYCLE) + result.by_type(POLICY):
        assert record.options["protect"] is False, record.name
        assert record.options["retainOnDelete"] is False, record.name
    assert all(r.inputs["forceDelete"] is True for r in result.by_type(REPOSITORY))


def test_outputs_are_repository_urls_and_arns_by_name():
    outputs = protected().outputs
    assert outputs["urls"] == {
        name: f"{ACCOUNT_ID}.dkr.ecr.us-west-2.amazonaws.com/ml-platform/prod/{name}"
        for name in ("training", "serving")
    }
    assert outputs["arns"] == {
        name: f"arn:aws:ecr:us-west-2:{ACCOUNT_ID}:repository/ml-platform/prod/{name}"
        for name in ("training", "serving")
    }


def test_every_repository_gets_the_rendered_repository_policy():
    result = protected()
    for repo in result.by_type(REPOSITORY):
        attached = result.one(POLICY, f"{repo.name}-policy")
        assert attached.inputs["repository"] == repo.inputs["name"]
        assert json.loads(attached.inputs["policy"]) == repository_policy(
            account_id=ACCOUNT_ID, partition="aws", platform_role_path=PATH
        )


# -- policies ----------------------------------------------------------------------------------------------------


def test_rendered_repository_policy_matches_golden():
    rendered = json.loads(protected().one(POLICY, "images-serving-policy").inputs["policy"])
    assert_golden("image_registries_repository_policy.json", rendered)


def test_rendered_lifecycle_policy_matches_golden():
    rendered = json.loads(protected().one(LIFECYCLE, "images-serving-lifecycle").inputs["policy"])
    assert_golden("image_registries_lifecycle_policy.json", rendered)


def test_repository_policy_only_denies_and_covers_pull_and_push():
    policy = repository_policy(account_id=ACCOUNT_ID, partition="aws", platform_role_path=PATH)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Deny", statement["Sid"]
        assert statement["Action"] == [*PULL_ACTIONS, *PUSH_ACTIONS], statement["Sid"]
        # Repository management is never denied, so the deployment cannot lock itself out.
        assert not any(a in statement["Action"] for a in ("ecr:SetRepositoryPolicy", "ecr:DeleteRepository"))


def test_repository_policy_denies_other_accounts_and_principals_outside_the_stacks_role_path():
    policy = repository_policy(account_id=ACCOUNT_ID, partition="aws", platform_role_path=PATH)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"DenyOtherAccounts", "DenyPrincipalsOutsideThePlatformPath"}
    assert by_sid["DenyOtherAccounts"]["Condition"] == {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT_ID}}
    assert by_sid["DenyPrincipalsOutsideThePlatformPath"]["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform/prod/*"}
    }
    assert "PrincipalTag" not in json.dumps(policy)  # tags are not identity: whoever may tag a role could forge them


def test_lifecycle_policy_has_one_rule_expiring_untagged_images():
    assert lifecycle_policy(7)["rules"] == [
        {
            "rulePriority": 1,
            "description": "Expire untagged images 7 days after push",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 7,
            },
            "action": {"type": "expire"},
        }
    ]
