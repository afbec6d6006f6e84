"""The Kubernetes layer's manifests and its autoscaler's IAM document, as pure functions (no Pulumi).

`components.kubernetes_layer` turns them into resources; tests call them directly. Field names are the Kubernetes
API's (camelCase, as in YAML) so each function reads like the upstream manifest it hardens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Protocol

from components._kubernetes_images import DCGM_EXPORTER_IMAGE, NVIDIA_DEVICE_PLUGIN_IMAGE
from components.gpu_labels import GPU_NODE_LABELS, GPU_RESOURCE, GPU_TAINT


class Team(Protocol):
    """What the namespace manifests read from a team (`components.kubernetes_layer.TeamSettings`)."""

    @property
    def name(self) -> str: ...
    @property
    def gpu_quota(self) -> int: ...
    @property
    def cpu_quota(self) -> str: ...
    @property
    def memory_quota(self) -> str: ...


SYSTEM_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
DEFAULT_STORAGE_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"

TEAM_CONTAINER_DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "defaultRequest": {"cpu": "500m", "memory": "1Gi"},
    "default": {"cpu": "2", "memory": "4Gi"},
}
"""LimitRange defaults for containers that state no resources. A quota on CPU/memory makes the API server reject
pods without requests and limits, so every team namespace fills them in (capped at the team's quota, so one such
container always fits)."""

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX = {
    "": Decimal(1), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip


def parse_quantity(value: str) -> Decimal:
    """A Kubernetes resource quantity ("500m", "4Gi", "2") as a number; ValueError if it is not one."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError("not a Kubernetes quantity (e.g. 8, 500m, 64Gi)")
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        raise ValueError("not a Kubernetes quantity (e.g. 8, 500m, 64Gi)") from None


def _container_security_context() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }


PULL_POLICY = "IfNotPresent"
"""Every image here is a pinned release (by digest where one is recorded): a node that has it never needs the
registry again. `Always` would add a registry round trip to every container start and make a node that restarts
its pods during a registry outage lose them."""

AUTOSCALER_METRICS_PORT = 8085
DCGM_EXPORTER_PORT = 9400


def _http_probe(path: str, port: str, **timing: int) -> dict:
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, **timing}


def autoscaler_probes() -> dict:
    """Upstream's chart probes `/health-check` on the metrics port. It answers 200 while the autoscaler's main
    loop runs, and 500 once the loop has been inactive longer than `--max-inactivity` (10 minutes) or failing
    longer than `--max-failing-time` (15 minutes): a wedged autoscaler is restarted instead of leaving GPU pods
    pending. Before it holds the leader lease it answers 200, so readiness means "serving", not "leading"."""
    return {
        "livenessProbe": _http_probe(
            "/health-check", "metrics", periodSeconds=10, timeoutSeconds=5, failureThreshold=3
        ),
        "readinessProbe": _http_probe("/health-check", "metrics", periodSeconds=10, timeoutSeconds=5),
    }


def dcgm_exporter_probes() -> dict:
    """As NVIDIA's dcgm-exporter chart: `/health` on the metrics port, after 45 s (DCGM's host engine starts
    inside the container and takes that long to answer)."""
    return {
        "livenessProbe": _http_probe("/health", "metrics", initialDelaySeconds=45, periodSeconds=5),
        "readinessProbe": _http_probe("/health", "metrics", initialDelaySeconds=45),
    }


def _pod_hardening() -> dict:
    """For node agents that never call the Kubernetes API. They run as root: the kubelet's device-plugin and
    pod-resources sockets are root-owned."""
    return {"automountServiceAccountToken": False, "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}


def _gpu_node_placement() -> dict:
    """GPU nodes only: select the GPU label, tolerate exactly the pools' taint."""
    return {
        "nodeSelector": {GPU_PRESENT_LABEL: GPU_NODE_LABELS[GPU_PRESENT_LABEL]},
        "tolerations": [GPU_TAINT.toleration()],
    }


def device_plugin_spec() -> dict:
    """The NVIDIA device plugin DaemonSet spec (upstream's static manifest, hardened and pinned)."""
    labels = {"name": "nvidia-device-plugin-ds"}
    return {
        "selector": {"matchLabels": labels},
        "updateStrategy": {"type": "RollingUpdate"},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                **_gpu_node_placement(),
                **_pod_hardening(),
                # The plugin must survive node pressure: without it the node's GPUs disappear from the scheduler.
                "priorityClassName": "system-node-critical",
                "containers": [
                    {
                        "name": "nvidia-device-plugin-ctr",
                        "image": NVIDIA_DEVICE_PLUGIN_IMAGE,
                        "imagePullPolicy": PULL_POLICY,
                        # No probes: the plugin serves gRPC to the kubelet on a Unix socket and has no health
                        # endpoint (NVIDIA ships none); the kubelet notices a dead plugin and the pod restarts.
                        "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                        "securityContext": _container_security_context(),
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"cpu": "200m", "memory": "256Mi"},
                        },
                        "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}],
                    }
                ],
                "volumes": [
                    {
                        "name": "device-plugin",
                        "hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": "Directory"},
                    }
                ],
            },
        },
    }


