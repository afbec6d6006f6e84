"""Each priced resource type against a figure computed by hand from the snapshot's us-east-1 prices."""

import json

import pytest

from policies.costing.estimate import FREE, NOT_PRICED, PRICED, Item, estimate

REGION = "us-east-1"
LT = Item(
    "urn:lt",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "lt",
    {"blockDeviceMappings": [{"ebs": {"volumeType": "gp3", "volumeSize": 50}}]},
    "lt-1",
    REGION,
)


def one(item: Item, *others: Item, usage=None):
    cost = estimate([item, *others], usage)
    return next(c for c in cost.resources if c.urn == item.urn)


def figures(cost):
    return (round(cost.idle, 2), round(cost.expected, 2), round(cost.max, 2))


def group(name="pool", types=("m6i.large",), low=1, desired=2, high=3, **extra):
    props = {"instanceTypes": list(types), "scalingConfig": {"minSize": low, "desiredSize": desired, "maxSize": high}}
    props["launchTemplate"] = {"id": "lt-1", "version": "1"}
    return Item(f"urn:{name}", "aws:eks/nodeGroup:NodeGroup", name, {**props, **extra}, None, REGION)


def test_node_group_prices_instances_and_root_volumes_at_min_desired_and_max():
    # 730 h x $0.096 = $70.08 per node, plus 50 GiB x $0.08 = $4 of gp3 per node.
    assert figures(one(group(), LT)) == (74.08, 148.16, 222.24)


def test_node_group_max_uses_its_costliest_type_and_usage_sets_expected():
    cost = one(group(types=("g6.xlarge", "g5.xlarge"), low=0, desired=0, high=2), LT,
               usage={"nodeGroups": {"pool": {"averageNodes": 0.5}}})  # fmt: skip
    # expected: 0.5 x 730 h x $0.8048 + 0.5 x $4; max: 2 x 730 h x $1.006 + 2 x $4.
    assert figures(cost) == (0.0, 295.75, 1476.76)


def test_scale_to_zero_gpu_pool_costs_nothing_idle():
    assert one(group(types=("g5.xlarge",), low=0, desired=0, high=4), LT).idle == 0


def test_karpenter_node_pool_max_is_what_its_limits_allow_on_the_costliest_type():
    pool = Item(
        "urn:np",
        "kubernetes:karpenter.sh/v1:NodePool",
        "training",
        {
            "spec": {
                "limits": {"nvidia.com/gpu": "8", "cpu": "1000"},
                "template": {
                    "spec": {
                        "requirements": [
                            {
                                "key": "node.kubernetes.io/instance-type",
                                "operator": "In",
                                "values": ["g5.xlarge", "g5.12xlarge"],
                            }
                        ]
                    }
                },
            }
        },
        None,
        REGION,
    )
    cost = one(pool)
    # 8 GPUs: 8 x g5.xlarge ($8.048/h) or 2 x g5.12xlarge ($11.344/h): the latter, 730 h -> $8,281.12.
    assert (cost.status, figures(cost)) == (PRICED, (0.0, 0.0, 8281.12))


def test_karpenter_node_pool_without_limits_is_not_priced():
    pool = Item("urn:np", "kubernetes:karpenter.sh/v1:NodePool", "np", {"spec": {}}, None, REGION)
    cost = one(pool)
    assert cost.status == NOT_PRICED and "no maximum" in cost.formula


@pytest.mark.parametrize(("support", "expected"), [("STANDARD", (73.0, 73.0, 73.0)), ("EXTENDED", (73.0, 73.0, 438.0))])
def test_eks_control_plane_at_standard_or_extended_support(support, expected):
    cluster = Item("urn:c", "aws:eks/cluster:Cluster", "eks", {"upgradePolicy": {"supportType": support}}, None, REGION)
    assert figures(one(cluster)) == expected


def test_nat_gateway_hours_and_data_from_usage():
    nat = Item("urn:n", "aws:ec2/natGateway:NatGateway", "nat", {}, None, REGION)
    # 730 h x $0.045 = $32.85; 100 GB x $0.045 = $4.50.
    assert figures(one(nat, usage={"natGateways": {"nat": {"dataProcessedGb": 100}}})) == (32.85, 37.35, 37.35)


def test_public_ipv4_address():
    assert figures(one(Item("urn:e", "aws:ec2/eip:Eip", "eip", {"domain": "vpc"}, None, REGION))) == (3.65,) * 3


def test_interface_endpoint_per_az_and_gateway_endpoint_free():
    props = {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]}
    assert figures(one(Item("urn:i", "aws:ec2/vpcEndpoint:VpcEndpoint", "i", props, None, REGION))) == (21.9,) * 3
    gateway = one(Item("urn:g", "aws:ec2/vpcEndpoint:VpcEndpoint", "g", {"vpcEndpointType": "Gateway"}, None, REGION))
    assert gateway.status == FREE


