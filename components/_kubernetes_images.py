"""Pinned container images of the Kubernetes layer: one place to bump a version.

The cluster-autoscaler is released per Kubernetes minor version and only supports the matching one, so it is a
table keyed by the cluster's minor version; a cluster version missing here is refused (add the row when the
cluster's supported versions grow).
"""

from __future__ import annotations

CLUSTER_AUTOSCALER_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"

CLUSTER_AUTOSCALER_TAGS: dict[str, str] = {
    "1.33": "v1.33.1",
    "1.34": "v1.34.2",
    "1.35": "v1.35.2",
}
"""Kubernetes minor version -> cluster-autoscaler release built for it. Covers every version in
`components._cluster_rules.SUPPORTED_VERSIONS` (a test holds the two together), plus the one before for upgrades."""

NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
"""Advertises `nvidia.com/gpu` on GPU nodes; supports every Kubernetes version in the table above."""

DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04"
"""GPU metrics (utilisation, memory, temperature, XID errors) in Prometheus format on port 9400."""


def minor_version(cluster_version: str) -> str:
    """`1.31` for `1.31`, `1.31.2` or `v1.31`."""
    parts = cluster_version.removeprefix("v").split(".")
    return ".".join(parts[:2])


def cluster_autoscaler_image(cluster_version: str) -> str:
    """The autoscaler image for a cluster version; ValueError naming the supported versions otherwise."""
    minor = minor_version(cluster_version)
    tag = CLUSTER_AUTOSCALER_TAGS.get(minor)
    if tag is None:
        raise ValueError(
            f"no cluster-autoscaler release pinned for Kubernetes {cluster_version!r}; "
            f"pinned: {', '.join(CLUSTER_AUTOSCALER_TAGS)} (components/_kubernetes_images.py)"
        )
    return f"{CLUSTER_AUTOSCALER_REPOSITORY}:{tag}"
