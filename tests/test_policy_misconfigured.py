"""A third-party Pulumi program (plain pulumi-aws, none of the blueprint's components) with deliberate
misconfigurations: the pack catches each one, rule by rule, and nothing else."""

import re

import pytest

from policies.pack import build_policies
from preflight.engine import run_stack
from preflight.policy import evaluate
from preflight.project import load_project
from preflight.testing import REPO

FIXTURE = REPO / "tests" / "fixtures" / "misconfigured"
PACK = REPO / "policies"

# (policy, resource type, resource name); None for findings about the whole stack.
EXPECTED = sorted(
    [
        ("allowed-instance-types", "aws:eks/nodeGroup:NodeGroup", "gpu"),
        ("ebs-encryption", "aws:ec2/launchTemplate:LaunchTemplate", "gpu"),
        ("ebs-encryption", "aws:ebs/volume:Volume", "scratch"),
        ("ec2-imdsv2-required", "aws:ec2/launchTemplate:LaunchTemplate", "gpu"),
        ("ecr-immutable-tags", "aws:ecr/repository:Repository", "recsys-images"),
        ("ecr-repository-kms-encryption", "aws:ecr/repository:Repository", "recsys-images"),
        ("eks-control-plane-audit-logs", "aws:eks/cluster:Cluster", "recsys"),
        ("eks-endpoint-not-public", "aws:eks/cluster:Cluster", "recsys"),
        ("eks-no-creator-admin", "aws:eks/cluster:Cluster", "recsys"),
        ("eks-node-group-no-ssh", "aws:eks/nodeGroup:NodeGroup", "gpu"),
        ("eks-secrets-encryption", "aws:eks/cluster:Cluster", "recsys"),
        ("eks-supported-version", "aws:eks/cluster:Cluster", "recsys"),
        ("gpu-pool-idle-alarm", "aws:eks/nodeGroup:NodeGroup", "gpu"),
        ("gpu-pool-idle-alarm", "kubernetes:karpenter.sh/v1:NodePool", "gpu-serving"),
        ("gpu-pool-max-size", "aws:eks/nodeGroup:NodeGroup", "gpu"),
        ("gpu-pool-scale-to-zero", "aws:eks/nodeGroup:NodeGroup", "gpu"),
        ("gpu-total-cap", None, None),
        ("gpu-capacity-single-owner", None, None),
        ("gpu-job-do-not-disrupt", "kubernetes:batch/v1:Job", "finetune"),
        ("gpu-job-queue-label", "kubernetes:batch/v1:Job", "finetune"),
        ("karpenter-gpu-nodepool-taint", "kubernetes:karpenter.sh/v1:NodePool", "gpu-serving"),
        ("karpenter-inference-on-demand", "kubernetes:karpenter.sh/v1:NodePool", "gpu-serving"),
        ("karpenter-nodepool-limits", "kubernetes:karpenter.sh/v1:NodePool", "gpu-serving"),
        ("iam-no-admin-managed-policies", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "nodes-admin"),
        ("iam-no-wildcard-admin", "aws:iam/rolePolicy:RolePolicy", "trainer-everything"),
        ("iam-privilege-escalation", "aws:iam/rolePolicy:RolePolicy", "trainer-everything"),
        ("iam-role-permissions-boundary", "aws:iam/role:Role", "nodes"),
        ("iam-trust-policy-restricted", "aws:iam/role:Role", "trainer"),
        ("kms-key-rotation", "aws:kms/key:Key", "recsys-key"),
        ("log-group-kms-encryption", "aws:cloudwatch/logGroup:LogGroup", "ranker-logs"),
        ("log-group-retention", "aws:cloudwatch/logGroup:LogGroup", "ranker-logs"),
        ("monthly-cost-budget", None, None),
        # And once more: the NodePool without limits cannot be priced, so the budget cannot be confirmed.
        ("monthly-cost-budget", None, None),
        ("nat-gateway-cap", None, None),
        ("network-multi-az", "aws:ec2/vpc:Vpc", "recsys"),
        ("protect-stateful-resources", "aws:kms/key:Key", "recsys-key"),
        ("protect-stateful-resources", "aws:s3/bucket:Bucket", "features"),
        ("required-cost-tags", "aws:sns/topic:Topic", "billing-alerts"),
        ("s3-bucket-kms-encryption", "aws:s3/bucket:Bucket", "features"),
        ("s3-bucket-policy-no-public-principal", "aws:s3/bucketPolicy:BucketPolicy", "features-policy"),
        ("s3-bucket-public-access-block", "aws:s3/bucket:Bucket", "features"),
        ("s3-bucket-tls-only", "aws:s3/bucket:Bucket", "features"),
        ("s3-bucket-versioning", "aws:s3/bucket:Bucket", "features"),
        ("s3-lifecycle-rules", "aws:s3/bucket:Bucket", "features"),
        ("s3-no-public-acl", "aws:s3/bucketAcl:BucketAcl", "features-acl"),
        ("sagemaker-data-capture", "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ranker"),
        ("sagemaker-endpoint-alarms", "aws:sagemaker/endpoint:Endpoint", "ranker"),
        ("sagemaker-endpoint-auto-rollback", "aws:sagemaker/endpoint:Endpoint", "ranker"),
        ("sagemaker-endpoint-encryption", "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ranker"),
        ("sagemaker-endpoint-min-instances", "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ranker"),
        # Two problems with one model: no network isolation, no VPC.
        ("sagemaker-model-network-isolation", "aws:sagemaker/model:Model", "ranker"),
        ("sagemaker-model-network-isolation", "aws:sagemaker/model:Model", "ranker"),
        ("security-group-no-world-ingress", "aws:ec2/securityGroup:SecurityGroup", "bastion"),
        ("sns-topic-encryption", "aws:sns/topic:Topic", "alerts"),
        ("sqs-queue-encryption", "aws:sqs/queue:Queue", "retrain-requests"),
        ("vpc-flow-logs", "aws:ec2/vpc:Vpc", "recsys"),
    ],
    key=str,
)


