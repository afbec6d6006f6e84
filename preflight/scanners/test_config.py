"""The scanner configuration file: enforcement per check, and no skip without a written reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.model import ResourceRecord
from preflight.scanners.config import DEFAULT_CONFIG, ScannerConfigError, load_config, parse_config

PATH = Path("checkov-config.yaml")


def test_shipped_config_loads_and_every_skip_has_a_reason():
    config = load_config(DEFAULT_CONFIG)
    assert config.skips, "the shipped skip list is expected to hold at least one justified skip"
    assert all(len(skip.reason) >= 20 for skip in config.skips)
    assert config.enforcement("CKV_AWS_37") == "mandatory"


def test_fails_when_a_skip_has_no_reason():
    with pytest.raises(ScannerConfigError) as exc:
        parse_config({"skip": [{"check": "CKV_AWS_18"}]}, PATH)
    assert str(exc.value) == (
        "checkov-config.yaml: skip[0] (CKV_AWS_18).reason = None: every skip needs a written reason "
        "(at least 20 characters) saying why the finding is accepted"
    )


def test_fails_when_a_skip_reason_says_nothing():
    with pytest.raises(ScannerConfigError, match=r"skip\[0\] \(CKV_AWS_18\)\.reason = 'false positive'"):
        parse_config({"skip": [{"check": "CKV_AWS_18", "reason": "false positive"}]}, PATH)


def test_fails_when_enforcement_is_not_mandatory_or_advisory():
    with pytest.raises(ScannerConfigError) as exc:
        parse_config({"checks": {"CKV_AWS_37": "blocking"}}, PATH)
    assert (
        str(exc.value)
        == "checkov-config.yaml: checks.CKV_AWS_37.enforcement = 'blocking': must be one of mandatory, advisory"
    )


def test_fails_on_an_unknown_top_level_key():
    with pytest.raises(
        ScannerConfigError, match=r"unknown top-level key\(s\); allowed: default_enforcement, checks, skip"
    ):
        parse_config({"skips": []}, PATH)


def test_fails_on_a_category_preflight_does_not_report():
    with pytest.raises(
        ScannerConfigError,
        match=r"checks\.CKV_AWS_1\.category = 'logging': must be one of encryption, access, cost, reliability",
    ):
        parse_config({"checks": {"CKV_AWS_1": {"enforcement": "advisory", "category": "logging"}}}, PATH)


def test_exact_ids_win_over_patterns_and_patterns_over_the_default():
    config = parse_config(
        {
            "default_enforcement": "advisory",
            "checks": {"parliament/*": "mandatory", "parliament/RESOURCE_STAR": "advisory"},
        },
        PATH,
    )
    assert config.enforcement("parliament/UNKNOWN_ACTION") == "mandatory"
    assert config.enforcement("parliament/RESOURCE_STAR") == "advisory"
    assert config.enforcement("CKV_AWS_1") == "advisory"


def test_a_skip_scoped_to_resources_matches_type_name_or_urn_only():
    config = parse_config(
        {
            "skip": [
                {
                    "check": "CKV_AWS_18",
                    "reason": "the access-log bucket cannot log to itself",
                    "resources": ["*-access-logs"],
                }
            ]
        },
        PATH,
    )
    logs = ResourceRecord(
        urn="urn:pulumi:dev::p::aws:s3/bucket:Bucket::store-access-logs",
        type="aws:s3/bucket:Bucket",
        name="store-access-logs",
        custom=True,
    )
    data = ResourceRecord(
        urn="urn:pulumi:dev::p::aws:s3/bucket:Bucket::store-data",
        type="aws:s3/bucket:Bucket",
        name="store-data",
        custom=True,
    )
    assert config.skip_for("CKV_AWS_18", logs) is not None
    assert config.skip_for("CKV_AWS_18", data) is None
    assert config.skip_for("CKV_AWS_21", logs) is None


def test_one_skip_entry_may_name_several_checks_with_one_reason():
    config = parse_config(
        {
            "checks": {"CKV_AWS_1": "mandatory"},
            "skip": [
                {
                    "check": ["CKV_AWS_286", "CKV_AWS_287"],
                    "reason": "a ceiling, not a grant: never attached as a permission",
                }
            ],
        },
        PATH,
    )
    assert [s.check for s in config.skips] == ["CKV_AWS_286", "CKV_AWS_287"]
    assert config.enforcement("CKV_AWS_1") == "mandatory"
