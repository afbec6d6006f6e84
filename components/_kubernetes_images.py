"""Pinned container images of the Kubernetes layer: one place to bump a version.

The cluster-autoscaler is released per Kubernetes minor version and only supports the matching one, so it is a
table keyed by the cluster's minor version; a cluster version missing here is refused (add the row when the
cluster's supported versions grow).

Images are referenced as `tag@sha256:<digest>` where a public record of the digest of the tag's multi-architecture
index was found and could be cross-checked (each entry names its source). The kubelet then pulls exactly that
content whatever later happens to the tag, and the tag stays readable for people. A tag without such a record stays
tag-only: a digest from an unchecked source would either fail to pull or, worse, pull something else. `docs/kubernetes-layer.md` says how to add one.
"""

from __future__ import annotations

import re

CLUSTER_AUTOSCALER_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"

CLUSTER_AUTOSCALER_TAGS: dict[str, str] = {
    "1.33": "v1.33.1",
    "1.34": "v1.34.2",
    "1.35": "v1.35.2",
}
"""Kubernetes minor version -> cluster-autoscaler release built for it. Covers every version in
`eks.testedVersions` in `components/facts/aws.json` (a test holds the two together), plus the one before for upgrades."""

CLUSTER_AUTOSCALER_DIGESTS: dict[str, str] = {
    # The Kubernetes image promoter's manifest for the autoscaling staging project (kubernetes/k8s.io,
    # registry.k8s.io/images/k8s-staging-autoscaling/images.yaml), entry `cluster-autoscaler`: the multi-arch index.
    "v1.33.1": "sha256:0d53371b73eae57dbed927a72b71d4fe756ce4dbfe528b4217a1078cb13445f0",
    # The index digest as pinned, independently, by two public deployments of v1.35.2 that resolved it
    # against the registry; the promoter manifest's entry for it was not available to check.
    "v1.35.2": "sha256:aac369dc283927a623deb1af54696efcc722ae79255aa07788422e495bab887d",
    # v1.34.2: no digest found in a source that could be checked, so the image is referenced by tag alone.
}
"""cluster-autoscaler tag -> digest of its multi-arch image index. A tag missing here is referenced by tag alone."""

NVIDIA_DEVICE_PLUGIN_IMAGE = (
    "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
    # NVIDIA's certified GPU Operator v25.3.0 bundle (NVIDIA/gpu-operator, bundle/v25.3.0/manifests/
    # gpu-operator-certified.clusterserviceversion.yaml, DEVICE_PLUGIN_IMAGE; amd64 and arm64), which ships
    # device plugin v0.17.1 per NVIDIA's GPU Operator component matrix.
    "@sha256:af31e2b7c7f89834c4e5219860def7ac2e49a207b3d4e8610d5a26772b7738e5"
)
"""Advertises `nvidia.com/gpu` on GPU nodes; supports every Kubernetes version in the table above."""

DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04"
"""GPU metrics (utilisation, memory, temperature, XID errors) in Prometheus format on port 9400. By tag alone:
the public records of this tag's digest disagree, so none is pinned (see docs/kubernetes-layer.md)."""

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
"""How an image digest is written: the algorithm and 64 lowercase hex digits."""


def minor_version(cluster_version: str) -> str:
    """`1.31` for `1.31`, `1.31.2` or `v1.31`."""
    parts = cluster_version.removeprefix("v").split(".")
    return ".".join(parts[:2])


def cluster_autoscaler_image(cluster_version: str) -> str:
    """The autoscaler image for a cluster version (`repository:tag@digest` where the digest is known); ValueError
    naming the supported versions otherwise."""
    minor = minor_version(cluster_version)
    tag = CLUSTER_AUTOSCALER_TAGS.get(minor)
    if tag is None:
        raise ValueError(
            f"no cluster-autoscaler release pinned for Kubernetes {cluster_version!r}; "
            f"pinned: {', '.join(CLUSTER_AUTOSCALER_TAGS)} (components/_kubernetes_images.py)"
        )
    digest = CLUSTER_AUTOSCALER_DIGESTS.get(tag)
    return f"{CLUSTER_AUTOSCALER_REPOSITORY}:{tag}@{digest}" if digest else f"{CLUSTER_AUTOSCALER_REPOSITORY}:{tag}"
