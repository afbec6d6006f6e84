"""The platform's EKS cluster: private API, encrypted secrets, audited, with access entries instead of aws-auth.

Creates: the control-plane log group (before the cluster, so EKS writes into a KMS-encrypted group with retention
instead of creating its own that keeps logs forever); the cluster role (boundary, EKS cluster policy, use of the
secrets key); the cluster (API authentication mode, no admin for its creator, private endpoint, public endpoint only
for listed CIDRs, control-plane ENIs in the intra subnets, secrets envelope-encrypted, all five log types); the IAM
OIDC provider for IRSA; an access entry and cluster-admin policy association per admin role; the managed add-ons at
pinned versions (vpc-cni with its own IRSA role, kube-proxy, the Pod Identity agent, CoreDNS, the EBS CSI driver
with its own Pod Identity role); the system node pool and the GPU node pools (`components.node_pool.NodePool`);
and a kubeconfig that authenticates with `aws eks get-token`, as a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import cluster_rules as rules
from components import facts
from components.node_pool import NodePool, NodePoolArgs
from components.workload_role import (
    WorkloadRole,
    WorkloadRoleArgs,
    cluster_pod_identity_trust,
    irsa_trust,
    service_trust,
)

__all__ = [
    "Cluster",
    "ClusterArgs",
    "NodePoolSpec",
    "cluster_secrets_key_policy",
    "ebs_csi_key_policy",
    "kubeconfig_json",
    "validate_cluster",
]

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"

BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
"""Add-ons nodes need to become Ready (networking, service routing, credentials): installed before any node group.
The cluster is created without EKS's self-managed copies of them."""
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
"""The EBS CSI controller's service account (kube-system): its Pod Identity association and its role's trust name it."""


@dataclass(frozen=True, kw_only=True)
class NodePoolSpec:
    """One node pool as the cluster sees it (the cluster fills in subnets, keys, boundary and tags)."""

    name: str
    instance_types: Sequence[str]
    capacity: str = "on_demand"
    min_size: int = 0
    max_size: int = 2
    desired_size: int | None = None
    disk_gib: int = 100
    ami_type: str | None = None
    purpose: str | None = None
    efa: bool = False


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    cluster_name: str
    """EKS cluster name (also in the subnets' discovery tags, so fixed before the network is built)."""
    region: str
    """The region the provider deploys to; the kubeconfig's `aws eks get-token` uses it."""
    intra_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets for the control-plane ENIs: the intra tier (no internet route)."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets for the nodes."""
    secrets_kms_key_arn: pulumi.Input[str]
    """Customer-managed key that envelope-encrypts Kubernetes secrets (cannot be changed after creation)."""
    node_kms_key_arn: pulumi.Input[str]
    """Customer-managed key for node root volumes and EBS CSI volumes; EC2 Auto Scaling must be able to use it."""
    logs_kms_key_arn: pulumi.Input[str]
    """Customer-managed key for the control-plane log group; CloudWatch Logs must be able to use it."""
    permissions_boundary: pulumi.Input[str]
    """The stack's permission boundary, on every role created here."""
    system_pool: NodePoolSpec
    """On-demand CPU nodes for the add-ons; at least 1 node."""
    version: str = field(default_factory=lambda: facts.FACTS.eks.default_version)
    """Kubernetes version, one of `eks.testedVersions` in `components/facts/aws.json` (default: `eks.defaultVersion`)."""
    partition: str = "aws"
    gpu_pools: Sequence[NodePoolSpec] = ()
    """GPU pools: tainted, labelled, scale-from-zero tagged. Default: none."""
    endpoint_public_access: bool = False
    """Default off: the API is reachable from inside the VPC only."""
    public_access_cidrs: Sequence[str] = ()
    """With `endpoint_public_access`: the public ranges allowed (required then; never 0.0.0.0/0)."""
    admin_roles: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Key -> IAM role ARN given cluster-admin through an access entry. Keys name the children, so keep them stable.
    Default: none (nobody is admin by default; the creator is not)."""
    addon_versions: Mapping[str, str] | None = None
    """Add-on -> pinned version. Default: the row for `version` in `eks.addonVersions` (`components/facts`)."""
    log_retention_days: int = 365
    """Days CloudWatch keeps control-plane logs."""
    cost_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for node instances and volumes (launch templates), which provider default tags do not reach."""
    protect: bool = True
    """Default on: the cluster is `protect`ed and has EKS deletion protection. Off only for throw-away stacks."""


