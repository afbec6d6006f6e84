"""Every mistake in a stack's base keys gives one line naming the stack file, the key, the value and what is allowed."""

import json

import pytest

from infra.config import ConfigError, load
from infra.config.profiles import PROFILES, merge

TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}
BASE = {"aws:region": "us-west-2", "ml-platform:environment": "dev", "ml-platform:tags": json.dumps(TAGS)}


def load_with(overrides: dict[str, str], stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as info:
        load({**BASE, **overrides}, stack=stack)
    return info.value.problems


def test_a_valid_stack_gets_its_environment_profile_and_derived_environment_tag():
    cfg = load(BASE, stack="dev")
    assert cfg.environment == "dev"
    assert cfg.protect_stateful_resources is PROFILES["dev"]["protectStatefulResources"]
    assert cfg.default_tags == {**TAGS, "Environment": "dev"}
    assert cfg.partition == "aws"


def test_prod_profile_protects_stateful_resources_unless_overridden():
    assert load({**BASE, "ml-platform:environment": "prod"}, stack="prod").protect_stateful_resources is True


def test_fails_when_environment_is_not_known():
    assert load_with({"ml-platform:environment": "qa"}) == [
        "Pulumi.dev.yaml: ml-platform:environment = 'qa': Input should be 'dev', 'staging' or 'prod'"
    ]


def test_fails_when_region_is_not_an_aws_region():
    (line,) = load_with({"aws:region": "us-wset-2"})
    assert line.startswith(
        "Pulumi.dev.yaml: aws:region = 'us-wset-2': not an AWS region; did you mean 'us-west-2'? "
        "the aws partition has: "
    )
    assert "eu-central-1" in line


def test_fails_when_region_is_missing():
    values = dict(BASE)
    del values["aws:region"]
    with pytest.raises(ConfigError) as info:
        load(values, stack="dev")
    assert info.value.problems == [
        "Pulumi.dev.yaml: aws:region: missing; set the stack's AWS region (`pulumi config set aws:region ...`)"
    ]


def test_fails_on_unknown_key_with_did_you_mean():
    assert load_with({"ml-platform:netwrok": "{}"})[0].startswith(
        "Pulumi.dev.yaml: ml-platform:netwrok: unknown key; did you mean 'ml-platform:network'? (allowed: "
    )


def test_fails_when_a_cost_tag_is_missing_or_empty():
    tags = {k: v for k, v in TAGS.items() if k != "Owner"}
    assert load_with({"ml-platform:tags": json.dumps(tags)}) == [
        "Pulumi.dev.yaml: ml-platform:tags.Owner: required cost-allocation tag; set a non-empty `Owner`"
    ]
    assert load_with({"ml-platform:tags": json.dumps({**TAGS, "CostCenter": " "})}) == [
        "Pulumi.dev.yaml: ml-platform:tags.CostCenter = '': required cost-allocation tag; set a non-empty `CostCenter`"
    ]


def test_fails_when_environment_tag_is_set_by_hand():
    assert load_with({"ml-platform:tags": json.dumps({**TAGS, "Environment": "prod"})}) == [
        "Pulumi.dev.yaml: ml-platform:tags.Environment = 'prod': derived from `ml-platform:environment`; remove it"
    ]


def test_fails_with_wrong_type_naming_the_value():
    assert load_with({"ml-platform:protectStatefulResources": "maybe"}) == [
        (
            "Pulumi.dev.yaml: ml-platform:protectStatefulResources = 'maybe': Input should be a valid boolean, "
            "unable to interpret input"
        )
    ]


def test_secret_values_are_not_echoed_in_errors():
    with pytest.raises(ConfigError) as info:
        load(
            {**BASE, "ml-platform:protectStatefulResources": "hunter2"},
            stack="dev",
            secret_keys=["ml-platform:protectStatefulResources"],
        )
    assert "hunter2" not in str(info.value)
    assert "[secret]" in info.value.problems[0]


def test_every_problem_is_reported_at_once():
    assert len(load_with({"ml-platform:environment": "qa", "aws:region": "mars-1"})) == 2


def test_profile_merge_keeps_defaults_and_lets_the_stack_file_win():
    assert merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": 3}, "l": [2]}) == {"a": {"b": 1, "c": 3}, "l": [2]}


def test_fails_when_the_project_namespace_is_misspelt_with_did_you_mean():
    teams = json.dumps({"teams": [{"name": "research"}]})
    assert load_with({"ml_platform:cluster": teams, "mlplatfrom:network": "{}"}) == [
        (
            "Pulumi.dev.yaml: ml_platform:cluster: unknown namespace 'ml_platform', so nothing reads this key; "
            "did you mean 'ml-platform:cluster'?"
        ),
        (
            "Pulumi.dev.yaml: mlplatfrom:network: unknown namespace 'mlplatfrom', so nothing reads this key; "
            "did you mean 'ml-platform:network'?"
        ),
    ]


def test_fails_when_a_provider_namespace_is_misspelt_with_did_you_mean():
    assert load_with({"asw:profile": "ops", "kubernets:context": "x"}) == [
        "Pulumi.dev.yaml: asw:profile: unknown namespace 'asw', so nothing reads this key; did you mean 'aws:profile'?",
        (
            "Pulumi.dev.yaml: kubernets:context: unknown namespace 'kubernets', so nothing reads this key; "
            "did you mean 'kubernetes:context'?"
        ),
    ]


def test_fails_when_an_aws_provider_key_is_misspelt_with_did_you_mean():
    values = {k: v for k, v in BASE.items() if k != "aws:region"}
    with pytest.raises(ConfigError) as info:
        load({**values, "aws:regin": "us-west-2"}, stack="dev")
    assert info.value.problems == [
        "Pulumi.dev.yaml: aws:regin: not a setting of the AWS provider; did you mean 'aws:region'?",
        "Pulumi.dev.yaml: aws:region: missing; set the stack's AWS region (`pulumi config set aws:region ...`)",
    ]


def test_other_namespaces_and_real_provider_keys_are_left_alone():
    cfg = load({**BASE, "aws:profile": "ops", "aws:skipMetadataApiCheck": "false", "teamtools:owner": "x"}, stack="dev")
    assert cfg.region == "us-west-2"
