"""The prod promotion's bake check against moto: a version that baked in staging finds its prod twin; not baked
long enough, rolled back, rejected, trained by other code or not checkable means no promotion, with the reason."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from preflight.audit.aws import Aws
from preflight.audit.state import read_state
from preflight.testing import REPO
from tools import promote_after_bake as tool

ACCOUNT = "123456789012"
STAGING, PROD = "us-west-2", "us-east-1"  # the stack files' regions
REFS = {"TrainerImage": "training:churn-2.0.0", "ServingImage": "serving:churn-1.4.2"}
ENDPOINT = "ml-platform-staging-churn"


def _spec(image: str) -> dict[str, Any]:
    return {
        "Containers": [{"Image": image, "ModelDataUrl": "s3://models/churn/model.tar.gz"}],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }


def register(region: str, stack: str, status: str = "Approved", refs: dict[str, str] | None = REFS) -> str:
    """The next version in `stack`'s churn-classifier group, with `status` and the image references."""
    sm = boto3.client("sagemaker", region_name=region)
    group = f"ml-platform-{stack}-churn-classifier"
    if not sm.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]:
        sm.create_model_package_group(ModelPackageGroupName=group)
    arn = sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval", InferenceSpecification=_spec("x:1")
    )["ModelPackageArn"]
    # moto 5 drops CustomerMetadataProperties on an update that does not repeat them: set both in one call.
    sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=status, **({"CustomerMetadataProperties": refs} if refs else {})
    )
    return arn


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", STAGING),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ):
        monkeypatch.setenv(name, value)
    from moto import mock_aws

    with mock_aws():
        yield


def deploy_staging(tmp_path: Path, *, declared_config: str = "churn-config-1") -> Path:
    """Staging as deployed: version 1 (Pulumi.staging.yaml's) Approved, served by `churn-config-1`; its state."""
    package = register(STAGING, "staging")
    sm = boto3.client("sagemaker", region_name=STAGING)
    sm.create_model(
        ModelName="churn-model-1",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/serving",
        PrimaryContainer={"ModelPackageName": package},
    )
    sm.create_endpoint_config(
        EndpointConfigName="churn-config-1",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": "churn-model-1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="churn-config-1")
    stack = "urn:pulumi:staging::ml-platform::pulumi:pulumi:Stack::ml-platform-staging"
    state = {
        "version": 3,
        "deployment": {
            "resources": [
                {"urn": stack, "type": "pulumi:pulumi:Stack", "custom": False},
                {
                    "urn": "urn:pulumi:staging::ml-platform::pulumi:providers:aws::aws",
                    "type": "pulumi:providers:aws",
                    "custom": True,
                    "id": "provider",
                    "inputs": {"region": STAGING},
                },
                {
                    "urn": "urn:pulumi:staging::ml-platform::aws:sagemaker/endpoint:Endpoint::endpoint-churn",
                    "type": "aws:sagemaker/endpoint:Endpoint",
                    "custom": True,
                    "id": ENDPOINT,
                    "parent": stack,
                    "provider": "urn:pulumi:staging::ml-platform::pulumi:providers:aws::aws::provider",
                    "inputs": {"name": ENDPOINT, "endpointConfigName": declared_config},
                    "outputs": {"arn": f"arn:aws:sagemaker:{STAGING}:{ACCOUNT}:endpoint/{ENDPOINT}"},
                },
            ]
        },
    }
    path = tmp_path / "staging-state.json"
    path.write_text(json.dumps(state))
    return path


