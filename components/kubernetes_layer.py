"""What GPU teams need inside the EKS cluster, as explicit Kubernetes objects (no Helm, no YAML fetched at run time).

Creates, through a Kubernetes provider built from the cluster's kubeconfig (a secret):
- the NVIDIA device plugin DaemonSet (kube-system), on GPU nodes only, tolerating exactly the GPU taint;
- the cluster-autoscaler: an IRSA role (a `WorkloadRole`, so it carries the permission boundary) that may change
  only this cluster's node groups (ASG tag condition), its ServiceAccount, RBAC as upstream, and a Deployment on
  the system nodes with scale-down settings suited to GPU pools;
- per team a Namespace, a ResourceQuota (GPUs, CPU, memory), a LimitRange, a default-deny NetworkPolicy and an
  allow-DNS NetworkPolicy;
- PriorityClasses (`ml-inference` above `ml-training` by default);
- an encrypted gp3 default StorageClass, and a patch taking the default flag off EKS's `gp2` class;
- optionally the DCGM exporter DaemonSet on GPU nodes.

The GPU taint, labels and resource name come from `components.gpu_labels`, the same module the node pools use; images
are pinned in `components._kubernetes_images`. Every manifest is built by a pure function in
`components._kubernetes_manifests` that tests call directly; validation is here. A team's settings are declared
once, here (`TeamSettings`): the stack file's `cluster.teams` are validated against them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pydantic import field_validator

from components._kubernetes_images import cluster_autoscaler_image
from components._kubernetes_manifests import (
    AUTOSCALER_SERVICE_ACCOUNT,
    DEFAULT_STORAGE_CLASS_ANNOTATION,
    GPU_PRESENT_LABEL,
    SYSTEM_NAMESPACE,
    TEAM_CONTAINER_DEFAULTS,
    autoscaler_cluster_role_rules,
    autoscaler_command,
    autoscaler_deployment_spec,
    autoscaler_policy,
    autoscaler_role_rules,
    dcgm_exporter_spec,
    device_plugin_spec,
    limit_range_spec,
    network_policy_specs,
    parse_quantity,
    resource_quota_hard,
    storage_class_parameters,
)
from components.cluster_rules import first_repeat
from components.gpu_labels import POOL_LABEL
from components.network_rules import EKS_CLUSTER_NAME
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, irsa_trust

__all__ = [
    "AUTOSCALER_SERVICE_ACCOUNT",
    "DEFAULT_PRIORITY_CLASSES",
    "TEAM_CONTAINER_DEFAULTS",
    "KubernetesLayer",
    "KubernetesLayerArgs",
    "PriorityClassSpec",
    "TeamSettings",
    "autoscaler_cluster_role_rules",
    "autoscaler_command",
    "autoscaler_deployment_spec",
    "autoscaler_policy",
    "autoscaler_role_rules",
    "check_cpu_quantity",
    "check_memory_quantity",
    "check_team_name",
    "dcgm_exporter_spec",
    "device_plugin_spec",
    "limit_range_spec",
    "network_policy_specs",
    "parse_quantity",
    "resource_quota_hard",
    "storage_class_parameters",
    "validate_kubernetes_layer",
]

RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
MAX_USER_PRIORITY = 1_000_000_000
"""Kubernetes reserves priorities above one billion for `system-*` classes."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CPU = re.compile(r"^\d+(\.\d+)?m?$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_DURATION = re.compile(r"^[1-9][0-9]*(s|m|h)$")


