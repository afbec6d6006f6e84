"""The Terraform plan a stack reads as: real Pulumi types, Terraform names and shapes, references from the graph."""

from __future__ import annotations

import importlib
import inspect
import json

import pulumi
import pulumi_aws as aws
import pytest

from preflight.model import SECRET, UNKNOWN, ResourceRecord, StackResult
from preflight.scanners.tfplan import TYPES, build_plan, snake
from preflight.testing import render


def _args_inputs(token: str) -> set[str]:
    """The camelCase input names of a pulumi-aws resource type, from its Args class."""
    _, module, name = token.split(":")
    package = module.split("/")[0]
    mod = importlib.import_module(f"pulumi_aws.{'lambda_' if package == 'lambda' else package}")
    # Where a nested input type already has the name `<Name>Args` (`s3.BucketLoggingArgs` is the Bucket's
    # inline `logging` block), the generator names the resource's own arguments `<Name>InitArgs`.
    resource_module = importlib.import_module(getattr(mod, name).__module__)
    args = getattr(resource_module, f"{name}InitArgs", None) or getattr(resource_module, f"{name}Args")
    params = [p for p in inspect.signature(args.__init__).parameters if p not in ("self", "__self__")]
    return {p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) for p in params}


@pytest.mark.parametrize("token", sorted(TYPES))
def test_every_mapped_type_is_a_pulumi_aws_resource_and_its_paths_exist(token):
    inputs = _args_inputs(token)
    spec = TYPES[token]
    for path in [*spec.renames, *spec.maps, *spec.json]:
        assert path.split(".")[0] in inputs, f"{token}: {path} is not an input of the type"
    assert spec.tf_type.startswith("aws_")


def _plan(program):
    result = render(program)
    plan = build_plan(result)
    by_address = {r["address"]: r for r in plan.document["planned_values"]["root_module"]["resources"]}
    config = {r["address"]: r for r in plan.document["configuration"]["root_module"]["resources"]}
    return result, plan, by_address, config


def test_snake_case_is_the_inverse_of_the_bridges_camel_case():
    assert snake("httpPutResponseHopLimit") == "http_put_response_hop_limit"
    assert snake("ipv6CidrBlock") == "ipv6_cidr_block"
    assert snake("s3KeyPrefix") == "s3_key_prefix"


def test_objects_become_one_block_lists_and_pluralised_blocks_get_terraform_names():
    def program():
        aws.eks.NodeGroup(
            "gpu",
            cluster_name="c",
            node_role_arn="arn:aws:iam::123456789012:role/n",
            subnet_ids=["subnet-1"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=0, max_size=4, min_size=0),
            taints=[aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")],
            labels={"node.kubernetes.io/pool": "gpu"},
            tags={"Owner": "ml"},
        )

    _, _, values, _ = _plan(program)
    node_group = values["aws_eks_node_group.gpu"]["values"]
    assert node_group["scaling_config"] == [{"desired_size": 0, "max_size": 4, "min_size": 0}]
    assert node_group["taint"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert "taints" not in node_group
    assert node_group["labels"] == {"node.kubernetes.io/pool": "gpu"}  # a map stays a map, keys verbatim
    assert node_group["tags"] == {"Owner": "ml"}
    assert (
        node_group["node_group_name"] == "gpu-" + node_group["node_group_name"].split("-")[1]
    )  # the provider's auto-name


def test_references_come_from_property_dependencies_and_credit_the_right_attribute():
    def program():
        key = aws.kms.Key("key")
        bucket = aws.s3.Bucket("data")
        aws.s3.BucketPublicAccessBlock("data-pab", bucket=bucket.id, block_public_acls=True)
        aws.s3.BucketServerSideEncryptionConfiguration(
            "data-sse",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    )
                )
            ],
        )
        aws.s3.BucketPolicy(
            "data-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{a}/*"}],
                    }
                )
            ),
        )

    _, _, _, config = _plan(program)
    assert config["aws_s3_bucket_public_access_block.data-pab"]["expressions"] == {
        "bucket": {"references": ["aws_s3_bucket.data.id", "aws_s3_bucket.data"]}
    }
    sse = config["aws_s3_bucket_server_side_encryption_configuration.data-sse"]["expressions"]
    assert sse["rule"] == [
        {
            "apply_server_side_encryption_by_default": [
                {"kms_master_key_id": {"references": ["aws_kms_key.key.arn", "aws_kms_key.key"]}}
            ]
        }
    ]
    policy = config["aws_s3_bucket_policy.data-policy"]["expressions"]
    assert policy["policy"] == {"references": ["aws_s3_bucket.data.arn", "aws_s3_bucket.data"]}