def dcgm_exporter_spec() -> dict:
    """The DCGM exporter DaemonSet spec: GPU metrics per pod, on GPU nodes only."""
    labels = {"app.kubernetes.io/name": "dcgm-exporter"}
    return {
        "selector": {"matchLabels": labels},
        "updateStrategy": {"type": "RollingUpdate"},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                **_gpu_node_placement(),
                **_pod_hardening(),
                # Without SYS_ADMIN the exporter skips the profiling (DCP) metrics and serves the rest.
                "containers": [
                    {
                        "name": "dcgm-exporter",
                        "image": DCGM_EXPORTER_IMAGE,
                        "imagePullPolicy": PULL_POLICY,
                        "env": [
                            {"name": "DCGM_EXPORTER_LISTEN", "value": f":{DCGM_EXPORTER_PORT}"},
                            {"name": "DCGM_EXPORTER_KUBERNETES", "value": "true"},
                        ],
                        "ports": [{"name": "metrics", "containerPort": DCGM_EXPORTER_PORT}],
                        **dcgm_exporter_probes(),
                        "securityContext": _container_security_context(),
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"cpu": "500m", "memory": "512Mi"},
                        },
                        "volumeMounts": [
                            {"name": "pod-resources", "mountPath": "/var/lib/kubelet/pod-resources", "readOnly": True},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }
                ],
                "volumes": [
                    {
                        "name": "pod-resources",
                        "hostPath": {"path": "/var/lib/kubelet/pod-resources", "type": "Directory"},
                    },
                    {"name": "tmp", "emptyDir": {}},
                ],
            },
        },
    }


def autoscaler_command(
    cluster_name: str,
    *,
    scale_down_unneeded_time: str = "5m",
    scale_down_delay_after_add: str = "10m",
    max_node_provision_time: str = "15m",
) -> list[str]:
    return [
        "./cluster-autoscaler",
        "--v=2",
        "--cloud-provider=aws",
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster_name}",
        "--balance-similar-node-groups",
        # Managed node groups label nodes with their group and launch template; ignoring those lets the autoscaler
        # balance otherwise identical groups across AZs.
        "--balancing-ignore-label=eks.amazonaws.com/nodegroup",
        "--balancing-ignore-label=eks.amazonaws.com/nodegroup-image",
        "--balancing-ignore-label=eks.amazonaws.com/sourceLaunchTemplateId",
        "--balancing-ignore-label=eks.amazonaws.com/sourceLaunchTemplateVersion",
        "--expander=least-waste",
        # DaemonSet pods (device plugin, DCGM exporter, CNI) must not keep an idle GPU node alive.
        "--skip-nodes-with-system-pods=false",
        "--skip-nodes-with-local-storage=false",
        f"--scale-down-unneeded-time={scale_down_unneeded_time}",
        f"--scale-down-delay-after-add={scale_down_delay_after_add}",
        f"--max-node-provision-time={max_node_provision_time}",
    ]


def autoscaler_deployment_spec(
    image: str, command: Sequence[str], region: str, node_selector: Mapping[str, str]
) -> dict:
    labels = {"app": "cluster-autoscaler"}
    return {
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {
                "labels": labels,
                # The autoscaler must not evict itself while draining the node it runs on.
                "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
            },
            "spec": {
                "serviceAccountName": AUTOSCALER_SERVICE_ACCOUNT,
                "priorityClassName": "system-cluster-critical",
                "nodeSelector": dict(node_selector),
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 65534,
                    "runAsGroup": 65534,
                    "fsGroup": 65534,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "cluster-autoscaler",
                        "image": image,
                        "imagePullPolicy": PULL_POLICY,
                        "command": list(command),
                        "env": [{"name": "AWS_REGION", "value": region}],
                        "ports": [{"name": "metrics", "containerPort": AUTOSCALER_METRICS_PORT}],
                        **autoscaler_probes(),
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "600Mi"},
                            "limits": {"cpu": "100m", "memory": "600Mi"},
                        },
                        "securityContext": _container_security_context(),
                    }
                ],
            },
        },
    }


