"""Model quality for a captured endpoint: a SageMaker Model Monitor data-quality schedule and its violation alarm.

Each run reads the endpoint's captured requests (the data-capture bucket, under `<endpoint>/`), compares them with
the baseline's statistics and constraints (models bucket, `<model>/<baselinePrefix>/`) and writes its report to
the models bucket under `<model>/monitoring/reports/<endpoint>/`, KMS-encrypted. The job runs network-isolated in
the private subnets with its own execution role (boundary, prefix-scoped grants). A run that finds violations
ends with the exit message `CompletedWithViolations`; an EventBridge rule matches that processing-job event for
this schedule and an alarm on the rule's `MatchedEvents` pages through the stack's alert topic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
from pydantic import field_validator

from components import sagemaker_rules as sm
from components.model_endpoint import _network_resources
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

MODEL_MONITOR_ACCOUNTS = {
    # Registry accounts of AWS's prebuilt Model Monitor image (`sagemaker-model-monitor-analyzer`), from the
    # SageMaker "Prebuilt container" page. Add a region's row from that page before deploying there.
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
MODEL_MONITOR_REPOSITORY = "sagemaker-model-monitor-analyzer"
DATA_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints/data-metrics"
"""Where the job publishes per-feature data-quality metrics (`publish_cloudwatch_metrics`)."""
REPORTS_PREFIX = "monitoring/reports"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
"""SageMaker's fixed, account-wide log group for processing jobs (monitoring runs are processing jobs)."""
_SCHEDULE = re.compile(r"^cron\(0 (\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)$")


