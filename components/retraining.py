"""Scheduled retraining of one model: a SageMaker pipeline started by EventBridge Scheduler.

The pipeline trains on the model's dataset prefix, evaluates the result, and registers a new version in the
model's registry group — `PendingManualApproval`, with the evaluation report attached as model metrics — only
when the metric passes the threshold; otherwise it ends in a Fail step, so a regression is a failed execution
anyone can see. Approval stays a human act (docs/mlops.md): neither role here may approve a package.

Two roles, each through `WorkloadRole` (the stack's boundary): the *job* role the training and evaluation
containers run with (dataset read, output write under `<model>/retraining/`, trainer image pull, job logs, ENIs in
the private subnets), and the *pipeline* role SageMaker Pipelines runs steps with (create jobs that are isolated,
in the VPC and KMS-encrypted; pass only the job role; create only pending packages in this model's group). A third,
the *scheduler* role, may only start this pipeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from components import sagemaker_rules as sm
from components.bucket_policies import validate_prefix
from components.pipeline_definition import definition_problems
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs, service_trust

PIPELINE_DEFINITION_VERSION = "2020-12-01"
"""The only version of the SageMaker Pipelines definition format."""
JOB_NAME_PREFIX = "pipelines-"
"""SageMaker Pipelines names the jobs it starts `pipelines-<execution>-<step>-<hash>`: the IAM scope of the jobs."""
EVALUATION_REPORT = "evaluation.json"
"""What the evaluation step writes: `{"metrics": {"<metric>": {"value": <number>}}}` (docs/mlops.md)."""
CONTAINER_EVALUATION_DIR = "/opt/ml/processing/evaluation"
CONTAINER_MODEL_DIR = "/opt/ml/processing/model"
CONTAINER_TEST_DIR = "/opt/ml/processing/test"
JOB_LOG_GROUPS = ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs")
"""Fixed, account-wide log groups SageMaker writes job logs to."""
MAX_SCHEDULE_NAME = 64
TRAINER_IMAGE_KEY = "TrainerImage"
SERVING_IMAGE_KEY = "ServingImage"
"""Customer metadata each registered version carries: the stack file's image references (`repository:tag`, the same
in every stack; the registries' tags are immutable). Two stacks' versions with equal values were trained and are
served by the same code: what the prod promotion matches a baked staging version by (tools/promote_after_bake.py)."""

_CRON = re.compile(r"^cron\((?P<fields>[^)]+)\)$")
_RATE = re.compile(r"^rate\((?P<n>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)$")
_METRIC = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def schedule_problem(expression: str) -> str | None:
    """Why `expression` is not a recurring EventBridge Scheduler expression (`cron(6 fields)` / `rate(n unit)`)."""
    cron = _CRON.match(expression)
    if cron:
        fields = cron.group("fields").split()
        if len(fields) != 6:
            return f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        if "?" not in (fields[2], fields[4]):
            return "cron(): one of day-of-month or day-of-week must be '?'"
        return None
    rate = _RATE.match(expression)
    if rate:
        singular = rate.group("n") == "1"
        if singular != (not rate.group("unit").endswith("s")):
            return "rate(): use the singular unit for 1 (rate(1 day)) and the plural otherwise (rate(7 days))"
        return None
    return "must be a recurring schedule: cron(minutes hours day-of-month month day-of-week year) or rate(n unit)"


class RetrainingSettings(Section):
    """`endpoints.models.<model>.retraining`: a scheduled pipeline that trains, evaluates and registers."""

    dataset_prefix: str
    """Folder in the datasets bucket, e.g. `churn-classifier/training/`. Its `train/` and `test/` subfolders feed
    the training and evaluation jobs; the jobs may read nothing else."""
    trainer_image: str
    """Training image, ECR only (like the serving image): `repository:tag` in this stack's registries or a full
    private ECR URI. It trains with SageMaker's `train` contract and provides the evaluation entrypoint."""
    metric: str
    """Name of the metric in the evaluation report (`metrics.<metric>.value`), e.g. `auc`."""
    threshold: float
    """The bar a new version must meet to be registered (see `goal`)."""
    goal: Literal["maximize", "minimize"] = "maximize"
    """Default `maximize`: register when metric ≥ threshold. `minimize` (losses, errors): metric ≤ threshold."""
    schedule: str = "cron(0 3 ? * SUN *)"
    """EventBridge Scheduler expression. Default: weekly, Sunday 03:00 in `timezone`."""
    timezone: str = "UTC"
    """IANA time zone of `schedule`."""
    instance_type: str = "ml.m5.xlarge"
    """Training instance type (one instance); must be a SageMaker training type and in the stack's SageMaker
    instance allowlist (the boundary refuses others)."""
    evaluation_instance_type: str = "ml.m5.large"
    """Evaluation (processing job) instance type; same rules as `instanceType`."""
    volume_size_gb: int = 50
    """Encrypted ML storage volume of each job, in GB (1-16384)."""
    max_runtime_seconds: int = 86400
    """Stops a job after this long (default one day; at most SageMaker's 28 days)."""
    evaluation_entrypoint: list[str] = Field(default_factory=lambda: ["evaluate"])
    """Command the evaluation job runs in the trainer image. Default: an `evaluate` executable on its PATH, which
    reads the model from /opt/ml/processing/model and the test set from /opt/ml/processing/test and writes
    /opt/ml/processing/evaluation/evaluation.json."""
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    """Passed to the training job as SageMaker hyperparameters. Default: none."""

    @field_validator("dataset_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value:
            raise ValueError("must name a folder in the datasets bucket, e.g. churn-classifier/training/")
        validate_prefix(value)
        return value

    @field_validator("trainer_image")
    @classmethod
    def _image(cls, value: str) -> str:
        problem = sm.ecr_image_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if not _METRIC.match(value):
            raise ValueError("must be a metric name: a letter, then letters, digits or underscores (≤ 64)")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        problem = schedule_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        import zoneinfo

        if value not in zoneinfo.available_timezones():
            raise ValueError("not an IANA time zone (e.g. UTC, Europe/Berlin)")
        return value

    @field_validator("instance_type")
    @classmethod
    def _training_type(cls, value: str) -> str:
        if value not in sm.job_instance_types("training"):
            raise ValueError("not a SageMaker training instance type (e.g. ml.m5.xlarge, ml.g5.2xlarge)")
        return value

    @field_validator("evaluation_instance_type")
    @classmethod
    def _processing_type(cls, value: str) -> str:
        if value not in sm.job_instance_types("processing"):
            raise ValueError("not a SageMaker processing instance type (e.g. ml.m5.large)")
        return value

    @field_validator("volume_size_gb")
    @classmethod
    def _volume(cls, value: int) -> int:
        if not 1 <= value <= 16384:
            raise ValueError("must be between 1 and 16384 GB")
        return value

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtime(cls, value: int) -> int:
        if not 60 <= value <= 2_419_200:
            raise ValueError("must be between 60 seconds and 2419200 (28 days, SageMaker's limit)")
        return value

    @field_validator("evaluation_entrypoint")
    @classmethod
    def _entrypoint(cls, value: list[str]) -> list[str]:
        if not value or not all(part.strip() for part in value):
            raise ValueError("must be a non-empty command, e.g. [evaluate] or [python3, /opt/ml/code/evaluate.py]")
        return value


def names(prefix: str, model: str) -> dict[str, str]:
    """Pipeline and schedule names of a model's retraining; ValueError when the schedule name is too long."""
    base = f"{prefix}-{model}-retraining"
    if len(base) > MAX_SCHEDULE_NAME or not sm.NAME_PATTERN.match(base[:63]):
        raise ValueError(
            f"retraining name {base!r} is longer than {MAX_SCHEDULE_NAME} characters (EventBridge Scheduler's "
            "limit); shorten the model key"
        )
    return {"pipeline": base, "schedule": base}


# -- the pipeline definition (pure) ----------------------------------------------------------------------------


def _get(path: str) -> dict[str, str]:
    return {"Get": path}


def _join(*values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": "/", "Values": list(values)}}


def pipeline_definition(
    *,
    settings: RetrainingSettings,
    model: str,
    trainer_image_uri: str,
    serving_image_uri: str,
    serving_image: str,
    job_role_arn: str,
    datasets_bucket: str,
    models_bucket: str,
    output_kms_key_arn: str,
    volume_kms_key_arn: str,
    subnet_ids: Sequence[str],
    security_group_id: str,
    model_package_group_name: str,
) -> dict[str, Any]:
    """The SageMaker Pipelines definition (format version 2020-12-01): Train -> Evaluate -> CheckMetric ->
    Register (PendingManualApproval, metrics attached) or Fail. Step arguments are the service's own request
    shapes (CreateTrainingJob, CreateProcessingJob, CreateModelPackage) without the names SageMaker generates."""
    s = settings
    vpc = {"SecurityGroupIds": [security_group_id], "Subnets": list(subnet_ids)}
    dataset = f"s3://{datasets_bucket}/{s.dataset_prefix}"
    output = f"s3://{models_bucket}/{model}/retraining"
    evaluation_uri = _join(f"{output}/evaluation", _get("Execution.PipelineExecutionId"))
    model_artifacts = _get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    stopping = {"MaxRuntimeInSeconds": s.max_runtime_seconds}

    train = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": trainer_image_uri, "TrainingInputMode": "File"},
            "RoleArn": job_role_arn,
            "HyperParameters": dict(sorted(s.hyperparameters.items())),
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": _get("Parameters.TrainDataUri"),
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": output, "KmsKeyId": output_kms_key_arn},
            "ResourceConfig": {
                "InstanceType": s.instance_type,
                "InstanceCount": 1,
                "VolumeSizeInGB": s.volume_size_gb,
                "VolumeKmsKeyId": volume_kms_key_arn,
            },
            "StoppingCondition": stopping,
            "VpcConfig": vpc,
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
        },
    }
    evaluate = {
        "Name": "Evaluate",
        "Type": "Processing",
        "DependsOn": ["Train"],
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": s.evaluation_instance_type,
                    "VolumeSizeInGB": s.volume_size_gb,
                    "VolumeKmsKeyId": volume_kms_key_arn,
                }
            },
            "AppSpecification": {"ImageUri": trainer_image_uri, "ContainerEntrypoint": list(s.evaluation_entrypoint)},
            "RoleArn": job_role_arn,
            "ProcessingInputs": [
                {
                    "InputName": "model",
                    "S3Input": {
                        "S3Uri": model_artifacts,
                        "LocalPath": CONTAINER_MODEL_DIR,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                },
                {
                    "InputName": "test",
                    "S3Input": {
                        "S3Uri": _get("Parameters.TestDataUri"),
                        "LocalPath": CONTAINER_TEST_DIR,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                },
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "evaluation",
                        "S3Output": {
                            "S3Uri": evaluation_uri,
                            "LocalPath": CONTAINER_EVALUATION_DIR,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
                "KmsKeyId": output_kms_key_arn,
            },
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": vpc,
            },
            "StoppingCondition": stopping,
        },
        "PropertyFiles": [
            {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": EVALUATION_REPORT}
        ],
    }
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": model_package_group_name,
            "ModelPackageDescription": f"Scheduled retraining of {model}",
            "ModelApprovalStatus": "PendingManualApproval",
            "CustomerMetadataProperties": {TRAINER_IMAGE_KEY: s.trainer_image, SERVING_IMAGE_KEY: serving_image},
            "InferenceSpecification": {
                "Containers": [{"Image": serving_image_uri, "ModelDataUrl": model_artifacts}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": _join(
                            f"{output}/evaluation", _get("Execution.PipelineExecutionId"), EVALUATION_REPORT
                        ),
                    }
                }
            },
        },
    }
    fail = {
        "Name": "MetricBelowThreshold",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": (
                f"{s.metric} did not meet the threshold {s.threshold} ({s.goal}); no model version registered"
            )
        },
    }
    check = {
        "Name": "CheckMetric",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo" if s.goal == "maximize" else "LessThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": _get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
                            "Path": f"metrics.{s.metric}.value",
                        }
                    },
                    "RightValue": _get("Parameters.Threshold"),
                }
            ],
            "IfSteps": [register],
            "ElseSteps": [fail],
        },
    }
    return {
        "Version": PIPELINE_DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": "TrainDataUri", "Type": "String", "DefaultValue": f"{dataset}train/"},
            {"Name": "TestDataUri", "Type": "String", "DefaultValue": f"{dataset}test/"},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": float(s.threshold)},
        ],
        "Steps": [train, evaluate, check],
    }