class TeamSettings(Section):
    """An entry of `cluster.teams`: a team that runs GPU work gets a namespace of its own name with these quotas
    (and, through `components.team_identity`, a role; through `components.kueue`, a queue)."""

    name: str
    """Namespace name (DNS label, at most 63 characters; not `default` or `kube-*`). Unique."""
    gpu_quota: int = 0
    """Most `nvidia.com/gpu` the team's pods may request at once; 0 keeps the team on CPU."""
    cpu_quota: str = "16"
    """Most CPU the team's pods may request, and their limits' total (a Kubernetes quantity: "16", "500m")."""
    memory_quota: str = "64Gi"
    """Most memory the team's pods may request, and their limits' total (a Kubernetes quantity: "64Gi")."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_team_name(value)

    @field_validator("gpu_quota", mode="before")
    @classmethod
    def _whole_gpus(cls, value: object) -> object:
        # A YAML `true` would otherwise pass as 1 GPU.
        if isinstance(value, bool):
            raise ValueError("a whole number of GPUs, not true/false")  # noqa: TRY004 (pydantic reports ValueError)
        return value

    @field_validator("gpu_quota")
    @classmethod
    def _gpus(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("cpu_quota")
    @classmethod
    def _cpu(cls, value: str) -> str:
        return check_cpu_quantity(value)

    @field_validator("memory_quota")
    @classmethod
    def _memory(cls, value: str) -> str:
        return check_memory_quantity(value)


@dataclass(frozen=True, kw_only=True)
class PriorityClassSpec:
    name: str
    value: int
    """Higher runs first and, with `PreemptLowerPriority`, evicts lower ones when the cluster is full."""
    preemption_policy: str = "PreemptLowerPriority"
    """PreemptLowerPriority | Never."""
    description: str = ""


DEFAULT_PRIORITY_CLASSES: tuple[PriorityClassSpec, ...] = (
    PriorityClassSpec(
        name="ml-inference",
        value=100_000,
        preemption_policy="PreemptLowerPriority",
        description="Online inference: scheduled before training and may preempt training pods for capacity.",
    ),
    PriorityClassSpec(
        name="ml-training",
        value=10_000,
        # A training job waits for capacity (the autoscaler adds GPU nodes) instead of evicting anyone: a preempted
        # multi-node job loses more work than the pending one gains.
        preemption_policy="Never",
        description="Batch training: waits for capacity rather than preempting; yields to inference.",
    ),
)


@dataclass(frozen=True, kw_only=True)
class KubernetesLayerArgs:
    kubeconfig: pulumi.Input[str]
    """Kubeconfig of the cluster. Treated as a secret whatever the caller passes; never exported."""
    cluster_name: str
    """EKS cluster name: scopes the autoscaler's node-group discovery and its IAM permissions."""
    cluster_version: str
    """Kubernetes version of the cluster ("1.31"); picks the matching cluster-autoscaler release."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (IRSA)."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer, host/path (an `https://` prefix is dropped)."""
    permissions_boundary: pulumi.Input[str]
    """Permission boundary ARN the autoscaler role carries."""
    region: str
    """The cluster's region, given to the autoscaler (it talks to that region's Auto Scaling API)."""
    storage_kms_key_arn: pulumi.Input[str]
    """KMS key the default StorageClass encrypts EBS volumes with. The EBS CSI driver's role must be allowed to
    use it."""
    teams: Sequence[TeamSettings] = ()
    """Team namespaces with quotas. Default: none (the cluster still gets everything else)."""
    priority_classes: Sequence[PriorityClassSpec] = DEFAULT_PRIORITY_CLASSES
    """Default: `ml-inference` (100000, preempts) above `ml-training` (10000, never preempts)."""
    node_group_asg_names: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Auto Scaling group names of the cluster's node groups. When given, the autoscaler's scale actions are
    limited to these groups by ARN as well as by the cluster's ASG tag. Default: the tag condition alone."""
    enable_dcgm_exporter: bool = False
    """Run NVIDIA's DCGM exporter (GPU metrics on port 9400) on GPU nodes. Default: off."""
    gpu_metrics_from_cloudwatch_addon: bool = False
    """The cluster's CloudWatch observability add-on collects GPU metrics with its own DCGM exporter
    (`components.monitoring`). One GPU metrics source: then `enable_dcgm_exporter` must stay off."""
    scale_down_unneeded_time: str = "5m"
    """How long a node must be unneeded before the autoscaler removes it. Short, because an idle GPU node is the
    platform's most expensive resource (upstream default 10m)."""
    scale_down_delay_after_add: str = "10m"
    """Pause after a scale-up before scale-down is considered, so a GPU node that just joined (image pulls take
    minutes) is not removed before its pod lands."""
    max_node_provision_time: str = "15m"
    """How long a new node may take to register before the autoscaler gives up on it; GPU AMIs boot slowly."""
    system_node_selector: Mapping[str, str] = field(default_factory=lambda: {POOL_LABEL: "system"})
    """Where the autoscaler runs: the system pool. It never tolerates the GPU taint."""
    demote_gp2_storage_class: bool = True
    """Patch EKS's `gp2` StorageClass so it is no longer the default. Turn off for a cluster without `gp2`."""


