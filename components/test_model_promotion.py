"""Promotion by approval: the approval pattern against a recorded SageMaker event (matched by moto's EventBridge
pattern engine), the request GitHub receives, the target role's policy (golden file) and what the component renders.

Regenerate the golden policy with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_model_promotion.py`.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from components.model_promotion import (
    EVENT_TYPE,
    EVENTBRIDGE_KMS_TAG,
    ModelPromotion,
    approval_pattern,
    dispatch_template,
    dispatch_url,
)
from preflight.model import StackResult
from preflight.scanners.iam_lint import _parliament
from preflight.testing import assert_golden, render

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "events"
GROUP = "ml-platform-staging-churn-classifier"
BOUNDARY = "arn:aws:iam::123456789012:policy/ml-platform-boundary"
TOPIC = "arn:aws:sns:us-west-2:123456789012:ml-platform-staging-alerts"


def approved_event() -> dict[str, Any]:
    return json.loads((SAMPLE / "sagemaker-model-package-state-change-approved.json").read_text())


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_pattern_matches_an_approval_in_the_stacks_group():
    assert matches(approval_pattern(GROUP), approved_event())


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_pattern_ignores_versions_that_are_not_approved(status):
    event = approved_event()
    event["detail"]["ModelApprovalStatus"] = status
    assert not matches(approval_pattern(GROUP), event)


def test_pattern_ignores_another_stacks_group():
    event = approved_event()
    event["detail"]["ModelPackageGroupName"] = "ml-platform-prod-churn-classifier"
    assert not matches(approval_pattern(GROUP), event)


def test_pattern_ignores_other_sources_claiming_the_same_detail():
    event = copy.deepcopy(approved_event())
    event["source"] = "custom.sagemaker"
    assert not matches(approval_pattern(GROUP), event)


def fill(template: str, event: dict[str, Any]) -> dict[str, Any]:
    """What EventBridge's input transformer does with `<version>` (a number, substituted as is)."""
    return json.loads(re.sub(r"<version>", json.dumps(event["detail"]["ModelPackageVersion"]), template))


def test_dispatch_body_is_a_repository_dispatch_naming_stack_model_and_version():
    body = fill(dispatch_template("staging", "churn-classifier"), approved_event())
    assert body == {
        "event_type": EVENT_TYPE,
        "client_payload": {"stack": "staging", "model": "churn-classifier", "version": 4},
    }


def test_fails_when_the_repository_is_not_owner_slash_name():
    assert dispatch_url("example-org/ml-platform") == "https://api.github.com/repos/example-org/ml-platform/dispatches"
    with pytest.raises(ValueError, match=r"repository 'https://github.com/x' must be `owner/name`"):
        dispatch_url("https://github.com/x")


@cache
def rendered() -> StackResult:
    def program() -> None:
        ModelPromotion(
            "promotion",
            stack="staging",
            name_prefix="ml-platform-staging",
            repository="example-org/ml-platform",
            group_names={"churn-classifier": GROUP},
            alert_topic_arn=TOPIC,
            permissions_boundary=BOUNDARY,
            partition="aws",
            region="us-west-2",
            account_id="123456789012",
        )

    return render(program, stack="staging", project="ml-platform")


def test_target_role_policy_matches_golden_file_and_passes_parliament():
    document = json.loads(rendered().one("aws:iam/rolePolicy:RolePolicy", "promotion-target-invoke").inputs["policy"])
    assert_golden("model_promotion_target_policy.json", document)
    assert _parliament().analyze_policy_string(json.dumps(document)).findings == []
    destination = rendered().one("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert document["Statement"][0]["Resource"] == destination.outputs["arn"]


def test_target_role_carries_the_boundary_and_trusts_only_eventbridge_of_this_account():
    role = rendered().one("aws:iam/role:Role").inputs
    assert role["permissionsBoundary"] == BOUNDARY
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_rule_sends_the_approval_to_githubs_dispatches_endpoint():
    rule = rendered().one("aws:cloudwatch/eventRule:EventRule").inputs
    assert json.loads(rule["eventPattern"]) == approval_pattern(GROUP)
    target = rendered().one("aws:cloudwatch/eventTarget:EventTarget").inputs
    destination = rendered().one("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert target["arn"] == destination.outputs["arn"]
    assert target["inputTransformer"]["inputPaths"] == {"version": "$.detail.ModelPackageVersion"}
    assert destination.inputs["invocationEndpoint"] == "https://api.github.com/repos/example-org/ml-platform/dispatches"
    assert destination.inputs["httpMethod"] == "POST"


def test_token_is_encrypted_with_a_tagged_rotating_key_and_never_managed_by_the_program():
    connection = rendered().one("aws:cloudwatch/eventConnection:EventConnection")
    key = rendered().one("aws:kms/key:Key")
    assert connection.inputs["kmsKeyIdentifier"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True and key.inputs["tags"] == EVENTBRIDGE_KMS_TAG
    assert connection.options["ignoreChanges"] == ["authParameters"]
    assert connection.inputs["authParameters"]["apiKey"]["value"] == "[secret]"


def test_a_failed_dispatch_alarms_the_stacks_alert_topic():
    alarm = rendered().one("aws:cloudwatch/metricAlarm:MetricAlarm").inputs
    assert (alarm["namespace"], alarm["metricName"], alarm["threshold"]) == ("AWS/Events", "FailedInvocations", 0)
    assert alarm["alarmActions"] == [TOPIC]
    assert alarm["dimensions"] == {"RuleName": rendered().one("aws:cloudwatch/eventRule:EventRule").outputs["name"]}


def test_the_failure_alarm_links_its_runbook():
    description = rendered().one("aws:cloudwatch/metricAlarm:MetricAlarm").inputs["alarmDescription"]
    assert description.endswith("Runbook: docs/runbooks/model-promotion.md")
