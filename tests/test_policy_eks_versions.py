"""The pack's supported EKS versions and the cluster component's must not drift apart.

The pack cannot import `components` (it runs from its own virtualenv with only `policies/requirements.txt`): its
default is `eks.standardSupportVersions` from its copy of the fact table, the cluster's `eks.testedVersions`; each
stack's policy config may narrow the pack's list. Held together here."""

import json

import pytest

from components.facts import FACTS
from policies.rules.reliability import EKS_VERSION_SCHEMA
from preflight.project import load_project
from preflight.testing import REPO

STACKS = load_project(REPO).stacks()
PACK_DEFAULT = EKS_VERSION_SCHEMA["supportedVersions"]["default"]


def pack_versions(stack: str) -> list[str]:
    """The versions `eks-supported-version` accepts under the stack's policy config (its setting, else the default)."""
    config = json.loads((REPO / "policies" / "config" / f"{stack}.json").read_text())
    rule = config.get("eks-supported-version")
    return (rule.get("supportedVersions") if isinstance(rule, dict) else None) or PACK_DEFAULT


def test_every_version_the_cluster_supports_is_accepted_by_the_packs_default():
    assert [v for v in FACTS.eks.tested_versions if v not in PACK_DEFAULT] == []
    assert FACTS.eks.default_version in PACK_DEFAULT


@pytest.mark.parametrize("stack", STACKS)
def test_every_version_the_cluster_supports_is_accepted_under_the_stacks_policy_config(stack):
    assert [v for v in FACTS.eks.tested_versions if v not in pack_versions(stack)] == []


@pytest.mark.slow
@pytest.mark.parametrize("stack", STACKS)
def test_each_stacks_configured_eks_version_is_supported_by_the_cluster_and_the_pack(stack, shipped_stack):
    result = shipped_stack(stack)
    versions = {r.inputs["version"] for r in result.by_type("aws:eks/cluster:Cluster")}
    versions |= {r.inputs["version"] for r in result.by_type("aws:eks/nodeGroup:NodeGroup") if r.inputs.get("version")}
    assert versions, f"{stack} renders no EKS cluster"
    assert sorted(v for v in versions if v not in FACTS.eks.tested_versions) == []
    assert sorted(v for v in versions if v not in pack_versions(stack)) == []
