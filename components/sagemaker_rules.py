"""SageMaker facts the endpoint config and component check against: one place, derived from AWS's own data.

Instance types, serverless limits, name rules and deployment ranges come from the SageMaker service model that
ships with botocore (no network). What the service model does not say (GPU counts, which instances have local
NVMe storage) is in `components/facts`; vCPU counts follow the size convention below.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from components import facts

SERVERLESS_MEMORY_STEP_MB = 1024
"""AWS documents serverless memory "in 1 GB increments"; botocore only carries the min and max."""

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
"""SageMaker's rule for endpoint, variant and model package group names: alphanumerics and hyphens, ≤ 63."""

MAX_NAME_LENGTH = 63


@lru_cache(maxsize=1)
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _limits(shape: str) -> tuple[int, int | None]:
    meta = _service_model().shape_for(shape).metadata
    return int(meta.get("min", 0)), (int(meta["max"]) if "max" in meta else None)


@lru_cache(maxsize=1)
def instance_types() -> frozenset[str]:
    """Every instance type a SageMaker real-time production variant accepts (`ProductionVariantInstanceType`)."""
    return frozenset(_service_model().shape_for("ProductionVariantInstanceType").enum)


@lru_cache(maxsize=1)
def serverless_memory_sizes_mb() -> tuple[int, ...]:
    low, high = _limits("ServerlessMemorySizeInMB")
    assert high is not None
    return tuple(range(low, high + 1, SERVERLESS_MEMORY_STEP_MB))


@lru_cache(maxsize=1)
def serverless_concurrency_range() -> tuple[int, int]:
    low, high = _limits("ServerlessMaxConcurrency")
    assert high is not None
    return low, high


@lru_cache(maxsize=1)
def wait_interval_range() -> tuple[int, int]:
    low, high = _limits("WaitIntervalInSeconds")
    return low, high or 3600


@lru_cache(maxsize=1)
def termination_wait_range() -> tuple[int, int]:
    low, high = _limits("TerminationWaitInSeconds")
    return low, high or 3600


@lru_cache(maxsize=1)
def max_execution_timeout_range() -> tuple[int, int]:
    low, high = _limits("MaximumExecutionTimeoutInSeconds")
    return low, high or 28800


# GPU counts and local-NVMe families come from `components/facts`. SageMaker's GPUUtilization metric is the sum
# over the instance's GPUs (0-100% each), so an alarm on "90% busy" needs the count to set its threshold. Neuron
# (inf*, trn*) and Gaudi (dl1) accelerators do not publish GPUUtilization; they get the CPU alarm only.

_SIZE = re.compile(r"^(\d*)xlarge$")