def _record(urn_name: str, type_: str, inputs: dict, **extra) -> ResourceRecord:
    return ResourceRecord(
        urn=f"urn:pulumi:dev::p::{type_}::{urn_name}", type=type_, name=urn_name, custom=True, inputs=inputs, **extra
    )


def test_unknown_and_secret_values_are_left_out_and_marked_unknown_or_sensitive():
    log_group = _record(
        "logs", "aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": UNKNOWN, "name": SECRET, "retentionInDays": 30}
    )
    plan = build_plan(StackResult("p", "dev", resources=[log_group]))
    [change] = plan.document["resource_changes"]
    assert change["change"]["after"] == {"retention_in_days": 30}
    assert change["change"]["after_unknown"] == {"kms_key_id": True, "name": True}
    assert change["change"]["after_sensitive"] == {"name": True}


def test_an_unknown_input_still_references_the_resource_it_depends_on():
    key = _record("key", "aws:kms/key:Key", {}, id="k-1")
    logs = _record(
        "logs", "aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": UNKNOWN}, property_dependencies={"kmsKeyId": [key.urn]}
    )
    plan = build_plan(StackResult("p", "dev", resources=[key, logs]))
    conf = {r["address"]: r for r in plan.document["configuration"]["root_module"]["resources"]}
    assert conf["aws_cloudwatch_log_group.logs"]["expressions"] == {
        "kms_key_id": {"references": ["aws_kms_key.key.id", "aws_kms_key.key"]}
    }


@pytest.mark.parametrize("order", [1, -1], ids=["sg-first", "endpoint-first"])
def test_an_unknown_value_in_one_block_references_its_resource_there_beside_a_sibling_blocks_reference(order):
    """A security group's egress: one rule to the interface endpoints' group (known id), one to the S3 gateway
    endpoint's prefix list (unknown until apply). Both references survive, whichever dependency comes first."""
    endpoints = _record("endpoints", "aws:ec2/securityGroup:SecurityGroup", {}, id="sg-0123456789abcdef0")
    s3 = _record("s3", "aws:ec2/vpcEndpoint:VpcEndpoint", {}, id="vpce-0123456789abcdef0")
    rule = {"protocol": "tcp", "fromPort": 443, "toPort": 443}
    egress = [{**rule, "securityGroups": [endpoints.id]}, {**rule, "prefixListIds": [UNKNOWN]}]
    jobs = _record(
        "jobs",
        "aws:ec2/securityGroup:SecurityGroup",
        {"egress": egress},
        property_dependencies={"egress": [endpoints.urn, s3.urn][::order]},
    )
    plan = build_plan(StackResult("p", "dev", resources=[endpoints, s3, jobs]))
    conf = {r["address"]: r for r in plan.document["configuration"]["root_module"]["resources"]}
    assert conf["aws_security_group.jobs"]["expressions"] == {
        "egress": [
            {"security_groups": {"references": ["aws_security_group.endpoints.id", "aws_security_group.endpoints"]}},
            {"prefix_list_ids": {"references": ["aws_vpc_endpoint.s3.id", "aws_vpc_endpoint.s3"]}},
        ]
    }


def test_policy_objects_become_json_text():
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = _record("role", "aws:iam/role:Role", {"assumeRolePolicy": doc})
    plan = build_plan(StackResult("p", "dev", resources=[role]))
    values = plan.document["planned_values"]["root_module"]["resources"][0]["values"]
    assert json.loads(values["assume_role_policy"]) == doc


