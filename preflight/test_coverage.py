"""Never a false clean: what preflight cannot render is a finding, counted, and blocking with --strict."""

import json
import subprocess
import sys

import pulumi
import pulumi_kubernetes as k8s

from preflight.coverage import unrendered_findings
from preflight.testing import REPO, render

REMOTE = REPO / "tests" / "fixtures" / "remote_component"


class _RemoteVpc(pulumi.ComponentResource):
    """How a generated multi-language SDK (`pulumi_awsx.ec2.Vpc`) registers its component."""

    def __init__(self, name: str) -> None:
        super().__init__("awsx:ec2:Vpc", name, {"vpcId": None}, None, remote=True)


def test_a_remote_component_is_recorded_as_not_checked_with_its_type():
    r = render(lambda: _RemoteVpc("vpc"))
    (gap,) = r.not_checked
    assert (gap.type, gap.name, gap.urn) == ("awsx:ec2:Vpc", "vpc", "urn:pulumi:dev::test::awsx:ec2:Vpc::vpc")
    (finding,) = unrendered_findings(r)
    assert (finding.source, finding.policy, finding.enforcement) == ("preflight", "unrendered-component", "advisory")
    assert "awsx:ec2:Vpc 'vpc'" in finding.message and "not rendered nor checked" in finding.message
    assert unrendered_findings(r, strict=True)[0].enforcement == "mandatory"


def test_a_local_component_is_not_reported_as_unrendered():
    class Local(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("acme:app:Local", name, None, None)

    assert render(lambda: Local("app")).not_checked == ()


def test_a_helm_v3_chart_renders_no_objects_and_is_reported_as_not_checked():
    def program() -> None:
        k8s.helm.v3.Chart("ingress", k8s.helm.v3.ChartOpts(chart="ingress-nginx", namespace="ingress"))

    r = render(program)
    assert [(g.type, g.name) for g in r.not_checked] == [("kubernetes:helm.sh/v3:Chart", "ingress")]
    assert not [x for x in r.resources if x.type.startswith("kubernetes:") and x.custom and "providers" not in x.type]


def _preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", "--cwd", str(REMOTE), "--no-scanners", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_an_eks_component_is_advisory_by_default_and_listed_in_the_json():
    proc = _preflight("--json")
    assert proc.returncode == 0, proc.stderr
    (stack,) = json.loads(proc.stdout)["stacks"]
    assert sorted(g["type"] for g in stack["notChecked"]) == [
        "eks:index:Cluster",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:helm.sh/v4:Chart",
    ]
    policies = {(v["source"], v["policy"], v["enforcement"]) for v in stack["violations"]}
    assert policies == {("preflight", "unrendered-component", "advisory")}


def test_strict_makes_an_unrendered_component_block_and_the_summary_counts_it():
    proc = _preflight("--strict")
    assert proc.returncode == 1, proc.stderr
    assert "Not checked: 3 components not rendered offline" in proc.stdout
    assert "mandatory [preflight] unrendered-component: eks:index:Cluster 'cluster'" in proc.stdout
