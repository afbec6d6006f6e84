"""Every platform role carries the boundary; admin policies are refused; trust policies are exact."""

import json

import pulumi
import pytest

from components.workload_role import (
    WorkloadRole,
    WorkloadRoleArgs,
    irsa_trust,
    pod_identity_trust,
    service_trust,
    validate_workload_role,
)
from preflight.testing import render

BOUNDARY = "arn:aws:iam::123456789012:policy/boundary"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
    }
)


def test_role_has_boundary_inline_policies_and_service_policies():
    r = render(
        lambda: WorkloadRole(
            "svc",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("sagemaker.amazonaws.com"),
                permissions_boundary=BOUNDARY,
                policies={"read-models": POLICY},
                managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"],
            ),
        )
    )
    role = r.one("aws:iam/role:Role")
    assert role.inputs["permissionsBoundary"] == BOUNDARY
    assert role.parent == r.one("mlplatform:iam:WorkloadRole").urn
    inline = r.one("aws:iam/rolePolicy:RolePolicy")
    assert (inline.name, inline.inputs["policy"]) == ("svc-read-models", POLICY)
    assert inline.inputs["role"] == role.id
    attachment = r.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"


@pytest.mark.parametrize("policy", ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"])
def test_fails_when_an_admin_policy_is_attached(policy):
    with pytest.raises(ValueError, match=f"managed policy 'arn:aws:iam::aws:policy/{policy}' is not allowed"):
        validate_workload_role(
            WorkloadRoleArgs(
                assume_role_policy="{}",
                permissions_boundary=BOUNDARY,
                managed_policy_arns=[f"arn:aws:iam::aws:policy/{policy}"],
            )
        )


def test_fails_without_a_boundary():
    with pytest.raises(ValueError, match="permissions_boundary is required"):
        validate_workload_role(WorkloadRoleArgs(assume_role_policy="{}", permissions_boundary=""))


def test_service_trust_names_exactly_the_services():
    doc = json.loads(service_trust("sagemaker.amazonaws.com"))
    assert doc["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    with pytest.raises(ValueError):
        service_trust()


def test_pod_identity_trust_allows_tag_session_for_the_eks_pods_service():
    (st,) = json.loads(pod_identity_trust())["Statement"]
    assert st["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert st["Action"] == ["sts:AssumeRole", "sts:TagSession"]


def test_irsa_trust_is_bound_to_one_service_account_and_the_sts_audience():
    def program():
        pulumi.export(
            "doc",
            irsa_trust(
                "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
                "https://oidc.eks.us-west-2.amazonaws.com/id/ABC",
                "kube-system",
                "cluster-autoscaler",
            ),
        )

    (st,) = json.loads(render(program).outputs["doc"])["Statement"]
    assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert st["Condition"] == {
        "StringEquals": {
            "oidc.eks.us-west-2.amazonaws.com/id/ABC:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            "oidc.eks.us-west-2.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
        }
    }
