"""Reads and StackReferences: an existing resource keeps the id it was read by, and what cannot be told from that id
stays unknown, as in a real preview; another stack's outputs are unknown unless given."""

import json
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from preflight.coverage import unrendered_findings
from preflight.model import UNKNOWN, stack_json
from preflight.policy import evaluate
from preflight.report_markdown import render_markdown
from preflight.testing import REPO, render

READS = REPO / "tests" / "fixtures" / "reads"
PACK = REPO / "policies"


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


def test_a_program_that_reads_what_it_does_not_own_is_not_judged_on_it_and_lists_each_read_as_not_checked():
    proc = _preflight()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✗" not in proc.stdout
    assert (
        "Not checked: 5 reads of existing resources this program does not manage; no policy pack judges a read "
        "(`pulumi preview` neither) and the scanners skip them"
    ) in proc.stdout
    listed = proc.stdout.split("Not checked: 5 reads", 1)[1].splitlines()[1:6]
    assert [line.split() for line in listed] == [
        ["aws:iam/policy:Policy", "admin"],
        ["aws:s3/bucket:Bucket", "logs"],
        ["aws:s3/bucket:Bucket", "shared"],
        ["kubernetes:core/v1:Service", "dns"],
        ["pulumi:pulumi:StackReference", "acme/network/prod"],
    ]


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


# ---- reads and the policy pack -------------------------------------------------------------------------------
# The engine analyses registrations only: `GenerateReadSteps` calls no analyzer, and a read's state is kept in
# `deployment.reads`, apart from the `deployment.news` AnalyzeStack is given (pulumi/pulumi
# pkg/resource/deploy/step_generator.go, step_executor.go). A program that reads a bucket it does not own is not
# judged on that bucket.


def foreign_reader() -> None:
    """Reads a bucket another team owns and manages only a policy on it, and a versioning child parented to it."""
    logs = aws.s3.Bucket.get("logs", "acme-logs")
    aws.s3.BucketPolicy(
        "logs-policy",
        bucket=logs.id,
        policy=logs.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": f"{arn}/*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
    )
    aws.s3.BucketVersioning(
        "logs-versioning",
        bucket=logs.id,
        versioning_configuration={"status": "Enabled"},
        opts=pulumi.ResourceOptions(parent=logs),
    )


PROBE_PACK = """
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

PACK_NAME = "probe"
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY


def _resource(args, report):
    report("judged " + args.name)


def _stack(args, report):
    for r in args.resources:
        report(
            "listed " + r.name
            + " parent " + (r.parent.name if r.parent else "-")
            + " dependencies " + ",".join(sorted(d.name for d in r.dependencies))
        )


def _blame_the_read(args, report):
    report("about the read bucket", args.resources[0].urn.rsplit("::", 1)[0] + "::aws:s3/bucket:Bucket::logs")


def build_policies():
    return [
        ResourceValidationPolicy(name="every-resource", description="Names each resource it judges.", validate=_resource),
        StackValidationPolicy(name="every-stack-resource", description="Names each resource listed.", validate=_stack),
        StackValidationPolicy(name="blame-read", description="Reports against a read's URN.", validate=_blame_the_read),
    ]
"""


def _probe(tmp_path) -> list:
    pack = tmp_path / "probe"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (pack / "pack.py").write_text(PROBE_PACK)
    return evaluate(render(foreign_reader), pack)


def test_resource_rules_never_judge_a_read(tmp_path):
    judged = sorted(v.message.removeprefix("judged ") for v in _probe(tmp_path) if v.policy == "every-resource")
    assert judged == ["default_7_51_1", "logs-policy", "logs-versioning", "test-dev"]


def test_stack_rules_do_not_list_a_read_and_drop_it_as_parent_and_dependency(tmp_path):
    listed = sorted(v.message for v in _probe(tmp_path) if v.policy == "every-stack-resource")
    assert listed == [
        "listed default_7_51_1 parent test-dev dependencies ",
        "listed logs-policy parent test-dev dependencies ",
        "listed logs-versioning parent - dependencies ",
        "listed test-dev parent - dependencies ",
    ]


def test_a_stack_finding_against_a_reads_urn_is_filed_under_the_stack(tmp_path):
    (finding,) = [v for v in _probe(tmp_path) if v.policy == "blame-read"]
    assert (finding.urn, finding.name, finding.message) == (None, None, "about the read bucket")


def test_the_pack_finds_nothing_to_fix_in_a_bucket_the_program_only_reads():
    found = evaluate(render(foreign_reader), PACK)
    assert [(v.policy, v.name) for v in found if v.name == "logs"] == []


def test_every_read_is_listed_as_not_checked_and_is_no_finding():
    r = render(foreign_reader)
    (gap,) = r.not_checked
    assert (gap.kind, gap.type, gap.name, gap.urn) == (
        "read",
        "aws:s3/bucket:Bucket",
        "logs",
        "urn:pulumi:dev::test::aws:s3/bucket:Bucket::logs",
    )
    assert "no policy pack judges a read" in gap.reason
    assert stack_json(r)["notChecked"][0]["kind"] == "read"
    assert unrendered_findings(r, strict=True) == []
    summary = render_markdown([r])
    assert "**Read, not managed, so not judged by the policy packs nor scanned: 1 resource(s)**" in summary
    assert "Not rendered" not in summary
