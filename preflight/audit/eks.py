"""EKS: the cluster's endpoint access, secrets encryption, control-plane logs and version; access entries; managed
node groups' scaling, instance types, labels, taints and launch template version."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, as_set, key_id

NOT_FOUND = "ResourceNotFoundException"
PUBLIC_EVERYWHERE = ["0.0.0.0/0"]
"""What EKS answers for publicAccessCidrs when none were given."""


def _read_cluster(ctx: Context) -> Any:
    found = ctx.call("eks", "DescribeCluster", missing=(NOT_FOUND,), name=ctx.record.id)
    if found is ABSENT:
        return ABSENT
    cluster = found.get("cluster", {})
    vpc = cluster.get("resourcesVpcConfig", {})
    encryption = (cluster.get("encryptionConfig") or [{}])[0]
    log_types = [
        t
        for entry in cluster.get("logging", {}).get("clusterLogging", [])
        if entry.get("enabled")
        for t in entry["types"]
    ]
    return {
        "version": cluster.get("version"),
        "vpcConfig": {
            "endpointPublicAccess": vpc.get("endpointPublicAccess"),
            "endpointPrivateAccess": vpc.get("endpointPrivateAccess"),
            "publicAccessCidrs": vpc.get("publicAccessCidrs"),
        },
        "encryptionConfig": {
            "resources": encryption.get("resources"),
            "provider": {"keyArn": encryption.get("provider", {}).get("keyArn")},
        }
        if encryption
        else None,
        "enabledClusterLogTypes": log_types,
        "_tags": cluster.get("tags") or {},
    }


def _read_access_entry(ctx: Context) -> Any:
    found = ctx.call(
        "eks",
        "DescribeAccessEntry",
        missing=(NOT_FOUND,),
        clusterName=ctx.record.inputs.get("clusterName"),
        principalArn=ctx.record.inputs.get("principalArn"),
    )
    if found is ABSENT:
        return ABSENT
    entry = found.get("accessEntry", {})
    return {"type": entry.get("type"), "kubernetesGroups": entry.get("kubernetesGroups")}


def _read_node_group(ctx: Context) -> Any:
    cluster, _, name = str(ctx.record.id).partition(":")
    found = ctx.call("eks", "DescribeNodegroup", missing=(NOT_FOUND,), clusterName=cluster, nodegroupName=name)
    if found is ABSENT:
        return ABSENT
    group = found.get("nodegroup", {})
    scaling = group.get("scalingConfig", {})
    template = group.get("launchTemplate") or {}
    return {
        "scalingConfig": {"minSize": scaling.get("minSize"), "maxSize": scaling.get("maxSize")},
        "instanceTypes": group.get("instanceTypes"),
        "labels": group.get("labels"),
        "taints": [
            {"key": t.get("key"), "value": t.get("value"), "effect": t.get("effect")} for t in group.get("taints", [])
        ],
        "launchTemplate": {"version": template.get("version")} if template else None,
        "_tags": group.get("tags") or {},
        "_autoScalingGroups": [g["name"] for g in group.get("resources", {}).get("autoScalingGroups", [])],
    }


READERS = (
    Reader(
        "aws:eks/cluster:Cluster",
        "EKS cluster",
        _read_cluster,
        (
            Field("version", category="reliability"),
            Field("vpcConfig.endpointPublicAccess", default=True),
            Field("vpcConfig.endpointPrivateAccess", default=False),
            Field("vpcConfig.publicAccessCidrs", as_set, default=PUBLIC_EVERYWHERE),
            Field("encryptionConfig.resources", as_set, category="encryption"),
            Field("encryptionConfig.provider.keyArn", key_id, category="encryption"),
            Field("enabledClusterLogTypes", as_set, category="reliability"),
        ),
    ),
    Reader(
        "aws:eks/accessEntry:AccessEntry", "EKS access entry", _read_access_entry, (Field("type", default="STANDARD"),)
    ),
    Reader(
        "aws:eks/nodeGroup:NodeGroup",
        "EKS node group",
        _read_node_group,
        (
            Field("scalingConfig.minSize", category="cost"),
            Field("scalingConfig.maxSize", category="cost"),
            Field("instanceTypes", as_set, category="cost"),
            Field("labels"),
            Field("taints", as_set),
            Field("launchTemplate.version"),
        ),
    ),
)
