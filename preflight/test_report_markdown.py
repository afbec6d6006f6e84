"""The pull-request summary: counts per stack, mandatory findings in full, advisory ones folded."""

from __future__ import annotations

from preflight.model import StackResult, Violation
from preflight.report_markdown import render_markdown, write_markdown

BUCKET = "urn:pulumi:dev::ml::acme:storage:Store$aws:s3/bucket:Bucket::store-data"


def _v(policy, enforcement, message="Ensure x", source="checkov", severity="high"):
    return Violation(
        source=source,
        policy=policy,
        category="access",
        enforcement=enforcement,
        severity=severity,
        urn=BUCKET,
        name="store-data",
        message=message,
    )


def test_summary_counts_mandatory_and_advisory_per_stack():
    text = render_markdown(
        [
            StackResult("ml", "dev", violations=[_v("CKV_AWS_145", "mandatory"), _v("CKV2_AWS_61", "advisory")]),
            StackResult("ml", "prod"),
        ]
    )
    assert "| ml/dev | 1 | 1 | 0 |" in text
    assert "| ml/prod | 0 | 0 | 0 |" in text
    assert "## ml/dev: 1 mandatory finding blocks this change" in text
    assert "## ml/prod: no mandatory findings" in text


def test_mandatory_findings_are_listed_and_advisory_ones_folded():
    text = render_markdown(
        [
            StackResult(
                "ml",
                "dev",
                violations=[_v("CKV_AWS_145", "mandatory"), _v("CKV2_AWS_61", "advisory", severity="medium")],
            )
        ]
    )
    mandatory, advisory = text.split("<details><summary>Advisory: 1 (1 checkov)</summary>")
    assert "| high | checkov | `CKV_AWS_145` | `store-data` (aws:s3/bucket:Bucket) | Ensure x |" in mandatory
    assert "CKV2_AWS_61" in advisory and "CKV2_AWS_61" not in mandatory


def test_pipes_in_messages_do_not_break_the_table():
    text = render_markdown([StackResult("ml", "dev", violations=[_v("X", "mandatory", message="a | b\nc")])])
    assert "| a \\| b c |" in text


def test_what_was_not_checked_offline_is_listed(tmp_path):
    result = StackResult("ml", "dev", warnings=["checkov: 1 resource(s) of type aws:ec2/keyPair:KeyPair not scanned"])
    path = write_markdown([result], tmp_path / "summary.md")
    assert "- checkov: 1 resource(s) of type aws:ec2/keyPair:KeyPair not scanned" in path.read_text()


def test_several_mandatory_findings_are_counted_in_the_heading():
    text = render_markdown(
        [StackResult("ml", "dev", violations=[_v("CKV_AWS_145", "mandatory"), _v("CKV_AWS_21", "mandatory")])]
    )
    assert "## ml/dev: 2 mandatory findings block this change" in text
    assert "| ml/dev | 2 | 0 | 0 |" in text
