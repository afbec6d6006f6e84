"""Promotion by approval, as a pull request: an approved model version becomes a `repository_dispatch` to GitHub.

When a version in one of this stack's registry groups turns `Approved` (SageMaker's "Model Package State Change"
event), an EventBridge rule — one per model — sends `{"event_type": "model-package-approved", "client_payload":
{"stack", "model", "version"}}` to GitHub's dispatches API through an API destination. The workflow
`.github/workflows/promote-model.yml` then opens a pull request bumping `modelPackage` in `Pulumi.<stack>.yaml`, so
the change gets preflight, the policy pack and a preview like any other, and merging deploys it blue/green.

The GitHub token lives only in the EventBridge connection's Secrets Manager secret, encrypted with a key of its
own: the program creates the connection with a marker value and never reads it back (`ignore_changes`), and an
administrator sets the real token once with `aws events update-connection` (docs/mlops.md), so the token is in
neither the repository nor the Pulumi state. Until then, and whenever GitHub refuses a call, the failed-invocation
alarm notifies the stack's alert topic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import field_validator

from components.kms_policies import AwsContext, admin_statement
from components.settings import Section
from components.workload_role import WorkloadRole, WorkloadRoleArgs

EVENT_TYPE = "model-package-approved"
"""The `repository_dispatch` type the promotion workflow listens for."""
DETAIL_TYPE = "SageMaker Model Package State Change"
TOKEN_MARKER = "Bearer token-not-set-run-aws-events-update-connection"
"""The connection's initial API key value: GitHub answers 401 to it, which the failed-invocation alarm reports."""
EVENTBRIDGE_KMS_TAG = {"EventBridgeApiDestinations": "true"}
"""EventBridge uses a customer managed key for a connection only when the key carries this tag (AWS's rule)."""


class ModelPromotionSettings(Section):
    """`ml-platform:modelPromotion`: when a version approved in prod's registry may reach prod."""

    staging_bake_hours: int = 24
    """Hours the staging endpoints must have served the matching staging version — InService, not rolled back,
    still `Approved` — before `promote-prod.yml` opens the prod pull request. Read from the prod stack file."""

    @field_validator("staging_bake_hours")
    @classmethod
    def _bake(cls, value: int) -> int:
        if not 1 <= value <= 720:
            raise ValueError("must be between 1 and 720 hours (30 days)")
        return value


_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def dispatch_url(repository: str) -> str:
    """GitHub's `repository_dispatch` endpoint for `owner/name`; ValueError for anything else."""
    if not _REPOSITORY.match(repository):
        raise ValueError(f"repository {repository!r} must be `owner/name` (a GitHub repository)")
    return f"https://api.github.com/repos/{repository}/dispatches"


