"""Kubernetes resources as manifests, and checked against the API schema of their cluster's version."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from preflight.model import UNKNOWN, ResourceRecord, StackResult
from preflight.scanners import k8s as scanner
from preflight.scanners.config import project_config
from preflight.testing import REPO, render


def _on_cluster(version: str, build):
    def program():
        cluster = aws.eks.Cluster(
            "c", role_arn="arn:aws:iam::123456789012:role/c", version=version, vpc_config={"subnet_ids": ["subnet-1"]}
        )
        provider = k8s.Provider("k8s", kubeconfig=cluster.endpoint.apply(lambda e: f"# {e}\n"))
        build(pulumi.ResourceOptions(provider=provider))

    return render(program)


def _deployment(container, opts, name="web"):
    return k8s.apps.v1.Deployment(
        name,
        metadata={"namespace": "serving"},
        spec={
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
        },
        opts=opts,
    )


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("kubernetes:core/v1:Namespace", ("core", "v1", "Namespace")),
        ("kubernetes:apps/v1:Deployment", ("apps", "apps/v1", "Deployment")),
        (
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
            ("rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "ClusterRole"),
        ),
        ("kubernetes:helm.sh/v3:Release", None),
        ("kubernetes:yaml/v2:ConfigGroup", None),
        ("kubernetes:core/v1:ConfigMapPatch", None),
        ("kubernetes:core/v1:ConfigMapList", None),
    ],
)
def test_only_plain_kubernetes_objects_are_manifests(token, expected):
    assert scanner.api_version_kind(token) == expected


def test_manifest_carries_api_version_kind_and_the_name_the_provider_gives():
    result = _on_cluster("1.31", lambda opts: _deployment({"name": "app", "image": "app:1"}, opts))
    [manifest] = scanner.manifests(result).values()
    assert manifest["apiVersion"] == "apps/v1" and manifest["kind"] == "Deployment"
    assert manifest["metadata"]["namespace"] == "serving"
    assert manifest["metadata"]["name"].startswith("web-")


def test_unknown_field_is_reported_against_the_clusters_version():
    result = _on_cluster(
        "1.31", lambda opts: _deployment({"name": "app", "image": "app:1", "imagePullPolicey": "Always"}, opts)
    )
    [finding] = scanner.schema_violations(result, project_config(REPO))
    assert (finding.source, finding.policy, finding.enforcement) == (
        "kubernetes-schema",
        "kubernetes-schema",
        "mandatory",
    )
    assert finding.message.endswith(
        "spec.template.spec.containers.0: Additional properties are not allowed ('imagePullPolicey' was unexpected) "
        "(Kubernetes 1.31 API schema)"
    )
    assert finding.message.startswith("Deployment serving/web-")


def test_wrong_type_is_reported():
    result = _on_cluster(
        "1.31", lambda opts: _deployment({"name": "app", "image": "app:1", "ports": [{"containerPort": "http"}]}, opts)
    )
    [finding] = scanner.schema_violations(result, project_config(REPO))
    assert "spec.template.spec.containers.0.ports.0.containerPort: 'http' is not of type 'integer'" in finding.message


def test_a_valid_manifest_passes():
    result = _on_cluster("1.31", lambda opts: _deployment({"name": "app", "image": "app:1"}, opts))
    assert scanner.schema_violations(result, project_config(REPO)) == []


def test_values_known_only_after_apply_are_not_judged():
    record = ResourceRecord(
        urn="urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web",
        type="kubernetes:apps/v1:Deployment",
        name="web",
        custom=True,
        inputs={
            "metadata": {"name": "web"},
            "spec": {
                "replicas": UNKNOWN,
                "selector": {"matchLabels": {"a": "b"}},
                "template": {"spec": {"containers": [{"name": "c", "image": UNKNOWN}]}},
            },
        },
    )
    assert scanner.schema_violations(StackResult("p", "dev", resources=[record]), project_config(REPO)) == []


def test_an_api_version_the_cluster_no_longer_serves_is_reported_but_custom_resources_are_not():
    def record(token, name):
        return ResourceRecord(
            urn=f"urn:pulumi:dev::p::{token}::{name}",
            type=token,
            name=name,
            custom=True,
            inputs={"metadata": {"name": name}},
        )

    psp = record("kubernetes:policy/v1beta1:PodSecurityPolicy", "restricted")
    pool = record("kubernetes:karpenter.sh/v1:NodePool", "gpu")
    cluster = ResourceRecord(
        urn="urn:pulumi:dev::p::aws:eks/cluster:Cluster::c",
        type="aws:eks/cluster:Cluster",
        name="c",
        custom=True,
        inputs={"version": "1.30"},
    )
    findings = scanner.schema_violations(StackResult("p", "dev", resources=[cluster, psp, pool]), project_config(REPO))
    assert [(f.name, f.message) for f in findings] == [
        (
            "restricted",
            "PodSecurityPolicy restricted: Kubernetes 1.30 has no PodSecurityPolicy in policy/v1beta1 (Kubernetes 1.30 API schema)",
        )
    ]


def test_schema_version_falls_back_to_the_nearest_shipped_one_and_says_so():
    newest = scanner.schema_version(None)[0]
    assert scanner.schema_version("1.31") == ("1.31.0", None)
    version, note = scanner.schema_version("9.99")
    assert version == newest and note.startswith("no schema for Kubernetes 9.99 yet")
    assert scanner.schema_version(None)[1].startswith("cluster version unknown")
