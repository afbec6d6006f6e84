"""The platform's EKS cluster: private API, encrypted secrets, audited, with access entries instead of aws-auth.

Creates: the control-plane log group (before the cluster, so EKS writes into a KMS-encrypted group with retention
instead of creating its own that keeps logs forever); the cluster role (boundary, EKS cluster policy, use of the
secrets key); the cluster (API authentication mode, no admin for its creator, private endpoint, public endpoint only
for listed CIDRs, control-plane ENIs in the intra subnets, secrets envelope-encrypted, all five log types); the IAM
OIDC provider for IRSA; an access entry and cluster-admin policy association per admin role; the managed add-ons at
pinned versions (vpc-cni with its own IRSA role, kube-proxy, the Pod Identity agent, CoreDNS, the EBS CSI driver
with its own Pod Identity role); the system node pool and, unless Karpenter brings GPU nodes up, the GPU node pools
(`components.node_pool.NodePool`); and a kubeconfig that authenticates with `aws eks get-token`, as a secret.

Its settings are declared once, here (`ClusterSettings`, with the pools' models from `components.node_pool`): the
stack file's `ml-platform:cluster` is validated against them, and the component takes the validated model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from components import cluster_rules as rules
from components import facts
from components.karpenter import pool_problem
from components.node_pool import GpuPoolSettings, NodePool, NodePoolArgs, SystemPoolSettings
from components.settings import FieldError, Section
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
    "ClusterSettings",
    "cluster_secrets_key_policy",
    "ebs_csi_key_policy",
    "kubeconfig_json",
]

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"

BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
"""Add-ons nodes need to become Ready (networking, service routing, credentials): installed before any node group.
The cluster is created without EKS's self-managed copies of them."""
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
"""The EBS CSI controller's service account (kube-system): its Pod Identity association and its role's trust name it."""


class ClusterSettings(Section):
    """`ml-platform:cluster` (with the teams, Karpenter and Kueue settings `infra/config/cluster.py` adds), and what
    `Cluster` builds: version, API endpoint, admins, add-ons, control-plane logs, the node pools.

    Declared once: the stack file is validated against this model and the component takes it. Defaults are the
    secure ones; `infra/config/profiles.py` sizes the pools per environment."""

    version: str = Field(default_factory=lambda: facts.FACTS.eks.default_version)
    """Kubernetes version, one of `eks.testedVersions` in `components/facts/aws.json` (default: its
    `eks.defaultVersion`). Upgrade one minor version at a time."""
    endpoint_public_access: bool = False
    """Default off: the API is reachable from inside the VPC only (private endpoint)."""
    public_access_cidrs: tuple[str, ...] = ()
    """With `endpointPublicAccess`, the public ranges allowed to reach the API (required then; never 0.0.0.0/0)."""
    admin_role_arns: tuple[str, ...] = ()
    """IAM roles given cluster-admin through EKS access entries. Default: none (whoever deploys gets no admin)."""
    addon_versions: dict[str, str] = Field(default_factory=dict)
    """Override a pinned add-on version, e.g. {"coredns": "v1.13.1-eksbuild.1"}. Default: the pinned row for `version`
    in `eks.addonVersions` of `components/facts/aws.json`."""
    log_retention_days: int = 365
    """Days CloudWatch keeps control-plane logs (api, audit, authenticator, controllerManager, scheduler)."""
    system_pool: SystemPoolSettings = SystemPoolSettings()
    gpu_pools: tuple[GpuPoolSettings, ...] = ()
    """GPU node pools. Default: none (profiles add them)."""
    require_on_demand_inference: bool = True
    """Default on: if any GPU pool serves inference, at least one inference pool is on-demand (spot can vanish)."""
    gpu_capacity: Literal["karpenter", "node-groups"] = "node-groups"
    """Who brings GPU nodes up: `node-groups` (a managed node group per GPU pool, scaled by the cluster-autoscaler)
    or `karpenter` (a NodePool per GPU pool; no GPU node groups). Never both. The system pool is always a managed
    node group."""

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return rules.check_version(value)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return facts.check_log_retention(value)

    @model_validator(mode="after")
    def _consistent(self) -> ClusterSettings:
        for addon, pinned in self.addon_versions.items():
            try:
                rules.check_addon_version(addon, pinned, self.version)
            except ValueError as exc:
                raise FieldError(f"addonVersions.{addon}", pinned, str(exc)) from None
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise FieldError(
                "publicAccessCidrs",
                [],
                "required with endpointPublicAccess: list the public ranges allowed to reach the API",
            )
        if self.public_access_cidrs and not self.endpoint_public_access:
            raise FieldError(
                "publicAccessCidrs",
                list(self.public_access_cidrs),
                "has no effect while endpointPublicAccess is false; remove it, or turn the public endpoint on",
            )
        for i, cidr in enumerate(self.public_access_cidrs):
            try:
                rules.check_public_access_cidr(cidr)
            except ValueError as exc:
                raise FieldError(f"publicAccessCidrs.{i}", cidr, str(exc)) from None
        _unique("adminRoleArns", self.admin_role_arns)
        for i, arn in enumerate(self.admin_role_arns):
            try:
                rules.check_admin_role_arn(arn)
            except ValueError as exc:
                raise FieldError(f"adminRoleArns.{i}", arn, str(exc)) from None
        if rules.first_repeat(rules.role_key(arn) for arn in self.admin_role_arns) is not None:
            raise FieldError(
                "adminRoleArns", list(self.admin_role_arns), "two roles share a name; role names must differ"
            )
        _unique("gpuPools", [p.name for p in self.gpu_pools], suffix="name")
        inference = [p for p in self.gpu_pools if p.purpose == "inference"]
        if self.require_on_demand_inference and inference and all(p.capacity == "spot" for p in inference):
            raise FieldError(
                "gpuPools",
                [p.name for p in inference],
                "every inference pool is spot; add an on_demand inference pool, or set requireOnDemandInference: false",
            )
        if self.gpu_capacity == "karpenter":
            for i, pool in enumerate(self.gpu_pools):
                problem = pool_problem(min_size=pool.min_size, ami_type=pool.ami_type)
                if problem is not None:
                    key, value, message = problem
                    raise FieldError(f"gpuPools.{i}.{key}", value, message)
        return self

    @property
    def admin_roles(self) -> dict[str, str]:
        """`adminRoleArns` keyed by role name (path dropped): the access entries' child names."""
        return {rules.role_key(arn): arn for arn in self.admin_role_arns}

    @property
    def resolved_addon_versions(self) -> dict[str, str]:
        """Every managed add-on's version: the pinned row for `version`, with `addonVersions` laid over it."""
        return rules.addon_versions(self.version, self.addon_versions)

    @property
    def node_groups(self) -> tuple[SystemPoolSettings | GpuPoolSettings, ...]:
        """The pools the cluster builds as managed node groups: the system pool, and the GPU pools unless Karpenter
        brings GPU nodes up (one owner of GPU capacity)."""
        return (self.system_pool, *(self.gpu_pools if self.gpu_capacity == "node-groups" else ()))