@pytest.fixture(scope="module")
def rendered():
    return run_stack(load_project(FIXTURE), "dev")


@pytest.fixture(scope="module")
def violations(rendered):
    types = {r.urn: r.type for r in rendered.resources}
    return [(v, types.get(v.urn or "")) for v in evaluate(rendered, PACK)]


def test_every_deliberate_misconfiguration_is_caught_and_nothing_else(violations):
    assert sorted(((v.policy, type_, v.name) for v, type_ in violations), key=str) == EXPECTED


def test_the_fixture_marks_exactly_the_policies_that_fire(violations):
    marked, continuing = set(), False
    for line in (FIXTURE / "__main__.py").read_text().splitlines():
        match = re.search(r"# MISCONFIGURED (.*)", line)
        # A marker may continue on the comment lines right below it.
        text = match.group(1) if match else (line.strip()[1:] if continuing and line.strip().startswith("#") else None)
        continuing = text is not None and line.strip().startswith("#")
        if text is not None:
            marked |= set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", text))
    assert marked == {v.policy for v, _ in violations}


def test_the_fixture_exercises_every_policy_of_the_pack(violations):
    assert {v.policy for v, _ in violations} == {p.name for p in build_policies()}


def test_without_a_stack_config_every_finding_is_mandatory_and_one_line(violations):
    assert {v.enforcement for v, _ in violations} == {"mandatory"}
    assert [v.message for v, _ in violations if "\n" in v.message or not v.message] == []


def test_the_dev_policy_config_downgrades_cost_findings_to_advisory(rendered):
    found = evaluate(rendered, PACK, PACK / "config" / "dev.json")
    advisory = {v.policy for v in found if v.enforcement == "advisory"}
    assert "nat-gateway-cap" in advisory and "gpu-total-cap" in advisory
    # Dev may relax cost, access and the monitoring rules (alarms may live elsewhere); never encryption.
    assert {v.category for v in found if v.enforcement == "advisory"} <= {"cost", "access", "reliability"}
    # Prod-only reliability rules do not run in dev.
    assert not {"protect-stateful-resources", "network-multi-az", "sagemaker-endpoint-min-instances"} & {
        v.policy for v in found
    }