def test_same_logical_name_under_two_parents_gets_two_stable_addresses():
    class Store(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("acme:storage:Store", name, None, None)
            aws.s3.Bucket("data", opts=pulumi.ResourceOptions(parent=self))

    class Archive(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("acme:storage:Archive", name, None, None)
            aws.s3.Bucket("data", opts=pulumi.ResourceOptions(parent=self))

    result, plan, _, _ = _plan(lambda: (Store("a"), Archive("b")))
    assert len(plan.addresses) == 2
    assert all(a.startswith("aws_s3_bucket.data_") for a in plan.addresses)
    assert sorted(plan.addresses.values()) == sorted(r.urn for r in result.by_type("aws:s3/bucket:Bucket"))
    assert build_plan(result).addresses == plan.addresses  # stable: derived from the URN


def test_components_read_resources_and_other_providers_stay_out_and_unmapped_types_are_counted():
    component = ResourceRecord(urn="urn:pulumi:dev::p::acme:x:X::x", type="acme:x:X", name="x", custom=False)
    read = _record("existing", "aws:s3/bucket:Bucket", {}, options={"read": True})
    unmapped = _record("pair", "aws:ec2/keyPair:KeyPair", {})
    plan = build_plan(StackResult("p", "dev", resources=[component, read, unmapped]))
    assert plan.document["planned_values"]["root_module"]["resources"] == []
    assert plan.unmapped == {"aws:ec2/keyPair:KeyPair": 1}


def test_provider_region_and_plain_credentials_reach_provider_config_but_secrets_do_not():
    provider = ResourceRecord(
        urn="urn:pulumi:dev::p::pulumi:providers:aws::aws",
        type="pulumi:providers:aws",
        name="aws",
        custom=True,
        inputs={"region": "eu-west-1", "accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": SECRET},
    )
    plan = build_plan(StackResult("p", "dev", resources=[provider]))
    expressions = plan.document["configuration"]["provider_config"]["aws"]["expressions"]
    assert expressions == {
        "region": {"constant_value": "eu-west-1"},
        "access_key": {"constant_value": "AKIAIOSFODNN7EXAMPLE"},
    }


def test_a_list_of_tag_blocks_is_blocks_not_maps():
    group = _record(
        "workers",
        "aws:autoscaling/group:Group",
        {"maxSize": 2, "minSize": 0, "tags": [{"key": "team", "value": "ml", "propagateAtLaunch": True}]},
    )
    plan = build_plan(StackResult("p", "dev", resources=[group]))
    values = plan.document["planned_values"]["root_module"]["resources"][0]["values"]
    assert values["tag"] == [{"key": "team", "value": "ml", "propagate_at_launch": True}]


def test_cluster_and_guardrail_types_read_as_their_terraform_resources():
    role = "arn:aws:iam::123456789012:role/r"

    def program():
        cluster = aws.eks.Cluster("c", role_arn=role, vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1"]))
        aws.eks.Addon(
            "c-ebs",
            cluster_name=cluster.name,
            addon_name="aws-ebs-csi-driver",
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=role, service_account="ebs-csi-controller-sa")
            ],
        )
        aws.eks.AccessPolicyAssociation(
            "c-admin",
            cluster_name=cluster.name,
            principal_arn=role,
            policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
        )
        aws.autoscaling.Tag(
            "gpu-taint",
            autoscaling_group_name="eks-gpu-1234",
            tag=aws.autoscaling.TagTagArgs(
                key="k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu",
                value="true:NoSchedule",
                propagate_at_launch=False,
            ),
        )
        aws.iam.OpenIdConnectProvider(
            "github", url="https://token.actions.githubusercontent.com", client_id_lists=["sts.amazonaws.com"]
        )
        topic = aws.sns.Topic("alerts")
        aws.budgets.Budget(
            "monthly",
            budget_type="COST",
            limit_amount="1000",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=["user:Project$ml"])],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    threshold=80,
                    threshold_type="PERCENTAGE",
                    notification_type="FORECASTED",
                    subscriber_sns_topic_arns=[topic.arn],
                )
            ],
        )

    _, _, values, config = _plan(program)
    assert values["aws_eks_addon.c-ebs"]["values"]["pod_identity_association"] == [
        {"role_arn": role, "service_account": "ebs-csi-controller-sa"}
    ]
    assert values["aws_eks_access_policy_association.c-admin"]["values"]["access_scope"] == [{"type": "cluster"}]
    assert values["aws_autoscaling_group_tag.gpu-taint"]["values"]["tag"] == [
        {
            "key": "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu",
            "value": "true:NoSchedule",
            "propagate_at_launch": False,
        }
    ]
    oidc = values["aws_iam_openid_connect_provider.github"]["values"]
    assert oidc["client_id_list"] == ["sts.amazonaws.com"] and "client_id_lists" not in oidc
    budget = values["aws_budgets_budget.monthly"]["values"]
    assert budget["cost_filter"] == [{"name": "TagKeyValue", "values": ["user:Project$ml"]}]
    assert budget["notification"][0]["threshold"] == 80
    assert config["aws_budgets_budget.monthly"]["expressions"] == {
        "notification": [
            {"subscriber_sns_topic_arns": {"references": ["aws_sns_topic.alerts.arn", "aws_sns_topic.alerts"]}}
        ]
    }
    assert config["aws_eks_addon.c-ebs"]["expressions"]["cluster_name"] == {
        "references": ["aws_eks_cluster.c.name", "aws_eks_cluster.c"]
    }