def validate_cluster(args: ClusterArgs) -> dict[str, str]:
    """Validate the args; returns the add-on versions in effect. Raises ValueError naming the argument."""

    def fail(arg: str, value: object, message: str) -> ValueError:
        return ValueError(f"ClusterArgs.{arg} = {value!r}: {message}")

    try:
        addons = rules.addon_versions(args.version, args.addon_versions)
    except ValueError as exc:
        raise fail("version/addon_versions", (args.version, dict(args.addon_versions or {})), str(exc)) from None
    if args.endpoint_public_access and not args.public_access_cidrs:
        raise fail("public_access_cidrs", [], "required with endpoint_public_access (never the whole internet)")
    if args.public_access_cidrs and not args.endpoint_public_access:
        raise fail(
            "public_access_cidrs", list(args.public_access_cidrs), "has no effect without endpoint_public_access"
        )
    for cidr in args.public_access_cidrs:
        try:
            rules.check_public_access_cidr(cidr)
        except ValueError as exc:
            raise fail("public_access_cidrs", cidr, str(exc)) from None
    try:
        facts.check_log_retention(args.log_retention_days)
    except ValueError as exc:
        raise fail("log_retention_days", args.log_retention_days, str(exc)) from None
    names = [args.system_pool.name] + [p.name for p in args.gpu_pools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise fail("gpu_pools", names, f"pool names must be unique ({', '.join(duplicates)} repeated)")
    return addons


def cluster_secrets_key_policy(key_arn: str) -> str:
    """What the control plane needs on the secrets key: encrypt and decrypt data keys, and see its grants."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnvelopeEncryptSecrets",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                }
            ],
        },
        indent=2,
    )


def ebs_csi_key_policy(key_arn: str) -> str:
    """What the EBS CSI driver needs on the volume key: data keys for new volumes, and grants for EC2 to attach them."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EncryptVolumes",
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:DescribeKey",
                    ],
                    "Resource": key_arn,
                },
                {
                    "Sid": "GrantsForAttachedVolumes",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        },
        indent=2,
    )


def kubeconfig_json(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig holding no credential: `aws eks get-token` signs a short-lived token with the caller's identity."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority},
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "--region",
                                region,
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        indent=2,
    )


