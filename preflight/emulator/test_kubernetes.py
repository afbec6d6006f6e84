"""The Kubernetes emulator: ids and `metadata` as the provider would answer them at preview."""

from __future__ import annotations

from preflight.emulator import kubernetes


def test_namespaced_objects_default_to_the_default_namespace_and_take_namespace_slash_name_ids():
    rid, outputs = kubernetes.resource("kubernetes:core/v1:ConfigMap", "cm", "urn:x", {"metadata": {"name": "cm"}})
    assert (rid, outputs["metadata"]) == ("default/cm", {"name": "cm", "namespace": "default"})


def test_cluster_scoped_objects_get_no_namespace():
    rid, outputs = kubernetes.resource(
        "kubernetes:storage.k8s.io/v1:StorageClass", "gp3", "urn:x", {"metadata": {"name": "gp3"}}
    )
    assert (rid, outputs["metadata"]) == ("gp3", {"name": "gp3"})


def test_a_patch_is_scoped_like_the_kind_it_patches():
    rid, outputs = kubernetes.resource(
        "kubernetes:storage.k8s.io/v1:StorageClassPatch", "gp2", "urn:x", {"metadata": {"name": "gp2"}}
    )
    assert (rid, outputs["metadata"]) == ("gp2", {"name": "gp2"})
    rid, _ = kubernetes.resource(
        "kubernetes:apps/v1:DeploymentPatch",
        "coredns",
        "urn:x",
        {"metadata": {"name": "coredns", "namespace": "kube-system"}},
    )
    assert rid == "kube-system/coredns"


def test_unnamed_objects_are_auto_named_from_the_logical_name():
    rid, outputs = kubernetes.resource("kubernetes:core/v1:Namespace", "team", "urn:pulumi:dev::p::t::team", {})
    assert rid == outputs["metadata"]["name"]
    assert rid.startswith("team-") and len(rid) == len("team-") + 8
