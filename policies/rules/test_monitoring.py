"""Monitoring rules: a compliant program first, then one change per test with the exact finding."""

import pulumi_aws as aws
import pulumi_kubernetes as k8s

ENDPOINT = "serving"
QUERY = (
    "SELECT AVG(node_gpu_utilization) FROM SCHEMA(ContainerInsights,ClusterName,GpuDevice,InstanceId,InstanceType,"
    "NodeName) WHERE ClusterName = 'ml' AND (InstanceType = 'g5.xlarge')"
)


def endpoint_program(alarms=("Invocation5XXErrors", "ModelLatency"), dimensions=None):
    dims = dimensions if dimensions is not None else {"EndpointName": ENDPOINT, "VariantName": "primary"}

    def program():
        config = aws.sagemaker.EndpointConfiguration(
            "serving-config",
            name="serving-config",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name="primary", model_name="m", instance_type="ml.m5.large", initial_instance_count=2
                )
            ],
        )
        aws.sagemaker.Endpoint("serving", name=ENDPOINT, endpoint_config_name=config.name)
        for metric in alarms:
            aws.cloudwatch.MetricAlarm(
                f"serving-{metric}",
                namespace="AWS/SageMaker",
                metric_name=metric,
                dimensions=dims,
                statistic="Average",
                period=60,
                evaluation_periods=5,
                threshold=1,
                comparison_operator="GreaterThanThreshold",
            )

    return program


def test_endpoint_with_error_and_latency_alarms_on_both_dimensions_passes(check):
    assert check(endpoint_program(), "sagemaker-endpoint-alarms") == []


def test_endpoint_without_a_latency_alarm_fails(check):
    assert check(endpoint_program(alarms=("Invocation5XXErrors",)), "sagemaker-endpoint-alarms") == [
        (
            "serving: no latency (ModelLatency) alarm with dimensions EndpointName=serving and VariantName=primary: "
            "nobody is told when the endpoint fails or slows down"
        )
    ]


def test_endpoint_without_any_alarm_fails(check):
    assert check(endpoint_program(alarms=()), "sagemaker-endpoint-alarms") == [
        (
            "serving: no error (Invocation5XXErrors) or latency (ModelLatency) alarm with dimensions "
            "EndpointName=serving and VariantName=primary: nobody is told when the endpoint fails or slows down"
        )
    ]


def test_alarms_without_the_variant_dimension_do_not_count(check):
    assert check(endpoint_program(dimensions={"EndpointName": ENDPOINT}), "sagemaker-endpoint-alarms") == [
        (
            "serving: no error (Invocation5XXErrors) or latency (ModelLatency) alarm with dimensions "
            "EndpointName=serving and VariantName=primary: nobody is told when the endpoint fails or slows down"
        )
    ]


def test_alarms_on_another_endpoint_do_not_count(check):
    other = {"EndpointName": "other", "VariantName": "primary"}
    assert len(check(endpoint_program(dimensions=other), "sagemaker-endpoint-alarms")) == 1


def gpu_program(query=QUERY, comparison="LessThanThreshold", instance_type="g5.xlarge"):
    def program():
        aws.eks.NodeGroup(
            "gpu",
            cluster_name="ml",
            node_role_arn="arn:aws:iam::123456789012:role/nodes",
            subnet_ids=["subnet-1"],
            instance_types=[instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=0, min_size=0, max_size=2),
        )
        if query is not None:
            aws.cloudwatch.MetricAlarm(
                "gpu-idle",
                metric_queries=[
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(id="q", expression=query, period=3600, return_data=True)
                ],
                evaluation_periods=2,
                threshold=10,
                comparison_operator=comparison,
                treat_missing_data="notBreaching",
            )

    return program


def test_gpu_pool_with_an_idle_alarm_on_its_instance_types_passes(check):
    assert check(gpu_program(), "gpu-pool-idle-alarm") == []


def test_gpu_pool_without_an_idle_alarm_fails(check):
    assert check(gpu_program(query=None), "gpu-pool-idle-alarm") == [
        (
            "gpu: no idle-GPU alarm: nothing alarms when node_gpu_utilization of cluster ml (g5.xlarge) stays below a "
            "threshold, so idle GPU nodes bill unnoticed"
        )
    ]


def test_a_high_utilisation_alarm_is_not_an_idle_alarm(check):
    assert len(check(gpu_program(comparison="GreaterThanThreshold"), "gpu-pool-idle-alarm")) == 1


def test_an_idle_alarm_on_another_pools_instance_types_does_not_count(check):
    assert len(check(gpu_program(instance_type="p4d.24xlarge"), "gpu-pool-idle-alarm")) == 1


def test_cpu_node_groups_need_no_idle_gpu_alarm(check):
    assert check(gpu_program(query=None, instance_type="m6i.large"), "gpu-pool-idle-alarm") == []


def karpenter_program(query=QUERY, instance_type="g5.xlarge"):
    def program():
        aws.eks.Cluster("ml", name="ml", role_arn="arn:aws:iam::123456789012:role/cluster", vpc_config={})
        k8s.apiextensions.CustomResource(
            "gpu",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": "gpu"},
            spec={
                "template": {
                    "spec": {
                        "requirements": [
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [instance_type]}
                        ]
                    }
                },
                "limits": {"nvidia.com/gpu": "4"},
            },
        )
        if query is not None:
            aws.cloudwatch.MetricAlarm(
                "gpu-idle",
                metric_queries=[
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(id="q", expression=query, period=3600, return_data=True)
                ],
                evaluation_periods=2,
                threshold=10,
                comparison_operator="LessThanThreshold",
                treat_missing_data="notBreaching",
            )

    return program


def test_gpu_nodepool_with_an_idle_alarm_on_its_instance_types_passes(check):
    assert check(karpenter_program(), "gpu-pool-idle-alarm") == []


def test_gpu_nodepool_without_an_idle_alarm_fails(check):
    assert check(karpenter_program(query=None), "gpu-pool-idle-alarm") == [
        (
            "gpu: no idle-GPU alarm: nothing alarms when node_gpu_utilization of cluster ml (g5.xlarge) stays below a "
            "threshold, so idle GPU nodes of this Karpenter NodePool bill unnoticed"
        )
    ]


def test_an_idle_alarm_on_another_pools_instance_types_does_not_cover_a_nodepool(check):
    assert len(check(karpenter_program(instance_type="p4d.24xlarge"), "gpu-pool-idle-alarm")) == 1
