"""One program with a deliberately bad and a secure twin for every translated type, scanned ONCE per session.

checkov takes seconds to start, so every checkov test reads from the same scan of the same stack: each
`bad-*` resource must trigger its check, each `good-*` twin must pass it.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from preflight.model import StackResult, Violation
from preflight.scanners import scan
from preflight.testing import REPO, render

ROLE_ARN = "arn:aws:iam::123456789012:role/cluster"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
SECURE_CONTAINER = {
    "name": "app",
    "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/app@sha256:" + "a" * 64,
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    },
}


def _deployment(name: str, container: dict, provider: k8s.Provider) -> k8s.apps.v1.Deployment:
    return k8s.apps.v1.Deployment(
        name,
        metadata={"namespace": "serving"},
        spec={
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
        },
        opts=pulumi.ResourceOptions(provider=provider),
    )


def scanner_program() -> None:
    key = aws.kms.Key("key", enable_key_rotation=True, deletion_window_in_days=30)

    # EKS: CKV_AWS_37 (logs), 38 (public CIDRs), 39 (public endpoint), 58 (secrets encryption)
    good_cluster = aws.eks.Cluster(
        "good-cluster",
        role_arn=ROLE_ARN,
        version="1.31",
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=SUBNETS, endpoint_private_access=True, endpoint_public_access=False
        ),
        enabled_cluster_log_types=ALL_LOG_TYPES,
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
        ),
    )
    aws.eks.Cluster(
        "bad-cluster",
        role_arn=ROLE_ARN,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=SUBNETS, endpoint_public_access=True, public_access_cidrs=["0.0.0.0/0"]
        ),
    )

    # S3: CKV_AWS_145 (KMS by default, via the separate encryption resource), CKV2_AWS_6 (public access block)
    good_bucket = aws.s3.Bucket("good-bucket")
    aws.s3.BucketPublicAccessBlock(
        "good-bucket-pab",
        bucket=good_bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        "good-bucket-sse",
        bucket=good_bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn
                ),
                bucket_key_enabled=True,
            )
        ],
    )
    aws.s3.Bucket("bad-bucket")

    # Launch template: CKV_AWS_79 (IMDSv2)
    aws.ec2.LaunchTemplate(
        "good-lt",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
    )
    aws.ec2.LaunchTemplate(
        "bad-lt",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="optional", http_put_response_hop_limit=2
        ),
    )

    # Managed node groups: CKV_AWS_100 (SSH open to the world: a key without source security groups)
    def node_group(name: str, **extra) -> None:
        aws.eks.NodeGroup(
            name,
            cluster_name=good_cluster.name,
            node_role_arn=ROLE_ARN,
            subnet_ids=SUBNETS,
            ami_type="AL2023_x86_64_NVIDIA",
            instance_types=["g5.xlarge"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=0, max_size=2, min_size=0),
            **extra,
        )

    node_group("good-nodes")
    node_group("bad-nodes", remote_access=aws.eks.NodeGroupRemoteAccessArgs(ec2_ssh_key="ops"))

    # SageMaker: CKV_AWS_98 (endpoint storage encrypted with KMS)
    variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
        model_name="model", variant_name="primary", instance_type="ml.g5.xlarge", initial_instance_count=1
    )
    aws.sagemaker.EndpointConfiguration("good-epc", production_variants=[variant], kms_key_arn=key.arn)
    aws.sagemaker.EndpointConfiguration("bad-epc", production_variants=[variant])

    # SageMaker models: CKV_AWS_370 (network isolation)
    container = aws.sagemaker.ModelPrimaryContainerArgs(image="123456789012.dkr.ecr.us-west-2.amazonaws.com/model:1")
    aws.sagemaker.Model(
        "good-model", execution_role_arn=ROLE_ARN, primary_container=container, enable_network_isolation=True
    )
    aws.sagemaker.Model("bad-model", execution_role_arn=ROLE_ARN, primary_container=container)

    # KMS: CKV_AWS_7 (rotation); SNS: CKV_AWS_26 (encrypted topics)
    aws.kms.Key("good-kms", enable_key_rotation=True)
    aws.kms.Key("bad-kms")
    aws.sns.Topic("good-topic", kms_master_key_id=key.id)
    aws.sns.Topic("bad-topic")

    # IAM: CKV_AWS_62 ("*:*" admin), CKV_AWS_63 ("*" actions)
    aws.iam.Policy(
        "good-policy",
        policy=good_bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{arn}/*"}],
                }
            )
        ),
    )
    aws.iam.Policy(
        "bad-policy",
        policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )

    # Log groups: CKV_AWS_158 (KMS)
    aws.cloudwatch.LogGroup("good-logs", retention_in_days=365, kms_key_id=key.arn)
    aws.cloudwatch.LogGroup("bad-logs")

    # VPC: CKV2_AWS_11 (flow logs), connected through the flow log's `vpc_id`
    good_vpc = aws.ec2.Vpc("good-vpc", cidr_block="10.10.0.0/16")
    flow_logs = aws.cloudwatch.LogGroup("good-vpc-flow-logs", retention_in_days=365, kms_key_id=key.arn)
    aws.ec2.FlowLog("good-vpc-flow", vpc_id=good_vpc.id, traffic_type="ALL", log_destination=flow_logs.arn)
    aws.ec2.Vpc("bad-vpc", cidr_block="10.20.0.0/16")

    # Kubernetes on the good cluster: CKV_K8S_16 (privileged)
    provider = k8s.Provider("k8s", kubeconfig=good_cluster.endpoint.apply(lambda e: f"# kubeconfig for {e}\n"))
    _deployment("good-deploy", SECURE_CONTAINER, provider)
    _deployment("bad-deploy", {**SECURE_CONTAINER, "securityContext": {"privileged": True}}, provider)

    # One mistake for each of the other scanners, so a single run shows every source in one list
    aws.iam.Policy(
        "typo-policy",
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::data/*"}],
            }
        ),
    )
    aws.eks.NodeGroup(
        "typo-nodes",
        cluster_name=good_cluster.name,
        node_role_arn=ROLE_ARN,
        subnet_ids=SUBNETS,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=0, max_size=2, min_size=0),
        taints=[aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NoSchedule")],
    )
    _deployment("typo-deploy", {**SECURE_CONTAINER, "imagePullPolicey": "Always"}, provider)

    # KMS key policies as their own resource: CKV2_AWS_64 (a key has a policy), connected through `key_id`
    key_with_policy = aws.kms.Key("good-keypol", enable_key_rotation=True)
    aws.kms.KeyPolicy(
        "good-keypol-policy",
        key_id=key_with_policy.id,
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    aws.kms.Key("bad-keypol", enable_key_rotation=True)

    # EFS mount targets hold security groups: CKV2_AWS_5 (a security group is attached to something)
    files = aws.efs.FileSystem("files", encrypted=True, kms_key_id=key.arn)
    mount_sg = aws.ec2.SecurityGroup("good-mountsg", vpc_id=good_vpc.id, description="NFS from the nodes")
    aws.efs.MountTarget("files-a", file_system_id=files.id, subnet_id=SUBNETS[0], security_groups=[mount_sg.id])
    aws.ec2.SecurityGroup("bad-mountsg", vpc_id=good_vpc.id, description="attached to nothing")

    # Launch configurations: CKV_AWS_8 (encrypted root volume), CKV_AWS_79 (IMDSv2)
    aws.ec2.LaunchConfiguration(
        "good-lc",
        image_id="ami-0a1b2c3d4e5f60718",
        instance_type="t3.micro",
        root_block_device=aws.ec2.LaunchConfigurationRootBlockDeviceArgs(encrypted=True, volume_size=20),
        ebs_block_devices=[
            aws.ec2.LaunchConfigurationEbsBlockDeviceArgs(device_name="/dev/sdb", encrypted=True, volume_size=50)
        ],
        metadata_options=aws.ec2.LaunchConfigurationMetadataOptionsArgs(http_tokens="required"),
    )
    aws.ec2.LaunchConfiguration(
        "bad-lc",
        image_id="ami-0a1b2c3d4e5f60718",
        instance_type="t3.micro",
        ebs_block_devices=[
            aws.ec2.LaunchConfigurationEbsBlockDeviceArgs(device_name="/dev/sdb", encrypted=False, volume_size=50)
        ],
    )

    # IAM Identity Center permission sets: CKV_AWS_63 ("*" actions), CKV_AWS_274 (AdministratorAccess)
    instance_arn = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
    permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef"
    for name, action, resource in (
        ("good-psinline", "s3:GetObject", "arn:aws:s3:::data/*"),
        ("bad-psinline", "*", "*"),
    ):
        aws.ssoadmin.PermissionSetInlinePolicy(
            name,
            instance_arn=instance_arn,
            permission_set_arn=permission_set_arn,
            inline_policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
            ),
        )
    for name, policy in (("good-psmanaged", "ReadOnlyAccess"), ("bad-psmanaged", "AdministratorAccess")):
        aws.ssoadmin.ManagedPolicyAttachment(
            name,
            instance_arn=instance_arn,
            permission_set_arn=permission_set_arn,
            managed_policy_arn=f"arn:aws:iam::aws:policy/{policy}",
        )

    # A public access block naming its bucket by value (no dependency recorded): CKV2_AWS_6 still connects them
    aws.s3.Bucket("good-pabyname", bucket="acme-pab-by-name")
    aws.s3.BucketPublicAccessBlock(
        "pab-by-name",
        bucket="acme-pab-by-name",
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.Bucket("bad-pabyname", bucket="acme-no-pab")

    # A type with no Terraform mapping: reported as not scanned, never guessed at
    aws.ec2.KeyPair("unmapped", public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrQ preflight")


@pytest.fixture(scope="session")
def scanned_stack() -> StackResult:
    return render(scanner_program)


@pytest.fixture(scope="session")
def scan_result(scanned_stack: StackResult) -> StackResult:
    """The stack above with every scanner's findings (checkov included, run once) and what checkov cannot scan."""
    return scan(scanned_stack, project_dir=REPO)


@pytest.fixture(scope="session")
def scan_findings(scan_result: StackResult) -> list[Violation]:
    """Every scanner's findings on the stack above (it has no others: only the scanners ran on it)."""
    return list(scan_result.violations)
