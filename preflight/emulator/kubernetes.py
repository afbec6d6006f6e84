"""What the Kubernetes provider would answer at preview: auto-named `metadata.name`, ids, YAML decoding."""

from __future__ import annotations

from typing import Any

import yaml

from preflight.emulator.aws import UnsupportedInvoke, digest
from preflight.model import UNKNOWN

_CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "StorageClass",
    "CustomResourceDefinition",
    "PersistentVolume",
    "Node",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "RuntimeClass",
    "CSIDriver",
    "IngressClass",
    "APIService",
}


def resource(token: str, logical: str, urn: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    outputs = dict(inputs)
    kind = token.rsplit(":", 1)[-1]
    if token.startswith(("kubernetes:helm.sh/", "kubernetes:yaml")) or kind.endswith("List"):
        return f"{logical}-{digest(urn, 8)}", outputs
    # A patch (`StorageClassPatch`) edits an existing object of its kind, so it is scoped like that kind.
    kind = kind.removesuffix("Patch")
    declared = inputs.get("metadata")
    if declared is UNKNOWN:
        return declared, outputs  # the id is made of the metadata, so it is unknown too
    metadata = dict(declared or {})
    if metadata.get("name") is not UNKNOWN and not metadata.get("name"):
        # pulumi-kubernetes auto-names as `<logical>-<8 random characters>`.
        metadata["name"] = f"{logical}-{digest(urn, 8)}"
    if kind not in _CLUSTER_SCOPED:
        metadata.setdefault("namespace", "default")
    outputs["metadata"] = metadata
    scope = [metadata["name"]] if kind in _CLUSTER_SCOPED else [metadata["namespace"], metadata["name"]]
    return (UNKNOWN if UNKNOWN in scope else "/".join(scope)), outputs


def read(token: str, rid: str) -> dict[str, Any]:
    """What is known of an object read by id (`Service.get("dns", "kube-system/kube-dns")`): its kind and
    metadata from the id (`<namespace>/<name>`, or `<name>` for a cluster-scoped kind); the rest is unknown."""
    group_version, kind = token.split(":", 1)[1].rsplit(":", 1)
    group, version = group_version.split("/")
    namespace, _, name = rid.rpartition("/")
    metadata = {"name": name}
    if kind.removesuffix("Patch") not in _CLUSTER_SCOPED:
        metadata["namespace"] = namespace or "default"
    api_version = version if group == "core" else f"{group}/{version}"
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


HELM_TEMPLATE = "kubernetes:helm:template"
"""The invoke a (v3) `helm.v3.Chart` makes to render its templates; offline there is no chart to render."""


def helm_chart_name(args: dict[str, Any]) -> str:
    """The release name (else the chart) of a `kubernetes:helm:template` request, for the report."""
    opts = args.get("jsonOpts") or {}
    if isinstance(opts, str):
        import json

        opts = json.loads(opts or "{}")
    return str(opts.get("release_name") or opts.get("chart") or "chart")


def invoke(token: str, args: dict[str, Any]) -> dict[str, Any]:
    if token == "kubernetes:yaml:decode":
        return {"result": [doc for doc in yaml.safe_load_all(args.get("text") or "") if doc]}
    raise UnsupportedInvoke(token)
