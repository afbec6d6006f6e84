"""A moto account matching tests/fixtures/audit/state.json, and the state rendered with its generated ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "audit" / "state.json"
PACK = Path(__file__).resolve().parents[2] / "policies"
REGION = "us-west-2"
ACCOUNT = "123456789012"
TAGS = {
    "CostCenter": "ml-platform",
    "Owner": "ml-platform-team@example.com",
    "Project": "ml-platform",
    "Environment": "dev",
}
BUCKET = "ml-platform-dev-models"
ROLE = "ml-platform-dev-serving"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/ml-platform-dev-permission-boundary"


def tag_list(tags: dict[str, str] = TAGS, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def _inputs(state: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(r["inputs"] for r in state["deployment"]["resources"] if r["type"] == type_)


@dataclass
class Account:
    """The compliant account: every resource of the state exists live as declared, tagged with the stack's tags."""

    state: Path
    ids: dict[str, str] = field(default_factory=dict)
    pack_config: Path | None = None
    """The dev pack config with the rules that judge what a whole stack declares, not what runs, switched off: the
    state is a small slice of dev (no alarms, no dashboard) and would otherwise carry their advisories."""

    @property
    def pack_args(self) -> list[str]:
        return ["--policy-pack", str(PACK), "--policy-pack-config", str(self.pack_config)]

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)


SLICE_RULES_OFF = ("monthly-cost-budget", "sagemaker-endpoint-alarms", "gpu-pool-idle-alarm")


def _slice_pack_config(tmp_path: Path) -> Path:
    config = json.loads((PACK / "config" / "dev.json").read_text())
    config.update(dict.fromkeys(SLICE_RULES_OFF, "disabled"))
    path = tmp_path / "dev-slice.json"
    path.write_text(json.dumps(config))
    return path