class DataQualitySettings(Section):
    """`ml-platform:monitoring.dataQuality`: Model Monitor data-quality schedules on endpoints that capture data."""

    enabled: bool = True
    """A schedule per endpoint with data capture. Default on (serverless endpoints cannot capture, so dev has none)."""
    schedule: str = "cron(0 * ? * * *)"
    """Model Monitor cron: hourly `cron(0 * ? * * *)`, daily `cron(0 H ? * * *)` or every N hours
    `cron(0 H/N ? * * *)`. Default hourly."""
    instance_type: str = "ml.m5.xlarge"
    """Processing instance; must be in `guardrails.allowedSagemakerInstanceTypes`."""
    volume_gib: int = 20
    """Encrypted processing volume (the SageMaker key)."""
    max_runtime_seconds: int = 1800
    """A run is stopped after this; at most 3600 (Model Monitor's limit for hourly schedules)."""
    baseline_prefix: str = "monitoring/baseline/"
    """Under the model's prefix in the models bucket: `constraints.json` and `statistics.json` from a baselining
    job (docs/monitoring.md says how to produce them). A run without them fails and says so."""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return check_schedule(value)

    @field_validator("volume_gib")
    @classmethod
    def _volume(cls, value: int) -> int:
        if not 1 <= value <= 16384:
            raise ValueError("must be 1-16384 GiB")
        return value

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtime(cls, value: int) -> int:
        if not 60 <= value <= 3600:
            raise ValueError("must be 60-3600 seconds (Model Monitor stops hourly runs at one hour)")
        return value

    @field_validator("baseline_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_baseline_prefix(value)


def check_schedule(value: str) -> str:
    if not _SCHEDULE.match(value):
        raise ValueError(
            "not a Model Monitor schedule; use cron(0 * ? * * *) (hourly), cron(0 H ? * * *) (daily at H) or "
            "cron(0 H/N ? * * *) (every N hours)"
        )
    return value


def check_baseline_prefix(value: str) -> str:
    if not re.match(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*/$", value) or ".." in value:
        raise ValueError("a folder under the model's prefix, e.g. 'monitoring/baseline/' (lowercase, ends with '/')")
    return value


def monitor_image(region: str) -> str:
    account = MODEL_MONITOR_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(
            f"no Model Monitor image account for region {region!r} (known: {', '.join(sorted(MODEL_MONITOR_ACCOUNTS))}); "
            "add its row to MODEL_MONITOR_ACCOUNTS in components/model_monitor.py from AWS's prebuilt-container page"
        )
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{MODEL_MONITOR_REPOSITORY}"


def violation_event_pattern(schedule_arn: str) -> dict[str, Any]:
    """The processing-job event of a run of this schedule that found violations."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {
            "MonitoringScheduleArn": [schedule_arn],
            "ExitMessage": [{"prefix": "CompletedWithViolations"}],
        },
    }


class GrantSource(Protocol):
    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


class DataQualityMonitor(pulumi.ComponentResource):
    """A data-quality job definition and hourly (or configured) schedule on one captured endpoint, with its
    execution role, security group, violation rule and alarm.

    Creates: security group, execution role (WorkloadRole), data-quality job definition, monitoring schedule,
    EventBridge rule, alarm. Attributes: `schedule_name`, `alarm_name`, `alarm_arn`, `report_uri`."""

    def __init__(
        self,
        name: str,
        settings: DataQualitySettings,
        *,
        endpoint_name: pulumi.Input[str],
        endpoint_fixed_name: str,
        # `endpoint_name` is the endpoint's output (the job waits for the endpoint); `endpoint_fixed_name` the same
        # name as a plain value, which names the capture and report prefixes.
        model: str,
        region: str,
        partition: str,
        models_bucket_name: pulumi.Input[str],
        artifact_grants: GrantSource,
        reports_kms_key_arn: pulumi.Input[str],
        volume_kms_key_arn: pulumi.Input[str],
        permissions_boundary: pulumi.Input[str],
        private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        vpc_id: pulumi.Input[str],
        s3_prefix_list_id: pulumi.Input[str],
        endpoint_security_group_id: pulumi.Input[str] | None,
        alert_topic_arn: pulumi.Input[str],
        runbook: str,
        allowed_instance_types: Sequence[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlplatform:monitoring:DataQualityMonitor", name, None, opts)
        problem = sm.instance_type_problem(settings.instance_type, allowed_instance_types)
        if problem:
            raise ValueError(f"DataQualityMonitor {name}: instance_type {settings.instance_type!r}: {problem}")
        image = monitor_image(region)
        child = pulumi.ResourceOptions(parent=self)
        baseline_prefix = f"{model}/{settings.baseline_prefix}"
        report_prefix = f"{model}/{REPORTS_PREFIX}/{endpoint_fixed_name}/"

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=vpc_id,
            description=f"Model Monitor of {endpoint_fixed_name}: egress to S3 and the VPC endpoints only",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to S3 through the gateway endpoint (captured data, baseline, reports)",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    prefix_list_ids=[s3_prefix_list_id],
                ),
                *(
                    [
                        aws.ec2.SecurityGroupEgressArgs(
                            description="HTTPS to the VPC interface endpoints",
                            protocol="tcp",
                            from_port=443,
                            to_port=443,
                            security_groups=[endpoint_security_group_id],
                        )
                    ]
                    if endpoint_security_group_id is not None
                    else []
                ),
            ],
            opts=child,
        )
        network = pulumi.Output.all(self.security_group.arn, private_subnet_ids, vpc_id).apply(
            lambda v: _network(v[0], v[1], v[2])
        )
        capture_read = artifact_grants.grant_statements("data-capture", "read", prefix=f"{endpoint_fixed_name}/")
        baseline_read = artifact_grants.grant_statements("models", "read", prefix=baseline_prefix)
        report_write = artifact_grants.grant_statements("models", "write", prefix=report_prefix)
        policy = pulumi.Output.all(capture_read, baseline_read, report_write, network).apply(
            lambda v: json.dumps(
                monitor_role_policy(
                    reads=[*v[0], *v[1]], writes=v[2], region=region, partition=partition, network=v[3]
                ),
                indent=2,
            )
        )
        self.execution_role = WorkloadRole(
            f"{name}-execution",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("sagemaker.amazonaws.com"),
                permissions_boundary=permissions_boundary,
                policies={"data-quality": policy},
                description=f"Model Monitor data-quality runs of endpoint {endpoint_fixed_name}",
            ),
            opts=child,
        )
        bucket = pulumi.Output.concat("s3://", models_bucket_name, "/")
        self.report_uri = pulumi.Output.concat(bucket, report_prefix)
        self.job_definition = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-job",
            data_quality_app_specification=aws.sagemaker.DataQualityJobDefinitionDataQualityAppSpecificationArgs(
                image_uri=image, environment={"publish_cloudwatch_metrics": "Enabled"}
            ),
            data_quality_baseline_config=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigArgs(
                constraints_resource=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigConstraintsResourceArgs(
                    s3_uri=pulumi.Output.concat(bucket, baseline_prefix, "constraints.json")
                ),
                statistics_resource=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigStatisticsResourceArgs(
                    s3_uri=pulumi.Output.concat(bucket, baseline_prefix, "statistics.json")
                ),
            ),
            # The endpoint's own capture configuration tells the job where its captured data is.
            data_quality_job_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputArgs(
                endpoint_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputEndpointInputArgs(
                    endpoint_name=endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigArgs(
                kms_key_id=reports_kms_key_arn,
                monitoring_outputs=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsArgs(
                    s3_output=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsS3OutputArgs(
                        s3_uri=self.report_uri, local_path="/opt/ml/processing/output", s3_upload_mode="EndOfJob"
                    )
                ),
            ),
            job_resources=aws.sagemaker.DataQualityJobDefinitionJobResourcesArgs(
                cluster_config=aws.sagemaker.DataQualityJobDefinitionJobResourcesClusterConfigArgs(
                    instance_count=1,
                    instance_type=settings.instance_type,
                    volume_size_in_gb=settings.volume_gib,
                    volume_kms_key_id=volume_kms_key_arn,
                )
            ),
            network_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigArgs(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigVpcConfigArgs(
                    subnets=private_subnet_ids, security_group_ids=[self.security_group.id]
                ),
            ),
            stopping_condition=aws.sagemaker.DataQualityJobDefinitionStoppingConditionArgs(
                max_runtime_in_seconds=settings.max_runtime_seconds
            ),
            role_arn=self.execution_role.arn,
            # SageMaker checks the role when the definition is created: wait for its policy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.execution_role]),
        )
        self.schedule = aws.sagemaker.MonitoringSchedule(
            f"{name}-schedule",
            monitoring_schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigArgs(
                monitoring_type="DataQuality",
                monitoring_job_definition_name=self.job_definition.name,
                schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigScheduleConfigArgs(
                    schedule_expression=settings.schedule
                ),
            ),
            opts=child,
        )
        self.violation_rule = aws.cloudwatch.EventRule(
            f"{name}-violations",
            name=pulumi.Output.concat(endpoint_name, "-data-quality-violations"),
            description=f"Model Monitor runs on {endpoint_fixed_name} that found data-quality violations",
            event_pattern=self.schedule.arn.apply(lambda arn: json.dumps(violation_event_pattern(arn))),
            opts=child,
        )
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-violations",
            name=pulumi.Output.concat(endpoint_name, "-data-quality-violations"),
            alarm_description=f"{endpoint_fixed_name}: a Model Monitor run found data-quality violations against the "
            f"baseline (drift). Report under {REPORTS_PREFIX}/{endpoint_fixed_name}/ of the models bucket. Runbook: {runbook}",
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions={"RuleName": self.violation_rule.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            alarm_actions=[alert_topic_arn],
            opts=child,
        )
        self.schedule_name = self.schedule.name
        self.alarm_name = self.alarm.name
        self.alarm_arn = self.alarm.arn
        self.register_outputs(
            {"schedule_name": self.schedule_name, "alarm_name": self.alarm_name, "report_uri": self.report_uri}
        )


def monitor_role_policy(
    *,
    reads: Sequence[dict[str, Any]],
    writes: Sequence[dict[str, Any]],
    region: str,
    partition: str,
    network: dict[str, Any],
) -> dict[str, Any]:
    """The monitor's execution role: the serving role's shape (pure; a golden file renders it) with the capture
    prefix and baseline read, the report prefix written, AWS's analyzer image, the processing-job logs, and the
    data-quality metrics namespace."""
    account = MODEL_MONITOR_ACCOUNTS[region]
    return sm.execution_role_policy(
        model_read=reads,
        capture_write=writes,
        repository_arn=f"arn:{partition}:ecr:{region}:{account}:repository/{MODEL_MONITOR_REPOSITORY}",
        log_group_arn=network["log_group_arn"],
        network=network,
        metrics_namespace=DATA_METRICS_NAMESPACE,
    )


def _network(security_group_arn: str, subnet_ids: Sequence[str], vpc_id: str) -> dict[str, Any]:
    """The endpoint's ENI statement ARNs, plus the processing-job log group in the same account and region."""
    logs_head = security_group_arn.split(":security-group/")[0].replace(":ec2:", ":logs:", 1)
    return {
        **_network_resources(security_group_arn, subnet_ids, vpc_id),
        "log_group_arn": f"{logs_head}:log-group:{PROCESSING_LOG_GROUP}",
    }
