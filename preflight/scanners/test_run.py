"""`run`: every scanner on one stack, one list of findings, each on the resource it is about."""

from __future__ import annotations

import pytest

from preflight.scanners import run


@pytest.mark.slow
def test_every_scanner_reports_into_one_list(scan_findings):
    by_source = {(v.source, v.name) for v in scan_findings if v.source != "checkov"}
    assert by_source == {
        ("parliament", "typo-policy"),
        ("aws-api", "typo-nodes"),
        ("kubernetes-schema", "typo-deploy"),
    }
    assert any(v.source == "checkov" for v in scan_findings)


@pytest.mark.slow
def test_every_finding_names_a_resource_of_the_stack_and_a_known_category(scanned_stack, scan_findings):
    urns = {r.urn for r in scanned_stack.resources}
    assert all(v.urn in urns for v in scan_findings)
    assert {v.category for v in scan_findings} <= {"encryption", "access", "cost", "reliability"}
    assert {v.enforcement for v in scan_findings} <= {"mandatory", "advisory"}


@pytest.mark.slow
def test_without_checkov_the_other_scanners_still_run(scanned_stack, tmp_path):
    found = run(scanned_stack, project_dir=tmp_path, use_checkov=False)
    assert {v.source for v in found} == {"parliament", "aws-api", "kubernetes-schema"}
