"""The EKS cluster component: its settings' checks, policy documents (golden files), and what it renders offline.

Regenerate the golden documents with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_cluster.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pulumi
import pytest

from components.cluster import (
    Cluster,
    ClusterArgs,
    ClusterSettings,
    cluster_secrets_key_policy,
    ebs_csi_key_policy,
    kubeconfig_json,
)
from components.facts import FACTS
from components.node_pool import GpuPoolSettings, SystemPoolSettings
from infra.config import load
from preflight.model import SECRET, StackResult, stack_json
from preflight.testing import assert_golden, render

SECRETS_KEY = "arn:aws:kms:us-west-2:123456789012:key/11111111-1111-4111-8111-111111111111"
LOGS_KEY = "arn:aws:kms:us-west-2:123456789012:key/22222222-2222-4222-8222-222222222222"
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/ml-platform-boundary"
ADMIN_ARN = "arn:aws:iam::123456789012:role/platform-admins"
INTRA = ["subnet-intra-a", "subnet-intra-b"]
PRIVATE = ["subnet-private-a", "subnet-private-b"]

EKS = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"


SYSTEM = SystemPoolSettings(instance_types=("m6i.large",), min_size=2, max_size=3, desired_size=2, disk_gib=50)
GPU = GpuPoolSettings(name="gpu", instance_types=("g6.xlarge",), capacity="spot", purpose="training")


def args(**overrides) -> ClusterArgs:
    """Cluster args; overrides of a setting (`version=...`) go into `settings`, the rest are arguments."""
    settings = {k: overrides.pop(k) for k in list(overrides) if k in ClusterSettings.model_fields}
    base = ClusterArgs(
        cluster_name="ml-platform-test",
        region="us-west-2",
        intra_subnet_ids=INTRA,
        private_subnet_ids=PRIVATE,
        secrets_kms_key_arn=SECRETS_KEY,
        node_kms_key_arn=SECRETS_KEY,
        logs_kms_key_arn=LOGS_KEY,
        permissions_boundary=BOUNDARY_ARN,
        settings=ClusterSettings(**{"system_pool": SYSTEM, "gpu_pools": (GPU,), **settings}),
        admin_roles={"platform-admins": ADMIN_ARN},
        cost_tags={"Project": "ml-platform"},
        protect=False,
    )
    return replace(base, **overrides)


def render_cluster(cluster_args: ClusterArgs) -> StackResult:
    def program() -> None:
        c = Cluster("c", cluster_args)
        pulumi.export("name", c.name)
        pulumi.export("endpoint", c.endpoint)
        pulumi.export("kubeconfig", c.kubeconfig)
        pulumi.export("oidc_issuer", c.oidc_issuer)
        pulumi.export("oidc_provider_arn", c.oidc_provider_arn)
        pulumi.export("asg_names", c.asg_names)
        pulumi.export("node_role_arns", c.node_role_arns)
        pulumi.export("version", c.version)
        pulumi.export("pool_names", c.pool_names)

    return render(program)


@pytest.fixture(scope="module")
def default() -> StackResult:
    return render_cluster(args())


def children_of(result: StackResult, component_type: str, name: str, type_: str):
    parent = result.one(component_type, name).urn
    return [r for r in result.by_type(type_) if r.parent == parent]


# --- settings checks, without an engine -------------------------------------------------------------------------


def test_default_settings_pin_every_managed_addon_to_the_versions_row():
    assert ClusterSettings().resolved_addon_versions == FACTS.eks.addon_versions[FACTS.eks.default_version]
    assert set(FACTS.eks.addon_versions) == set(FACTS.eks.tested_versions)
    assert all(set(row) == set(FACTS.eks.addons) for row in FACTS.eks.addon_versions.values())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"version": "1.29"}, "unsupported EKS version; supported: 1.34, 1.35"),
        ({"addon_versions": {"coredns": "latest"}}, "not an EKS add-on version; expected e.g. 'v1.21.1-eksbuild.1'"),
        (
            {"addon_versions": {"kube-proxy": "v1.34.1-eksbuild.2"}},
            "kube-proxy must match the cluster's minor version 1.35 (got 1.34)",
        ),
        ({"addon_versions": {"metrics-server": "v0.7.2-eksbuild.1"}}, "unknown add-on 'metrics-server'"),
        ({"endpoint_public_access": True}, "required with endpointPublicAccess"),
        (
            {"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/0"]},
            "opens the Kubernetes API to the whole internet",
        ),
        ({"endpoint_public_access": True, "public_access_cidrs": ["203.0.113.7/24"]}, "not a CIDR"),
        ({"endpoint_public_access": True, "public_access_cidrs": ["10.0.0.0/8"]}, "not a public range"),
        ({"public_access_cidrs": ["203.0.113.0/24"]}, "has no effect while endpointPublicAccess is false"),
        ({"log_retention_days": 45}, "CloudWatch Logs accepts only these"),
        ({"gpu_pools": [GPU, GPU]}, "listed twice; each must be unique"),
        (
            {"gpu_capacity": "karpenter", "gpu_pools": [GPU.model_copy(update={"min_size": 1})]},
            "Karpenter brings GPU nodes up for pending pods and has no minimum size",
        ),
    ],
)
def test_fails_when_settings_are_invalid(settings, message):
    # The same model validates the stack file (see infra/config/test_cluster.py for the one-line messages).
    with pytest.raises(ValueError, match=re.escape(message)):
        ClusterSettings(**settings)


def test_a_gpu_pool_cannot_take_the_system_pools_name():
    with pytest.raises(ValueError, match=re.escape("'system' is the system pool's name; pick another")):
        GpuPoolSettings(name="system", instance_types=("g5.xlarge",))


def test_secrets_key_policy_matches_golden_and_names_only_that_key():
    document = cluster_secrets_key_policy(SECRETS_KEY)
    assert_golden("cluster_secrets_key_policy.json", document)
    assert {s["Resource"] for s in json.loads(document)["Statement"]} == {SECRETS_KEY}


def test_ebs_csi_key_policy_matches_golden_and_grants_only_for_aws_resources():
    document = ebs_csi_key_policy(SECRETS_KEY)
    assert_golden("cluster_ebs_csi_key_policy.json", document)
    grants = json.loads(document)["Statement"][1]
    assert grants["Action"] == ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_kubeconfig_matches_golden_and_holds_no_credential_only_the_get_token_command():
    document = kubeconfig_json("c1", "https://ABC.gr7.us-west-2.eks.amazonaws.com", "Q0E=", "us-west-2")
    assert_golden("cluster_kubeconfig.json", document)
    (user,) = json.loads(document)["users"]
    assert set(user["user"]) == {"exec"}
    assert user["user"]["exec"]["args"] == [
        "--region",
        "us-west-2",
        "eks",
        "get-token",
        "--cluster-name",
        "c1",
        "--output",
        "json",
    ]


# --- what renders ------------------------------------------------------------------------------------------------


def test_cluster_is_private_api_only_encrypted_audited_and_gives_its_creator_no_admin(default):
    cluster = default.one(EKS).inputs
    assert cluster["name"] == "ml-platform-test"
    assert cluster["version"] == FACTS.eks.default_version
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert cluster["vpcConfig"] == {"subnetIds": INTRA, "endpointPrivateAccess": True, "endpointPublicAccess": False}
    assert cluster["encryptionConfig"] == {"resources": ["secrets"], "provider": {"keyArn": SECRETS_KEY}}
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert cluster["bootstrapSelfManagedAddons"] is False
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_public_endpoint_when_asked_is_limited_to_the_listed_cidrs():
    result = render_cluster(args(endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"]))
    vpc = result.one(EKS).inputs["vpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"], vpc["publicAccessCidrs"]) == (
        True,
        True,
        ["203.0.113.0/24"],
    )


def test_control_plane_log_group_is_created_first_with_kms_and_retention(default):
    group = default.one(LOG_GROUP, "c-control-plane-logs")
    assert group.inputs["name"] == "/aws/eks/ml-platform-test/cluster"
    assert group.inputs["kmsKeyId"] == LOGS_KEY
    assert group.inputs["retentionInDays"] == 365
    assert group.urn in default.one(EKS).options["dependsOn"]


def test_cluster_role_is_bounded_with_the_cluster_policy_and_use_of_the_secrets_key(default):
    (role,) = children_of(default, "mlplatform:iam:WorkloadRole", "c-control-plane", ROLE)
    assert role.inputs["permissionsBoundary"] == BOUNDARY_ARN
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}
    assert default.one(EKS).inputs["roleArn"] == role.outputs["arn"]
    (attachment,) = children_of(
        default, "mlplatform:iam:WorkloadRole", "c-control-plane", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    (inline,) = children_of(default, "mlplatform:iam:WorkloadRole", "c-control-plane", "aws:iam/rolePolicy:RolePolicy")
    assert json.loads(inline.inputs["policy"]) == json.loads(cluster_secrets_key_policy(SECRETS_KEY))


def test_every_role_the_cluster_creates_carries_the_boundary(default):
    roles = default.by_type(ROLE)
    assert len(roles) == 5  # control plane, vpc-cni, ebs-csi, one node role per pool
    assert all(r.inputs["permissionsBoundary"] == BOUNDARY_ARN for r in roles)


def test_oidc_provider_trusts_the_clusters_issuer_for_sts(default):
    provider = default.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    issuer = default.one(EKS).outputs["identities"][0]["oidcs"][0]["issuer"]
    assert provider.inputs["url"] == issuer
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert default.outputs["oidc_issuer"] == issuer.removeprefix("https://")
    assert default.outputs["oidc_provider_arn"] == provider.outputs["arn"]


def test_admin_roles_get_an_access_entry_and_the_cluster_admin_policy(default):
    entry = default.one("aws:eks/accessEntry:AccessEntry", "c-admin-platform-admins")
    assert (entry.inputs["principalArn"], entry.inputs["type"]) == (ADMIN_ARN, "STANDARD")
    assert entry.inputs["clusterName"] == "ml-platform-test"
    association = default.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "c-admin-platform-admins")
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert entry.urn in association.options["dependsOn"]


def test_the_stack_files_admin_roles_are_keyed_by_role_name_and_win_over_a_platform_role_of_that_key():
    configured = "arn:aws:iam::123456789012:role/sso/platform-admins"
    result = render_cluster(args(admin_role_arns=(configured, "arn:aws:iam::123456789012:role/ops")))
    entries = {e.name: e.inputs["principalArn"] for e in result.by_type("aws:eks/accessEntry:AccessEntry")}
    assert entries == {"c-admin-platform-admins": configured, "c-admin-ops": "arn:aws:iam::123456789012:role/ops"}


def test_karpenter_owns_gpu_capacity_so_the_gpu_pools_get_no_node_group():
    result = render_cluster(args(gpu_capacity="karpenter"))
    assert [g.name for g in result.by_type(NODE_GROUP)] == ["c-system-nodes"]


def test_no_admin_roles_means_no_access_entries():
    result = render_cluster(args(admin_roles={}))
    assert not result.by_type("aws:eks/accessEntry:AccessEntry")


def test_addons_are_the_five_managed_ones_at_pinned_versions_overwriting_manual_edits(default):
    addons = {a.inputs["addonName"]: a.inputs for a in default.by_type(ADDON)}
    assert {n: a["addonVersion"] for n, a in addons.items()} == FACTS.eks.addon_versions[FACTS.eks.default_version]
    assert all(a["resolveConflictsOnUpdate"] == "OVERWRITE" for a in addons.values())


def test_vpc_cni_has_its_own_irsa_role_for_aws_node_and_nodes_do_not_get_cni_permissions(default):
    (role,) = children_of(default, "mlplatform:iam:WorkloadRole", "c-vpc-cni", ROLE)
    vpc_cni = default.one(ADDON, "c-vpc-cni")
    assert vpc_cni.inputs["serviceAccountRoleArn"] == role.outputs["arn"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(statement["Condition"]["StringEquals"].values()) == [
        "sts.amazonaws.com",
        "system:serviceaccount:kube-system:aws-node",
    ]
    cni = [
        a
        for a in default.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if "CNI" in a.inputs["policyArn"]
    ]
    assert [a.name for a in cni] == ["c-vpc-cni-AmazonEKS_CNI_Policy"]


def test_vpc_cni_enforces_network_policies_so_team_default_deny_takes_effect(default):
    vpc_cni = default.one(ADDON, "c-vpc-cni")
    assert json.loads(vpc_cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_ebs_csi_driver_uses_a_pod_identity_role_with_the_volume_key(default):
    (role,) = children_of(default, "mlplatform:iam:WorkloadRole", "c-ebs-csi", ROLE)
    ebs = default.one(ADDON, "c-aws-ebs-csi-driver")
    assert ebs.inputs["podIdentityAssociations"] == [
        {"roleArn": role.outputs["arn"], "serviceAccount": "ebs-csi-controller-sa"}
    ]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "pods.eks.amazonaws.com"
    }
    assert default.one(ADDON, "c-eks-pod-identity-agent").urn in ebs.options["dependsOn"]


def test_node_groups_wait_for_networking_addons_and_coredns_waits_for_the_system_pool(default):
    before = {default.one(ADDON, f"c-{a}").urn for a in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")}
    for group in default.by_type(NODE_GROUP):
        assert before <= set(group.options["dependsOn"]), group.name
    system_group = default.one(NODE_GROUP, "c-system-nodes").urn
    for addon in ("coredns", "aws-ebs-csi-driver"):
        assert system_group in default.one(ADDON, f"c-{addon}").options["dependsOn"]


def test_pools_use_private_subnets_and_outputs_name_them(default):
    assert {g.name: g.inputs["subnetIds"] for g in default.by_type(NODE_GROUP)} == {
        "c-system-nodes": PRIVATE,
        "c-gpu-nodes": PRIVATE,
    }
    assert default.outputs["pool_names"] == ["system", "gpu"]
    assert set(default.outputs["asg_names"]) == set(default.outputs["node_role_arns"]) == {"system", "gpu"}
    assert default.outputs["version"] == FACTS.eks.default_version


def test_kubeconfig_is_a_secret_and_never_appears_in_plain_output(default):
    assert default.outputs["kubeconfig"] == SECRET
    rendered = json.dumps(stack_json(default))
    assert "certificate-authority-data" not in rendered
    assert "get-token" not in rendered


def test_protect_turns_on_pulumi_protection_and_eks_deletion_protection():
    result = render_cluster(args(protect=True))
    cluster = result.one(EKS)
    assert cluster.options["protect"] is True and cluster.inputs["deletionProtection"] is True


TAGS = '{"CostCenter": "a", "Owner": "b", "Project": "c"}'


@pytest.mark.parametrize(
    ("environment", "gpu_node_groups", "retention"), [("dev", 1, 30), ("staging", 0, 90), ("prod", 0, 365)]
)
def test_each_environment_renders_a_private_encrypted_cluster_from_its_profile(environment, gpu_node_groups, retention):
    # Staging and prod bring GPU nodes up with Karpenter: their GPU pools are no node groups.
    cfg = load(
        {"aws:region": "us-west-2", "ml-platform:environment": environment, "ml-platform:tags": TAGS}, stack=environment
    )
    result = render_cluster(args(settings=cfg.cluster, protect=cfg.protect_stateful_resources))
    cluster = result.one(EKS)
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert cluster.inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    assert cluster.inputs["encryptionConfig"]["provider"]["keyArn"] == SECRETS_KEY
    assert cluster.inputs["deletionProtection"] is (environment != "dev")
    assert result.one(LOG_GROUP).inputs["retentionInDays"] == retention
    assert len(result.by_type(NODE_GROUP)) == 1 + gpu_node_groups
