"""The scanner configuration file: enforcement per check, and no skip without a written reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.model import ResourceRecord
from preflight.scanners.config import (
    DEFAULT_CONFIG,
    ScannerConfigError,
    find_project_config,
    load_config,
    parse_config,
    project_config,
)
from preflight.testing import REPO

PATH = Path("checkov-config.yaml")


def test_preflights_defaults_set_enforcement_and_skip_nothing():
    config = load_config(DEFAULT_CONFIG)
    assert config.enforcement("CKV_AWS_37") == "mandatory"
    assert config.skips == (), "a skip names one project's resources: it belongs in that project's own file"


def test_this_repositorys_skips_live_in_its_own_file_and_every_one_has_a_reason():
    assert find_project_config(REPO) == REPO / ".preflight" / "checkov.yaml"
    config = project_config(REPO)
    assert config.skips, "the repository's file is expected to hold at least one justified skip"
    assert all(len(skip.reason) >= 20 for skip in config.skips)
    assert config.enforcement("CKV_AWS_37") == "mandatory"  # preflight's defaults still apply beneath it


def test_another_project_gets_the_defaults_and_none_of_this_repositorys_skips(tmp_path):
    (tmp_path / ".git").mkdir()
    config = project_config(tmp_path)
    assert config.skips == () and config.path == DEFAULT_CONFIG


def test_a_projects_file_is_laid_over_the_defaults(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".preflight").mkdir()
    (tmp_path / ".preflight" / "checkov.yaml").write_text(
        "checks:\n  CKV_AWS_37: advisory\n  CKV_AWS_18: mandatory\n"
        "skip:\n  - check: CKV_AWS_144\n    reason: replication is a per-deployment disaster recovery choice\n"
    )
    (tmp_path / "infra").mkdir()
    config = project_config(tmp_path / "infra")  # a Pulumi project below the repository root
    assert config.enforcement("CKV_AWS_37") == "advisory"  # the project's entry wins
    assert config.enforcement("CKV_AWS_18") == "mandatory"
    assert config.enforcement("CKV_AWS_58") == "mandatory"  # the default still applies
    assert config.default_enforcement == "advisory"
    assert [s.check for s in config.skips] == ["CKV_AWS_144"]


def test_a_pyproject_table_configures_the_project_and_a_flag_overrides_it(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.preflight.checkov]\ndefault_enforcement = "mandatory"\n'
        '[[tool.preflight.checkov.skip]]\ncheck = "CKV_AWS_144"\nreason = "replication is chosen per deployment"\n'
    )
    config = project_config(tmp_path)
    assert config.default_enforcement == "mandatory" and [s.check for s in config.skips] == ["CKV_AWS_144"]
    override = tmp_path / "ci-scanners.yaml"
    override.write_text("checks:\n  CKV_AWS_37: advisory\n")
    flagged = project_config(tmp_path, override)
    assert flagged.skips == () and flagged.enforcement("CKV_AWS_37") == "advisory"
    assert flagged.default_enforcement == "advisory"


def test_fails_when_the_scanner_config_flag_names_a_missing_file(tmp_path):
    with pytest.raises(ScannerConfigError) as exc:
        project_config(tmp_path, tmp_path / "nope.yaml")
    assert str(exc.value) == f"{tmp_path / 'nope.yaml'}: scanner configuration not found"


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