# ---- validation (pure) --------------------------------------------------------------------------------------


def check_team_name(name: str) -> str:
    if not _DNS_LABEL.match(name):
        raise ValueError("must be a DNS label: at most 63 lowercase letters, digits or '-', alphanumeric at both ends")
    if name in RESERVED_NAMESPACES or name.startswith("kube-"):
        raise ValueError(
            f"reserved Kubernetes namespace; pick another name (reserved: {', '.join(RESERVED_NAMESPACES)}, kube-*)"
        )
    return name


def check_cpu_quantity(value: str) -> str:
    """A CPU quota: more than zero, in cores or millicores."""
    if not _CPU.match(value):
        raise ValueError("not a CPU quantity; expected cores ('16', '2.5') or millicores ('500m')")
    if parse_quantity(value) <= 0:
        raise ValueError("must be more than 0 (the Kubernetes layer's container defaults must fit in it)")
    return value


def check_memory_quantity(value: str) -> str:
    """A memory quota: more than zero bytes."""
    if value.endswith("m"):
        raise ValueError("'m' means thousandths of a byte; did you mean 'Mi'?")
    if not _MEMORY.match(value):
        raise ValueError("not a memory quantity; expected e.g. '64Gi', '512Mi'")
    if parse_quantity(value) <= 0:
        raise ValueError("must be more than 0 (the Kubernetes layer's container defaults must fit in it)")
    return value


def _fail(arg: str, value: object, message: str) -> ValueError:
    return ValueError(f"KubernetesLayerArgs.{arg} = {value!r}: {message}")


def validate_kubernetes_layer(args: KubernetesLayerArgs) -> None:
    """Raise ValueError naming the argument, the value and what is allowed, before anything is declared."""
    if args.enable_dcgm_exporter and args.gpu_metrics_from_cloudwatch_addon:
        raise _fail(
            "enable_dcgm_exporter",
            True,
            "the CloudWatch observability add-on already runs DCGM on GPU nodes (gpu_metrics_from_cloudwatch_addon); "
            "two DCGM exporters would profile the same GPUs twice: keep one",
        )
    if not EKS_CLUSTER_NAME.match(args.cluster_name):
        raise _fail(
            "cluster_name",
            args.cluster_name,
            "EKS cluster names are 1-100 letters, digits, '-' or '_', starting alphanumeric",
        )
    try:
        cluster_autoscaler_image(args.cluster_version)
    except ValueError as exc:
        raise _fail("cluster_version", args.cluster_version, str(exc)) from None
    if not _REGION.match(args.region):
        raise _fail("region", args.region, "an AWS region name, e.g. us-west-2")
    for arg in ("scale_down_unneeded_time", "scale_down_delay_after_add", "max_node_provision_time"):
        if not _DURATION.match(getattr(args, arg)):
            raise _fail(arg, getattr(args, arg), "a duration in whole seconds, minutes or hours, e.g. 90s, 10m, 1h")
    if not args.system_node_selector:
        raise _fail(
            "system_node_selector",
            dict(args.system_node_selector),
            "must select the system nodes; an empty selector lets the autoscaler land anywhere",
        )
    if args.system_node_selector.get(GPU_PRESENT_LABEL) == "true":
        raise _fail(
            "system_node_selector",
            dict(args.system_node_selector),
            "selects GPU nodes; the autoscaler belongs on the system pool",
        )

    # Each team validated itself (`TeamSettings`); what a list of them can get wrong is a name given twice.
    repeat = first_repeat(team.name for team in args.teams)
    if repeat is not None:
        raise _fail(f"teams[{repeat}].name", args.teams[repeat].name, "listed twice; each must be unique")

    _validate_priority_classes(args.priority_classes)


