"""`ml-platform:cluster`: what each environment gets by default, and every error with its exact line."""

from __future__ import annotations

import json

import pytest

from components.cluster import ClusterSettings
from components.facts import FACTS
from components.kubernetes_layer import TeamSettings
from components.node_pool import GpuPoolSettings, SystemPoolSettings
from infra.config import ConfigError, load

TAGS = '{"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}'
POOL = {"name": "gpu", "instanceTypes": ["g5.xlarge"]}


def config(environment: str = "dev", cluster: dict | None = None, **sections):
    values = {"aws:region": "us-west-2", "ml-platform:environment": environment, "ml-platform:tags": TAGS}
    if cluster is not None:
        values["ml-platform:cluster"] = json.dumps(cluster)
    for key, value in sections.items():
        values[f"ml-platform:{key}"] = json.dumps(value)
    return load(values, stack=environment)


def problems(cluster: dict, environment: str = "dev", **sections) -> list[str]:
    with pytest.raises(ConfigError) as err:
        config(environment, cluster, **sections)
    return err.value.problems


def one_problem(cluster: dict, environment: str = "dev", **sections) -> str:
    found = problems(cluster, environment, **sections)
    assert len(found) == 1, found
    return found[0]


# --- defaults per environment -------------------------------------------------------------------------------------


def test_every_environment_gets_a_private_cluster_at_the_default_version_with_pinned_addons():
    for environment in ("dev", "staging", "prod"):
        cluster = config(environment).cluster
        assert (cluster.version, cluster.endpoint_public_access, cluster.public_access_cidrs) == ("1.35", False, ())
        assert cluster.resolved_addon_versions == FACTS.eks.addon_versions["1.35"]
        assert cluster.admin_role_arns == ()


def test_dev_has_one_small_system_node_and_one_spot_gpu_pool_that_scales_to_zero():
    cluster = config("dev").cluster
    assert (cluster.system_pool.min_size, cluster.system_pool.desired_size) == (1, 1)
    (pool,) = cluster.gpu_pools
    assert (pool.name, pool.min_size, pool.capacity) == ("gpu", 0, "spot")
    assert {t.split(".")[0] for t in pool.instance_types} <= {"g5", "g6"}
    assert cluster.log_retention_days == 30


def test_staging_has_an_on_demand_inference_pool_and_a_spot_training_pool_both_at_zero():
    cluster = config("staging").cluster
    pools = {p.name: p for p in cluster.gpu_pools}
    assert (pools["inference"].capacity, pools["inference"].purpose, pools["inference"].min_size) == (
        "on_demand",
        "inference",
        0,
    )
    assert (pools["training"].capacity, pools["training"].purpose, pools["training"].min_size) == (
        "spot",
        "training",
        0,
    )
    assert cluster.system_pool.min_size == 2


def test_prod_has_two_or_more_system_nodes_an_on_demand_inference_pool_and_an_efa_training_pool():
    cluster = config("prod").cluster
    assert cluster.system_pool.min_size >= 2
    pools = {p.name: p for p in cluster.gpu_pools}
    # Karpenter has no minimum size: both GPU pools idle at zero.
    assert (pools["inference"].capacity, pools["inference"].min_size) == ("on_demand", 0)
    assert (pools["training"].instance_types, pools["training"].efa, pools["training"].min_size) == (
        ("p4d.24xlarge",),
        True,
        0,
    )
    assert cluster.log_retention_days == 365 and cluster.require_on_demand_inference


def test_stack_file_values_override_the_profile_and_lists_replace():
    cluster = config("dev", {"version": "1.34", "gpuPools": [{**POOL, "name": "small"}]}).cluster
    assert cluster.version == "1.34"
    assert [p.name for p in cluster.gpu_pools] == ["small"]
    assert cluster.resolved_addon_versions["kube-proxy"].startswith("v1.34.")


def test_gpu_pool_defaults_are_on_demand_training_al2023_nvidia_100_gib_min_zero():
    (pool,) = config("dev", {"gpuPools": [POOL]}).cluster.gpu_pools
    assert (pool.capacity, pool.purpose, pool.ami_type, pool.disk_gib, pool.min_size, pool.efa) == (
        "on_demand",
        "training",
        "AL2023_x86_64_NVIDIA",
        100,
        0,
        False,
    )


