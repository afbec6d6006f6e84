"""`ml-platform:storage`: environment defaults, and one exact problem line per mistake."""

import json

import pytest

from infra.config import ConfigError, load
from infra.config.storage import StorageConfig

TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}
BASE = {"aws:region": "us-west-2", "ml-platform:environment": "dev", "ml-platform:tags": json.dumps(TAGS)}


def storage_for(env: str, storage: dict | None = None) -> StorageConfig:
    values = {**BASE, "ml-platform:environment": env}
    if storage is not None:
        values["ml-platform:storage"] = json.dumps(storage)
    return load(values, stack=env).storage


def problems(storage: dict, env: str = "dev") -> list[str]:
    values = {**BASE, "ml-platform:environment": env, "ml-platform:storage": json.dumps(storage)}
    with pytest.raises(ConfigError) as info:
        load(values, stack=env)
    return info.value.problems


# -- defaults per environment ------------------------------------------------------------------------------------


def test_every_environment_gets_all_four_buckets_versioned_and_two_registries():
    for env in ("dev", "staging", "prod"):
        storage = storage_for(env)
        assert storage.buckets == ("datasets", "models", "data-capture", "access-logs")
        assert storage.versioning is True
        assert storage.registries == ("training", "serving")


def test_dev_may_shorten_the_key_deletion_window_and_skip_the_vpc_endpoint_rule():
    storage = storage_for("dev")
    assert storage.key_deletion_window_days == 7
    assert storage.require_vpc_endpoint is False


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_staging_and_prod_keep_30_day_key_deletion_and_require_the_vpc_endpoint(env):
    storage = storage_for(env)
    assert storage.key_deletion_window_days == 30
    assert storage.require_vpc_endpoint is True


def test_prod_locks_model_versions_in_governance_mode_by_default():
    assert storage_for("prod").models_object_lock.retention_days == 30
    assert storage_for("staging").models_object_lock is None
    assert storage_for("dev").models_object_lock is None


def test_prod_can_turn_the_default_object_lock_off_explicitly():
    assert storage_for("prod", {"modelsObjectLock": None}).models_object_lock is None


def test_secure_values_are_the_schema_defaults_outside_any_profile():
    storage = StorageConfig()
    assert storage.key_deletion_window_days == 30
    assert storage.require_vpc_endpoint is True
    assert storage.versioning is True


# -- validation errors -------------------------------------------------------------------------------------------


def test_fails_when_bucket_purpose_is_unknown():
    assert problems({"buckets": ["datasets", "features", "access-logs"]}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.buckets[1] = 'features': unknown bucket purpose; "
            "allowed: datasets, models, data-capture, access-logs"
        )
    ]


def test_fails_when_a_bucket_purpose_is_listed_twice():
    assert problems({"buckets": ["datasets", "datasets", "access-logs"]}) == [
        "Pulumi.dev.yaml: ml-platform:storage.buckets[1] = 'datasets': listed twice; each bucket purpose appears once"
    ]


def test_fails_when_access_logs_bucket_is_left_out():
    assert problems({"buckets": ["datasets", "models"]}) == [
        (
            'Pulumi.dev.yaml: ml-platform:storage.buckets = ["datasets", "models"]: must include \'access-logs\': '
            "every other bucket delivers its server access logs there"
        )
    ]


@pytest.mark.parametrize("days", [0, 3651])
def test_fails_when_noncurrent_version_retention_is_out_of_range(days):
    assert problems({"noncurrentVersionExpiryDays": days}) == [
        (
            f"Pulumi.dev.yaml: ml-platform:storage.noncurrentVersionExpiryDays = {days}: must be between 1 and 3650 days "
            "(how long overwritten or deleted object versions are kept)"
        )
    ]


def test_fails_when_access_log_retention_is_out_of_range():
    assert problems({"accessLogRetentionDays": 4000}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.accessLogRetentionDays = 4000: must be between 1 and 3650 days "
            "(how long server access logs are kept)"
        )
    ]


def test_fails_when_object_lock_retention_is_out_of_range():
    assert problems({"modelsObjectLock": {"retentionDays": 0}}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.modelsObjectLock.retentionDays = 0: must be between 1 and 3650 days "
            "(how long each model version is locked against deletion)"
        )
    ]


def test_fails_when_object_lock_is_asked_for_without_versioning():
    assert problems({"versioning": False, "modelsObjectLock": {"retentionDays": 30}}) == [
        (
            'Pulumi.dev.yaml: ml-platform:storage.modelsObjectLock = {"retentionDays": 30}: needs versioning; '
            "set `versioning: true` or remove `modelsObjectLock`"
        )
    ]


def test_fails_when_replication_is_asked_for_without_versioning():
    assert problems({"versioning": False, "modelsReplication": {"destinationRegion": "us-east-1"}}) == [
        (
            'Pulumi.dev.yaml: ml-platform:storage.modelsReplication = {"destinationRegion": "us-east-1"}: needs '
            "versioning; set `versioning: true` or remove `modelsReplication`"
        )
    ]


