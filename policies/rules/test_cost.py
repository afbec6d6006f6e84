"""Cost rules: a compliant resource passes; changing one property gives exactly one violation."""

import pulumi
import pulumi_aws as aws

from policies.rules import instances

TAGS = {"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform", "Environment": "dev"}


# ---- required-cost-tags --------------------------------------------------------------------------------------


def test_resource_with_all_cost_tags_passes(check):
    assert check(lambda: aws.sns.Topic("alarms", tags=TAGS), "required-cost-tags") == []


def test_missing_cost_tag_fails(check):
    tags = {k: v for k, v in TAGS.items() if k != "Owner"}
    assert check(lambda: aws.sns.Topic("alarms", tags=tags), "required-cost-tags") == [
        "alarms: missing cost tags Owner (tagsAll has: CostCenter, Environment, Project)"
    ]


def test_empty_cost_tag_value_counts_as_missing(check):
    assert check(lambda: aws.sns.Topic("alarms", tags={**TAGS, "Project": " "}), "required-cost-tags") == [
        "alarms: missing cost tags Project (tagsAll has: CostCenter, Environment, Owner, Project)"
    ]


def test_provider_default_tags_count(check):
    def program():
        provider = aws.Provider("aws", region="us-west-2", default_tags=aws.ProviderDefaultTagsArgs(tags=TAGS))
        aws.sns.Topic("alarms", opts=pulumi.ResourceOptions(provider=provider))

    assert check(program, "required-cost-tags") == []


def test_resources_that_cannot_carry_tags_are_not_judged(check):
    assert (
        check(
            lambda: aws.iam.RolePolicyAttachment(
                "attach", role="r", policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess"
            ),
            "required-cost-tags",
        )
        == []
    )


def test_required_tags_and_exempt_types_are_settings(check):
    config = {"required-cost-tags": {"requiredTags": ["Team"]}}
    assert check(lambda: aws.sns.Topic("alarms", tags=TAGS), "required-cost-tags", config) == [
        "alarms: missing cost tags Team (tagsAll has: CostCenter, Environment, Owner, Project)"
    ]
    config = {"required-cost-tags": {"exemptTypes": ["aws:sns/topic:Topic"]}}
    assert check(lambda: aws.sns.Topic("alarms"), "required-cost-tags", config) == []


# ---- allowed-instance-types ----------------------------------------------------------------------------------


def test_allowed_instance_type_passes(check):
    assert check(lambda: aws.ec2.Instance("vm", ami="ami-1", instance_type="m6i.large"), "allowed-instance-types") == []


def test_instance_type_outside_the_allowlist_fails(check):
    config = {"allowed-instance-types": {"allowedInstanceTypes": ["m6i.*", "ml.m5.*"]}}
    assert check(
        lambda: aws.ec2.Instance("vm", ami="ami-1", instance_type="p5.48xlarge"), "allowed-instance-types", config
    ) == ["vm: instanceType uses p5.48xlarge, which this stack does not allow (allowed: m6i.*, ml.m5.*)"]


def test_node_group_and_sagemaker_variant_types_are_judged(check):
    config = {"allowed-instance-types": {"allowedInstanceTypes": ["m6i.*", "ml.m5.*"]}}

    def program():
        aws.eks.NodeGroup(
            "gpu",
            cluster_name="eks",
            node_role_arn="arn:aws:iam::123456789012:role/node",
            subnet_ids=["subnet-1"],
            instance_types=["g5.xlarge"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=0, min_size=0, max_size=1),
        )
        aws.sagemaker.EndpointConfiguration(
            "serving",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name="primary", model_name="m", instance_type="ml.g5.xlarge", initial_instance_count=1
                )
            ],
        )

    assert check(program, "allowed-instance-types", config) == [
        "gpu: instanceTypes uses g5.xlarge, which this stack does not allow (allowed: m6i.*, ml.m5.*)",
        "serving: productionVariants primary uses ml.g5.xlarge, which this stack does not allow (allowed: m6i.*, ml.m5.*)",
    ]


# ---- GPU pools -----------------------------------------------------------------------------------------------