def test_addon_override_replaces_one_pinned_version():
    cluster = config("dev", {"addonVersions": {"coredns": "v1.13.2-eksbuild.1"}}).cluster
    assert cluster.resolved_addon_versions == {**FACTS.eks.addon_versions["1.35"], "coredns": "v1.13.2-eksbuild.1"}


def test_the_stack_files_section_is_the_components_settings_models():
    cluster = config("dev", {"adminRoleArns": ["arn:aws:iam::123456789012:role/sso/Admins"], "teams": [{"name": "a"}]})
    cluster = cluster.cluster
    assert isinstance(cluster, ClusterSettings)
    assert isinstance(cluster.system_pool, SystemPoolSettings) and cluster.system_pool.name == "system"
    assert all(isinstance(p, GpuPoolSettings) for p in cluster.gpu_pools)
    assert all(isinstance(t, TeamSettings) for t in cluster.teams)
    assert cluster.admin_roles == {"Admins": "arn:aws:iam::123456789012:role/sso/Admins"}
    # Dev's GPU pool is a managed node group; staging's are Karpenter NodePools, so its cluster builds the system pool only.
    assert [p.name for p in cluster.node_groups] == ["system", "gpu"]
    assert [p.name for p in config("staging").cluster.node_groups] == ["system"]


# Run in a fresh interpreter, in a copy of the program whose `components/node_pool.py` has one line changed: the stack
# file is loaded, the node group planned, Karpenter's node class built and the settings table rendered.
_CHANGED_DEFAULT = r"""
import json

from components.karpenter import KarpenterSettings, ec2_nodeclass_spec
from components.node_pool import NodePoolArgs, plan_node_pool
from infra.config import load
from infra.config.settings_doc import render

tags = json.dumps({"CostCenter": "ml", "Owner": "o", "Project": "p"})
cfg = load({"aws:region": "us-west-2", "ml-platform:environment": "dev", "ml-platform:tags": tags}, stack="dev")
(pool,) = cfg.cluster.gpu_pools
args = NodePoolArgs(settings=pool, cluster_name="c", subnet_ids=[], node_kms_key_arn="k", permissions_boundary="b", cost_tags={})
node_class = ec2_nodeclass_spec(
    pool, KarpenterSettings(), cluster_name="c", node_role_name="r", node_kms_key_arn="k", cost_tags={}
)
row = next(r for r in render().splitlines() if r.startswith("| `ml-platform:cluster.gpuPools[].diskGib`"))
print(json.dumps({
    "stack_file": pool.disk_gib,
    "node_group": plan_node_pool(args).block_devices,
    "karpenter": node_class["blockDeviceMappings"][0]["ebs"]["volumeSize"],
    "docs": row.split(" | ")[2],
}))
"""


def test_a_pool_default_changed_on_its_one_line_reaches_the_stack_file_the_components_and_the_docs(
    edited_program, probe
):
    root = edited_program({"components/node_pool.py": [("    disk_gib: int = 100\n", "    disk_gib: int = 300\n")]})
    assert probe(root, _CHANGED_DEFAULT) == {
        "stack_file": 300,
        "node_group": [["/dev/xvda", 300]],
        "karpenter": "300Gi",
        "docs": "`300`",
    }
    # Unchanged, the same path gives 100: what moved it is the one line.
    (pool,) = config("dev").cluster.gpu_pools
    assert pool.disk_gib == 100


# --- every error, with its exact line -----------------------------------------------------------------------------