def test_an_s3_sub_resource_naming_a_stack_bucket_by_value_references_it():
    def program():
        aws.s3.Bucket("logs", bucket="acme-logs")
        aws.s3.BucketPublicAccessBlock("by-name", bucket="acme-logs", block_public_acls=True)
        aws.s3.BucketPublicAccessBlock("elsewhere", bucket="someone-elses-bucket", block_public_acls=True)

    _, _, _, config = _plan(program)
    conf = {address.split(".")[1]: r for address, r in config.items()}
    assert conf["by-name"]["expressions"]["bucket"] == {"references": ["aws_s3_bucket.logs.id", "aws_s3_bucket.logs"]}
    assert "bucket" not in conf["elsewhere"]["expressions"]  # not a bucket of this stack: no reference invented


def test_the_five_types_checkov_judges_read_as_their_terraform_resources():
    def program():
        key = aws.kms.Key("key")
        aws.kms.KeyPolicy("key-policy", key_id=key.id, policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
        aws.efs.MountTarget("mt", file_system_id="fs-0123", subnet_id="subnet-0123", security_groups=["sg-0123"])
        aws.ec2.LaunchConfiguration(
            "lc",
            image_id="ami-0123",
            instance_type="t3.micro",
            root_block_device=aws.ec2.LaunchConfigurationRootBlockDeviceArgs(encrypted=True),
            ebs_block_devices=[aws.ec2.LaunchConfigurationEbsBlockDeviceArgs(device_name="/dev/sdb", encrypted=True)],
        )
        aws.ssoadmin.PermissionSetInlinePolicy(
            "inline", instance_arn="arn:i", permission_set_arn="arn:p", inline_policy='{"Version": "2012-10-17"}'
        )
        aws.ssoadmin.ManagedPolicyAttachment(
            "managed", instance_arn="arn:i", permission_set_arn="arn:p", managed_policy_arn="arn:aws:iam::aws:policy/X"
        )

    _, plan, by_address, _ = _plan(program)
    values = {r["type"]: r["values"] for r in by_address.values()}
    assert json.loads(values["aws_kms_key_policy"]["policy"]) == {"Version": "2012-10-17", "Statement": []}
    assert values["aws_efs_mount_target"]["security_groups"] == ["sg-0123"]
    assert values["aws_launch_configuration"]["root_block_device"] == [{"encrypted": True}]
    assert values["aws_launch_configuration"]["ebs_block_device"] == [{"device_name": "/dev/sdb", "encrypted": True}]
    assert json.loads(values["aws_ssoadmin_permission_set_inline_policy"]["inline_policy"]) == {"Version": "2012-10-17"}
    assert values["aws_ssoadmin_managed_policy_attachment"]["managed_policy_arn"] == "arn:aws:iam::aws:policy/X"
    assert plan.unmapped == {}
