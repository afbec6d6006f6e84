"""parliament on every policy document of a stack, without its false alarms on trust and key policies."""

from __future__ import annotations

import json

import pulumi_aws as aws

from preflight.model import UNKNOWN, ResourceRecord, StackResult
from preflight.scanners import iam_lint
from preflight.scanners.config import ScannerConfig, Skip, project_config
from preflight.testing import REPO, render

ACCOUNT = "123456789012"
EKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _scan(program, config=None):
    return iam_lint.scan(render(program), config or project_config(REPO))


def test_misspelt_action_is_a_mandatory_finding_naming_resource_and_field():
    def program():
        role = aws.iam.Role("app", assume_role_policy=json.dumps(EKS_TRUST))
        aws.iam.RolePolicy(
            "app-read",
            role=role.name,
            policy=_doc({"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::data/*"}),
        )

    [finding] = _scan(program)
    assert (finding.source, finding.policy, finding.enforcement, finding.name) == (
        "parliament",
        "parliament/UNKNOWN_ACTION",
        "mandatory",
        "app-read",
    )
    assert (
        finding.message
        == "policy of aws:iam/rolePolicy:RolePolicy 'app-read': Unknown action: Unknown action s3:GetObjekt"
    )


def test_inline_policies_are_linted_too():
    def program():
        aws.iam.Role(
            "app",
            assume_role_policy=json.dumps(EKS_TRUST),
            inline_policies=[
                aws.iam.RoleInlinePolicyArgs(name="read", policy=_doc({"Effect": "Allow", "Action": "s3:GetObject"}))
            ],
        )

    findings = _scan(program)
    assert [(f.policy, f.message.split(":")[0]) for f in findings] == [
        ("parliament/MALFORMED", "inlinePolicies[0].policy of aws")
    ]


def test_trust_policies_and_irsa_federation_raise_nothing():
    issuer = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789"
    irsa = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": "system:serviceaccount:serving:model",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }

    def program():
        aws.iam.Role("cluster", assume_role_policy=json.dumps(EKS_TRUST))
        aws.iam.Role("model", assume_role_policy=json.dumps(irsa))

    assert _scan(program) == []


def test_resource_star_is_expected_in_a_key_policy_but_not_in_an_identity_policy():
    star = {
        "Sid": "Admin",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }

    def program():
        aws.kms.Key("key", policy=_doc(star))
        aws.iam.Policy("reader", policy=_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))

    assert [(f.policy, f.name) for f in _scan(program)] == [("parliament/RESOURCE_STAR", "reader")]


def test_a_justified_skip_silences_the_finding():
    def program():
        aws.iam.Policy("reader", policy=_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))

    config = ScannerConfig(
        skips=(Skip("parliament/RESOURCE_STAR", "reads every bucket by design in this test", ("reader",)),)
    )
    assert _scan(program, config) == []


def test_documents_not_known_until_apply_are_left_out():
    record = ResourceRecord(
        urn="urn:pulumi:dev::p::aws:iam/policy:Policy::p",
        type="aws:iam/policy:Policy",
        name="p",
        custom=True,
        inputs={"policy": UNKNOWN},
    )
    assert iam_lint.documents(StackResult("p", "dev", resources=[record])) == []


TLS_ONLY = {
    "Sid": "DenyOutdatedTls",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
    "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
}


def test_aws_documented_bucket_and_key_policies_raise_nothing():
    perimeter = {
        "Sid": "DenyOutsideVpc",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::data/*",
        "Condition": {
            "StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-0123456789abcdef0"},
            "BoolIfExists": {"aws:ViaAWSService": "false"},
        },
    }
    logs = {
        "Sid": "CloudWatchLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-west-2.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:*"}
        },
    }

    def program():
        aws.s3.BucketPolicy("data-policy", bucket="data", policy=_doc(TLS_ONLY, perimeter))
        aws.kms.Key("logs", policy=_doc(logs))

    assert _scan(program) == []


def test_a_misspelt_condition_key_under_a_wildcard_action_is_still_reported_once():
    typo = {**TLS_ONLY, "Condition": {"NumericLessThan": {"s3:TlsVerson": "1.2"}}}

    def program():
        aws.s3.BucketPolicy("data-policy", bucket="data", policy=_doc(typo))

    [finding] = _scan(program)
    assert finding.policy == "parliament/UNKNOWN_CONDITION_FOR_ACTION"
    assert "Unknown condition s3:TlsVerson for action s3:" in finding.message and "more)" in finding.message