F = "Pulumi.dev.yaml: ml-platform:cluster"


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ({"version": "1.29"}, f"{F}.version = '1.29': unsupported EKS version; supported: 1.34, 1.35"),
        (
            {"endpointPublicAccess": True},
            f"{F}.publicAccessCidrs = []: required with endpointPublicAccess: list the public ranges allowed to reach the API",
        ),
        (
            {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
            f"{F}.publicAccessCidrs[0] = '0.0.0.0/0': opens the Kubernetes API to the whole internet; list your VPN or office ranges instead",
        ),
        (
            {"endpointPublicAccess": True, "publicAccessCidrs": ["office"]},
            f"{F}.publicAccessCidrs[0] = 'office': not a CIDR; expected e.g. '203.0.113.0/24' (host bits zero)",
        ),
        (
            {"endpointPublicAccess": True, "publicAccessCidrs": ["192.168.0.0/16"]},
            f"{F}.publicAccessCidrs[0] = '192.168.0.0/16': not a public range: the private endpoint already serves the VPC; list public ranges only",
        ),
        (
            {"publicAccessCidrs": ["203.0.113.0/24"]},
            f'{F}.publicAccessCidrs = ["203.0.113.0/24"]: has no effect while endpointPublicAccess is false; remove it, or turn the public endpoint on',
        ),
        (
            {"adminRoleArns": ["arn:aws:iam::123456789012:user/alice"]},
            f"{F}.adminRoleArns[0] = 'arn:aws:iam::123456789012:user/alice': not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>",
        ),
        (
            {"adminRoleArns": ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/a"]},
            f"{F}.adminRoleArns[1] = 'arn:aws:iam::123456789012:role/a': listed twice; each must be unique",
        ),
        (
            {"adminRoleArns": ["arn:aws:iam::123456789012:role/x/ops", "arn:aws:iam::123456789012:role/y/ops"]},
            (
                f'{F}.adminRoleArns = ["arn:aws:iam::123456789012:role/x/ops", "arn:aws:iam::123456789012:role/y/ops"]: '
                "two roles share a name; role names must differ"
            ),
        ),
        (
            {"addonVersions": {"coredns": "latest"}},
            f"{F}.addonVersions.coredns = 'latest': not an EKS add-on version; expected e.g. 'v1.21.1-eksbuild.1' (aws eks describe-addon-versions)",
        ),
        (
            {"addonVersions": {"kube-proxy": "v1.34.1-eksbuild.2"}},
            f"{F}.addonVersions.kube-proxy = 'v1.34.1-eksbuild.2': kube-proxy must match the cluster's minor version 1.35 (got 1.34)",
        ),
        (
            {"addonVersions": {"metrics-server": "v0.7.2-eksbuild.1"}},
            (
                f"{F}.addonVersions.metrics-server = 'v0.7.2-eksbuild.1': unknown add-on 'metrics-server'; the managed add-ons are: "
                "vpc-cni, kube-proxy, eks-pod-identity-agent, coredns, aws-ebs-csi-driver"
            ),
        ),
        (
            {"logRetentionDays": 45},
            f"{F}.logRetentionDays = 45: CloudWatch Logs accepts only these retention periods (days): "
            + ", ".join(map(str, FACTS.log_retention_days)),
        ),
        (
            {"systemPool": {"instanceTypes": ["g5.xlarge"]}},
            f'{F}.systemPool.instanceTypes = ["g5.xlarge"]: g5.xlarge is a GPU instance type; the system pool runs add-ons, GPU types go in gpuPools',
        ),
        (
            {"systemPool": {"minSize": 0, "desiredSize": 0}},
            f"{F}.systemPool.minSize = 0: the system pool needs at least 1 node (it runs CoreDNS)",
        ),
        (
            {"systemPool": {"desiredSize": 5}},
            f"{F}.systemPool.desiredSize = 5: desiredSize 5 is outside minSize..maxSize (1..2)",
        ),
        (
            {"systemPool": {"diskGib": 20}},
            f"{F}.systemPool.diskGib = 20: must be 50..16384 GiB (container images for GPU work are large)",
        ),
        (
            {"gpuPools": [{**POOL, "instanceTypes": ["m6i.large"]}]},
            (
                f'{F}.gpuPools[0].instanceTypes = ["m6i.large"]: m6i.large is not a GPU instance type; GPU pools take the families '
                "g4dn, g5, g5g, g6, g6e, gr6, p3, p3dn, p4d, p4de, p5, p5e, p5en"
            ),
        ),
        (
            {"gpuPools": [{**POOL, "instanceTypes": []}]},
            f"{F}.gpuPools[0].instanceTypes = []: empty; list at least one GPU instance type, e.g. ['g6.xlarge']",
        ),
        (
            {"gpuPools": [{**POOL, "instanceTypes": ["g5.xlarge", "g5.12xlarge"]}]},
            (
                f'{F}.gpuPools[0].instanceTypes = ["g5.xlarge", "g5.12xlarge"]: mixes GPU counts (g5.xlarge=1, g5.12xlarge=4); '
                "the autoscaler sizes a pool from one template, so split them into pools"
            ),
        ),
        (
            {"gpuPools": [{**POOL, "minSize": 3, "maxSize": 2}]},
            f"{F}.gpuPools[0].minSize = 3: minSize 3 is larger than maxSize 2",
        ),
        ({"gpuPools": [{**POOL, "maxSize": 0}]}, f"{F}.gpuPools[0].maxSize = 0: maxSize 0 must be at least 1"),
        (
            {"gpuPools": [{**POOL, "diskGib": 40}]},
            f"{F}.gpuPools[0].diskGib = 40: must be 50..16384 GiB (container images for GPU work are large)",
        ),
        (
            {"gpuPools": [{**POOL, "name": "system"}]},
            f"{F}.gpuPools[0].name = 'system': 'system' is the system pool's name; pick another",
        ),
        (
            {"gpuPools": [{**POOL, "name": "GPU_pool"}]},
            f"{F}.gpuPools[0].name = 'GPU_pool': pool names are 2-32 lowercase letters, digits or '-', starting with a letter",
        ),
        ({"gpuPools": [POOL, POOL]}, f"{F}.gpuPools[1].name = 'gpu': listed twice; each must be unique"),
        (
            {"gpuPools": [{**POOL, "efa": True}]},
            f"{F}.gpuPools[0].efa = True: EFA is for multi-node training on p4d, p4de, p5, p5e, p5en; g5.xlarge is not one",
        ),
        (
            {"requireOnDemandInference": True, "gpuPools": [{**POOL, "purpose": "inference", "capacity": "spot"}]},
            f'{F}.gpuPools = ["gpu"]: every inference pool is spot; add an on_demand inference pool, or set requireOnDemandInference: false',
        ),
        (
            {"teams": [{"name": "research", "gpuQuota": 9}]},
            f"{F}.teams[0].gpuQuota = 9: more than all GPU pools can provide at full scale (2); lower it or grow a pool's maxSize",
        ),
        (
            {"teams": [{"name": "research"}, {"name": "research"}]},
            f"{F}.teams[1].name = 'research': listed twice; each must be unique",
        ),
        (
            {"teams": [{"name": "kube-system"}]},
            (
                f"{F}.teams[0].name = 'kube-system': reserved Kubernetes namespace; pick another name "
                "(reserved: default, kube-system, kube-public, kube-node-lease, kube-*)"
            ),
        ),
        (
            {"teams": [{"name": "Research"}]},
            f"{F}.teams[0].name = 'Research': must be a DNS label: at most 63 lowercase letters, digits or '-', alphanumeric at both ends",
        ),
        ({"teams": [{"name": "r", "gpuQuota": -1}]}, f"{F}.teams[0].gpuQuota = -1: must be 0 or more"),
        (
            {"teams": [{"name": "r", "cpuQuota": "lots"}]},
            f"{F}.teams[0].cpuQuota = 'lots': not a CPU quantity; expected cores ('16', '2.5') or millicores ('500m')",
        ),
        (
            {"teams": [{"name": "r", "memoryQuota": "64GB"}]},
            f"{F}.teams[0].memoryQuota = '64GB': not a memory quantity; expected e.g. '64Gi', '512Mi'",
        ),
        (
            {"teams": [{"name": "r", "memoryQuota": "512m"}]},
            f"{F}.teams[0].memoryQuota = '512m': 'm' means thousandths of a byte; did you mean 'Mi'?",
        ),
        (
            {"teams": [{"name": "r", "gpuQuota": True}]},
            f"{F}.teams[0].gpuQuota = True: a whole number of GPUs, not true/false",
        ),
        (
            {"gpuPools": [{**POOL, "capacity": "reserved"}]},
            f"{F}.gpuPools[0].capacity = 'reserved': Input should be 'on_demand' or 'spot'",
        ),
        (
            {"gpuPools": [{**POOL, "amiType": "AL2_x86_64_GPU"}]},
            f"{F}.gpuPools[0].amiType = 'AL2_x86_64_GPU': Input should be 'AL2023_x86_64_NVIDIA' or 'BOTTLEROCKET_x86_64_NVIDIA'",
        ),
        ({"gpuPool": []}, f"{F}.gpuPool: unknown key; did you mean 'gpuPools'?"),
    ],
)
def test_fails_with_one_line_naming_the_key_the_value_and_what_is_allowed(cluster, expected):
    found = one_problem(cluster)
    if expected.endswith("did you mean 'gpuPools'?"):
        assert found.startswith(expected)
    else:
        assert found == expected