def _validate_priority_classes(priority_classes: Sequence[PriorityClassSpec]) -> None:
    names: set[str] = set()
    for i, pc in enumerate(priority_classes):
        where = f"priority_classes[{i}]"
        if not _DNS_SUBDOMAIN.match(pc.name) or pc.name.startswith("system-"):
            raise _fail(
                f"{where}.name", pc.name, "a lowercase DNS name not starting with 'system-' (reserved by Kubernetes)"
            )
        if pc.name in names:
            raise _fail(f"{where}.name", pc.name, "each priority class may be listed once")
        names.add(pc.name)
        if not -MAX_USER_PRIORITY <= pc.value <= MAX_USER_PRIORITY:
            raise _fail(f"{where}.value", pc.value, f"must be between -{MAX_USER_PRIORITY} and {MAX_USER_PRIORITY}")
        if pc.preemption_policy not in PREEMPTION_POLICIES:
            raise _fail(
                f"{where}.preemption_policy", pc.preemption_policy, f"must be one of {' | '.join(PREEMPTION_POLICIES)}"
            )
    by_name = {pc.name: pc for pc in priority_classes}
    if (
        "ml-inference" in by_name
        and "ml-training" in by_name
        and by_name["ml-inference"].value <= by_name["ml-training"].value
    ):
        raise _fail(
            "priority_classes",
            {n: by_name[n].value for n in ("ml-inference", "ml-training")},
            "ml-inference must rank above ml-training, or a training backlog starves serving",
        )


# ---- the component -------------------------------------------------------------------------------------------