def gpu_pool(name="gpu", min_size=0, max_size=2, instance_type="g5.xlarge", via_template=False):
    template = aws.ec2.LaunchTemplate(f"{name}-lt", instance_type=instance_type) if via_template else None
    return aws.eks.NodeGroup(
        name,
        cluster_name="eks",
        node_role_arn="arn:aws:iam::123456789012:role/node",
        subnet_ids=["subnet-1"],
        instance_types=None if via_template else [instance_type],
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version="1") if template else None,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=min_size, min_size=min_size, max_size=max_size),
    )


def test_gpu_pool_within_the_cap_passes(check):
    assert check(lambda: gpu_pool(max_size=4), "gpu-pool-max-size") == []


def test_gpu_pool_above_the_cap_fails(check):
    assert check(lambda: gpu_pool(max_size=5), "gpu-pool-max-size") == [
        "gpu: GPU node group (g5.xlarge) can scale to 5 nodes; this stack allows at most 4 per pool"
    ]
    assert check(lambda: gpu_pool(max_size=5), "gpu-pool-max-size", {"gpu-pool-max-size": {"maxNodesPerPool": 8}}) == []


def test_gpu_pool_type_from_its_launch_template_counts(check):
    assert check(lambda: gpu_pool(max_size=5, via_template=True), "gpu-pool-max-size") == [
        "gpu: GPU node group (g5.xlarge) can scale to 5 nodes; this stack allows at most 4 per pool"
    ]


def test_cpu_pool_is_not_a_gpu_pool(check):
    assert check(lambda: gpu_pool(max_size=50, min_size=3, instance_type="m6i.large"), "gpu-pool-max-size") == []
    assert check(lambda: gpu_pool(max_size=50, min_size=3, instance_type="m6i.large"), "gpu-pool-scale-to-zero") == []


def test_gpu_pool_that_cannot_scale_to_zero_fails(check):
    assert check(lambda: gpu_pool(min_size=0), "gpu-pool-scale-to-zero") == []
    assert check(lambda: gpu_pool(min_size=1), "gpu-pool-scale-to-zero") == [
        "gpu: GPU node group (g5.xlarge) keeps scalingConfig.minSize 1: its GPUs are billed while idle"
    ]


def test_stack_gpu_total_counts_pools_at_max_size_and_sagemaker_at_its_autoscaling_max(check):
    def program():
        gpu_pool("train", max_size=2, instance_type="g5.12xlarge")  # 2 x 4 GPUs
        config = aws.sagemaker.EndpointConfiguration(
            "serving",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name="primary", model_name="m", instance_type="ml.g5.xlarge", initial_instance_count=2
                )
            ],
        )
        endpoint = aws.sagemaker.Endpoint("serving-endpoint", name="serving", endpoint_config_name=config.name)
        aws.appautoscaling.Target(
            "serving-scaling",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=pulumi.Output.concat("endpoint/", endpoint.name, "/variant/primary"),
            min_capacity=2,
            max_capacity=6,
        )

    assert check(program, "gpu-total-cap", {"gpu-total-cap": {"maxTotalGpus": 14}}) == []
    assert check(program, "gpu-total-cap", {"gpu-total-cap": {"maxTotalGpus": 13}}) == [
        (
            "stack: the stack can run 14 GPUs at full scale (node group train: 2 x g5.12xlarge = 8; endpoint serving "
            "variant primary: 6 x ml.g5.xlarge = 6); this stack allows at most 13"
        )
    ]


def test_gpu_counts_per_instance_type():
    assert [
        instances.gpus(t)
        for t in ("g5.xlarge", "ml.g5.12xlarge", "p4d.24xlarge", "p5.4xlarge", "m6i.large", "inf2.xlarge")
    ] == [1, 4, 8, 1, 0, 0]


# ---- retention, lifecycle, NAT -------------------------------------------------------------------------------


def test_log_group_needs_a_retention(check):
    assert check(lambda: aws.cloudwatch.LogGroup("logs", retention_in_days=30), "log-group-retention") == []
    assert check(lambda: aws.cloudwatch.LogGroup("logs"), "log-group-retention") == [
        "logs: retentionInDays is not set: log events are kept, and billed, forever"
    ]
    assert check(lambda: aws.cloudwatch.LogGroup("logs", retention_in_days=0), "log-group-retention") == [
        "logs: retentionInDays is 0: log events are kept, and billed, forever"
    ]