def test_spot_only_inference_is_allowed_when_the_flag_is_off():
    (pool,) = config(
        "dev", {"requireOnDemandInference": False, "gpuPools": [{**POOL, "purpose": "inference", "capacity": "spot"}]}
    ).cluster.gpu_pools
    assert pool.capacity == "spot"


def test_fails_when_a_pool_instance_type_is_outside_the_guardrails_allowlist():
    assert one_problem({"gpuPools": [{**POOL, "instanceTypes": ["g6e.xlarge"]}]}) == (
        'Pulumi.dev.yaml: ml-platform:cluster.gpuPools[0].instanceTypes = ["g6e.xlarge"]: g6e.xlarge not in '
        "guardrails.allowedInstanceTypes (m6i.large, m6i.xlarge, g5.xlarge, g5.2xlarge, g6.xlarge, g6.2xlarge); "
        "add it there or pick an allowed type"
    )


def test_guardrail_wildcards_admit_matching_pool_types():
    (pool,) = config(
        "prod", {"gpuPools": [{**POOL, "instanceTypes": ["g6e.12xlarge"], "purpose": "inference"}]}
    ).cluster.gpu_pools
    assert pool.instance_types == ("g6e.12xlarge",)


def test_fails_when_prod_has_fewer_than_two_system_nodes():
    assert one_problem({"systemPool": {"minSize": 1, "desiredSize": 1}}, "prod") == (
        "Pulumi.prod.yaml: ml-platform:cluster.systemPool.minSize = 1: prod needs at least 2 system nodes "
        "(in different AZs) so CoreDNS survives a node or AZ loss"
    )