def after(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def check(root: Path, state: Path, *, hours: float = 25, session: boto3.Session | None = None) -> list[Any]:
    baked = tool.baked(Aws(STAGING, session), read_state(state), root=root, now=after(hours))
    return tool.candidates(Aws(PROD, session), baked, root=root)


def test_a_version_that_baked_in_staging_promotes_the_prod_version_trained_by_the_same_code(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    register(PROD, "prod")  # 1: what Pulumi.prod.yaml deploys
    register(PROD, "prod")  # 2: the twin
    register(PROD, "prod", refs={**REFS, "TrainerImage": "training:churn-2.1.0"})  # 3: other training code
    (answer,) = check(root, state)
    assert answer.ready, answer.reason
    assert (answer.model, answer.version, answer.staging_version) == ("churn-classifier", 2, 1)
    assert answer.reason.startswith("prod's churn-classifier/2 matches staging's churn-classifier/1")


def test_no_promotion_before_the_bake_time_of_the_prod_stack_file(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    register(PROD, "prod"), register(PROD, "prod")
    (answer,) = check(root, state, hours=2)
    assert not answer.ready
    assert f"endpoint {ENDPOINT} has served it 2.0 h of the 24 h bake" in answer.reason
    prod = root / "Pulumi.prod.yaml"
    prod.write_text(
        prod.read_text().replace("config:\n", "config:\n  ml-platform:modelPromotion:\n    stagingBakeHours: 1\n", 1)
    )
    (answer,) = check(root, state, hours=2)
    assert answer.ready, answer.reason


def test_a_rolled_back_staging_endpoint_never_promotes(aws, root, tmp_path):
    # The state deployed churn-config-2; SageMaker rolled the endpoint back to churn-config-1.
    state = deploy_staging(tmp_path, declared_config="churn-config-2")
    register(PROD, "prod"), register(PROD, "prod")
    (answer,) = check(root, state)
    assert not answer.ready
    assert answer.reason.startswith(f"not promoted: rolled back: endpoint {ENDPOINT} serves endpoint configuration")


def test_a_rejected_staging_version_never_promotes(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    sm = boto3.client("sagemaker", region_name=STAGING)
    arn = f"arn:aws:sagemaker:{STAGING}:{ACCOUNT}:model-package/ml-platform-staging-churn-classifier/1"
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected", CustomerMetadataProperties=REFS)
    register(PROD, "prod"), register(PROD, "prod")
    (answer,) = check(root, state)
    assert answer.reason == "not promoted: churn-classifier/1 is Rejected in staging, not Approved"


def test_no_promotion_when_no_approved_prod_version_was_trained_by_the_same_code(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    register(PROD, "prod")
    register(PROD, "prod", refs={**REFS, "ServingImage": "serving:churn-1.5.0"})
    register(PROD, "prod", status="PendingManualApproval")
    (answer,) = check(root, state)
    assert answer.reason == (
        "not promoted: no Approved prod version above 1 (2) was trained with training:churn-2.0.0 and serves "
        "serving:churn-1.4.2 like staging's churn-classifier/1"
    )


def test_a_version_without_image_references_is_not_matched_by_guess(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    register(PROD, "prod"), register(PROD, "prod", refs=None)
    (answer,) = check(root, state)
    assert not answer.ready
    assert "prod's churn-classifier/2 carries no TrainerImage/ServingImage metadata" in answer.reason


def test_a_denied_call_is_no_promotion_naming_the_api_never_a_pass(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    register(PROD, "prod"), register(PROD, "prod")
    session = boto3.Session(region_name=STAGING)

    def deny(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "AccessDeniedException", "Message": f"not authorized to perform {model.name}"}
        return AWSResponse("https://aws", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    session.events.register("before-call.sagemaker.DescribeModelPackage", deny)
    (answer,) = check(root, state, session=session)
    assert not answer.ready
    assert answer.reason == (
        "not promoted: sagemaker:DescribeModelPackage failed (AccessDeniedException: not authorized to perform "
        "DescribeModelPackage); it needs IAM action sagemaker:DescribeModelPackage"
    )


def test_the_command_line_writes_each_models_answer_and_exits_2_when_nothing_can_be_checked(aws, root, tmp_path):
    state = deploy_staging(tmp_path)
    out = tmp_path / "out" / "baked.json"
    assert tool.main(["baked", "--state", str(state), "--out", str(out), "--root", str(root)], now=after(25)) == 0
    (answer,) = json.loads(out.read_text())
    assert answer["ready"] and answer["version"] == 1 and answer["trainer_image"] == "training:churn-2.0.0"
    missing = tmp_path / "missing.json"
    assert tool.main(["baked", "--state", str(missing), "--out", str(out), "--root", str(root)]) == 2