def test_bucket_needs_an_enabled_lifecycle_rule(check):
    def program(status):
        bucket = aws.s3.Bucket("data")
        if status:
            aws.s3.BucketLifecycleConfiguration(
                "data-lifecycle",
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire",
                        status=status,
                        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=30
                        ),
                    )
                ],
            )

    message = ("data: no lifecycle configuration with an enabled rule refers to this bucket: old versions and "
               "incomplete uploads are kept, and billed, forever")  # fmt: skip
    assert check(lambda: program("Enabled"), "s3-lifecycle-rules") == []
    assert check(lambda: program("Disabled"), "s3-lifecycle-rules") == [message]
    assert check(lambda: program(None), "s3-lifecycle-rules") == [message]


def test_nat_gateways_above_the_cap_fail(check):
    def program(count):
        for az in "abc"[:count]:
            aws.ec2.NatGateway(f"nat-{az}", subnet_id=f"subnet-{az}", allocation_id=f"eipalloc-{az}")
        aws.ec2.NatGateway("private", subnet_id="subnet-a", connectivity_type="private")

    assert check(lambda: program(1), "nat-gateway-cap") == []
    assert check(lambda: program(2), "nat-gateway-cap") == [
        "stack: the stack creates 2 NAT gateways (nat-a, nat-b); this stack allows at most 1"
    ]
    assert check(lambda: program(3), "nat-gateway-cap", {"nat-gateway-cap": {"maxNatGateways": 3}}) == []


# ---- monthly-cost-budget -------------------------------------------------------------------------------------


def _priced_stack():
    provider = aws.Provider("aws", region="us-east-1")
    opts = pulumi.ResourceOptions(provider=provider)
    # $73.00 a month (730 h x $0.10) and $3.65 (730 h x $0.005), at every figure.
    aws.eks.Cluster(
        "eks",
        role_arn="arn:aws:iam::123456789012:role/eks",
        vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1", "subnet-2"]),
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
        opts=opts,
    )
    aws.ec2.Eip("nat-ip", domain="vpc", opts=opts)


def test_stack_within_budget_and_idle_ceiling_passes(check):
    config = {"monthly-cost-budget": {"budgetUsd": 100, "idleCeilingUsd": 100}}
    assert check(_priced_stack, "monthly-cost-budget", config) == []


def test_fails_when_max_exceeds_the_budget(check):
    config = {"monthly-cost-budget": {"budgetUsd": 50, "idleCeilingUsd": 100}}
    assert check(_priced_stack, "monthly-cost-budget", config) == [
        (
            "stack: at its configured maximum (every pool and endpoint at full scale) the stack costs $76.65 a month, "
            "$26.65 over its $50.00 budget (resources only; the usage file's traffic and storage are not included); "
            "costliest: eks $73.00, nat-ip $3.65"
        )
    ]


def test_fails_when_idle_exceeds_the_idle_ceiling(check):
    config = {"monthly-cost-budget": {"budgetUsd": 100, "idleCeilingUsd": 10}}
    assert check(_priced_stack, "monthly-cost-budget", config) == [
        (
            "stack: idle (pools at their minimum, no traffic) the stack costs $76.65 a month, $66.65 over its $10.00 "
            "idle ceiling (resources only; the usage file's traffic and storage are not included); costliest: "
            "eks $73.00, nat-ip $3.65"
        )
    ]


def test_fails_when_a_resource_cannot_be_priced(check):
    def program():
        provider = aws.Provider("aws", region="us-east-1")
        aws.ebs.Volume("scratch", availability_zone="us-east-1a", size=100, type="io2", iops=1000,
                       opts=pulumi.ResourceOptions(provider=provider))  # fmt: skip

    assert check(program, "monthly-cost-budget", {"monthly-cost-budget": {"budgetUsd": 100}}) == [
        (
            "stack: 1 resource(s) could not be priced, so the budget cannot be confirmed: scratch (aws:ebs/volume:Volume): "
            "volume of type io2 has no pricing rule (gp3 and gp2 are priced)"
        )
    ]


def test_without_a_budget_only_the_idle_ceiling_is_judged(check):
    assert check(_priced_stack, "monthly-cost-budget") == []
