"""The fact table: checked against botocore's service models where they carry the fact, shared with the policy pack,
and read by every consumer at the time it needs a fact (so one changed line reaches all of them)."""

from __future__ import annotations

import json

import botocore.session
import pytest

from components import cluster_rules, facts, sagemaker_rules
from components.facts import DATA, FACTS
from policies.costing import prices
from policies.rules import instances
from preflight.scanners.aws_values import log_retention_days
from preflight.testing import REPO

SESSION = botocore.session.get_session()
EC2_TYPES = set(SESSION.get_service_model("ec2").shape_for("InstanceType").enum)
SAGEMAKER_TYPES = set(SESSION.get_service_model("sagemaker").shape_for("ProductionVariantInstanceType").enum)
SAGEMAKER_FAMILIES = {facts.instance_family(t) for t in SAGEMAKER_TYPES}


# ---- against botocore ------------------------------------------------------------------------------------------


def test_log_retentions_are_the_ones_cloudwatch_logs_documents():
    # botocore documents the values in prose; the scanner's parser reads them (0 is the provider's "never expire").
    assert (0, *FACTS.log_retention_days) == log_retention_days()


def test_every_tabled_gpu_type_is_an_ec2_instance_type_of_a_gpu_family():
    assert sorted(t for t in FACTS.gpus_per_instance if t not in EC2_TYPES) == []
    assert sorted(t for t in FACTS.gpus_per_instance if facts.instance_family(t) not in FACTS.gpu_families) == []
    assert all(n >= 1 for n in FACTS.gpus_per_instance.values())


def test_every_tabled_vcpu_count_is_of_an_ec2_type_and_every_eks_gpu_type_has_one():
    # botocore's EC2 model names the types but carries no vCPU counts (DescribeInstanceTypes answers them at run
    # time), so the counts are checked against the price snapshot below; here: the keys are real types, and every
    # type a GPU node pool may run has a count (Karpenter's NodePool `limits.cpu` is derived from it).
    assert sorted(t for t in FACTS.vcpus_per_instance if t not in EC2_TYPES) == []
    pool_types = [t for t in FACTS.gpus_per_instance if facts.instance_family(t) in FACTS.eks_nvidia_families]
    assert sorted(t for t in pool_types if facts.vcpu_count(t) is None) == []
    assert all(n >= 1 for n in FACTS.vcpus_per_instance.values())


def test_vcpu_counts_agree_with_the_price_snapshot_where_it_lists_the_type():
    book = prices.load()
    compared = []
    for region in book.prices:
        for key in book.keys(region, "ec2:"):
            itype = key.split(":", 1)[1]
            price = book.get(region, key)
            if itype in FACTS.vcpus_per_instance and price is not None and price.vcpu:
                compared.append((itype, FACTS.vcpus_per_instance[itype], int(price.vcpu)))
    assert compared  # the snapshot prices GPU node types, so the comparison is never empty
    assert [c for c in compared if c[1] != c[2]] == []


def test_vcpu_counts_agree_with_the_size_convention_the_endpoints_use_for_every_sagemaker_type():
    # Endpoints derive vCPUs from the size name (sagemaker_rules.vcpu_count); both must agree where both apply.
    offered = [t for t in FACTS.vcpus_per_instance if f"ml.{t}" in SAGEMAKER_TYPES]
    assert offered
    assert [
        (t, n) for t in offered if (n := sagemaker_rules.vcpu_count(f"ml.{t}")) != FACTS.vcpus_per_instance[t]
    ] == []


def test_every_gpu_family_exists_in_ec2():
    ec2_families = {facts.instance_family(t) for t in EC2_TYPES}
    assert sorted(f for f in FACTS.gpu_families if f not in ec2_families) == []


def test_every_sagemaker_gpu_type_is_tabled_except_the_known_untabled_family():
    # ml.g7.* is a GPU family whose per-size GPU counts are not tabled yet: endpoints refuse it (no alarm scaling
    # without the count) and the pack assumes `UNTABLED_GPUS` for it. Anything else missing is a gap to fill.
    untabled = {t for t in SAGEMAKER_TYPES if facts.is_gpu(t) and facts.gpu_count(t) is None}
    assert {facts.instance_family(t) for t in untabled} == {"g7"}


def test_the_eks_gpu_families_are_gpu_families_and_efa_and_arm_families_are_among_them():
    assert set(FACTS.eks_nvidia_families) <= set(FACTS.gpu_families)
    assert set(FACTS.efa_families) <= set(FACTS.eks_nvidia_families)
    assert set(FACTS.arm_gpu_families) <= set(FACTS.eks_nvidia_families)


