"""Every IAM role in every shipped stack carries that stack's permission boundary: no role can exceed it."""

import fnmatch
import json
import subprocess

import pulumi_aws as aws
import pytest

from components.workload_role import ALLOWED_AWS_MANAGED_POLICIES
from policies.rules.escalation import escalations
from preflight.model import StackResult
from preflight.project import load_project
from preflight.testing import REPO, render

pytestmark = pytest.mark.slow  # renders whole stacks (or runs preflight on them)

STACKS = load_project(REPO).stacks()
ROLE = "aws:iam/role:Role"
BOUNDARY_POLICY = "aws:iam/policy:Policy"


def boundary_arn(result: StackResult) -> str:
    """The ARN of the policy the PermissionBoundary component creates (the stack has exactly one)."""
    components = {r.urn for r in result.by_type("mlplatform:iam:PermissionBoundary")}
    (policy,) = [p for p in result.by_type(BOUNDARY_POLICY) if p.parent in components]
    return policy.outputs["arn"]


def roles_without(result: StackResult, arn: str) -> list[str]:
    return sorted(r.name for r in result.by_type(ROLE) if r.inputs.get("permissionsBoundary") != arn)


@pytest.fixture(params=STACKS)
def stack(request, shipped_stack) -> StackResult:
    return shipped_stack(request.param)


def test_every_role_has_the_stacks_boundary(stack):
    arn = boundary_arn(stack)
    assert (
        arn
        == f"arn:aws:iam::123456789012:policy/ml-platform/{stack.stack}/ml-platform-{stack.stack}-permission-boundary"
    )
    assert roles_without(stack, arn) == []


def test_the_stack_has_the_guardrails_roles_it_promises(stack):
    names = {r.name for r in stack.by_type(ROLE)}
    assert {"guardrails-ci-preview-role", "guardrails-ci-deploy-role", "guardrails-platform-admin-role"} <= names
    assert len(names) >= 6


def test_a_role_without_the_boundary_is_reported():
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )

    def program():
        aws.iam.Role("bounded", assume_role_policy=trust, permissions_boundary="arn:aws:iam::123456789012:policy/b")
        aws.iam.Role("unbounded", assume_role_policy=trust)
        aws.iam.Role(
            "other-boundary", assume_role_policy=trust, permissions_boundary="arn:aws:iam::123456789012:policy/x"
        )

    assert roles_without(render(program), "arn:aws:iam::123456789012:policy/b") == ["other-boundary", "unbounded"]


# ---- no escalation path ---------------------------------------------------------------------------------------

INLINE = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
CLOUDSPLAINING = REPO / ".venv-cloudsplaining" / "bin" / "python"


def role_documents(result: StackResult) -> dict[str, list[dict]]:
    """Role name -> every customer-written document that bounds or grants its permissions: its inline policies and
    the stack's boundary. AWS-managed attachments are checked against the allowlist instead (their text is AWS's)."""
    (boundary,) = [p for p in result.by_type(BOUNDARY_POLICY) if p.outputs["arn"] == boundary_arn(result)]
    boundary_doc = json.loads(boundary.inputs["policy"])
    roles = {r.outputs["name"]: [boundary_doc] for r in result.by_type(ROLE)}
    for policy in result.by_type(INLINE):
        roles[policy.inputs["role"]].append(json.loads(policy.inputs["policy"]))
    return roles


def test_every_role_lives_under_the_stacks_iam_path(stack):
    paths = {r.name: r.inputs.get("path") for r in stack.by_type(ROLE)}
    assert set(paths.values()) == {f"/ml-platform/{stack.stack}/"}, paths


def test_every_managed_policy_attached_is_on_the_allowlist(stack):
    allowed = {f"arn:aws:iam::aws:policy/{p}" for p in ALLOWED_AWS_MANAGED_POLICIES}
    attached = {a.inputs["policyArn"] for a in stack.by_type(ATTACHMENT)}
    assert attached and attached <= allowed, attached - allowed


def test_no_role_has_an_escalation_method_by_the_pack_checker(stack):
    found = [
        f"{role}: {e.message()}" for role, docs in role_documents(stack).items() for d in docs for e in escalations(d)
    ]
    assert found == []


CLOUDSPLAINING_SCAN = """
import json, sys
from cloudsplaining.scan.policy_document import PolicyDocument
out = {}
for role, docs in json.load(sys.stdin).items():
    for i, doc in enumerate(docs):
        found = PolicyDocument(doc).allows_privilege_escalation
        if found:
            out[f"{role} document {i}"] = sorted(f["type"] for f in found)
print(json.dumps(out))
"""


@pytest.mark.skipif(
    not CLOUDSPLAINING.exists(),
    reason="cloudsplaining's virtualenv (.venv-cloudsplaining) is absent: run `make install` to build it",
)
def test_no_role_has_an_escalation_method_by_cloudsplaining(stack):
    docs = role_documents(stack)
    scanned = subprocess.run(
        [str(CLOUDSPLAINING), "-c", CLOUDSPLAINING_SCAN],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert json.loads(scanned.stdout) == {}
    # The same scan does see an escalation: it is not silently passing everything.
    planted = {
        "probe": [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"}],
            }
        ]
    }
    probe = subprocess.run(
        [str(CLOUDSPLAINING), "-c", CLOUDSPLAINING_SCAN],
        input=json.dumps(planted),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(probe.stdout) == {"probe document 0": ["PutRolePolicy"]}


# What the deploy role manages, by statement: every such resource each stack renders must fall in its scope, or a
# real `pulumi up` from CI would be denied.
DEPLOY_SCOPE = {
    "aws:s3/bucket:Bucket": "ManagePlatformBuckets",
    "aws:cloudwatch/logGroup:LogGroup": "ManagePlatformLogGroups",
    "aws:sns/topic:Topic": "ManagePlatformTopics",
    "aws:sqs/queue:Queue": "ManagePlatformQueues",
    "aws:ecr/repository:Repository": "ManagePlatformRegistries",
    "aws:sagemaker/model:Model": "ManagePlatformServing",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "ManagePlatformServing",
    "aws:sagemaker/endpoint:Endpoint": "ManagePlatformServing",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "ManagePlatformServing",
    ROLE: "WriteStackRolesOnlyWithTheBoundary",
}


def test_every_resource_the_deploy_role_manages_is_inside_its_scoped_statements(stack):
    (deploy,) = [p for p in stack.by_type(INLINE) if p.name == "guardrails-ci-deploy-deploy-platform"]
    by_sid = {s["Sid"]: s for s in json.loads(deploy.inputs["policy"])["Statement"]}
    outside = []
    for kind, sid in DEPLOY_SCOPE.items():
        patterns = by_sid[sid]["Resource"]
        patterns = patterns if isinstance(patterns, list) else [patterns]
        records = stack.by_type(kind)
        # Model package groups and Karpenter's queue exist only in some stacks.
        assert records or kind in ("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:sqs/queue:Queue"), kind
        for record in records:
            arn = record.outputs["arn"]
            if not any(fnmatch.fnmatchcase(arn, p) for p in patterns):
                outside.append(f"{kind} {arn} is outside {sid} {patterns}")
    assert outside == []
