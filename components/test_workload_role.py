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
    stack_iam_path,
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


def test_pod_identity_trust_admits_one_service_account_of_one_cluster_by_its_session_tags():
    cluster = "arn:aws:eks:us-west-2:123456789012:cluster/ml-platform-dev"
    (st,) = json.loads(pod_identity_trust(cluster, "kube-system", "ebs-csi-controller-sa"))["Statement"]
    assert st["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert st["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert st["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/eks-cluster-arn": cluster,
            "aws:RequestTag/kubernetes-namespace": "kube-system",
            "aws:RequestTag/kubernetes-service-account": "ebs-csi-controller-sa",
        }
    }


def test_service_trust_pins_the_source_account_and_arn_when_given():
    (st,) = json.loads(
        service_trust("s3.amazonaws.com", source_account="123456789012", source_arn="arn:aws:s3:::models-1")
    )["Statement"]
    assert st["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::models-1"},
    }
    assert "Condition" not in json.loads(service_trust("ec2.amazonaws.com"))["Statement"][0]


def test_fails_when_a_source_arn_comes_without_its_account():
    with pytest.raises(ValueError, match="source_arn needs source_account"):
        service_trust("s3.amazonaws.com", source_arn="arn:aws:s3:::models-1")


def test_every_role_gets_the_stacks_iam_path():
    assert stack_iam_path("ml-platform", "dev") == "/ml-platform/dev/"


def test_fails_when_the_stack_path_has_a_wildcard():
    with pytest.raises(ValueError, match=r"IAM path '/ml-platform/d\*v/'"):
        stack_iam_path("ml-platform", "d*v")


def test_fails_when_a_managed_policy_is_not_on_the_allowlist():
    args = WorkloadRoleArgs(
        assume_role_policy="{}",
        permissions_boundary="arn:aws:iam::123456789012:policy/b",
        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"],
    )
    with pytest.raises(
        ValueError, match="'arn:aws:iam::aws:policy/AmazonS3FullAccess' is not in the platform's allowlist"
    ):
        validate_workload_role(args)


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