# -- IAM documents (pure) -------------------------------------------------------------------------------------


def _arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def job_role_policy(
    *,
    dataset_read: Sequence[dict[str, Any]],
    output_read_write: Sequence[dict[str, Any]],
    trainer_repository_arn: str,
    volume_kms_key_arn: str,
    network: Mapping[str, Any],
    partition: str,
    region: str,
    account_id: str,
) -> dict[str, Any]:
    """What the training and evaluation containers run with: the artifact store's grants for the dataset prefix
    and the model's `retraining/` prefix (each with its bucket key), the trainer image, the job logs and metrics,
    the volume key (through SageMaker only) and ENIs in the private subnets."""
    log_groups = [_arn(partition, "logs", region, account_id, f"log-group:{g}") for g in JOB_LOG_GROUPS]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *dataset_read,
            *output_read_write,
            {
                "Sid": "PullTrainerImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": trainer_repository_arn,
            },
            {
                # GetAuthorizationToken has no resource-level permissions: AWS only accepts "*" here.
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                # SageMaker's job log groups are fixed and account-wide; the first job in an account creates them.
                "Sid": "WriteJobLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                "Resource": [*log_groups, *(f"{g}:log-stream:*" for g in log_groups)],
            },
            {
                # PutMetricData has no resources: the namespace condition is the scope.
                "Sid": "PublishJobMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": list(JOB_LOG_GROUPS)}},
            },
            {
                "Sid": "EncryptJobVolumes",
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                "Resource": volume_kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"sagemaker.{region}.amazonaws.com"}},
            },
            *sm.network_statements(network),
        ],
    }


