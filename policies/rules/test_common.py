"""The helpers every rule reads properties through: they never raise on values only known after apply."""

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.rules import instances
from policies.rules._common import UNKNOWN, condition_keys, elements, get, is_public_principal, known, num, shown

PROPS = unknown_checking_proxy(
    {
        "vpcConfig": {"subnetIds": ["subnet-1", UNKNOWN_STRING_VALUE], "endpointPublicAccess": UNKNOWN_STRING_VALUE},
        "name": "x",
        "gone": None,
    }
)


def test_get_returns_values_defaults_and_unknown_without_raising():
    assert get(PROPS, "name") == "x"
    assert get(PROPS, "vpcConfig", "subnetIds", 0) == "subnet-1"
    assert get(PROPS, "vpcConfig", "subnetIds", 1) is UNKNOWN
    assert get(PROPS, "vpcConfig", "endpointPublicAccess") is UNKNOWN
    assert get(PROPS, "vpcConfig", "endpointPublicAccess", "deeper") is UNKNOWN
    assert get(PROPS, "missing", default="d") == "d"
    assert get(PROPS, "gone", default="d") == "d"
    assert get(PROPS, "name", "not-a-mapping") is None
    assert get(PROPS, "vpcConfig", "subnetIds", 5) is None


def test_elements_keeps_unknown_items_and_wraps_single_values():
    assert elements(get(PROPS, "vpcConfig", "subnetIds")) == ["subnet-1", UNKNOWN]
    assert elements("one") == ["one"]
    assert elements(None) == [] and elements(UNKNOWN) == []


def test_known_raises_the_engines_unknown_error_for_the_rule_to_surface():
    assert known("x", "name") == "x"
    with pytest.raises(UnknownValueError) as info:
        known(UNKNOWN, "vpcConfig.endpointPublicAccess")
    assert info.value.message == "string value at .vpcConfig.endpointPublicAccess can't be known during preview"


def test_numbers_read_as_the_program_wrote_them():
    # Every number reaches a policy as a float.
    assert [num(3.0), num(2.5), num(7)] == ["3", "2.5", "7"]
    assert [shown(None), shown(0.0), shown(False), shown("optional")] == ["not set", "0", "False", "'optional'"]


def test_public_principals():
    assert (
        is_public_principal("*") and is_public_principal({"AWS": "*"}) and is_public_principal({"AWS": ["arn:x", "*"]})
    )
    assert not is_public_principal({"Service": "s3.amazonaws.com"}) and not is_public_principal(
        {"AWS": "arn:aws:iam::1:root"}
    )


def test_condition_keys_are_compared_case_insensitively_across_operators():
    statement = {"Condition": {"StringEquals": {"Issuer:Sub": "a"}, "StringLike": {"issuer:sub": ["b*"]}}}
    assert condition_keys(statement) == {"issuer:sub": ["a", "b*"]}


def test_instance_type_facts():
    assert [
        instances.has_local_storage(t)
        for t in ("ml.g5.xlarge", "ml.m5d.large", "ml.g4dn.xlarge", "ml.m5.large", "ml.c6i.xlarge", "ml.inf2.xlarge")
    ] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert instances.split("ml.p4d.24xlarge") == ("p4d", "24xlarge") and instances.split("nonsense") == ("", "")