class Cluster(pulumi.ComponentResource):
    """A private, encrypted, audited EKS cluster with a system pool and GPU pools.

    Attributes (outputs): `name`, `endpoint`, `certificate_authority`, `oidc_provider_arn`, `oidc_issuer` (host and
    path, no `https://`), `kubeconfig` (secret), `cluster_security_group_id`, `node_role_arns`, `asg_names` and
    `node_group_names` (pool -> value); plain: `version`, `pool_names`, `addon_versions`, `pools` (pool -> NodePool).
    """

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:Cluster", name, None, opts)
        addons = validate_cluster(args)
        child = pulumi.ResourceOptions(parent=self)
        policy = f"arn:{args.partition}:iam::aws:policy"

        # Named exactly as EKS would name it, and created first: EKS then writes into this group (encrypted, with
        # retention) instead of creating one that keeps logs forever.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            kms_key_id=args.logs_kms_key_arn,
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.cluster_role = WorkloadRole(
            f"{name}-control-plane",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("eks.amazonaws.com"),
                permissions_boundary=args.permissions_boundary,
                managed_policy_arns=[f"{policy}/AmazonEKSClusterPolicy"],
                policies={
                    "secrets-key": pulumi.Output.from_input(args.secrets_kms_key_arn).apply(cluster_secrets_key_policy)
                },
                description=f"EKS control plane of {args.cluster_name}",
            ),
            opts=child,
        )
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.version,
            role_arn=self.cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.intra_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=args.endpoint_public_access,
                public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.secrets_kms_key_arn),
            ),
            enabled_cluster_log_types=list(rules.CONTROL_PLANE_LOG_TYPES),
            # The managed add-ons below replace EKS's unmanaged copies, which nothing here would version.
            bootstrap_self_managed_addons=False,
            # Standard support only: a version past it fails loudly instead of quietly costing extended-support fees.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=args.protect,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[self.log_group, self.cluster_role],
            ),
        )
        cluster_name = self.cluster.name

        self.oidc_issuer_url: pulumi.Output[str] = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        # No thumbprint: IAM trusts the EKS OIDC endpoints through its own root CAs, and a pinned thumbprint breaks
        # when the endpoint's certificate rotates.
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )

        self.access_entries: dict[str, aws.eks.AccessEntry] = {}
        for key, principal in sorted(args.admin_roles.items()):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{key}", cluster_name=cluster_name, principal_arn=principal, type="STANDARD", opts=child
            )
            self.access_entries[key] = entry
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{key}",
                cluster_name=cluster_name,
                principal_arn=principal,
                policy_arn=f"arn:{args.partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )

        # vpc-cni through IRSA: aws-node runs before any pod (the Pod Identity agent included) can start.
        self.vpc_cni_role = WorkloadRole(
            f"{name}-vpc-cni",
            WorkloadRoleArgs(
                assume_role_policy=irsa_trust(self.oidc_provider.arn, self.oidc_issuer_url, "kube-system", "aws-node"),
                permissions_boundary=args.permissions_boundary,
                managed_policy_arns=[f"{policy}/AmazonEKS_CNI_Policy"],
                description=f"VPC CNI (aws-node) of {args.cluster_name}: pod ENIs and IPs",
            ),
            opts=child,
        )
        self.ebs_csi_role = WorkloadRole(
            f"{name}-ebs-csi",
            WorkloadRoleArgs(
                assume_role_policy=cluster_pod_identity_trust(self.cluster.arn, "kube-system", EBS_CSI_SERVICE_ACCOUNT),
                permissions_boundary=args.permissions_boundary,
                managed_policy_arns=[f"{policy}/service-role/AmazonEBSCSIDriverPolicy"],
                policies={"volume-key": pulumi.Output.from_input(args.node_kms_key_arn).apply(ebs_csi_key_policy)},
                description=f"EBS CSI controller of {args.cluster_name}: encrypted volumes for pods",
            ),
            opts=child,
        )

        def addon(addon_name: str, depends_on: Sequence[pulumi.Resource] = (), **extra) -> aws.eks.Addon:
            return aws.eks.Addon(
                f"{name}-{addon_name}",
                cluster_name=cluster_name,
                addon_name=addon_name,
                addon_version=addons[addon_name],
                # This code is the add-on's configuration: a manual edit in the cluster is overwritten, not kept.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
                **extra,
            )

        self.addons: dict[str, aws.eks.Addon] = {}
        self.addons["vpc-cni"] = addon(
            "vpc-cni",
            service_account_role_arn=self.vpc_cni_role.arn,
            # The team namespaces' default-deny NetworkPolicies are only enforced with the CNI's policy agent on.
            configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
            depends_on=[self.vpc_cni_role],
        )
        self.addons["kube-proxy"] = addon("kube-proxy")
        self.addons["eks-pod-identity-agent"] = addon("eks-pod-identity-agent")

        before_nodes = [self.addons[a] for a in BEFORE_NODES]
        pool_opts = pulumi.ResourceOptions(parent=self, depends_on=before_nodes)
        common = {
            "cluster_name": cluster_name,
            "subnet_ids": args.private_subnet_ids,
            "node_kms_key_arn": args.node_kms_key_arn,
            "permissions_boundary": args.permissions_boundary,
            "cost_tags": dict(args.cost_tags),
            "partition": args.partition,
        }
        cluster_sg = self.cluster.vpc_config.apply(lambda v: v.cluster_security_group_id)
        self.pools: dict[str, NodePool] = {}
        for spec in [args.system_pool, *args.gpu_pools]:
            self.pools[spec.name] = NodePool(
                f"{name}-{spec.name}",
                NodePoolArgs(
                    **common,
                    pool=spec.name,
                    instance_types=list(spec.instance_types),
                    capacity=spec.capacity,
                    min_size=spec.min_size,
                    max_size=spec.max_size,
                    desired_size=spec.desired_size,
                    disk_gib=spec.disk_gib,
                    ami_type=spec.ami_type,
                    purpose=spec.purpose,
                    efa=spec.efa,
                    cluster_security_group_id=cluster_sg if spec.efa else None,
                ),
                opts=pool_opts,
            )
        system = self.pools[args.system_pool.name]
        # Add-ons that run as Deployments wait for the system pool, else their creation hangs on pending pods.
        self.addons["coredns"] = addon("coredns", depends_on=[system])
        self.addons["aws-ebs-csi-driver"] = addon(
            "aws-ebs-csi-driver",
            depends_on=[system, self.addons["eks-pod-identity-agent"], self.ebs_csi_role],
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(
                    role_arn=self.ebs_csi_role.arn, service_account=EBS_CSI_SERVICE_ACCOUNT
                )
            ],
        )

        self.name: pulumi.Output[str] = cluster_name
        self.version: str = args.version
        self.addon_versions: dict[str, str] = addons
        self.endpoint: pulumi.Output[str] = self.cluster.endpoint
        self.certificate_authority: pulumi.Output[str] = self.cluster.certificate_authority.apply(lambda ca: ca.data)
        self.cluster_security_group_id: pulumi.Output[str] = cluster_sg
        self.oidc_provider_arn: pulumi.Output[str] = self.oidc_provider.arn
        self.arn: pulumi.Output[str] = self.cluster.arn
        self.oidc_issuer: pulumi.Output[str] = self.oidc_issuer_url.apply(lambda url: url.removeprefix("https://"))
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(cluster_name, self.endpoint, self.certificate_authority).apply(
                lambda v: kubeconfig_json(v[0], v[1], v[2], args.region)
            )
        )
        self.pool_names: list[str] = list(self.pools)
        self.node_role_arns: dict[str, pulumi.Output[str]] = {p: pool.node_role_arn for p, pool in self.pools.items()}
        self.asg_names: dict[str, pulumi.Output[str]] = {p: pool.asg_name for p, pool in self.pools.items()}
        self.node_group_names: dict[str, pulumi.Output[str]] = {
            p: pool.node_group_name for p, pool in self.pools.items()
        }
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer": self.oidc_issuer,
                "kubeconfig": self.kubeconfig,
                "node_role_arns": self.node_role_arns,
                "asg_names": self.asg_names,
            }
        )