def family(instance_type: str) -> str:
    """`ml.g5.2xlarge` -> `g5`."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else ""


def gpu_families() -> list[str]:
    """GPU families SageMaker offers for real-time endpoints."""
    offered = {family(t) for t in instance_types()}
    return [f for f in facts.FACTS.gpu_families if f in offered]


def is_gpu(instance_type: str) -> bool:
    return facts.is_gpu(instance_type)


def gpu_count(instance_type: str) -> int:
    """GPUs on one instance; 0 for CPU, Neuron and Gaudi types. KeyError for a GPU type not in the table."""
    count = facts.gpu_count(instance_type)
    if count is None:
        raise KeyError(instance_type)
    return count


def vcpu_count(instance_type: str) -> int:
    """vCPUs on one instance, from the EC2 size convention (xlarge = 4, Nxlarge = 4N, large = 2, medium = 1).

    SageMaker's CPUUtilization is the sum over vCPUs (0-100% each), so the CPU alarm threshold scales with it.
    """
    exceptions = {"ml.c4.8xlarge": 36}  # the one SageMaker type whose vCPUs break the size convention
    if instance_type in exceptions:
        return exceptions[instance_type]
    size = instance_type.rsplit(".", 1)[-1]
    if size == "large":
        return 2
    if size == "medium":
        return 2 if family(instance_type).startswith("t") else 1
    match = _SIZE.match(size)
    if not match:
        raise ValueError(f"cannot tell the vCPU count of {instance_type!r}")
    return 4 * int(match.group(1) or 1)


def has_local_storage(instance_type: str) -> bool:
    return facts.has_local_nvme(instance_type)


def allowlisted(instance_type: str, allowed: Sequence[str]) -> bool:
    """Whether an allowlist entry matches; entries may be wildcards (`ml.g5.*`), as in IAM conditions."""
    return any(fnmatch.fnmatchcase(instance_type, pattern) for pattern in allowed)


def instance_type_problem(instance_type: str, allowed: Sequence[str] | None = None) -> str | None:
    """Why an instance type cannot serve a production variant here, or None when it can."""
    if instance_type not in instance_types():
        close = sorted(t for t in instance_types() if family(t) == family(instance_type))
        hint = f" ({family(instance_type)} sizes: {', '.join(close)})" if close else ""
        if f"ml.{instance_type}" in instance_types():
            hint = f" (did you mean ml.{instance_type}?)"
        return f"not a SageMaker real-time instance type; expected an `ml.` type such as ml.m5.large{hint}"
    if facts.gpu_count(instance_type) is None:
        tabled = [f"ml.{t}" for t in facts.tabled_gpu_types(family(instance_type))]
        return (
            "a GPU type whose GPU count the platform does not know, so its GPU-utilisation alarm cannot be "
            f"scaled; use one of {', '.join(sorted(tabled)) or 'the tabled GPU types'} "
            "or add it to gpusPerInstance in components/facts/aws.json"
        )
    # Allowlist entries may be patterns (`ml.g5.*`), as in the permission boundary's StringNotLike condition.
    if allowed is not None and not allowlisted(instance_type, allowed):
        return f"not in the stack's instance allowlist ({', '.join(sorted(allowed)) or 'empty'})"
    return None


def split_image(reference: str) -> tuple[str, str]:
    """`repo:tag` / `repo@sha256:...` -> (repository, ":tag" or "@sha256:..."). ValueError otherwise."""
    match = ECR_SHORT.match(reference)
    if not match:
        raise ValueError(f"not a short ECR image reference (repository:tag): {reference!r}")
    repository = match.group("repository")
    return repository, reference[len(repository) :]


def ecr_repository_arn(image_uri: str, *, partition: str) -> str:
    """The repository ARN of a full private ECR image URI."""
    match = ECR_URI.match(image_uri)
    if not match:
        raise ValueError(f"not a private ECR image URI: {image_uri!r}")
    return (
        f"arn:{partition}:ecr:{match.group('region')}:{match.group('account')}:repository/{match.group('repository')}"
    )


_REPO = r"(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
_TAG = r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})"
ECR_SHORT = re.compile(rf"^{_REPO}{_TAG}$")
ECR_URI = re.compile(
    rf"^(?P<account>\d{{12}})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/{_REPO}{_TAG}$"
)


def execution_role_policy(
    *,
    model_read: Sequence[dict[str, Any]],
    capture_write: Sequence[dict[str, Any]],
    repository_arn: str,
    log_group_arn: str,
    network: dict[str, Any] | None,
    metrics_namespace: str = "/aws/sagemaker/Endpoints",
) -> dict[str, Any]:
    """The SageMaker execution role's one inline policy, as a document. Pure: the golden file renders it.

    `model_read`/`capture_write` are the artifact store's grant statements for the model's prefix and the
    endpoint's data-capture prefix (S3 + each bucket's key, which is also the key data capture encrypts with). `network` (`subnet_arns`, `security_group_arn`,
    `network_interface_arn`, `vpc_arn`) is given when the model runs in the VPC: SageMaker creates the ENIs
    with the execution role, so it needs those EC2 actions — on those subnets and that group only.
    `metrics_namespace` is the one CloudWatch namespace it may publish to (a Model Monitor job publishes its
    data-quality metrics to another one).
    """
    statements: list[dict[str, Any]] = [*model_read, *capture_write]
    statements += [
        {
            "Sid": "PullServingImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": repository_arn,
        },
        {
            # GetAuthorizationToken has no resource-level permissions: AWS only accepts "*" here.
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "WriteEndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
        },
        {
            # The hosting agent publishes the instance metrics (CPU, memory, GPU, disk) the scaling alarms watch
            # with this role; PutMetricData has no resources, so the namespace condition is the scope.
            "Sid": "PublishInstanceMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
        },
    ]
    if network:
        statements += [
            {
                # Describe* calls have no resource-level permissions; they only read.
                "Sid": "DescribeVpcForEnis",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                "Resource": "*",
            },
            {
                "Sid": "CreateEnisInPrivateSubnets",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [*network["subnet_arns"], network["security_group_arn"], network["network_interface_arn"]],
            },
            {
                "Sid": "ManageOwnEnis",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                "Resource": network["network_interface_arn"],
                "Condition": {"ArnEquals": {"ec2:Vpc": network["vpc_arn"]}},
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def bucket_grant_statements(
    *, bucket_arn: str, key_arn: str, access: str, prefix: str = "", sid: str = ""
) -> list[dict[str, Any]]:
    """S3 + KMS statements for one bucket prefix: the shape `ArtifactStore.grant_statements` returns.

    Used when the endpoint is given bucket ARNs and a key ARN instead of the store (see `BucketGrants`).
    """
    if access not in ("read", "write", "read_write"):
        raise ValueError(f"access must be read, write or read_write, not {access!r}")
    objects = f"{bucket_arn}/{prefix}*"
    s3_actions: list[str] = []
    kms_actions: list[str] = []
    if access in ("read", "read_write"):
        s3_actions += ["s3:GetObject", "s3:GetObjectVersion"]
        kms_actions += ["kms:Decrypt"]
    if access in ("write", "read_write"):
        s3_actions += ["s3:AbortMultipartUpload", "s3:PutObject"]
        kms_actions += ["kms:Decrypt", "kms:GenerateDataKey"]  # Decrypt: multipart uploads read back data keys
    label = sid or re.sub(r"[^A-Za-z0-9]", "", prefix.title()) or "Bucket"
    statements: list[dict[str, Any]] = [
        {"Sid": f"{label}Objects", "Effect": "Allow", "Action": sorted(set(s3_actions)), "Resource": objects},
        {
            "Sid": f"{label}List",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {
            "Sid": f"{label}Key",
            "Effect": "Allow",
            "Action": sorted(set(kms_actions)),
            "Resource": key_arn,
        },
    ]
    return statements


def traffic_step_problem(shift: str, unit: str, value: int, fleet: int) -> str | None:
    """Why a blue/green step does not fit the smallest fleet (`fleet` = the autoscaling floor), or None.

    AWS: a canary is at most 50% of the variant's instances; linear steps are 10-50%.
    """
    if shift == "canary":
        if unit == "instances" and value * 2 > fleet:
            return (
                f"a canary of {value} instance(s) is larger than half the smallest fleet (minCount {fleet}); "
                "SageMaker allows at most 50% — raise minCount or use trafficShift: all-at-once"
            )
        if unit == "percent" and not 1 <= value <= 50:
            return f"a canary of {value}% is larger than SageMaker's limit of 50% of the fleet"
    if shift == "linear":
        if unit == "percent" and not 10 <= value <= 50:
            return f"linear steps of {value}% are outside SageMaker's 10-50% of the fleet"
        if unit == "instances" and not (value * 10 >= fleet and value * 2 <= fleet):
            return f"linear steps of {value} instance(s) are outside 10-50% of the smallest fleet (minCount {fleet})"
    return None


NO_GUARDRAILS_FAMILIES = frozenset({"inf1"})
"""Instance families on which SageMaker ignores the traffic routing and deploys all at once with no final baking
(AWS: deployment guardrails exclusions)."""


def guardrails_problem(instance_type: str, shift: str) -> str | None:
    """Why a stepped blue/green shift would not happen on this instance type, or None."""
    if shift != "all-at-once" and family(instance_type) in NO_GUARDRAILS_FAMILIES:
        return (
            f"SageMaker does not shift traffic in steps on {family(instance_type)} instances (it falls back to all at "
            f"once with no final baking, so the {shift} would silently not happen); set trafficShift: all-at-once"
        )
    return None


def traffic_steps(shift: str, unit: str, value: int, largest_fleet: int) -> int:
    """How many bake periods (`WaitIntervalInSeconds`) a blue/green deployment can wait through: one after the
    canary or the single shift, one per linear step — counted on the largest fleet (`maxCount`), the worst case."""
    if shift != "linear":
        return 1
    whole = 100 if unit == "percent" else largest_fleet
    return -(-whole // max(value, 1))


def deployment_timeout_problem(
    *, shift: str, unit: str, value: int, largest_fleet: int, wait: int, termination: int, timeout: int
) -> str | None:
    """Why `MaximumExecutionTimeoutInSeconds` cannot cover the rollout, or None. AWS: the timeout must be larger
    than the total waiting time (the bake periods and the termination wait)."""
    steps = traffic_steps(shift, unit, value, largest_fleet)
    total = steps * wait + termination
    if timeout <= total:
        return (
            f"not larger than the rollout's waiting time ({steps} bake period(s) × waitIntervalSeconds {wait} + "
            f"terminationWaitSeconds {termination} = {total} s); the deployment would time out and roll back"
        )
    return None


class BucketGrants:
    """`grant_statements` from bucket ARNs and the store key's ARN, for when no `ArtifactStore` is at hand
    (a stack whose buckets come from elsewhere). Same statements shape as the store's."""

    def __init__(self, bucket_arns: Mapping[str, Any], key_arn: Any):
        self._bucket_arns = dict(bucket_arns)
        self._key_arn = key_arn

    def grant_statements(self, purpose: str, access: str, prefix: str = "") -> Any:
        import pulumi

        if purpose not in self._bucket_arns:
            raise ValueError(f"no bucket for purpose {purpose!r}; have {', '.join(sorted(self._bucket_arns))}")
        sid = "".join(part.title() for part in re.split(r"[^A-Za-z0-9]+", purpose)) + access.title().replace("_", "")
        return pulumi.Output.all(self._bucket_arns[purpose], self._key_arn).apply(
            lambda v: bucket_grant_statements(bucket_arn=v[0], key_arn=v[1], access=access, prefix=prefix, sid=sid)
        )