def approval_pattern(group_name: str) -> dict[str, Any]:
    """The EventBridge pattern of one group's versions turning Approved (not created, rejected or pending)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": [group_name], "ModelApprovalStatus": ["Approved"]},
    }


def dispatch_template(stack: str, model: str) -> str:
    """The request body EventBridge sends GitHub; `<version>` is the approved version (a number, unquoted)."""
    # EventBridge substitutes `<version>` textually, so the template is JSON only once it is filled in.
    return (
        f'{{"event_type": "{EVENT_TYPE}", "client_payload": '
        f'{{"stack": "{stack}", "model": "{model}", "version": <version>}}}}'
    )


def target_trust(account_id: str) -> dict[str, Any]:
    """EventBridge may assume the role, only for rules of this account (confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def target_policy(api_destination_arn: str) -> dict[str, Any]:
    """The rules may call this one API destination, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeTheDispatchDestination",
                "Effect": "Allow",
                "Action": "events:InvokeApiDestination",
                "Resource": api_destination_arn,
            }
        ],
    }


class ModelPromotion(pulumi.ComponentResource):
    """Approved versions of this stack's models become promotion pull requests.

    Creates: a KMS key for the connection's secret, the `EventConnection` (API key), the `EventApiDestination`
    (GitHub dispatches), the target role (`WorkloadRole`), and per model an `EventRule`, its `EventTarget` and a
    `MetricAlarm` on failed invocations."""

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        name_prefix: str,
        repository: str,
        group_names: Mapping[str, pulumi.Input[str]],
        alert_topic_arn: pulumi.Input[str],
        permissions_boundary: pulumi.Input[str],
        partition: str,
        region: str,
        account_id: pulumi.Input[str],
        runbook: str = "docs/runbooks/model-promotion.md",
        key_deletion_window_days: int = 30,
        protect: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlplatform:mlops:ModelPromotion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        url = dispatch_url(repository)

        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{name_prefix}: the GitHub token of the model promotion connection",
            enable_key_rotation=True,
            deletion_window_in_days=key_deletion_window_days,
            policy=pulumi.Output.from_input(account_id).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [admin_statement(AwsContext(account_id=a, partition=partition, region=region))],
                    }
                )
            ),
            tags=EVENTBRIDGE_KMS_TAG,
            # Losing the key loses the connection's secret: protected and retained like the platform's keys.
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        self.connection = aws.cloudwatch.EventConnection(
            f"{name}-github",
            name=f"{name_prefix}-model-promotion",
            description=f"GitHub repository_dispatch for {repository} (token set out of band, docs/mlops.md)",
            authorization_type="API_KEY",
            auth_parameters=aws.cloudwatch.EventConnectionAuthParametersArgs(
                api_key=aws.cloudwatch.EventConnectionAuthParametersApiKeyArgs(
                    key="Authorization", value=pulumi.Output.secret(TOKEN_MARKER)
                ),
                invocation_http_parameters=aws.cloudwatch.EventConnectionAuthParametersInvocationHttpParametersArgs(
                    headers=[
                        aws.cloudwatch.EventConnectionAuthParametersInvocationHttpParametersHeaderArgs(
                            key="Accept", value="application/vnd.github+json", is_value_secret=False
                        ),
                        aws.cloudwatch.EventConnectionAuthParametersInvocationHttpParametersHeaderArgs(
                            key="X-GitHub-Api-Version", value="2022-11-28", is_value_secret=False
                        ),
                    ]
                ),
            ),
            kms_key_identifier=self.key.arn,
            # The real token is set with `aws events update-connection`; a deploy must never put the marker back.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["authParameters"]),
        )
        self.api_destination = aws.cloudwatch.EventApiDestination(
            f"{name}-dispatch",
            name=f"{name_prefix}-model-promotion",
            description=f"POST {url}",
            connection_arn=self.connection.arn,
            http_method="POST",
            invocation_endpoint=url,
            # Approvals are rare; one call a second is far above need and far below GitHub's limits.
            invocation_rate_limit_per_second=1,
            opts=child,
        )
        self.target_role = WorkloadRole(
            f"{name}-target",
            WorkloadRoleArgs(
                assume_role_policy=pulumi.Output.from_input(account_id).apply(
                    lambda a: json.dumps(target_trust(a), sort_keys=True)
                ),
                permissions_boundary=permissions_boundary,
                policies={"invoke": self.api_destination.arn.apply(lambda a: json.dumps(target_policy(a)))},
                description=f"EventBridge calling GitHub for {name_prefix}'s model promotions",
            ),
            opts=child,
        )

        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        self.alarm_names: dict[str, pulumi.Output[str]] = {}
        for model, group in sorted(group_names.items()):
            rule = aws.cloudwatch.EventRule(
                f"{name}-{model}",
                name=f"{name_prefix}-{model}-approved",
                description=f"A version of {model} turned Approved: open its promotion pull request",
                event_pattern=pulumi.Output.from_input(group).apply(lambda g: json.dumps(approval_pattern(g))),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{model}",
                rule=rule.name,
                arn=self.api_destination.arn,
                role_arn=self.target_role.arn,
                input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                    input_paths={"version": "$.detail.ModelPackageVersion"},
                    input_template=dispatch_template(stack, model),
                ),
                # GitHub outages are short; a day of retries, then the alarm below is the record.
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=86400, maximum_retry_attempts=185
                ),
                opts=child,
            )
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{model}-failed",
                name=f"{name_prefix}-{model}-promotion-failed",
                alarm_description=(
                    f"An approval of {model} could not reach GitHub: no promotion pull request was opened "
                    f"(token not set or expired?). Runbook: {runbook}"
                ),
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions={"RuleName": rule.name},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[alert_topic_arn],
                opts=child,
            )
            self.rules[model] = rule
            self.alarm_names[model] = alarm.name
        self.connection_name = self.connection.name
        self.register_outputs({"connection_name": self.connection_name, "alarm_names": self.alarm_names})
