"""Each shipped stack renders the MLOps loop its environment asks for: retraining pipelines and their schedules."""

from __future__ import annotations

import json

import pytest

from components.pipeline_definition import definition_problems

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_stack_renders_a_valid_retraining_pipeline_into_its_registry_group(name, shipped_stack):
    result = shipped_stack(name)
    pipeline = result.one(PIPELINE)
    assert pipeline.inputs["pipelineName"] == f"ml-platform-{name}-churn-classifier-retraining"
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    assert definition_problems(definition) == []
    register = definition["Steps"][2]["Arguments"]["IfSteps"][0]["Arguments"]
    assert register["ModelPackageGroupName"] == f"ml-platform-{name}-churn-classifier"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert result.outputs["retraining"]["churn-classifier"]["pipelineName"] == pipeline.inputs["pipelineName"]


@pytest.mark.parametrize(("name", "state"), [("dev", "DISABLED"), ("staging", "ENABLED"), ("prod", "ENABLED")])
def test_retraining_runs_on_schedule_in_staging_and_prod_and_only_by_hand_in_dev(name, state, shipped_stack):
    result = shipped_stack(name)
    schedule = result.one(SCHEDULE).inputs
    assert schedule["state"] == state
    assert schedule["target"]["arn"] == result.one(PIPELINE).outputs["arn"]


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_retraining_roles_carry_the_permission_boundary(name, shipped_stack):
    result = shipped_stack(name)
    roles = [r for r in result.by_type(ROLE) if r.name.startswith("retraining-churn-classifier-")]
    assert len(roles) == 3
    assert all(r.inputs["permissionsBoundary"] == result.outputs["permissionBoundaryArn"] for r in roles)


def test_retraining_jobs_use_the_stacks_private_subnets_and_keys(shipped_stack):
    result = shipped_stack("prod")
    definition = json.loads(result.one(PIPELINE).inputs["pipelineDefinition"])
    train = definition["Steps"][0]["Arguments"]
    assert sorted(train["VpcConfig"]["Subnets"]) == sorted(result.outputs["subnetIdsByAz"]["private"].values())
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == result.outputs["keyArns"]["sagemaker"]
    assert train["OutputDataConfig"]["KmsKeyId"] == result.outputs["keyArns"]["artifacts"]
    group = result.one("aws:ec2/securityGroup:SecurityGroup", "retraining-churn-classifier-sg")
    assert train["VpcConfig"]["SecurityGroupIds"] == [group.id]
    assert {e["fromPort"] for e in group.inputs["egress"]} == {443}


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_turn_approvals_into_promotion_dispatches(name, shipped_stack):
    result = shipped_stack(name)
    rule = result.one("aws:cloudwatch/eventRule:EventRule", "promotion-churn-classifier")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"] == {
        "ModelPackageGroupName": [f"ml-platform-{name}-churn-classifier"],
        "ModelApprovalStatus": ["Approved"],
    }
    destination = result.one("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert destination.inputs["invocationEndpoint"] == "https://api.github.com/repos/example-org/ml-platform/dispatches"
    target = result.one("aws:cloudwatch/eventTarget:EventTarget", "promotion-churn-classifier")
    assert f'"stack": "{name}"' in target.inputs["inputTransformer"]["inputTemplate"]
    role = result.one(ROLE, "promotion-target-role")
    assert role.inputs["permissionsBoundary"] == result.outputs["permissionBoundaryArn"]
    assert result.one("aws:cloudwatch/eventConnection:EventConnection").inputs["kmsKeyIdentifier"]
    alarm = result.one("aws:cloudwatch/metricAlarm:MetricAlarm", "promotion-churn-classifier-failed")
    assert alarm.inputs["alarmActions"] == [result.outputs["budgetAlertTopicArn"]]


def test_dev_deploys_archives_so_it_has_no_promotion(shipped_stack):
    result = shipped_stack("dev")
    assert result.by_type("aws:cloudwatch/eventApiDestination:EventApiDestination") == []
    assert "modelPromotion" not in result.outputs


@pytest.mark.parametrize(("name", "servers"), [("dev", 0), ("staging", 0), ("prod", 1)])
def test_mlflow_tracking_runs_in_prod_only(name, servers, shipped_stack):
    result = shipped_stack(name)
    found = result.by_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    assert len(found) == servers
    if servers:
        server = found[0].inputs
        bucket = result.outputs["bucketNames"]["models"]
        assert server["artifactStoreUri"] == f"s3://{bucket}/mlflow/"
        role = result.one(ROLE, "experiments-server-role")
        assert role.inputs["permissionsBoundary"] == result.outputs["permissionBoundaryArn"]


def _mlflow_resources(result, inline_name: str) -> set[str]:
    document = json.loads(result.one("aws:iam/rolePolicy:RolePolicy", inline_name).inputs["policy"])
    return {
        s["Resource"]
        for s in document["Statement"]
        if any(
            a.startswith("sagemaker-mlflow:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
        and s["Resource"] != "*"
    }


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_team_roles_log_to_the_stacks_own_tracking_server_where_it_runs(name, shipped_stack):
    result = shipped_stack(name)
    servers = result.by_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    teams = [r.name for r in result.by_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-role-team-data")]
    assert teams
    for team in teams:
        # The ARN the grant names is the rendered server's: granted by its fixed name, not its output.
        assert _mlflow_resources(result, team) == {s.outputs["arn"] for s in servers}, team


def test_the_boundary_allows_mlflow_within_the_allowed_regions(shipped_stack):
    result = shipped_stack("prod")
    boundary = json.loads(result.one("aws:iam/policy:Policy").inputs["policy"])
    (allow,) = [s for s in boundary["Statement"] if s["Sid"] == "AllowPlatformServices"]
    assert "sagemaker-mlflow:*" in allow["Action"] and "aws:RequestedRegion" in allow["Condition"]["StringEquals"]
