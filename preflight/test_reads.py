"""Reads and StackReferences: an existing resource keeps the id it was read by, and what cannot be told from that id
stays unknown, as in a real preview; another stack's outputs are unknown unless given."""

import json
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from preflight.model import UNKNOWN
from preflight.testing import REPO, render

READS = REPO / "tests" / "fixtures" / "reads"


def test_a_read_bucket_keeps_the_given_id_and_its_arn_follows_from_it():
    def program() -> None:
        bucket = aws.s3.Bucket.get("logs", "acme-logs")
        pulumi.export("arn", bucket.arn)
        pulumi.export("versioning", bucket.versioning)

    r = render(program)
    bucket = r.one("aws:s3/bucket:Bucket")
    assert bucket.id == "acme-logs"
    assert bucket.options == {"read": True}
    assert r.outputs == {"arn": "arn:aws:s3:::acme-logs", "versioning": UNKNOWN}


def test_a_read_kubernetes_object_keeps_the_namespace_of_its_id():
    def program() -> None:
        dns = k8s.core.v1.Service.get("dns", "kube-system/kube-dns")
        pulumi.export("namespace", dns.metadata.namespace)
        pulumi.export("clusterIp", dns.spec.cluster_ip)

    r = render(program)
    assert r.one("kubernetes:core/v1:Service").id == "kube-system/kube-dns"
    assert r.outputs == {"namespace": "kube-system", "clusterIp": UNKNOWN}


def test_a_read_with_an_unknown_id_has_an_unknown_id_and_unknown_outputs():
    def program() -> None:
        ref = pulumi.StackReference("acme/network/prod")
        bucket = aws.s3.Bucket.get("shared", ref.get_output("logBucket"))
        pulumi.export("arn", bucket.arn)
        pulumi.export("id", bucket.id)

    r = render(program)
    assert r.one("aws:s3/bucket:Bucket").id is UNKNOWN
    assert r.outputs == {"arn": UNKNOWN, "id": UNKNOWN}
    assert r.unresolved_references == ("acme/network/prod",)
    assert any("--stack-outputs acme/network/prod=FILE" in w for w in r.warnings)


def test_a_resource_whose_id_is_its_arn_is_read_by_that_arn():
    r = render(lambda: aws.iam.Policy.get("admin", "arn:aws:iam::aws:policy/AdministratorAccess"))
    policy = r.one("aws:iam/policy:Policy")
    assert policy.outputs == {"arn": "arn:aws:iam::aws:policy/AdministratorAccess"}


def _preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", "--cwd", str(READS), "--no-scanners", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_the_tree_shows_reads_as_reads_and_the_counts_add_up():
    proc = _preflight()
    lines = proc.stdout.splitlines()
    assert any(line.startswith(" >-") and "aws:s3/bucket:Bucket" in line and "logs" in line for line in lines)
    assert not any(line.startswith(" +") and "StackReference" in line for line in lines)
    assert "+ 4 to create (1 stack, 1 cloud resource, 2 providers)" in proc.stdout
    assert ">- 5 to read (" in proc.stdout
    assert "StackReference 'acme/network/prod': its outputs are unknown offline" in proc.stdout


def test_stack_outputs_feed_a_stack_reference():
    proc = _preflight("--json", "--stack-outputs", f"acme/network/prod={READS / 'network.json'}")
    (stack,) = json.loads(proc.stdout)["stacks"]
    assert stack["unresolvedReferences"] == []
    assert stack["outputs"]["vpcId"] == "vpc-0a1b2c3d4e5f60718"
    assert stack["outputs"]["sharedArn"] == "arn:aws:s3:::acme-network-logs"


def test_fails_when_stack_outputs_is_not_stack_equals_file():
    proc = _preflight("--stack-outputs", "network.json")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --stack-outputs 'network.json': expected STACK=FILE, e.g. acme/network/prod=network.json"
    )


def test_a_stack_reference_needs_no_provider_and_providers_keep_their_package_and_version():
    def program() -> None:
        pulumi.StackReference("acme/network/prod")
        aws.s3.Bucket("b")

    r = render(program)
    providers = [x for x in r.resources if x.type.startswith("pulumi:providers:")]
    assert [(p.type, p.name) for p in providers] == [("pulumi:providers:aws", "default_7_51_1")]
    assert r.one("pulumi:pulumi:StackReference").provider is None