def _unique(key: str, values: Sequence[str], suffix: str | None = None) -> None:
    repeat = rules.first_repeat(values)
    if repeat is not None:
        where = f"{key}.{repeat}" + (f".{suffix}" if suffix else "")
        raise FieldError(where, values[repeat], "listed twice; each must be unique")


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
    settings: ClusterSettings = field(default_factory=ClusterSettings)
    """What the stack file sets (validated when built): version, endpoint, admins, add-ons, log retention, pools."""
    partition: str = "aws"
    admin_roles: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Cluster admins known only at deployment, key -> IAM role ARN (the CI deploy role, the platform-admin persona).
    The stack file's `adminRoleArns` are added, keyed by role name, and win on a shared key. Keys name the
    children, so keep them stable."""
    cost_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for node instances and volumes (launch templates), which provider default tags do not reach."""
    protect: bool = True
    """Default on: the cluster is `protect`ed and has EKS deletion protection. Off only for throw-away stacks."""


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
        settings = args.settings
        addons = settings.resolved_addon_versions
        child = pulumi.ResourceOptions(parent=self)
        policy = f"arn:{args.partition}:iam::aws:policy"

        # Named exactly as EKS would name it, and created first: EKS then writes into this group (encrypted, with
        # retention) instead of creating one that keeps logs forever.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            kms_key_id=args.logs_kms_key_arn,
            retention_in_days=settings.log_retention_days,
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
            version=settings.version,
            role_arn=self.cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.intra_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=settings.endpoint_public_access,
                public_access_cidrs=list(settings.public_access_cidrs) if settings.endpoint_public_access else None,
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
        admins = {**args.admin_roles, **settings.admin_roles}
        for key, principal in sorted(admins.items()):
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
        for pool in settings.node_groups:
            efa = isinstance(pool, GpuPoolSettings) and pool.efa
            self.pools[pool.name] = NodePool(
                f"{name}-{pool.name}",
                NodePoolArgs(**common, settings=pool, cluster_security_group_id=cluster_sg if efa else None),
                opts=pool_opts,
            )
        system = self.pools[settings.system_pool.name]
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
        self.version: str = settings.version
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