def test_local_nvme_families_follow_the_d_suffix_convention_where_sagemaker_offers_them():
    # Every SageMaker family named with the "d" (local disk) suffix, e.g. m5d, c6gd, r7gd, p4de, is listed; the
    # others listed (g5, p5, trn1, ...) carry NVMe without the suffix.
    suffixed = {f for f in SAGEMAKER_FAMILIES if f.rstrip("en").endswith("d")}
    assert sorted(suffixed - FACTS.local_nvme_families) == []
    assert sorted(FACTS.local_nvme_families - SAGEMAKER_FAMILIES) == []


def test_the_eks_version_table_is_complete():
    eks = FACTS.eks
    assert eks.default_version in eks.tested_versions
    assert set(eks.tested_versions) <= set(eks.standard_support_versions)
    assert set(eks.addon_versions) == set(eks.tested_versions)
    assert all(set(row) == set(eks.addons) for row in eks.addon_versions.values())


def test_the_eks_nvidia_ami_types_exist_in_the_eks_api():
    ami_types = set(SESSION.get_service_model("eks").shape_for("AMITypes").enum)
    assert sorted(set(cluster_rules.GPU_AMI_TYPES + cluster_rules.CPU_AMI_TYPES) - ami_types) == []


# ---- the policy pack's copy ----------------------------------------------------------------------------------


def test_the_policy_packs_copy_equals_the_table():
    # The pack runs from its own virtualenv without this repository, so it ships a copy. Fix a failure with
    #   cp components/facts/aws.json policies/rules/aws_facts.json
    assert (REPO / "policies" / "rules" / "aws_facts.json").read_text() == DATA.read_text()


def test_component_and_pack_agree_on_every_sagemaker_type():
    # They used to disagree on ml.g7.*: the pack required a KMS key the endpoint left out for local NVMe.
    for t in sorted(SAGEMAKER_TYPES):
        assert instances.has_local_storage(t) == sagemaker_rules.has_local_storage(t), t
        assert instances.is_gpu(t) == sagemaker_rules.is_gpu(t), t
        if facts.gpu_count(t) is not None:
            assert instances.gpus(t) == facts.gpu_count(t), t


# ---- one line, every consumer ------------------------------------------------------------------------------------


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch):
    """Apply a change to `aws.json` the way an edit would, for component, config and pack at once."""

    def apply(change) -> None:
        doc = json.loads(DATA.read_text())
        change(doc)
        monkeypatch.setattr(facts, "FACTS", facts.Facts.from_json(doc))
        monkeypatch.setattr(instances, "FACTS", doc)

    return apply


def test_a_changed_gpu_count_reaches_node_pools_config_endpoints_and_the_pack(patched):
    from components.node_pool import GpuPoolSettings, NodePoolArgs, plan_node_pool

    patched(lambda doc: doc["gpusPerInstance"].update({"g5.xlarge": 2}))
    settings = GpuPoolSettings(name="gpu", instance_types=["g5.xlarge"], max_size=1)
    pool = NodePoolArgs(
        settings=settings,
        cluster_name="c",
        subnet_ids=["subnet-0a"],
        node_kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/k",
        permissions_boundary="arn:aws:iam::123456789012:policy/b",
        cost_tags={},
    )
    assert plan_node_pool(pool).gpus_per_node == 2
    assert settings.gpus_per_node == 2
    assert sagemaker_rules.gpu_count("ml.g5.xlarge") == 2
    assert instances.gpus("ml.g5.xlarge") == 2


def test_a_changed_local_nvme_family_reaches_endpoints_and_the_pack(patched):
    patched(lambda doc: doc["localNvmeFamilies"].remove("g5"))
    assert not sagemaker_rules.has_local_storage("ml.g5.xlarge")
    assert not instances.has_local_storage("ml.g5.xlarge")


def test_a_changed_eks_version_reaches_the_cluster_config_and_the_component(patched):
    from components.cluster import ClusterSettings
    from infra.config.cluster import ClusterConfig

    def drop_oldest(doc):
        doc["eks"]["testedVersions"] = ["1.35"]
        del doc["eks"]["addonVersions"]["1.34"]

    patched(drop_oldest)
    with pytest.raises(ValueError, match="unsupported EKS version; supported: 1.35$"):
        cluster_rules.check_version("1.34")
    assert ClusterConfig().version == ClusterSettings().version == "1.35"


def test_a_changed_log_retention_list_reaches_every_check(patched):
    patched(lambda doc: doc["logRetentionDays"].remove(30))
    with pytest.raises(ValueError, match="CloudWatch Logs accepts only these retention periods"):
        facts.check_log_retention(30)
    from components.model_endpoint import EndpointSettings

    with pytest.raises(ValueError, match="CloudWatch Logs accepts only these"):
        EndpointSettings(log_retention_days=30)
