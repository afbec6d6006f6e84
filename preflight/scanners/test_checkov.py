"""checkov on a rendered program: each bad resource triggers its check, its secure twin passes, findings carry
the Pulumi URN and the enforcement from `checkov-config.yaml`. All from ONE checkov run (conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.model import StackResult, Violation, stack_json
from preflight.scanners import checkov
from preflight.scanners.config import CheckPolicy, ScannerConfig, Skip
from preflight.scanners.tfplan import TfPlan

# (check, resource stem): `bad-<stem>` must fail the check, `good-<stem>` must pass it.
CASES = [
    ("CKV_AWS_37", "cluster"),
    ("CKV_AWS_38", "cluster"),
    ("CKV_AWS_39", "cluster"),
    ("CKV_AWS_58", "cluster"),
    ("CKV_AWS_145", "bucket"),
    ("CKV2_AWS_6", "bucket"),
    ("CKV_AWS_79", "lt"),
    ("CKV_AWS_341", "lt"),
    ("CKV_AWS_100", "nodes"),
    ("CKV_AWS_98", "epc"),
    ("CKV_AWS_370", "model"),
    ("CKV_AWS_7", "kms"),
    ("CKV_AWS_26", "topic"),
    ("CKV_AWS_62", "policy"),
    ("CKV_AWS_63", "policy"),
    ("CKV_AWS_158", "logs"),
    ("CKV_AWS_66", "logs"),
    ("CKV2_AWS_11", "vpc"),
    ("CKV_K8S_16", "deploy"),
    # the five types added to the translation, and a bucket referenced by name
    ("CKV2_AWS_64", "keypol"),
    ("CKV2_AWS_5", "mountsg"),
    ("CKV_AWS_8", "lc"),
    ("CKV_AWS_79", "lc"),
    ("CKV_AWS_63", "psinline"),
    ("CKV_AWS_62", "psinline"),
    ("CKV_AWS_274", "psmanaged"),
    ("CKV2_AWS_6", "pabyname"),
]


def _checkov(findings: list[Violation]) -> set[tuple[str, str | None]]:
    return {(v.policy, v.name) for v in findings if v.source == "checkov"}


@pytest.mark.slow
@pytest.mark.parametrize(("check", "stem"), CASES)
def test_bad_resource_triggers_the_check(check, stem, scan_findings):
    assert (check, f"bad-{stem}") in _checkov(scan_findings)


@pytest.mark.slow
@pytest.mark.parametrize(("check", "stem"), CASES)
def test_secure_twin_passes_the_check(check, stem, scan_findings):
    assert (check, f"good-{stem}") not in _checkov(scan_findings)


@pytest.mark.slow
def test_finding_names_the_pulumi_urn_and_takes_enforcement_and_category(scanned_stack, scan_findings):
    finding = next(v for v in scan_findings if v.policy == "CKV_AWS_58")
    assert finding.urn == scanned_stack.one("aws:eks/cluster:Cluster", "bad-cluster").urn
    assert (finding.source, finding.enforcement, finding.severity, finding.category) == (
        "checkov",
        "mandatory",
        "high",
        "encryption",
    )
    assert finding.message.startswith("Ensure EKS Cluster has Secrets Encryption Enabled")


@pytest.mark.slow
def test_unlisted_check_is_advisory(scan_findings):
    lifecycle = [v for v in scan_findings if v.policy == "CKV2_AWS_61"]
    assert lifecycle and {v.enforcement for v in lifecycle} == {"advisory"}


@pytest.mark.slow
def test_skipped_check_is_not_reported(scan_findings):
    # CKV_AWS_144 (cross-region replication) fails on every bucket here; the shipped skip list accepts it.
    assert not [v for v in scan_findings if v.policy == "CKV_AWS_144"]


@pytest.mark.slow
def test_unmapped_type_is_reported_as_not_scanned(scan_result):
    assert (
        "checkov: 1 resource(s) of type aws:ec2/keyPair:KeyPair not scanned (no Terraform mapping in preflight/scanners/tfplan.py)"
        in scan_result.warnings
    )
    assert stack_json(scan_result)["unmappedTypes"] == {"aws:ec2/keyPair:KeyPair": 1}


def test_fails_with_a_clear_message_when_checkov_is_not_installed(tmp_path):
    with pytest.raises(checkov.CheckovUnavailable) as exc:
        checkov.locate(tmp_path)
    message = str(exc.value)
    assert str(tmp_path / ".venv-checkov" / "bin" / "checkov") in message
    assert "make install" in message and "tools/checkov-requirements.txt" in message


def test_fails_when_installed_checkov_is_not_the_pinned_version(tmp_path):
    exe = tmp_path / ".venv-checkov" / "bin" / "checkov"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    (tmp_path / ".venv-checkov" / "lib" / "python3.11" / "site-packages" / "checkov-3.0.0.dist-info").mkdir(
        parents=True
    )
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "checkov-requirements.txt").write_text("checkov==3.3.30\n")
    with pytest.raises(
        checkov.CheckovUnavailable, match=r"has checkov 3\.0\.0 but tools/checkov-requirements\.txt pins 3\.3\.30"
    ):
        checkov.locate(tmp_path)


def test_one_checkov_command_covers_the_plan_and_the_manifests():
    cmd = checkov.command(Path("/venv/bin/checkov"), Path("plan.json"), Path("k8s"))
    assert cmd[cmd.index("--framework") + 1 : cmd.index("--framework") + 3] == ["terraform_plan", "kubernetes"]
    assert cmd[cmd.index("-f") + 1] == "plan.json" and cmd[cmd.index("-d") + 1] == "k8s"
    assert "--skip-download" in cmd


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Ensure that CloudWatch Log Group is encrypted by KMS", "encryption"),
        ("Ensure the S3 bucket has access logging enabled", "reliability"),
        ("Ensure that an S3 bucket has a lifecycle configuration", "cost"),
        ("Ensure Amazon EKS public endpoint disabled", "access"),
        ("Memory limits should be set", "reliability"),
    ],
)
def test_category_is_inferred_from_the_check_title(name, category):
    assert checkov.infer_category("CKV_X", name) == category


def _report(check_type: str, **check) -> list[dict]:
    return [
        {
            "check_type": check_type,
            "results": {"failed_checks": [{"check_id": "CKV_AWS_1", "check_name": "Ensure x", **check}]},
        }
    ]


def test_kubernetes_findings_map_back_through_the_manifest_file_name():
    urn = "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web"
    inputs = checkov._Inputs(TfPlan({}, {}, {}), {}, {"0123abcd.yaml": urn})
    found = checkov.to_violations(
        _report("kubernetes", file_path="/k8s/0123abcd.yaml"), inputs, StackResult("p", "dev"), ScannerConfig()
    )
    assert [(v.urn, v.policy, v.enforcement) for v in found] == [(urn, "CKV_AWS_1", "advisory")]


def test_config_enforcement_severity_and_skips_apply_to_mapped_findings():
    urn = "urn:pulumi:dev::p::aws:s3/bucket:Bucket::logs"
    inputs = checkov._Inputs(TfPlan({}, {"aws_s3_bucket.logs": urn}, {}), {}, {})
    report = _report("terraform_plan", resource_address="aws_s3_bucket.logs")
    strict = ScannerConfig(checks={"CKV_AWS_1": CheckPolicy("mandatory", "critical", "cost")})
    [finding] = checkov.to_violations(report, inputs, StackResult("p", "dev"), strict)
    assert (finding.enforcement, finding.severity, finding.category) == ("mandatory", "critical", "cost")
    skipping = ScannerConfig(skips=(Skip("CKV_AWS_1", "accepted for this test, with a reason"),))
    assert checkov.to_violations(report, inputs, StackResult("p", "dev"), skipping) == []


def test_findings_come_in_one_order_whatever_order_checkov_reports_its_frameworks_in():
    bucket, web = (
        "urn:pulumi:dev::p::aws:s3/bucket:Bucket::logs",
        "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web",
    )
    inputs = checkov._Inputs(TfPlan({}, {"aws_s3_bucket.logs": bucket}, {}), {}, {"0123abcd.yaml": web})
    reports = _report("terraform_plan", resource_address="aws_s3_bucket.logs") + _report(
        "kubernetes", file_path="/k8s/0123abcd.yaml", check_id="CKV_K8S_1"
    )
    # checkov's frameworks run in processes of their own, and their reports come back in the order they finish.
    found = [
        [(v.policy, v.urn) for v in checkov.to_violations(order, inputs, StackResult("p", "dev"), ScannerConfig())]
        for order in (reports, reports[::-1])
    ]
    assert found[0] == found[1] == [("CKV_AWS_1", bucket), ("CKV_K8S_1", web)]


@pytest.mark.slow
def test_manifests_are_written_exactly_as_the_pure_python_dumper_writes_them(scanned_stack, tmp_path):
    # The manifests go through libyaml when PyYAML has it; checkov must get the same text either way.
    import yaml

    inputs = checkov._prepare(scanned_stack)
    _, k8s_dir = checkov.write_inputs(inputs, tmp_path)
    assert inputs.manifests and k8s_dir is not None
    for name, manifest in inputs.manifests.items():
        assert (k8s_dir / name).read_text() == yaml.safe_dump(manifest, sort_keys=False), name