# --- GPU capacity owner and Kueue quotas ----------------------------------------------------------------------


def test_staging_and_prod_bring_gpu_capacity_from_karpenter_and_dev_from_node_groups():
    assert config("dev").cluster.gpu_capacity == "node-groups"
    assert config("staging").cluster.gpu_capacity == "karpenter"
    assert config("prod", guardrails={"budget": {"emails": ["a@example.com"]}}).cluster.gpu_capacity == "karpenter"


def test_fails_when_a_karpenter_pool_asks_for_warm_nodes():
    assert one_problem({"gpuCapacity": "karpenter", "gpuPools": [{**POOL, "minSize": 1}]}) == (
        "Pulumi.dev.yaml: ml-platform:cluster.gpuPools[0].minSize = 1: Karpenter brings GPU nodes up for pending pods "
        "and has no minimum size; set minSize: 0, or set cluster.gpuCapacity: node-groups to keep warm nodes"
    )


def test_fails_when_kueue_quotas_exceed_what_the_pools_can_bring_up():
    cluster = {
        "gpuPools": [{**POOL, "maxSize": 2}],
        "teams": [{"name": "a", "gpuQuota": 2}, {"name": "b", "gpuQuota": 1}],
    }
    assert one_problem(cluster) == (
        'Pulumi.dev.yaml: ml-platform:cluster.teams = ["a", "b"]: Kueue GPU quotas add up to 3 on pool \'gpu\' '
        "(a: 2, b: 1), more than its NodePool limit of 2 GPUs; admitted jobs would stay Pending. Lower the teams' "
        "gpuQuota or raise the pool's maxSize"
    )


def test_fails_when_teams_have_no_datasets_or_models_bucket():
    found = problems({"teams": [{"name": "a"}]}, storage={"buckets": ["models", "access-logs"]})
    assert found == [
        (
            'Pulumi.dev.yaml: ml-platform:storage.buckets = ["models", "access-logs"]: cluster.teams need the '
            "datasets bucket(s) (each team reads datasets/<team>/ and writes models/<team>/); add them or remove "
            "the teams"
        )
    ]