def pipeline_role_policy(
    *,
    evaluation_read: Sequence[dict[str, Any]],
    job_role_arn: str,
    volume_kms_key_arn: str,
    model_package_group_name: str,
    partition: str,
    region: str,
    account_id: str,
) -> dict[str, Any]:
    """What SageMaker Pipelines runs the steps with: start and watch this pipeline's jobs — only isolated, in a
    VPC, with the volume key — pass them the job role, read the evaluation report (the condition step's JsonGet),
    and create versions in this model's group that are only ever `PendingManualApproval`."""
    jobs = [
        _arn(partition, "sagemaker", region, account_id, f"{kind}/{JOB_NAME_PREFIX}*")
        for kind in ("training-job", "processing-job")
    ]
    group = model_package_group_name
    return {
        "Version": "2012-10-17",
        "Statement": [
            *evaluation_read,
            {
                "Sid": "StartIsolatedJobsInTheVpc",
                "Effect": "Allow",
                "Action": ["sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob"],
                "Resource": jobs,
                "Condition": {
                    "Bool": {"sagemaker:NetworkIsolation": "true", "sagemaker:InterContainerTrafficEncryption": "true"},
                    "Null": {"sagemaker:VpcSubnets": "false"},
                    "ArnEquals": {"sagemaker:VolumeKmsKey": volume_kms_key_arn},
                },
            },
            {
                "Sid": "WatchAndStopJobs",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:AddTags",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:StopTrainingJob",
                ],
                "Resource": jobs,
            },
            {
                "Sid": "PassOnlyTheJobRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": job_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {
                # Maker-checker: the pipeline makes versions; only an approver may set them Approved.
                "Sid": "RegisterPendingVersionsOnly",
                "Effect": "Allow",
                "Action": "sagemaker:CreateModelPackage",
                "Resource": [
                    _arn(partition, "sagemaker", region, account_id, f"model-package-group/{group}"),
                    _arn(partition, "sagemaker", region, account_id, f"model-package/{group.lower()}/*"),
                ],
                "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
            },
        ],
    }