def build_account(tmp_path: Path) -> Account:
    template = json.loads(FIXTURE.read_text())
    ec2 = boto3.client("ec2", region_name=REGION)
    kms = boto3.client("kms", region_name=REGION)
    ids: dict[str, str] = {}

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids["vpc_id"] = vpc
    ids["subnet_id"] = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    key = kms.create_key(Description="ml-platform artifacts", Tags=tag_list(TAGS, "TagKey", "TagValue"))
    ids["key_id"] = key_id = key["KeyMetadata"]["KeyId"]
    key_arn = key["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_id)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_inputs(template, "aws:kms/key:Key")["policy"])

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": tag_list()})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    policy = _inputs(template, "aws:s3/bucketPolicy:BucketPolicy")["policy"]
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy.replace("{{key_id}}", key_id))

    iam = boto3.client("iam", region_name=REGION)
    iam.create_policy(
        PolicyName="ml-platform-dev-permission-boundary",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    role = _inputs(template, "aws:iam/role:Role")
    iam.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=role["assumeRolePolicy"],
        PermissionsBoundary=BOUNDARY,
        Tags=tag_list(),
    )
    inline = _inputs(template, "aws:iam/rolePolicy:RolePolicy")
    iam.put_role_policy(RoleName=ROLE, PolicyName=inline["name"], PolicyDocument=inline["policy"])

    ids["sg_id"] = sg = ec2.create_security_group(
        GroupName="ml-platform-dev-endpoint",
        Description="SageMaker endpoint ENIs",
        VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list()}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}],
    )

    logs = boto3.client("logs", region_name=REGION)
    group = "/aws/sagemaker/Endpoints/ml-platform-dev-churn"
    logs.create_log_group(logGroupName=group, kmsKeyId=key_arn, tags=TAGS)
    logs.put_retention_policy(logGroupName=group, retentionInDays=30)

    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(
        repositoryName="ml-platform/dev/serving",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key_arn},
        tags=tag_list(),
    )

    sm = boto3.client("sagemaker", region_name=REGION)
    model = _inputs(template, "aws:sagemaker/model:Model")
    sm.create_model(
        ModelName=model["name"],
        ExecutionRoleArn=model["executionRoleArn"],
        EnableNetworkIsolation=True,
        PrimaryContainer={
            "Image": model["primaryContainer"]["image"],
            "ModelDataUrl": model["primaryContainer"]["modelDataUrl"],
        },
        VpcConfig={"SecurityGroupIds": [sg], "Subnets": [ids["subnet_id"]]},
        Tags=tag_list(),
    )
    # moto 5.2.5 ignores EnableNetworkIsolation on CreateModel; the account has it on, as the state declares.
    from moto.sagemaker.models import sagemaker_backends

    sagemaker_backends[ACCOUNT][REGION]._models[model["name"]].enable_network_isolation = True
    create_endpoint_config(sm, "ml-platform-dev-churn-v2", key_arn, tags=True)
    sm.create_endpoint(
        EndpointName="ml-platform-dev-churn", EndpointConfigName="ml-platform-dev-churn-v2", Tags=tag_list()
    )

    budgets = boto3.client("budgets", region_name="us-east-1")
    budgets.create_budget(
        AccountId=ACCOUNT,
        Budget={
            "BudgetName": "ml-platform-dev-monthly",
            "BudgetLimit": {"Amount": "500.00", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
    )

    eks = boto3.client("eks", region_name=REGION)
    eks.create_cluster(
        name="ml-platform-dev",
        version="1.35",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/ml-platform-dev-cluster",
        resourcesVpcConfig={
            "subnetIds": [ids["subnet_id"]],
            "endpointPublicAccess": False,
            "endpointPrivateAccess": True,
        },
        accessConfig={"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key_arn}}],
        logging={"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True}]},
        tags=TAGS,
    )
    group_info = eks.create_nodegroup(
        clusterName="ml-platform-dev",
        nodegroupName="gpu",
        nodeRole=f"arn:aws:iam::{ACCOUNT}:role/ml-platform-dev-nodes",
        subnets=[ids["subnet_id"]],
        instanceTypes=["g5.xlarge"],
        amiType="AL2023_x86_64_NVIDIA",
        scalingConfig={"minSize": 0, "maxSize": 2, "desiredSize": 0},
        labels={"accelerator": "nvidia", "ml-platform/pool": "gpu"},
        taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
        tags=TAGS,
    )["nodegroup"]
    ids["nodegroup_arn"] = group_info["nodegroupArn"]
    # moto names the node group's Auto Scaling group without creating it; EKS would have.
    ids["nodegroup_asg"] = group_info["resources"]["autoScalingGroups"][0]["name"]
    ec2.create_launch_template(
        LaunchTemplateName="gpu-nodes", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "g5.xlarge"}
    )
    boto3.client("autoscaling", region_name=REGION).create_auto_scaling_group(
        AutoScalingGroupName=ids["nodegroup_asg"],
        LaunchTemplate={"LaunchTemplateName": "gpu-nodes", "Version": "$Latest"},
        MinSize=0,
        MaxSize=2,
        DesiredCapacity=0,
        VPCZoneIdentifier=ids["subnet_id"],
    )

    text = FIXTURE.read_text()
    for name, value in ids.items():
        text = text.replace("{{" + name + "}}", value)
    state = tmp_path / "state.json"
    state.write_text(text)
    return Account(state=state, ids=ids, pack_config=_slice_pack_config(tmp_path))


def create_endpoint_config(sm: Any, name: str, key_arn: str, *, tags: bool) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        KmsKeyId=key_arn,
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": "ml-platform-dev-churn-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 1,
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{BUCKET}/data-capture/",
            "KmsKeyId": key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
        **({"Tags": tag_list()} if tags else {}),
    )
    # moto 5.2.5 keeps an endpoint configuration's ARN as a one-element tuple, which the Tagging API then returns.
    from moto.sagemaker.models import sagemaker_backends

    config = sagemaker_backends[ACCOUNT][REGION].endpoint_configs[name]
    config.arn = config.endpoint_config_arn  # type: ignore[assignment]  # what moto meant to store


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def account(fake_credentials: None, tmp_path: Path) -> Iterator[Account]:
    from moto import mock_aws

    with mock_aws():
        yield build_account(tmp_path)