def test_gp3_volume_size_iops_and_throughput_above_the_included():
    props = {"type": "gp3", "size": 500, "iops": 6000, "throughput": 250}
    # 500 x $0.08 + 3000 x $0.005 + 125 x $0.04 = $40 + $15 + $5.
    assert figures(one(Item("urn:v", "aws:ebs/volume:Volume", "v", props, None, REGION))) == (60.0,) * 3


def _endpoint(variant, target=None):
    config = Item(
        "urn:cfg",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "cfg",
        {"productionVariants": [{"variantName": "primary", **variant}]},
        "cfg-1",
        REGION,
    )
    endpoint = Item(
        "urn:ep", "aws:sagemaker/endpoint:Endpoint", "ep", {"name": "e", "endpointConfigName": "cfg-1"}, None, REGION
    )
    others = [config]
    if target:
        others.append(
            Item(
                "urn:t",
                "aws:appautoscaling/target:Target",
                "t",
                {"resourceId": "endpoint/e/variant/primary", **target},
                None,
                REGION,
            )
        )
    return endpoint, others


def test_real_time_endpoint_instances_per_variant_times_count():
    endpoint, others = _endpoint(
        {"instanceType": "ml.m5.large", "initialInstanceCount": 2}, {"minCapacity": 1, "maxCapacity": 4}
    )
    # 730 h x $0.115 = $83.95 per instance: 1 idle (autoscaling minimum), 2 desired, 4 at the maximum.
    assert figures(one(endpoint, *others)) == (83.95, 167.9, 335.8)


