"""Every shipped stack passes the scanners (checkov, parliament, AWS API values, Kubernetes schemas) with no
mandatory finding, and every AWS resource it declares is one checkov reads (a Terraform mapping exists).

Advisory findings are allowed here; each one is either fixed in its component or accepted in
`preflight/scanners/checkov-config.yaml` with a written reason."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

from preflight.project import load_project
from preflight.scanners import checkov, load_config
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


_CHECKOV_INPUTS = """
import json, sys
from preflight.scanners import checkov
from preflight.testing import render_stack
inputs = checkov._prepare(render_stack(sys.argv[1]))
json.dump({"plan": inputs.plan.document, "manifests": inputs.manifests}, sys.stdout, default=str)
"""


def test_checkov_reads_the_same_inputs_from_a_stack_rendered_under_another_hash_seed(shipped_stack):
    """The SDK hands over some of what the program declared (a property's dependencies) in set order, which
    changes with the rendering process's hash seed; the plan and manifests checkov reads must not."""
    stack = "staging"
    inputs = checkov._prepare(shipped_stack(stack))
    here = json.loads(json.dumps({"plan": inputs.plan.document, "manifests": inputs.manifests}, default=str))
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHECKOV_INPUTS, stack], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout) == here


def test_checkov_gives_a_stack_the_same_findings_in_the_same_order_whatever_the_workers_hash_seed(
    shipped_stack, monkeypatch
):
    """Set iteration order changes with PYTHONHASHSEED, which differs per process: a finding that depended on it
    would come and go between identical runs. Staging has the security groups whose CKV2_AWS_5 once did."""
    result = shipped_stack("staging")
    config = load_config()  # preflight's defaults, no project skips: every finding checkov makes counts
    runs = []
    for seed in ("1", "2"):
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        checkov.close_workers()  # the scan below starts a worker of its own, with this seed
        runs.append(checkov.start(result, config).violations())
    checkov.close_workers()
    assert runs[0], "checkov found nothing to compare"
    assert runs[0] == runs[1]
