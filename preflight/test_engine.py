"""The engine on small programs of its own: what it records must be what the Pulumi engine would see."""

import asyncio
import json

import pulumi
import pulumi_aws as aws
import pytest

from preflight.engine import ProgramError
from preflight.model import SECRET, UNKNOWN, stack_json
from preflight.testing import render


class Outer(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("acme:app:Outer", name, None, opts)
        self.inner = Inner(f"{name}-inner", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class Inner(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("acme:app:Inner", name, None, opts)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", tags={"Name": "data"}, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def test_urns_carry_the_whole_parent_type_chain():
    r = render(lambda: Outer("app"))
    bucket = r.one("aws:s3/bucket:Bucket")
    assert bucket.urn == "urn:pulumi:dev::test::acme:app:Outer$acme:app:Inner$aws:s3/bucket:Bucket::app-inner-bucket"
    assert bucket.parent == "urn:pulumi:dev::test::acme:app:Outer$acme:app:Inner::app-inner"
    assert r.one("acme:app:Outer").urn == "urn:pulumi:dev::test::acme:app:Outer::app"
    assert r.one("acme:app:Outer").parent is None  # the root stack is not recorded as a parent


def test_auto_names_are_logical_name_plus_seven_hex_and_explicit_names_are_kept():
    def program():
        aws.s3.Bucket("logs")
        aws.s3.Bucket("named", bucket="my-exact-bucket")
        aws.iam.Role("role", name_prefix="svc-", assume_role_policy="{}")

    r = render(program)
    auto = r.one("aws:s3/bucket:Bucket", "logs").outputs["bucket"]
    assert auto.startswith("logs-") and len(auto) == len("logs-") + 7
    assert int(auto[-7:], 16) >= 0
    assert r.one("aws:s3/bucket:Bucket", "named").outputs["bucket"] == "my-exact-bucket"
    assert r.one("aws:iam/role:Role").outputs["name"].startswith("svc-")
    assert render(program).one("aws:s3/bucket:Bucket", "logs").outputs["bucket"] == auto  # deterministic


def test_arns_follow_aws_formats_for_the_stack_region_and_partition():
    def program():
        aws.s3.Bucket("b", bucket="data")
        aws.iam.Role("r", name="svc", assume_role_policy="{}")
        aws.kms.Key("k")
        aws.cloudwatch.LogGroup("lg", name="/aws/eks/c/cluster")

    r = render(program, config={"aws:region": "cn-north-1"})
    assert r.one("aws:s3/bucket:Bucket").outputs["arn"] == "arn:aws-cn:s3:::data"
    assert r.one("aws:iam/role:Role").outputs["arn"] == "arn:aws-cn:iam::123456789012:role/svc"
    key = r.one("aws:kms/key:Key")
    assert key.outputs["arn"] == f"arn:aws-cn:kms:cn-north-1:123456789012:key/{key.id}"
    assert r.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"] == (
        "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/eks/c/cluster"
    )


def test_tags_all_merges_provider_default_tags_inherited_through_parents():
    def program():
        provider = aws.Provider(
            "tagged",
            region="eu-west-1",
            default_tags=aws.ProviderDefaultTagsArgs(tags={"Owner": "ml", "Name": "default"}),
        )
        Outer("app", opts=pulumi.ResourceOptions(providers={"aws": provider}))
        aws.s3.Bucket("plain")

    r = render(program, config={"aws:defaultTags": {"tags": {"CostCenter": "42"}}})
    inherited = r.one("aws:s3/bucket:Bucket", "app-inner-bucket")
    assert inherited.outputs["tagsAll"] == {"Owner": "ml", "Name": "data"}  # resource tags win over defaults
    assert inherited.outputs["region"] == "eu-west-1"
    assert inherited.provider.startswith("urn:pulumi:dev::test::pulumi:providers:aws::tagged::")
    plain = r.one("aws:s3/bucket:Bucket", "plain")
    assert plain.outputs["tagsAll"] == {"CostCenter": "42"}  # the default provider reads aws:defaultTags
    assert plain.provider.startswith("urn:pulumi:dev::test::pulumi:providers:aws::default_7_51_1::")


def test_records_resource_options_the_mocks_do_not_see():
    def program():
        first = aws.s3.Bucket("first")
        aws.s3.Bucket(
            "second",
            opts=pulumi.ResourceOptions(
                protect=True,
                retain_on_delete=True,
                depends_on=[first],
                ignore_changes=["tags"],
                delete_before_replace=True,
                additional_secret_outputs=["bucket"],
                aliases=[pulumi.Alias(name="old-second")],
            ),
        )

    r = render(program)
    options = r.one("aws:s3/bucket:Bucket", "second").options
    assert options["protect"] is True
    assert options["retainOnDelete"] is True
    assert options["dependsOn"] == [r.one("aws:s3/bucket:Bucket", "first").urn]
    assert options["ignoreChanges"] == ["tags"]
    assert options["deleteBeforeReplace"] is True
    assert options["additionalSecretOutputs"] == ["bucket"]
    assert {"name": "old-second"} in options["aliases"]
    assert r.one("aws:s3/bucket:Bucket", "second").outputs["bucket"] == SECRET
    assert r.one("aws:s3/bucket:Bucket", "first").options["protect"] is False


def test_property_dependencies_link_an_input_to_the_resource_it_came_from():
    def program():
        bucket = aws.s3.Bucket("b")
        aws.s3.BucketPublicAccessBlock("pab", bucket=bucket.id, block_public_acls=True)

    r = render(program)
    pab = r.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert pab.property_dependencies == {"bucket": [r.one("aws:s3/bucket:Bucket").urn]}
    assert pab.inputs["bucket"] == r.one("aws:s3/bucket:Bucket").id


def test_property_dependencies_are_recorded_sorted_not_in_the_sdks_set_order():
    def program():
        buckets = [aws.s3.Bucket(f"b{i}") for i in range(8)]
        document = pulumi.Output.all(*(b.arn for b in buckets)).apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": arns}],
                }
            )
        )
        aws.iam.Policy("read", policy=document)

    r = render(program)
    urns = [b.urn for b in r.resources if b.type == "aws:s3/bucket:Bucket"]
    # The SDK sends them as a set of URN strings, in an order that changes with the process's hash seed.
    assert r.one("aws:iam/policy:Policy").property_dependencies == {"policy": sorted(urns)}
    assert len(urns) == 8