def test_serverless_endpoint_per_gb_second_and_data_from_usage_zero_idle():
    endpoint, others = _endpoint({"serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5}})
    usage = {"endpoints": {"ep": {"requests": 1_000_000, "averageDurationMs": 100, "averagePayloadKb": 4}}}
    # 1e6 x 0.1 s x 2 GB = 200,000 GB-s x $0.00002 = $4 + 4 GB x $0.016; max: 5 x 2 GB x 2,628,000 s x $0.00002.
    assert figures(one(endpoint, *others, usage=usage)) == (0.0, 4.06, 525.66)


def test_kms_key_and_requests():
    usage = {"kmsKeys": {"k": {"requests": 1_000_000}}}
    assert figures(one(Item("urn:k", "aws:kms/key:Key", "k", {}, None, REGION), usage=usage)) == (1.0, 4.0, 4.0)


def test_log_group_ingestion_and_storage():
    usage = {"logGroups": {"l": {"ingestedGb": 10, "storedGb": 20}}}
    item = Item("urn:l", "aws:cloudwatch/logGroup:LogGroup", "l", {"retentionInDays": 30}, None, REGION)
    assert figures(one(item, usage=usage)) == (0.6, 5.6, 5.6)


def test_s3_storage_by_class_counts_when_idle():
    usage = {"buckets": {"b": {"standardGb": 1000, "glacierIrGb": 1000}}}
    assert figures(one(Item("urn:b", "aws:s3/bucket:Bucket", "b", {}, None, REGION), usage=usage)) == (27.0,) * 3


def test_budget_alarm_topic_and_queue():
    assert figures(one(Item("urn:b", "aws:budgets/budget:Budget", "b", {}, None, REGION))) == (0.61,) * 3
    assert (
        figures(one(Item("urn:a", "aws:cloudwatch/metricAlarm:MetricAlarm", "a", {"period": 60}, None, REGION)))
        == (0.1,) * 3
    )
    usage = {"topics": {"t": {"publishes": 2_000_000}}}
    assert figures(one(Item("urn:t", "aws:sns/topic:Topic", "t", {}, None, REGION), usage=usage)) == (0.0, 1.0, 1.0)
    usage = {"queues": {"q": {"requests": 5_000_000}}}
    assert figures(one(Item("urn:q", "aws:sqs/queue:Queue", "q", {}, None, REGION), usage=usage)) == (0.0, 2.0, 2.0)


def test_type_without_a_rule_is_not_priced_never_zero():
    cost = one(Item("urn:r", "aws:rds/instance:Instance", "db", {"instanceClass": "db.m6i.large"}, None, REGION))
    assert (cost.status, cost.formula) == (NOT_PRICED, "no pricing rule for this resource type")


def test_instance_type_missing_from_the_snapshot_is_not_priced_with_the_key():
    cost = one(group(types=("x9.large",)), LT)
    assert cost.status == NOT_PRICED and "ec2:x9.large in us-east-1" in cost.formula


def test_not_priced_resources_stay_out_of_the_totals():
    stack = estimate([group(types=("x9.large",)), LT, Item("urn:e", "aws:ec2/eip:Eip", "eip", {}, None, REGION)])
    assert stack.totals() == {"idle": 3.65, "expected": 3.65, "max": 3.65} and len(stack.not_priced) == 1


def test_a_resources_own_region_wins_over_its_providers():
    nat = Item("urn:n", "aws:ec2/natGateway:NatGateway", "nat", {"region": "eu-west-1"}, None, REGION)
    # 730 h x $0.048 (eu-west-1).
    assert figures(one(nat)) == (35.04,) * 3


def test_replication_as_inter_region_transfer_from_usage():
    item = Item("urn:r", "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "r", {}, None, REGION)
    assert figures(one(item, usage={"replications": {"r": {"replicatedGb": 100}}})) == (0.0, 2.0, 2.0)


def test_kubernetes_objects_are_priced_in_their_clusters_region():
    pool = Item(
        "urn:np",
        "kubernetes:karpenter.sh/v1:NodePool",
        "np",
        {
            "spec": {
                "limits": {"cpu": "8"},
                "template": {"spec": {"requirements": [
                    {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m6i"]}
                ]}},
            }
        },
    )  # fmt: skip
    cluster = Item(
        "urn:c", "aws:eks/cluster:Cluster", "eks", {"upgradePolicy": {"supportType": "STANDARD"}}, None, REGION
    )
    # 8 vCPUs: 4 x m6i.large, 2 x m6i.xlarge, 1 x m6i.2xlarge, all $0.384/h; 0 x larger sizes.
    cost = one(pool, cluster)
    assert (cost.status, figures(cost)) == (PRICED, (0.0, 0.0, 280.32))
    assert one(pool).status == NOT_PRICED  # no cluster: no region


def test_auto_scaling_group_from_its_launch_template():
    template = Item("urn:lt2", "aws:ec2/launchTemplate:LaunchTemplate", "lt2",
                    {"instanceType": "c6i.xlarge", "blockDeviceMappings": [{"ebs": {"volumeType": "gp3", "volumeSize": 50}}]},
                    "lt-2", REGION)  # fmt: skip
    props = {"minSize": 1, "maxSize": 4, "desiredCapacity": 2, "launchTemplate": {"id": "lt-2"}}
    group_ = Item("urn:asg", "aws:autoscaling/group:Group", "asg", props, None, REGION)
    # 730 h x $0.17 = $124.10 per node + 50 GiB x $0.08 = $4.
    assert figures(one(group_, template)) == (128.1, 256.2, 512.4)


def test_codebuild_project_build_minutes_from_usage_and_its_concurrency_limit_at_max():
    props = {
        "environment": {"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_MEDIUM"},
        "concurrentBuildLimit": 2,
    }
    item = Item("urn:cb", "aws:codebuild/project:Project", "runner", props, None, REGION)
    # 600 min x $0.01; max: 2 builds x 730 h x 60 min x $0.01.
    assert figures(one(item, usage={"buildProjects": {"runner": {"buildMinutes": 600}}})) == (0.0, 6.0, 876.0)


def test_dashboard_and_log_metric_filter():
    assert figures(one(Item("urn:d", "aws:cloudwatch/dashboard:Dashboard", "d", {}, None, REGION))) == (3.0,) * 3
    metric_filter = Item(
        "urn:f",
        "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        "f",
        {"metricTransformation": {"name": "errors", "namespace": "ns", "value": "1"}},
        None,
        REGION,
    )
    assert figures(one(metric_filter)) == (0.3,) * 3


def _monitor(expression: str) -> tuple[Item, Item]:
    definition = Item(
        "urn:jd",
        "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
        "jd",
        {
            "name": "churn-dq",
            "jobResources": {"clusterConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1}},
            "stoppingCondition": {"maxRuntimeInSeconds": 1800},
        },
        None,
        REGION,
    )
    schedule = Item(
        "urn:ms",
        "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
        "ms",
        {
            "monitoringScheduleConfig": {
                "monitoringJobDefinitionName": "churn-dq",
                "scheduleConfig": {"scheduleExpression": expression},
            }
        },
        None,
        REGION,
    )
    return schedule, definition


@pytest.mark.parametrize(
    ("expression", "monthly"),
    [
        # 730 h a month: 24 runs a day x 30.42 days x 0.5 h x $0.23
        ("cron(0 * ? * * *)", 83.95),
        ("cron(0 3 ? * * *)", 3.5),  # one run a day
        ("cron(0 0/6 ? * * *)", 13.99),  # four runs a day
    ],
)
def test_monitoring_schedule_every_run_at_its_time_limit_even_idle(expression, monthly):
    schedule, definition = _monitor(expression)
    assert figures(one(schedule, definition)) == (monthly,) * 3
    assert one(definition, schedule).status == FREE


def test_monitoring_schedule_without_its_job_definition_is_not_priced():
    schedule, _ = _monitor("cron(0 * ? * * *)")
    cost = one(schedule)
    assert cost.status == NOT_PRICED
    assert "job definition is not in the stack" in cost.formula


def test_mlflow_tracking_server_bills_every_hour_and_unknown_sizes_are_not_priced():
    small = Item("urn:m", "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "m", {}, None, REGION)
    # 730 h x $0.64 = $467.20, idle or busy.
    assert figures(one(small)) == (467.2,) * 3
    large = Item("urn:l", small.type, "l", {"trackingServerSize": "Large"}, None, REGION)
    assert one(large).status == NOT_PRICED


def _pipeline(schedule: str | None = "cron(0 3 ? * SUN *)", state: str = "ENABLED", **props) -> list[Item]:
    steps = [
        {
            "Name": "Train",
            "Type": "Training",
            "Arguments": {
                "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50},
                "StoppingCondition": {"MaxRuntimeInSeconds": 36000},
            },
        },
        {
            "Name": "Check",
            "Type": "Condition",
            "Arguments": {
                "IfSteps": [
                    {
                        "Name": "Evaluate",
                        "Type": "Processing",
                        "Arguments": {
                            "ProcessingResources": {
                                "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}
                            },
                            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                        },
                    }
                ],
                "ElseSteps": [{"Name": "Fail", "Type": "Fail", "Arguments": {}}],
            },
        },
    ]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
    pipeline = Item(
        "urn:p",
        "aws:sagemaker/pipeline:Pipeline",
        "p",
        {"pipelineDefinition": json.dumps({"Version": "2020-12-01", "Steps": steps}), "arn": arn, **props},
        None,
        REGION,
    )
    if schedule is None:
        return [pipeline]
    return [
        pipeline,
        Item(
            "urn:s",
            "aws:scheduler/schedule:Schedule",
            "s",
            {"scheduleExpression": schedule, "state": state, "target": {"arn": arn}},
            None,
            REGION,
        ),
    ]


def test_pipeline_prices_its_jobs_per_scheduled_run_with_hours_from_usage_and_time_limits_at_max():
    weekly = 730 / (24 * 7)  # 4.345 runs a month
    usage = {"pipelines": {"p": {"trainingHours": 1, "processingHours": 0.25}}}
    # per run: 2 x 1 h x $0.23 + 1 x 0.25 h x $0.115; at max: 2 x 10 h x $0.23 + 1 x 1 h x $0.115
    expected = weekly * (2 * 0.23 + 0.25 * 0.115)
    worst = weekly * (20 * 0.23 + 0.115)
    cost = one(*_pipeline(), usage=usage)
    assert figures(cost) == (round(expected, 2), round(expected, 2), round(worst, 2))
    assert "Evaluate: 4.34524 runs x 0.25 h x 1 ml.m5.large" in cost.formula
    # Without usage, every job runs to its time limit.
    assert figures(one(*_pipeline())) == (round(worst, 2),) * 3


def test_pipeline_runs_by_hand_count_as_expected_not_idle_when_its_schedule_is_disabled():
    usage = {"pipelines": {"p": {"runsPerMonth": 2, "trainingHours": 1, "processingHours": 1}}}
    per_run = 2 * 0.23 + 0.115
    cost = one(*_pipeline(state="DISABLED"), usage=usage)
    assert figures(cost) == (0, round(2 * per_run, 2), round(2 * (20 * 0.23 + 0.115), 2))
    assert "no enabled schedule starts it" in cost.formula
    assert figures(one(*_pipeline(schedule=None))) == (0, 0, 0)


@pytest.mark.parametrize(
    ("expression", "runs"),
    [("rate(1 day)", 730 / 24), ("cron(0 * * * ? *)", 730), ("cron(30 2 ? * MON,THU *)", 730 * 2 / 168)],
)
def test_pipeline_schedule_expressions_become_runs_a_month(expression, runs):
    cost = one(*_pipeline(expression))
    assert cost.expected == pytest.approx(runs * (20 * 0.23 + 0.115))


def test_pipeline_with_an_unknown_definition_or_schedule_is_not_priced():
    unknown = one(_pipeline(schedule=None, pipelineDefinition=None)[0])
    assert (unknown.status, unknown.formula) == (NOT_PRICED, "pipelineDefinition is unknown until apply")
    odd = one(*_pipeline("cron(0 3 1 * ? *)"))
    assert odd.status == NOT_PRICED and "only rate(n unit) and cron(" in odd.formula


@pytest.mark.parametrize(
    "type_",
    [
        "aws:scheduler/schedule:Schedule",
        "aws:cloudwatch/eventConnection:EventConnection",
        "aws:cloudwatch/eventApiDestination:EventApiDestination",
    ],
)
def test_the_mlops_loop_resources_say_why_they_carry_no_charge_of_their_own(type_):
    cost = one(Item("urn:x", type_, "x", {}, None, REGION))
    assert cost.status == FREE and cost.formula