def scheduler_trust(account_id: str) -> dict[str, Any]:
    """EventBridge Scheduler may assume the role, only for schedules of this account (confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def scheduler_policy(pipeline_arn: str, schedule_kms_key_arn: str) -> dict[str, Any]:
    """The schedule may start this one pipeline, and read its own schedule (encrypted with the key), nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StartThisPipeline",
                "Effect": "Allow",
                "Action": "sagemaker:StartPipelineExecution",
                "Resource": pipeline_arn,
            },
            {
                # Scheduler decrypts the schedule's target settings with the execution role at each invocation.
                "Sid": "DecryptTheSchedule",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": schedule_kms_key_arn,
            },
        ],
    }


# -- the component ---------------------------------------------------------------------------------------------


class ArtifactGrants(Protocol):
    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> pulumi.Output[list[dict[str, Any]]]: ...


class RetrainingPipeline(pulumi.ComponentResource):
    """One model's scheduled retraining.

    Creates: a security group (egress 443 to the VPC endpoints and S3 only), the job role and the pipeline role
    (`WorkloadRole`), the `aws.sagemaker.Pipeline`, the scheduler role and the `aws.scheduler.Schedule`."""

    def __init__(
        self,
        name: str,
        settings: RetrainingSettings,
        *,
        model: str,
        name_prefix: str,
        schedule_enabled: bool,
        trainer_image_uri: pulumi.Input[str],
        trainer_repository_arn: pulumi.Input[str],
        serving_image_uri: pulumi.Input[str],
        serving_image: str,
        model_package_group_name: pulumi.Input[str],
        artifact_grants: ArtifactGrants,
        datasets_bucket_name: pulumi.Input[str],
        models_bucket_name: pulumi.Input[str],
        output_kms_key_arn: pulumi.Input[str],
        volume_kms_key_arn: pulumi.Input[str],
        vpc_id: pulumi.Input[str],
        private_subnet_ids: pulumi.Input[Sequence[str]],
        endpoint_security_group_id: pulumi.Input[str] | None,
        s3_prefix_list_id: pulumi.Input[str],
        permissions_boundary: pulumi.Input[str],
        partition: str,
        region: str,
        account_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlplatform:mlops:RetrainingPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        resource_names = names(name_prefix, model)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=vpc_id,
            description=f"Retraining jobs of {model}: egress to VPC endpoints and S3 only",
            egress=[
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
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to S3 through the gateway endpoint (datasets, model artifacts)",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    prefix_list_ids=[s3_prefix_list_id],
                ),
            ],
            tags={"Name": f"{resource_names['pipeline']}-jobs"},
            opts=child,
        )
        network = pulumi.Output.all(self.security_group.arn, private_subnet_ids, vpc_id).apply(
            lambda v: sm.network_resources(v[0], v[1], v[2])
        )
        output_prefix = f"{model}/retraining/"
        job_policy = pulumi.Output.all(
            artifact_grants.grant_statements("datasets", "read", prefix=settings.dataset_prefix),
            artifact_grants.grant_statements("models", "read_write", prefix=output_prefix),
            trainer_repository_arn,
            volume_kms_key_arn,
            network,
            account_id,
        ).apply(
            lambda v: json.dumps(
                job_role_policy(
                    dataset_read=v[0],
                    output_read_write=v[1],
                    trainer_repository_arn=v[2],
                    volume_kms_key_arn=v[3],
                    network=v[4],
                    partition=partition,
                    region=region,
                    account_id=v[5],
                )
            )
        )
        self.job_role = WorkloadRole(
            f"{name}-job",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("sagemaker.amazonaws.com"),
                permissions_boundary=permissions_boundary,
                policies={"retraining-jobs": job_policy},
                description=f"SageMaker training and evaluation jobs retraining {model}",
            ),
            opts=child,
        )
        pipeline_policy = pulumi.Output.all(
            artifact_grants.grant_statements("models", "read", prefix=f"{output_prefix}evaluation/"),
            self.job_role.arn,
            volume_kms_key_arn,
            model_package_group_name,
            account_id,
        ).apply(
            lambda v: json.dumps(
                pipeline_role_policy(
                    evaluation_read=v[0],
                    job_role_arn=v[1],
                    volume_kms_key_arn=v[2],
                    model_package_group_name=v[3],
                    partition=partition,
                    region=region,
                    account_id=v[4],
                )
            )
        )
        self.pipeline_role = WorkloadRole(
            f"{name}-pipeline",
            WorkloadRoleArgs(
                assume_role_policy=service_trust("sagemaker.amazonaws.com"),
                permissions_boundary=permissions_boundary,
                policies={"retraining-pipeline": pipeline_policy},
                description=f"SageMaker Pipelines execution role retraining {model}",
            ),
            opts=child,
        )

        definition = pulumi.Output.all(
            trainer_image_uri,
            serving_image_uri,
            self.job_role.arn,
            datasets_bucket_name,
            models_bucket_name,
            output_kms_key_arn,
            volume_kms_key_arn,
            private_subnet_ids,
            self.security_group.id,
            model_package_group_name,
        ).apply(
            lambda v: self._checked(
                pipeline_definition(
                    settings=settings,
                    model=model,
                    trainer_image_uri=v[0],
                    serving_image_uri=v[1],
                    serving_image=serving_image,
                    job_role_arn=v[2],
                    datasets_bucket=v[3],
                    models_bucket=v[4],
                    output_kms_key_arn=v[5],
                    volume_kms_key_arn=v[6],
                    subnet_ids=v[7],
                    security_group_id=v[8],
                    model_package_group_name=v[9],
                )
            )
        )
        self.pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=resource_names["pipeline"],
            pipeline_display_name=resource_names["pipeline"],
            pipeline_description=f"Scheduled retraining of {model}: train, evaluate, register if it passes",
            pipeline_definition=definition,
            role_arn=self.pipeline_role.arn,
            # SageMaker checks the role when the pipeline is created: wait for its policy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.pipeline_role]),
        )

        self.scheduler_role = WorkloadRole(
            f"{name}-scheduler",
            WorkloadRoleArgs(
                assume_role_policy=pulumi.Output.from_input(account_id).apply(
                    lambda a: json.dumps(scheduler_trust(a), sort_keys=True)
                ),
                permissions_boundary=permissions_boundary,
                policies={
                    "start-pipeline": pulumi.Output.all(self.pipeline.arn, volume_kms_key_arn).apply(
                        lambda v: json.dumps(scheduler_policy(v[0], v[1]))
                    )
                },
                description=f"EventBridge Scheduler starting the retraining of {model}",
            ),
            opts=child,
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=resource_names["schedule"],
            description=f"Retrains {model}: {settings.schedule} {settings.timezone}",
            schedule_expression=settings.schedule,
            schedule_expression_timezone=settings.timezone,
            # The SageMaker key (the jobs' volume key) also encrypts the schedule's target settings.
            kms_key_arn=volume_kms_key_arn,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            # Disabled, not absent, where the environment opts out (dev): the pipeline can still be started by hand.
            state="ENABLED" if schedule_enabled else "DISABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=self.pipeline.arn,
                role_arn=self.scheduler_role.arn,
                sagemaker_pipeline_parameters=aws.scheduler.ScheduleTargetSagemakerPipelineParametersArgs(
                    pipeline_parameters=[
                        aws.scheduler.ScheduleTargetSagemakerPipelineParametersPipelineParameterArgs(
                            name="Threshold", value=str(float(settings.threshold))
                        )
                    ]
                ),
                # A start that fails is retried for an hour, then dropped: the next schedule retrains anyway.
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.scheduler_role]),
        )
        self.pipeline_name = self.pipeline.pipeline_name
        self.pipeline_arn = self.pipeline.arn
        self.schedule_name = self.schedule.name
        self.register_outputs({"pipeline_arn": self.pipeline_arn, "schedule_name": self.schedule_name})

    def _checked(self, definition: dict[str, Any]) -> str:
        problems = definition_problems(definition)
        if problems:
            raise pulumi.RunError(f"{self._name}: invalid pipeline definition: " + "; ".join(problems))
        return json.dumps(definition, sort_keys=True)
