"""The comparison itself: paths, normalisation, what is never compared."""

from __future__ import annotations

import json

from preflight.audit.drift import Field, Reader, differences, pick, policy_document, statement_difference
from preflight.audit.ec2 import permissions
from preflight.model import SECRET


def reader(*fields: Field) -> Reader:
    return Reader("t", "thing", lambda ctx: {}, fields)


def test_pick_walks_objects_and_maps_over_lists():
    value = {"rules": [{"a": {"b": 1}}, {"a": {"b": 2}}], "c": {"d": "x"}}
    assert pick(value, "rules[].a.b") == [1, 2]
    assert pick(value, "c.d") == "x"
    assert pick(value, "missing.d") is None


def test_policies_compare_equal_whatever_their_spelling():
    one = json.dumps(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}}
    )
    other = {"Statement": [{"Resource": "*", "Action": "s3:GetObject", "Effect": "Allow"}], "Version": "2012-10-17"}
    assert policy_document(one) == policy_document(other)


def test_policy_drift_shows_only_the_statements_that_differ():
    keep = {"Sid": "Keep", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    added = {"Sid": "Added", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    declared = json.dumps({"Statement": [keep]})
    live = json.dumps({"Statement": [keep, added]})
    assert statement_difference(declared, live) == (
        {"statements only in the state": []},
        {"statements only live": [dict(sorted(added.items()))]},
    )


def test_unset_takes_the_aws_default_on_either_side():
    field = Field("enableKeyRotation", default=False)
    assert differences(reader(field), {}, {"enableKeyRotation": False}) == []
    assert differences(reader(field), {}, {"enableKeyRotation": True}) == [(field, None, True)]


def test_numbers_compare_by_value():
    assert differences(reader(Field("retentionInDays")), {"retentionInDays": 30}, {"retentionInDays": 30.0}) == []


def test_secret_values_are_never_compared():
    field = Field("password")
    assert differences(reader(field), {"password": SECRET}, {"password": "live value"}) == []


def test_ingress_compares_single_permissions_however_grouped():
    grouped = [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/16", "10.1.0.0/16"]}]
    split = [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.1.0.0/16"], "description": "b"},
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/16"]},
    ]
    assert (
        permissions(grouped)
        == permissions(split)
        == [
            "tcp 443-443 from cidr 10.0.0.0/16",
            "tcp 443-443 from cidr 10.1.0.0/16",
        ]
    )
    assert permissions([{"protocol": "all", "self": True}]) == ["-1 all from self"]