def test_fails_when_object_lock_is_asked_for_without_a_models_bucket():
    assert problems({"buckets": ["datasets", "access-logs"], "modelsObjectLock": {"retentionDays": 30}}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.modelsObjectLock = {\"retentionDays\": 30}: needs the 'models' bucket "
            "in `buckets`; add it or remove `modelsObjectLock`"
        )
    ]


def test_fails_when_replication_region_is_not_an_aws_region():
    (line,) = problems({"modelsReplication": {"destinationRegion": "us-east-9"}})
    assert line.startswith(
        "Pulumi.dev.yaml: ml-platform:storage.modelsReplication.destinationRegion = 'us-east-9': not an AWS region; "
        "did you mean 'us-east-2'? the aws partition has: "
    )
    assert "us-west-2" in line


def test_fails_when_key_deletion_window_is_outside_what_kms_accepts():
    assert problems({"keyDeletionWindowDays": 3}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.keyDeletionWindowDays = 3: must be between 7 and 30 days "
            "(the range AWS KMS accepts; below 30 only in dev)"
        )
    ]


def test_fails_when_an_exempt_role_arn_is_not_a_role():
    assert problems({"vpcEndpointExemptRoleArns": ["arn:aws:iam::123456789012:user/bob"]}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.vpcEndpointExemptRoleArns[0] = 'arn:aws:iam::123456789012:user/bob': "
            "not an IAM role ARN; expected arn:<partition>:iam::<12-digit account>:role/<name> ('*' allowed in the name)"
        )
    ]


def test_accepts_wildcard_role_names_for_sso_admin_roles():
    arn = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*"
    assert storage_for("staging", {"vpcEndpointExemptRoleArns": [arn]}).vpc_endpoint_exempt_role_arns == (arn,)


def test_fails_when_a_registry_name_is_not_a_valid_ecr_name():
    assert problems({"registries": ["Training"]}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.registries[0] = 'Training': not a valid ECR repository name: 2-200 "
            "lowercase letters, digits and . _ - /, starting and ending with a letter or digit"
        )
    ]


def test_fails_when_no_registry_is_listed():
    # Refused with the other registry rules, before any resource is declared.
    assert problems({"registries": []}) == [
        "Pulumi.dev.yaml: ml-platform:storage.registries = []: list at least one repository name (e.g. training, serving)"
    ]


def test_fails_when_untagged_image_expiry_is_out_of_range():
    assert problems({"untaggedImageExpiryDays": 0}) == [
        (
            "Pulumi.dev.yaml: ml-platform:storage.untaggedImageExpiryDays = 0: must be between 1 and 365 days "
            "(how long an untagged image is kept before it expires)"
        )
    ]


# -- rules that need the stack's environment and region ----------------------------------------------------------


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_stack_rule_rejects_a_shorter_key_deletion_window_outside_dev(env):
    problem = StorageConfig(key_deletion_window_days=7).stack_problem(environment=env, region="us-west-2")
    assert (problem.key, problem.value) == ("storage.keyDeletionWindowDays", 7)
    assert problem.message == (
        f"only dev may shorten the KMS key deletion window; {env} keeps 30 days so a mistaken deletion can "
        "still be cancelled"
    )


def test_stack_rule_allows_a_shorter_key_deletion_window_in_dev():
    assert StorageConfig(key_deletion_window_days=7).stack_problem(environment="dev", region="us-west-2") is None


def test_stack_rule_rejects_replicating_into_the_stacks_own_region():
    storage = StorageConfig(models_replication={"destination_region": "us-east-1"})
    problem = storage.stack_problem(environment="prod", region="us-east-1")
    assert (problem.key, problem.value) == ("storage.modelsReplication.destinationRegion", "us-east-1")
    assert storage.stack_problem(environment="prod", region="us-west-2") is None


def test_fails_when_staging_shortens_the_key_deletion_window():
    # Needs PlatformConfig to raise `storage.stack_problem(...)` (see infra/config/schema.py).
    assert problems({"keyDeletionWindowDays": 7}, env="staging") == [
        (
            "Pulumi.staging.yaml: ml-platform:storage.keyDeletionWindowDays = 7: only dev may shorten the KMS key "
            "deletion window; staging keeps 30 days so a mistaken deletion can still be cancelled"
        )
    ]


def test_fails_when_prod_replicates_models_into_its_own_region():
    assert problems({"modelsReplication": {"destinationRegion": "us-west-2"}}, env="prod") == [
        (
            "Pulumi.prod.yaml: ml-platform:storage.modelsReplication.destinationRegion = 'us-west-2': is the stack's own "
            "region; replication for disaster recovery needs a different region"
        )
    ]


def test_dev_may_set_any_deletion_window_kms_accepts():
    assert storage_for("dev", {"keyDeletionWindowDays": 10}).key_deletion_window_days == 10
