"""The state backend for ml-platform's stacks, run once by an administrator (then again to add CI roles).

Creates: a KMS key for the state bucket; an SSE-S3 access-log bucket; the state bucket (SSE-KMS with that key,
versioned, public access blocked, bucket owner enforced, TLS 1.2+ only, access-logged, old versions expired,
optionally under Object Lock); one secrets-provider KMS key per platform stack (`awskms://<alias>`); and, once a
stack's CI roles exist, bucket-policy and key-policy grants for exactly that stack's state paths and key.
See docs/delivery.md.
"""

from __future__ import annotations

import json
from functools import partial

import pulumi
import pulumi_aws as aws
from pydantic import ValidationError
from state_access import (
    BackendSettings,
    StackAccess,
    backend_url,
    secrets_alias,
    secrets_key_statements,
    stack_grants,
    state_key_statements,
)

from components.bucket_baseline import bucket_baseline
from components.bucket_policies import BucketPolicySpec, LogDelivery, bucket_policy
from components.kms_policies import AwsContext, admin_statement
from components.settings import FieldError

NAMESPACE = "ml-platform-bootstrap"
REQUIRED_TAGS = ("CostCenter", "Owner", "Project")


def _settings() -> tuple[BackendSettings, dict[str, str]]:
    config = pulumi.Config(NAMESPACE)
    stack_file = f"Pulumi.{pulumi.get_stack()}.yaml"
    tags = config.get_object("tags") or {}
    problems = [
        f"{stack_file}: {NAMESPACE}:tags.{key}: missing; every resource carries the cost-allocation tags"
        for key in REQUIRED_TAGS
        if not str(tags.get(key, "")).strip()
    ]
    try:
        settings = BackendSettings.model_validate(config.get_object("backend") or {})
    except ValidationError as exc:
        settings = None
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, FieldError):
                loc, message, value = ".".join(filter(None, [loc, cause.key])), cause.message, cause.value
            else:
                message, value = err["msg"].removeprefix("Value error, "), err.get("input")
            problems.append(f"{stack_file}: {NAMESPACE}:backend.{loc} = {value!r}: {message}".replace(".  =", " ="))
    if not aws.config.region:
        problems.append(
            f"{stack_file}: aws:region: missing; set the backend's region (`pulumi config set aws:region ...`)"
        )
    if problems or settings is None:
        raise pulumi.RunError("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in problems))
    return settings, {**{k: str(v) for k, v in tags.items()}, "Environment": "shared"}


settings, tags = _settings()
region: str = aws.config.region
provider = aws.Provider("aws", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
# Everything here is the platform's memory: protected, and retained if this stack is ever destroyed.
keep = pulumi.ResourceOptions(providers={"aws": provider}, protect=True, retain_on_delete=True)
invoke = pulumi.InvokeOutputOptions(provider=provider)
identity = aws.get_caller_identity_output(opts=invoke)
partition = aws.get_partition_output(opts=invoke)
context = pulumi.Output.all(identity.account_id, partition.partition).apply(
    lambda v: AwsContext(account_id=v[0], partition=v[1], region=region)
)

# -- the access-log bucket (SSE-S3: server access log delivery writes nowhere else) ---------------------------
logs_bucket = aws.s3.Bucket("state-access-logs", tags={"Purpose": "state-access-logs"}, opts=keep)
state_bucket = aws.s3.Bucket(
    "state",
    object_lock_enabled=settings.object_lock_days is not None,
    tags={"Purpose": "pulumi-state"},
    opts=keep,
)


# -- the state key and bucket ----------------------------------------------------------------------------------
state_key = aws.kms.Key(
    "state",
    description="ml-platform Pulumi state bucket (SSE-KMS)",
    enable_key_rotation=True,
    rotation_period_in_days=365,
    deletion_window_in_days=settings.key_deletion_window_days,
    policy=pulumi.Output.all(context, state_bucket.arn).apply(
        lambda v: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    admin_statement(v[0]),
                    *state_key_statements(
                        bucket_arn=v[1], region=region, stacks=settings.stacks, dns_suffix=v[0].dns_suffix
                    ),
                ],
            },
            indent=2,
        )
    ),
    opts=keep,
)
aws.kms.Alias("state", name=f"alias/{settings.project}/pulumi-state", target_key_id=state_key.key_id, opts=keep)

everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs()
logs_baseline = bucket_baseline("state-access-logs", logs_bucket, kms_key_arn=None, versioning=True, opts=keep)
aws.s3.BucketLifecycleConfiguration(
    "state-access-logs-lifecycle",
    bucket=logs_bucket.id,
    rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-access-logs",
            status="Enabled",
            filter=everything,
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=settings.access_log_retention_days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=30
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
        )
    ],
    opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=logs_baseline.versioning_settled)),
)
state_baseline = bucket_baseline("state", state_bucket, kms_key_arn=state_key.arn, versioning=True, opts=keep)
aws.s3.BucketLifecycleConfiguration(
    "state-lifecycle",
    bucket=state_bucket.id,
    rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-old-state-versions",
            status="Enabled",
            filter=everything,
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=settings.noncurrent_version_expiry_days
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
        )
    ],
    opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=state_baseline.versioning_settled)),
)
aws.s3.BucketLogging(
    "state-logging", bucket=state_bucket.id, target_bucket=logs_bucket.id, target_prefix="state/", opts=keep
)
if settings.object_lock_days is not None:
    aws.s3.BucketObjectLockConfiguration(
        "state-object-lock",
        bucket=state_bucket.id,
        object_lock_enabled="Enabled",
        rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
            default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                mode="GOVERNANCE", days=settings.object_lock_days
            )
        ),
        opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=state_baseline.versioning_settled)),
    )

# After the public access blocks (S3 rejects concurrent changes to a policy and its block).
# TLS 1.2+ only and SSE-KMS with this key only (the platform's own bucket-policy builder), plus each stack's grants.
aws.s3.BucketPolicy(
    "state",
    bucket=state_bucket.id,
    policy=pulumi.Output.all(state_bucket.arn, state_key.arn).apply(
        lambda v: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": bucket_policy(BucketPolicySpec(bucket_arn=v[0], kms_key_arn=v[1]))["Statement"]
                + [
                    s
                    for stack, access in sorted(settings.stacks.items())
                    for s in stack_grants(v[0], settings.project, stack, access)
                ],
            },
            indent=2,
        )
    ),
    opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[state_baseline.public_access])),
)
aws.s3.BucketPolicy(
    "state-access-logs",
    bucket=logs_bucket.id,
    policy=pulumi.Output.all(logs_bucket.arn, state_bucket.arn, identity.account_id).apply(
        lambda v: json.dumps(
            bucket_policy(
                BucketPolicySpec(
                    bucket_arn=v[0],
                    kms_key_arn=None,
                    log_delivery=LogDelivery(account_id=v[2], source_bucket_arns=[v[1]]),
                )
            ),
            indent=2,
        )
    ),
    opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[logs_baseline.public_access])),
)


# -- one secrets-provider key per stack ----------------------------------------------------------------------------
def secrets_key_policy(ctx: AwsContext, access: StackAccess) -> str:
    """A stack's secrets-provider key policy: the administrators, and what that stack's CI roles may do."""
    statements = [admin_statement(ctx), *secrets_key_statements(access)]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


secrets_providers: dict[str, str] = {}
for stack, access in sorted(settings.stacks.items()):
    key = aws.kms.Key(
        f"secrets-{stack}",
        description=f"ml-platform {stack}: Pulumi secrets provider (the stack's data key)",
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=settings.key_deletion_window_days,
        policy=context.apply(partial(secrets_key_policy, access=access)),
        opts=keep,
    )
    alias = secrets_alias(settings.project, stack)
    aws.kms.Alias(f"secrets-{stack}", name=alias, target_key_id=key.key_id, opts=keep)
    # The alias carries no region: the CLI resolves it in AWS_REGION, which the workflows set from the stack file.
    secrets_providers[stack] = f"awskms://{alias}?region={region}"

pulumi.export("stateBucket", state_bucket.bucket)
pulumi.export("stateKeyArn", state_key.arn)
pulumi.export(
    "backendUrl", pulumi.Output.all(state_bucket.bucket, state_key.arn).apply(lambda v: backend_url(v[0], region, v[1]))
)
pulumi.export("secretsProviders", secrets_providers)
pulumi.export("accessLogBucket", logs_bucket.bucket)