class KubernetesLayer(pulumi.ComponentResource):
    """GPU scheduling, autoscaling, team isolation and storage defaults inside an EKS cluster."""

    def __init__(self, name: str, args: KubernetesLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:KubernetesLayer", name, None, opts)
        validate_kubernetes_layer(args)

        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(args.kubeconfig),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        kube = pulumi.ResourceOptions(parent=self, provider=self.provider)
        system = {"namespace": SYSTEM_NAMESPACE}

        # PriorityClasses and the StorageClass first: pods and claims below name them.
        self.priority_classes = {
            pc.name: k8s.scheduling.v1.PriorityClass(
                f"{name}-priority-{pc.name}",
                metadata={"name": pc.name},
                value=pc.value,
                preemption_policy=pc.preemption_policy,
                global_default=False,
                description=pc.description or None,
                opts=kube,
            )
            for pc in args.priority_classes
        }

        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={"name": "gp3", "annotations": {DEFAULT_STORAGE_CLASS_ANNOTATION: "true"}},
            provisioner="ebs.csi.aws.com",
            parameters=pulumi.Output.from_input(args.storage_kms_key_arn).apply(storage_class_parameters),
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=kube,
        )
        self.gp2_patch = None
        if args.demote_gp2_storage_class:
            # EKS creates `gp2` itself; a patch edits only the annotation. patchForce: EKS, not Pulumi, manages it.
            self.gp2_patch = k8s.storage.v1.StorageClassPatch(
                f"{name}-gp2-not-default",
                metadata={
                    "name": "gp2",
                    "annotations": {DEFAULT_STORAGE_CLASS_ANNOTATION: "false", "pulumi.com/patchForce": "true"},
                },
                opts=kube,
            )

        self.device_plugin = k8s.apps.v1.DaemonSet(
            f"{name}-nvidia-device-plugin",
            metadata={"name": "nvidia-device-plugin-daemonset", **system},
            spec=device_plugin_spec(),
            opts=kube,
        )
        self.dcgm_exporter = None
        if args.enable_dcgm_exporter:
            self.dcgm_exporter = k8s.apps.v1.DaemonSet(
                f"{name}-dcgm-exporter",
                metadata={"name": "dcgm-exporter", **system},
                spec=dcgm_exporter_spec(),
                opts=kube,
            )

        self._autoscaler(name, args, kube)

        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for team in args.teams:
            self._team(name, team, kube)

        self.namespace_names = {team: ns.metadata.name for team, ns in self.namespaces.items()}
        self.storage_class_name = self.storage_class.metadata.name
        self.register_outputs(
            {
                "namespace_names": self.namespace_names,
                "autoscaler_role_arn": self.autoscaler_role.arn,
                "storage_class_name": self.storage_class_name,
                "priority_class_names": sorted(self.priority_classes),
            }
        )

    def _autoscaler(self, name: str, args: KubernetesLayerArgs, kube: pulumi.ResourceOptions) -> None:
        def policy_for(values: list) -> str:
            # The OIDC provider lives in the cluster's account and partition: arn:<partition>:iam::<account>:...
            provider_arn, asg_names = values
            _, partition, _, _, account_id = provider_arn.split(":", 5)[:5]
            return autoscaler_policy(
                args.cluster_name, partition=partition, region=args.region, account_id=account_id, asg_names=asg_names
            )

        policy = pulumi.Output.all(args.oidc_provider_arn, args.node_group_asg_names).apply(policy_for)
        self.autoscaler_role = WorkloadRole(
            f"{name}-cluster-autoscaler",
            WorkloadRoleArgs(
                assume_role_policy=irsa_trust(
                    args.oidc_provider_arn, args.oidc_issuer, SYSTEM_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT
                ),
                permissions_boundary=args.permissions_boundary,
                policies={"autoscaling": policy},
                description=f"cluster-autoscaler of EKS cluster {args.cluster_name}",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        meta = {"name": AUTOSCALER_SERVICE_ACCOUNT, "namespace": SYSTEM_NAMESPACE}
        labels = {"app.kubernetes.io/name": "cluster-autoscaler"}
        self.autoscaler_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-cluster-autoscaler",
            metadata={
                **meta,
                "labels": labels,
                "annotations": {
                    "eks.amazonaws.com/role-arn": self.autoscaler_role.arn,
                    "eks.amazonaws.com/sts-regional-endpoints": "true",
                },
            },
            opts=kube,
        )
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-autoscaler",
            metadata={"name": AUTOSCALER_SERVICE_ACCOUNT, "labels": labels},
            rules=autoscaler_cluster_role_rules(),
            opts=kube,
        )
        role = k8s.rbac.v1.Role(
            f"{name}-cluster-autoscaler",
            metadata={**meta, "labels": labels},
            rules=autoscaler_role_rules(),
            opts=kube,
        )
        subject = [{"kind": "ServiceAccount", "name": AUTOSCALER_SERVICE_ACCOUNT, "namespace": SYSTEM_NAMESPACE}]
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-autoscaler",
            metadata={"name": AUTOSCALER_SERVICE_ACCOUNT, "labels": labels},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": cluster_role.metadata.name,
            },
            subjects=subject,
            opts=kube,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-cluster-autoscaler",
            metadata={**meta, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=subject,
            opts=kube,
        )
        command = autoscaler_command(
            args.cluster_name,
            scale_down_unneeded_time=args.scale_down_unneeded_time,
            scale_down_delay_after_add=args.scale_down_delay_after_add,
            max_node_provision_time=args.max_node_provision_time,
        )
        self.autoscaler = k8s.apps.v1.Deployment(
            f"{name}-cluster-autoscaler",
            metadata={**meta, "labels": labels},
            spec=autoscaler_deployment_spec(
                cluster_autoscaler_image(args.cluster_version), command, args.region, args.system_node_selector
            ),
            opts=pulumi.ResourceOptions.merge(
                kube, pulumi.ResourceOptions(depends_on=[self.autoscaler_service_account])
            ),
        )

    def _team(self, name: str, team: TeamSettings, kube: pulumi.ResourceOptions) -> None:
        prefix = f"{name}-team-{team.name}"
        namespace = k8s.core.v1.Namespace(
            prefix,
            metadata={
                "name": team.name,
                "labels": {
                    "ml-platform/team": team.name,
                    # ML images often run as root: enforce `baseline`, report what `restricted` would refuse.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
            opts=kube,
        )
        self.namespaces[team.name] = namespace
        in_ns = {"namespace": namespace.metadata.name}
        k8s.core.v1.ResourceQuota(
            f"{prefix}-quota",
            metadata={"name": "team-quota", **in_ns},
            spec={"hard": resource_quota_hard(team)},
            opts=kube,
        )
        k8s.core.v1.LimitRange(
            f"{prefix}-limits",
            metadata={"name": "team-defaults", **in_ns},
            spec=limit_range_spec(team),
            opts=kube,
        )
        for policy_name, spec in network_policy_specs().items():
            k8s.networking.v1.NetworkPolicy(
                f"{prefix}-{policy_name}",
                metadata={"name": policy_name, **in_ns},
                spec=spec,
                opts=kube,
            )