def autoscaler_cluster_role_rules() -> list[dict]:
    """Upstream's ClusterRole (cluster-autoscaler-autodiscover.yaml)."""
    return [
        {"apiGroups": [""], "resources": ["events", "endpoints"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
        {
            "apiGroups": [""],
            "resources": ["endpoints"],
            "resourceNames": ["cluster-autoscaler"],
            "verbs": ["get", "update"],
        },
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["watch", "list", "get", "update"]},
        {
            "apiGroups": [""],
            "resources": [
                "namespaces",
                "pods",
                "services",
                "replicationcontrollers",
                "persistentvolumeclaims",
                "persistentvolumes",
            ],
            "verbs": ["watch", "list", "get"],
        },
        {"apiGroups": ["extensions"], "resources": ["replicasets", "daemonsets"], "verbs": ["watch", "list", "get"]},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["watch", "list"]},
        {
            "apiGroups": ["apps"],
            "resources": ["statefulsets", "replicasets", "daemonsets"],
            "verbs": ["watch", "list", "get"],
        },
        {
            "apiGroups": ["storage.k8s.io"],
            "resources": ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"],
            "verbs": ["watch", "list", "get"],
        },
        {"apiGroups": ["batch", "extensions"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resourceNames": ["cluster-autoscaler"],
            "resources": ["leases"],
            "verbs": ["get", "update"],
        },
    ]


def autoscaler_role_rules() -> list[dict]:
    """Upstream's Role in kube-system: its status and priority-expander ConfigMaps."""
    return [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "list", "watch"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
            "verbs": ["delete", "get", "update", "watch"],
        },
    ]


def autoscaler_policy(
    cluster_name: str, *, partition: str, region: str, account_id: str, asg_names: Sequence[str] | None = None
) -> str:
    """What the autoscaler may do in AWS: read what it needs to plan, change only this cluster's node groups.

    Scale actions need the cluster's ASG tags (EKS puts both on a managed node group's ASG); with `asg_names`
    they are also limited to those groups by ARN (whose id part is a UUID the name does not tell)."""
    asg_arns = sorted(
        f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/{n}"
        for n in asg_names or ()
    )
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    "Resource": "*",
                },
                {
                    # Lets it read a zero-node managed group's labels and taints from EKS.
                    "Sid": "DescribeThisClustersNodeGroups",
                    "Effect": "Allow",
                    "Action": "eks:DescribeNodegroup",
                    "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
                },
                {
                    "Sid": "ScaleThisClustersNodeGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": asg_arns or "*",
                    "Condition": {
                        "StringEquals": {
                            f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                            "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                        }
                    },
                },
            ],
        },
        indent=2,
        sort_keys=True,
    )


def resource_quota_hard(team: Team) -> dict[str, str]:
    """The ResourceQuota's `hard` map. Extended resources (GPUs) are quota'd on requests only."""
    return {
        f"requests.{GPU_RESOURCE}": str(team.gpu_quota),
        "requests.cpu": team.cpu_quota,
        "limits.cpu": team.cpu_quota,
        "requests.memory": team.memory_quota,
        "limits.memory": team.memory_quota,
    }


def limit_range_spec(team: Team) -> dict:
    """Container defaults for the team's namespace, each capped at the team's quota (a default larger than the
    quota would make every pod without explicit resources fail admission)."""
    quota = {"cpu": team.cpu_quota, "memory": team.memory_quota}

    def capped(defaults: Mapping[str, str], ceiling: Mapping[str, str]) -> dict[str, str]:
        return {r: min(v, ceiling[r], key=parse_quantity) for r, v in defaults.items()}

    limit = capped(TEAM_CONTAINER_DEFAULTS["default"], quota)
    return {
        "limits": [
            {
                "type": "Container",
                "default": limit,
                "defaultRequest": capped(TEAM_CONTAINER_DEFAULTS["defaultRequest"], limit),
            }
        ]
    }


def network_policy_specs() -> dict[str, dict]:
    """Policy name -> spec: deny all traffic in and out, then allow DNS lookups to CoreDNS."""
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NAMESPACE}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
    }


def storage_class_parameters(kms_key_arn: str) -> dict[str, str]:
    return {"type": "gp3", "encrypted": "true", "kmsKeyId": kms_key_arn, "csi.storage.k8s.io/fstype": "ext4"}
