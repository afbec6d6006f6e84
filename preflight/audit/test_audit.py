"""The audit against moto: a compliant account, one test per kind of drift, what cannot be checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from preflight.audit import findings
from preflight.audit.aws import Aws
from preflight.audit.cli import main
from preflight.audit.conftest import BUCKET, PACK, REGION, ROLE, Account, create_endpoint_config, tag_list
from preflight.audit.run import audit
from preflight.audit.state import read_state
from preflight.cli import REPO, policy_runs
from preflight.model import StackResult, Violation
from preflight.project import load_project


def run_audit(account: Account, session: boto3.Session | None = None) -> StackResult:
    state = read_state(account.state)
    packs, _ = policy_runs(load_project(REPO), state.result.stack, [PACK], [account.pack_config])
    return audit(state, Aws(state.default_region, session), packs)


def kinds(result: StackResult) -> set[tuple[str, str | None]]:
    """(policy, resource name) of every finding."""
    return {(v.policy, v.name) for v in result.violations}


def only(result: StackResult, policy: str) -> Violation:
    matching = [v for v in result.violations if v.policy == policy]
    assert len(matching) == 1, [v.message for v in result.violations]
    return matching[0]


def add_resource(account: Account, type_: str, name: str, id_: str, inputs: dict[str, Any]) -> None:
    document = json.loads(account.state.read_text())
    resources = document["deployment"]["resources"]
    provider = next(r for r in resources if r["type"] == "pulumi:providers:aws")
    resources.append(
        {
            "urn": f"urn:pulumi:dev::ml-platform::{type_}::{name}",
            "custom": True,
            "id": id_,
            "type": type_,
            "inputs": inputs,
            "outputs": inputs,
            "parent": resources[0]["urn"],
            "provider": f"{provider['urn']}::{provider['id']}",
        }
    )
    account.state.write_text(json.dumps(document))


# ---- compliant ----------------------------------------------------------------------------------------------


def test_compliant_account_gives_no_finding_and_exit_0(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*account.pack_args, "--state", str(account.state), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stacks"][0]["violations"] == []


def test_secret_values_in_the_state_are_never_printed(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("sagemaker", region_name=REGION).delete_model(ModelName="ml-platform-dev-churn-model")
    main([*account.pack_args, "--state", str(account.state), "--json"])
    main([*account.pack_args, "--state", str(account.state)])
    out = capsys.readouterr()
    assert "SECRETCIPHERTEXT" not in out.out + out.err
    assert "[secret]" in out.out


def test_region_comes_from_the_stacks_aws_provider_not_boto3s(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert run_audit(account).violations == ()


# ---- drift, one kind per test ---------------------------------------------------------------------------------


def test_bucket_encryption_removed_is_a_deleted_configuration_and_fails_the_pack_rule(account: Account) -> None:
    account.client("s3").delete_bucket_encryption(Bucket=BUCKET)
    result = run_audit(account)
    assert kinds(result) == {(findings.DELETED, "models-encryption"), ("s3-bucket-kms-encryption", "models")}


def test_bucket_encryption_switched_to_sse_s3_is_drift(account: Account) -> None:
    account.client("s3").put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    result = run_audit(account)
    drifted = sorted(v.message.split(": ", 1)[1] for v in result.violations if v.policy == findings.DRIFT)
    key = f"arn:aws:kms:us-west-2:123456789012:key/{account.ids['key_id']}"
    assert drifted == [
        f'rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId is [null] live, ["{key}"] in the state',
        'rules[].applyServerSideEncryptionByDefault.sseAlgorithm is ["AES256"] live, ["aws:kms"] in the state',
        "rules[].bucketKeyEnabled is [false] live, [true] in the state",
    ]
    assert ("s3-bucket-kms-encryption", "models") in kinds(result)


def test_public_access_block_relaxed_is_drift(account: Account) -> None:
    account.client("s3").put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "BlockPublicPolicy": False,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    )
    result = run_audit(account)
    drift = only(result, findings.DRIFT)
    assert drift.name == "models-public-access-block"
    assert drift.message.endswith("blockPublicPolicy is false live, true in the state")


def test_ownership_controls_changed_is_drift(account: Account) -> None:
    account.client("s3").put_bucket_ownership_controls(
        Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.message.endswith("rule.objectOwnership is ObjectWriter live, BucketOwnerEnforced in the state")


def test_versioning_suspended_is_drift(account: Account) -> None:
    account.client("s3").put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.message.endswith("versioningConfiguration.status is Suspended live, Enabled in the state")


def test_bucket_policy_statement_changed_is_drift(account: Account) -> None:
    public = {
        "Sid": "Public",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    account.client("s3").put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]})
    )
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.name == "models-policy"
    assert drift.message.endswith(
        'policy is {"statements only live":[{"Action":"s3:GetObject","Effect":"Allow","Principal":"*",'
        '"Resource":"arn:aws:s3:::ml-platform-dev-models/*","Sid":"Public"}]} live, {"statements only in the state":'
        '[{"Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Principal":"*",'
        '"Resource":["arn:aws:s3:::ml-platform-dev-models","arn:aws:s3:::ml-platform-dev-models/*"],'
        '"Sid":"DenyInsecureTransport"}]} in the state'
    )


def test_bucket_logging_turned_off_is_a_deleted_configuration(account: Account) -> None:
    add_resource(
        account,
        "aws:s3/bucketLogging:BucketLogging",
        "models-logging",
        BUCKET,
        {"bucket": BUCKET, "targetBucket": BUCKET, "targetPrefix": "access-logs/"},
    )
    result = run_audit(account)
    assert (findings.DELETED, "models-logging") in kinds(result)


def test_key_rotation_turned_off_is_drift(account: Account) -> None:
    account.client("kms").disable_key_rotation(KeyId=account.ids["key_id"])
    result = run_audit(account)
    drift = only(result, findings.DRIFT)
    assert drift.message.endswith("enableKeyRotation is false live, true in the state")


def test_cluster_log_types_reduced_is_drift(account: Account) -> None:
    account.client("eks").update_cluster_config(
        name="ml-platform-dev", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
    )
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.message.endswith(
        'enabledClusterLogTypes is ["api"] live, ["api","audit","authenticator"] in the state'
    )


def test_node_group_max_size_raised_is_drift(account: Account) -> None:
    account.client("eks").update_nodegroup_config(
        clusterName="ml-platform-dev", nodegroupName="gpu", scalingConfig={"minSize": 0, "maxSize": 8, "desiredSize": 0}
    )
    result = run_audit(account)
    drift = [v for v in result.violations if v.policy == findings.DRIFT]
    assert [v.message.split(": ", 1)[1] for v in drift] == ["scalingConfig.maxSize is 8 live, 2 in the state"]


def test_role_without_its_boundary_is_drift(account: Account) -> None:
    account.client("iam").delete_role_permissions_boundary(RoleName=ROLE)
    result = run_audit(account)
    drift = only(result, findings.DRIFT)
    assert drift.name == "serving-role"
    assert drift.message.endswith(
        "permissionsBoundary is (not set) live, arn:aws:iam::123456789012:policy/ml-platform-dev-permission-boundary "
        "in the state"
    )


def test_managed_policy_attached_outside_pulumi_is_drift_of_the_role(account: Account) -> None:
    iam = account.client("iam")
    admin = iam.create_policy(
        PolicyName="console-admin",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=admin)
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.message.endswith(f'attached managed policies is ["{admin}"] live, [] in the state')


def test_inline_policy_document_changed_is_drift(account: Account) -> None:
    account.client("iam").put_role_policy(
        RoleName=ROLE,
        PolicyName="read-models",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.name == "serving-role-models"


def test_ingress_rule_added_is_drift(account: Account) -> None:
    account.client("ec2").authorize_security_group_ingress(
        GroupId=account.ids["sg_id"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.message.endswith(
        'ingress rules is ["tcp 22-22 from cidr 0.0.0.0/0","tcp 443-443 from cidr 10.0.0.0/16"] live, '
        '["tcp 443-443 from cidr 10.0.0.0/16"] in the state'
    )


def test_log_retention_shortened_is_drift(account: Account) -> None:
    account.client("logs").put_retention_policy(
        logGroupName="/aws/sagemaker/Endpoints/ml-platform-dev-churn", retentionInDays=7
    )
    drift = only(run_audit(account), findings.DRIFT)
    assert drift.message.endswith("retentionInDays is 7 live, 30 in the state")


def test_sagemaker_model_deleted_out_of_band_is_a_finding(account: Account) -> None:
    account.client("sagemaker").delete_model(ModelName="ml-platform-dev-churn-model")
    deleted = only(run_audit(account), findings.DELETED)
    assert deleted.message == (
        "aws:sagemaker/model:Model ml-platform-dev-churn-model is in the state but does not exist live: deleted out "
        "of band"
    )


def test_mutable_image_tags_are_drift(account: Account) -> None:
    account.client("ecr").put_image_tag_mutability(
        repositoryName="ml-platform/dev/serving", imageTagMutability="MUTABLE"
    )
    result = run_audit(account)
    drift = only(result, findings.DRIFT)
    assert drift.message.endswith("imageTagMutability is MUTABLE live, IMMUTABLE in the state")


def test_budget_deleted_is_a_finding(account: Account) -> None:
    boto3.client("budgets", region_name="us-east-1").delete_budget(
        AccountId="123456789012", BudgetName="ml-platform-dev-monthly"
    )
    assert only(run_audit(account), findings.DELETED).name == "monthly"


# ---- rollbacks, tags, GPUs --------------------------------------------------------------------------------------


def _roll_back_endpoint(account: Account) -> None:
    # What SageMaker leaves after a failed deployment with auto-rollback: the endpoint on the previous configuration.
    sm = account.client("sagemaker")
    key_arn = f"arn:aws:kms:{REGION}:123456789012:key/{account.ids['key_id']}"
    create_endpoint_config(sm, "ml-platform-dev-churn-v1", key_arn, tags=False)
    sm.delete_endpoint(EndpointName="ml-platform-dev-churn")
    sm.create_endpoint(
        EndpointName="ml-platform-dev-churn", EndpointConfigName="ml-platform-dev-churn-v1", Tags=tag_list()
    )


def test_endpoint_on_an_older_configuration_is_a_mandatory_rollback_finding(account: Account) -> None:
    _roll_back_endpoint(account)
    rollback = only(run_audit(account), findings.ROLLBACK)
    assert rollback.enforcement == "mandatory"
    assert rollback.name == "churn-endpoint"
    assert (
        "serves endpoint configuration 'ml-platform-dev-churn-v1', not 'ml-platform-dev-churn-v2'" in rollback.message
    )
    assert "docs/runbooks/model-rollback.md" in rollback.remediation


def test_resource_with_the_stacks_tags_not_in_the_state_is_an_orphan(account: Account) -> None:
    s3 = account.client("s3")
    s3.create_bucket(Bucket="ml-platform-dev-scratch", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(
        Bucket="ml-platform-dev-scratch",
        Tagging={"TagSet": [{"Key": "Project", "Value": "ml-platform"}, {"Key": "Environment", "Value": "dev"}]},
    )
    orphan = only(run_audit(account), findings.ORPHAN)
    assert orphan.message.startswith("s3 bucket arn:aws:s3:::ml-platform-dev-scratch carries the stack's tags")


def test_resource_of_the_state_missing_a_cost_tag_live_is_a_finding(account: Account) -> None:
    account.client("logs").untag_log_group(
        logGroupName="/aws/sagemaker/Endpoints/ml-platform-dev-churn", tags=["CostCenter"]
    )
    missing = only(run_audit(account), findings.COST_TAGS)
    assert missing.name == "endpoint-logs"
    assert "missing cost tags CostCenter live" in missing.message
    assert missing.enforcement == "advisory"  # the dev stack's pack config sets required-cost-tags to advisory


def test_gpu_instances_running_are_counted_with_their_hourly_price(account: Account) -> None:
    account.client("autoscaling").set_desired_capacity(
        AutoScalingGroupName=account.ids["nodegroup_asg"], DesiredCapacity=1
    )
    gpu = only(run_audit(account), findings.GPU_CAPACITY)
    assert gpu.enforcement == "advisory"
    assert gpu.message == (
        "node group ml-platform-dev:gpu: 1 GPU instance(s) running (1 g5.xlarge); $1.01 an hour on demand "
        "(price snapshot 2025-05, us-west-2)"
    )


# ---- not checked ------------------------------------------------------------------------------------------------


def _answering(code: str, status: int, *events: str) -> boto3.Session:
    """A session whose calls named by `events` (e.g. "kms.GetKeyRotationStatus") get an error answer."""
    session = boto3.Session(region_name=REGION)

    def deny(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": code, "Message": f"not authorized to perform {model.name}"}
        return AWSResponse("https://aws", status, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    for event in events:
        session.events.register(f"before-call.{event}", deny)
    return session


def test_denied_call_is_not_checked_naming_the_api_never_compliant(account: Account) -> None:
    account.client("kms").disable_key_rotation(KeyId=account.ids["key_id"])
    result = run_audit(account, _answering("AccessDeniedException", 400, "kms.GetKeyRotationStatus"))
    assert kinds(result) == {(findings.NOT_CHECKED, "artifacts-key")}
    assert only(result, findings.NOT_CHECKED).message == (
        f"not checked: KMS key {account.ids['key_id']}: kms:GetKeyRotationStatus failed (AccessDeniedException: "
        "not authorized to perform GetKeyRotationStatus); it needs IAM action kms:GetKeyRotationStatus"
    )


def test_throttled_tagging_api_is_not_checked(account: Account) -> None:
    result = run_audit(account, _answering("ThrottlingException", 400, "resource-groups-tagging-api.GetResources"))
    assert {v.message.split(":")[1].strip() for v in result.violations} == {
        "orphan resources",
        "cost tags of the stack's resources",
    }
    assert all(v.policy == findings.NOT_CHECKED for v in result.violations)


def test_a_check_that_could_not_run_makes_the_run_exit_2(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = _answering("AccessDenied", 403, "s3.GetBucketPolicy")
    monkeypatch.setattr("preflight.audit.aws.boto3.Session", lambda: denied)
    assert main([*account.pack_args, "--state", str(account.state)]) == 2
    assert "1 check(s) could not run" in capsys.readouterr().err


def test_api_the_endpoint_does_not_implement_is_not_checked(account: Account) -> None:
    # moto does not emulate EKS access entries.
    add_resource(
        account,
        "aws:eks/accessEntry:AccessEntry",
        "cluster-admin-ci",
        "ml-platform-dev:arn:aws:iam::123456789012:role/ci",
        {"clusterName": "ml-platform-dev", "principalArn": "arn:aws:iam::123456789012:role/ci", "type": "STANDARD"},
    )
    result = run_audit(account)
    not_checked = only(result, findings.NOT_CHECKED)
    assert not_checked.name == "cluster-admin-ci"
    assert "eks:DescribeAccessEntry failed (the endpoint does not implement this API)" in not_checked.message


# ---- the scenario ---------------------------------------------------------------------------------------


def test_drifted_account_gives_exactly_its_findings_and_exit_1(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.client("s3").delete_bucket_encryption(Bucket=BUCKET)
    _roll_back_endpoint(account)
    account.client("iam").delete_role_permissions_boundary(RoleName=ROLE)
    s3 = account.client("s3")
    s3.create_bucket(Bucket="ml-platform-dev-scratch", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(
        Bucket="ml-platform-dev-scratch",
        Tagging={"TagSet": [{"Key": "Project", "Value": "ml-platform"}, {"Key": "Environment", "Value": "dev"}]},
    )

    assert main([*account.pack_args, "--state", str(account.state), "--json"]) == 1
    violations = json.loads(capsys.readouterr().out)["stacks"][0]["violations"]
    assert sorted((v["source"], v["policy"], v["name"]) for v in violations) == [
        ("audit", "audit-deleted", "models-encryption"),
        ("audit", "audit-drift", "serving-role"),
        ("audit", "audit-orphan", None),
        ("audit", "audit-sagemaker-rollback", "churn-endpoint"),
        ("policy-pack", "iam-role-permissions-boundary", "serving-role"),
        ("policy-pack", "s3-bucket-kms-encryption", "models"),
    ]


# ---- bad input ----------------------------------------------------------------------------------------------------


def test_fails_when_the_state_is_not_a_stack_export(
    fake_credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "checkpoint": {}}))
    assert main(["--state", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: version is 1; expected the version 3 deployment `pulumi stack export` writes"
    )


def test_fails_when_there_are_no_credentials(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main([*account.pack_args, "--state", str(account.state)]) == 2
    assert "no AWS credentials found" in capsys.readouterr().err
