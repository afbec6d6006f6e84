"""Every shipped stack passes the scanners (checkov, parliament, AWS API values, Kubernetes schemas) with no
mandatory finding, and every AWS resource it declares is one checkov reads (a Terraform mapping exists).

Advisory findings are allowed here; each one is either fixed in its component or accepted in
`preflight/scanners/checkov-config.yaml` with a written reason."""

import pytest

pytestmark = pytest.mark.slow

from preflight.project import load_project
from preflight.testing import REPO

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = load_project(REPO).stacks()


@pytest.fixture(params=STACKS)
def scanned(request, scanned_stack):
    return scanned_stack(request.param)


def test_shipped_stack_has_no_mandatory_scanner_finding(scanned):
    _, findings = scanned
    mandatory = [f"{v.source} {v.policy} {v.name}: {v.message}" for v in findings if v.enforcement == "mandatory"]
    assert mandatory == []


def test_every_aws_resource_of_a_shipped_stack_is_scanned_by_checkov(scanned):
    result, _ = scanned
    assert [w for w in result.warnings if w.startswith("checkov:")] == []