def test_secret_values_never_reach_the_document():
    def program():
        secret = pulumi.Output.secret("hunter2")
        aws.ssm.Parameter("p", type="SecureString", value=secret)
        pulumi.export("password", secret)

    r = render(program)
    assert r.one("aws:ssm/parameter:Parameter").inputs["value"] == SECRET
    assert r.outputs["password"] == SECRET
    assert "hunter2" not in json.dumps(stack_json(r))


def test_data_sources_are_answered_for_the_stack_region():
    def program():
        pulumi.export("azs", aws.get_availability_zones(state="available").names)
        pulumi.export("account", aws.get_caller_identity().account_id)
        pulumi.export("partition", aws.get_partition().partition)

    r = render(program, config={"aws:region": "eu-central-1"})
    assert r.outputs == {
        "azs": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
        "account": "123456789012",
        "partition": "aws",
    }


def test_policy_document_data_source_renders_aws_json():
    def program():
        doc = aws.iam.get_policy_document(
            statements=[
                aws.iam.GetPolicyDocumentStatementArgs(
                    actions=["s3:GetObject"],
                    resources=["arn:aws:s3:::b/*"],
                    conditions=[
                        aws.iam.GetPolicyDocumentStatementConditionArgs(
                            test="Bool", variable="aws:SecureTransport", values=["true"]
                        )
                    ],
                ),
            ]
        )
        pulumi.export("doc", doc.json)

    doc = json.loads(render(program).outputs["doc"])
    assert doc["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    ]


def test_unknown_data_source_fails_with_a_message_naming_the_token():
    def program():
        aws.ec2.get_instance_type(instance_type="t3.micro")

    with pytest.raises(ProgramError) as info:
        render(program)
    (line,) = info.value.lines
    assert line.startswith("preflight cannot answer the data source 'aws:ec2/getInstanceType:getInstanceType' (called")
    assert "--invoke-answers FILE" in line


def test_outputs_not_emulated_stay_unknown_as_in_a_preview():
    def program():
        lb = aws.lb.LoadBalancer("lb", internal=True, subnets=["subnet-1", "subnet-2"])
        aws.s3.Bucket("b", tags={"dns": lb.dns_name})

    bucket = render(program).one("aws:s3/bucket:Bucket")
    assert bucket.inputs["tags"]["dns"] is UNKNOWN
    assert stack_json(render(program))["resources"]


def test_program_exceptions_become_one_line_reasons():
    def program():
        raise ValueError("bad pool size")

    with pytest.raises(ProgramError) as info:
        render(program)
    assert len(info.value.lines) == 1
    assert info.value.lines[0].startswith("the program failed: ValueError: bad pool size at ")


def test_a_failed_program_leaves_nothing_behind_for_the_next_run():
    def failing():
        def boom(_):
            # An output created while the program fails is still pending when the run gives up on it.
            pulumi.Output.from_input(asyncio.sleep(3600, "late"))
            raise pulumi.RunError("boom")

        pulumi.Output.from_input("x").apply(boom)

    with pytest.raises(ProgramError) as info:
        render(failing)
    assert info.value.lines == ["boom"]
    # The next program must not wait on the previous run's tasks (they belong to a closed event loop).
    assert render(lambda: pulumi.export("n", pulumi.Output.from_input(1).apply(lambda v: v + 1))).outputs == {"n": 2}


def test_zone_ids_use_aws_prefixes():
    def program():
        pulumi.export("ids", aws.get_availability_zones().zone_ids)

    assert render(program, config={"aws:region": "us-east-1"}).outputs["ids"][:2] == ["use1-az1", "use1-az2"]
    assert render(program, config={"aws:region": "ap-northeast-1"}).outputs["ids"][0] == "apne1-az1"
