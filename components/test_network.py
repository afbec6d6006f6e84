"""The network component: its pure plan, its policy documents (golden files), and what it renders offline.

Regenerate the golden policy documents with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest components/test_network.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pulumi
import pytest

from components.network import (
    DEFAULT_INTERFACE_ENDPOINTS,
    Network,
    NetworkArgs,
    NetworkSettings,
    flow_log_permissions_policy,
    flow_log_trust_policy,
    plan_network,
    select_availability_zones,
    subnet_tags,
)
from infra.config import load
from preflight.model import StackResult
from preflight.testing import assert_golden, render

AZS = ("us-west-2a", "us-west-2b", "us-west-2c")
KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/0b1e7a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/ml-platform-boundary"

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def args(**overrides) -> NetworkArgs:
    """Network args; overrides of a setting (`nat_strategy=...`) go into `settings`, the rest are arguments."""
    settings = {k: overrides.pop(k) for k in list(overrides) if k in NetworkSettings.model_fields}
    base = NetworkArgs(
        availability_zones=AZS,
        region="us-west-2",
        flow_log_kms_key_arn=KEY_ARN,
        permissions_boundary=BOUNDARY_ARN,
        settings=NetworkSettings(**settings),
    )
    return replace(base, **overrides)


def render_network(network_args: NetworkArgs, exports: bool = False) -> StackResult:
    def program() -> None:
        net = Network("net", network_args)
        if exports:
            pulumi.export("vpc_id", net.vpc_id)
            pulumi.export("private_subnet_ids", net.private_subnet_ids)
            pulumi.export("intra_subnet_ids", net.intra_subnet_ids)
            pulumi.export("public_subnet_ids", net.public_subnet_ids)
            pulumi.export("subnet_ids_by_az", net.subnet_ids_by_az)
            pulumi.export("endpoint_security_group_id", net.endpoint_security_group_id)
            pulumi.export("s3_endpoint_id", net.s3_endpoint_id)
            pulumi.export("flow_log_group_name", net.flow_log_group_name)

    return render(program)


def by_name(result: StackResult, type_: str) -> dict[str, object]:
    return {r.name: r for r in result.by_type(type_)}


@pytest.fixture(scope="module")
def prod_like() -> StackResult:
    """Defaults of the component (3 AZs, NAT per AZ, the default interface endpoints), with outputs exported."""
    return render_network(args(cluster_name="ml-platform-prod"), exports=True)


# --- the plan, without an engine -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "nat_azs", "egress"),
    [
        ("none", (), {az: None for az in AZS}),
        ("single", AZS[:1], {az: AZS[0] for az in AZS}),
        ("per_az", AZS, {az: az for az in AZS}),
    ],
)
def test_nat_strategy_decides_which_azs_get_a_nat_gateway_and_where_private_egress_goes(strategy, nat_azs, egress):
    plan = plan_network(args(nat_strategy=strategy))
    assert plan.nat_azs == nat_azs
    assert plan.egress_nat_az == egress


def test_default_plan_has_three_tiers_in_every_az_and_the_default_endpoints():
    plan = plan_network(args())
    assert set(plan.subnets) == {"public", "private", "intra"}
    assert all(set(by_az) == set(AZS) for by_az in plan.subnets.values())
    assert plan.endpoint_services == {name: f"com.amazonaws.us-west-2.{name}" for name in DEFAULT_INTERFACE_ENDPOINTS}
    assert plan.vpc_cidrs == ("10.0.0.0/16",)


def test_pod_cidr_adds_a_pod_tier_and_a_second_cidr_for_endpoint_access():
    plan = plan_network(args(pod_cidr="100.64.0.0/16"))
    assert plan.subnets["pods"] == {
        "us-west-2a": "100.64.0.0/18",
        "us-west-2b": "100.64.64.0/18",
        "us-west-2c": "100.64.128.0/18",
    }
    assert plan.vpc_cidrs == ("10.0.0.0/16", "100.64.0.0/16")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"availability_zones": AZS[:1]}, "availability_zones = ['us-west-2a']: 1 AZs given; must be 2 or 3"),
        ({"availability_zones": AZS + ("us-west-2d",)}, "4 AZs given; must be 2 or 3"),
        ({"availability_zones": ("us-west-2a", "us-west-2a")}, "AZ names must be distinct"),
        ({"availability_zones": ("us-east-1a", "us-east-1b")}, "us-east-1a is not in region us-west-2"),
        ({"cluster_name": "-bad"}, "cluster_name = '-bad': EKS cluster names are 1-100 letters"),
    ],
)
def test_fails_when_args_are_invalid(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_network(args(**overrides))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"nat_strategy": "perAz"}, "must be one of none | single | per_az"),
        ({"interface_endpoints": ("ecr",)}, "unknown interface endpoint; did you mean 'ecr.api' or 'ecr.dkr'?"),
        ({"interface_endpoints": ("s3",)}, "S3 always gets a gateway endpoint"),
        ({"interface_endpoints": ("sts", "sts")}, "listed twice; each endpoint appears once"),
        ({"flow_log_retention_days": 10}, "CloudWatch Logs accepts only these"),
        ({"cidr": "8.8.0.0/16"}, "must be a private RFC1918 range"),
        ({"subnet_prefixes": {"private": 16}}, "subnets do not fit in 10.0.0.0/16"),
    ],
)
def test_fails_when_settings_are_invalid(settings, message):
    # The same model validates the stack file (see infra/config/test_network.py for the one-line messages).
    with pytest.raises(ValueError, match=re.escape(message)):
        NetworkSettings(**settings)


def test_fails_before_declaring_anything_when_args_are_invalid():
    with pytest.raises(Exception, match="must be 2 or 3"):
        render_network(args(availability_zones=AZS[:1]))


def test_az_selection_takes_the_first_usable_azs_by_name_and_skips_those_eks_does_not_support():
    names = ["us-east-1b", "us-east-1a", "us-east-1c", "us-east-1d"]
    zone_ids = ["use1-az1", "use1-az2", "use1-az3", "use1-az4"]
    assert select_availability_zones(names, zone_ids, 3) == ["us-east-1a", "us-east-1b", "us-east-1d"]
    assert select_availability_zones(names, zone_ids, 2) == ["us-east-1a", "us-east-1b"]


def test_fails_when_the_region_has_fewer_usable_azs_than_asked():
    with pytest.raises(ValueError) as err:
        select_availability_zones(["us-west-1a", "us-west-1c"], ["usw1-az1", "usw1-az3"], 3, region="us-west-1")
    assert str(err.value) == "us-west-1 has only 2 usable availability zones (us-west-1a, us-west-1c); use 2"


def test_fails_when_eks_unsupported_azs_leave_too_few_and_says_which_were_skipped():
    with pytest.raises(ValueError) as err:
        select_availability_zones(["us-west-1a", "us-west-1b"], ["usw1-az1", "usw1-az2"], 2, region="us-west-1")
    assert str(err.value) == (
        "us-west-1 has only 1 usable availability zones (us-west-1a) (us-west-1b skipped: EKS does not support it); "
        "the platform needs 2; pick another region"
    )


def test_subnet_tags_let_load_balancers_and_karpenter_find_the_right_tier():
    assert subnet_tags("public", "c") == {
        "Tier": "public",
        "kubernetes.io/role/elb": "1",
        "kubernetes.io/cluster/c": "shared",
    }
    assert subnet_tags("private", "c") == {
        "Tier": "private",
        "kubernetes.io/role/internal-elb": "1",
        "kubernetes.io/cluster/c": "shared",
        "karpenter.sh/discovery": "c",
    }
    assert subnet_tags("intra", "c") == {"Tier": "intra"}
    assert subnet_tags("private", None) == {"Tier": "private", "kubernetes.io/role/internal-elb": "1"}


# --- policy documents (golden) -----------------------------------------------------------------------------------


def test_flow_log_trust_policy_matches_golden_and_admits_only_this_accounts_flow_logs():
    document = flow_log_trust_policy("arn:aws:ec2:us-west-2:123456789012:vpc/vpc-0abc")
    assert_golden("network_flow_log_trust.json", document)
    condition = json.loads(document)["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_flow_log_permissions_policy_matches_golden_and_writes_only_to_its_log_group():
    arn = "arn:aws:logs:us-west-2:123456789012:log-group:/aws/vpc-flow-logs/net-x"
    document = flow_log_permissions_policy(arn)
    assert_golden("network_flow_log_permissions.json", document)
    write = json.loads(document)["Statement"][0]
    assert write["Resource"] == [arn, f"{arn}:*"]
    assert "*" not in json.dumps(write["Action"])


# --- what renders ------------------------------------------------------------------------------------------------


def test_vpc_has_dns_support_and_hostnames(prod_like):
    vpc = prod_like.one(VPC, "net-vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_default_network_has_three_tiers_per_az_keyed_by_az_name_and_no_public_ip_mapping(prod_like):
    subnets = by_name(prod_like, SUBNET)
    assert set(subnets) == {f"net-{tier}-{az}" for tier in ("public", "private", "intra") for az in AZS}
    for name, subnet in subnets.items():
        assert subnet.inputs["mapPublicIpOnLaunch"] is False, name
        assert subnet.inputs["availabilityZone"] == name.split("-", 2)[2]
    assert subnets["net-private-us-west-2b"].inputs["cidrBlock"] == "10.0.64.0/18"


def test_default_security_group_is_adopted_with_no_rules(prod_like):
    default_sg = prod_like.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs["vpcId"] == prod_like.one(VPC).id
    assert default_sg.inputs.get("ingress") == [] and default_sg.inputs.get("egress") == []


def test_each_tier_and_az_has_its_own_route_table_and_only_public_and_private_have_default_routes(prod_like):
    tables = by_name(prod_like, ROUTE_TABLE)
    assert set(tables) == {f"net-{tier}-{az}" for tier in ("public", "private", "intra") for az in AZS}
    subnets = by_name(prod_like, SUBNET)
    for assoc in prod_like.by_type(ASSOCIATION):
        assert assoc.inputs["subnetId"] == subnets[assoc.name].id
        assert assoc.inputs["routeTableId"] == tables[assoc.name].id
    routes = by_name(prod_like, ROUTE)
    igw = prod_like.one("aws:ec2/internetGateway:InternetGateway")
    nats = by_name(prod_like, NAT)
    for az in AZS:
        assert routes[f"net-public-{az}-internet"].inputs["gatewayId"] == igw.id
        assert routes[f"net-public-{az}-internet"].inputs["destinationCidrBlock"] == "0.0.0.0/0"
        # per_az: each AZ's private egress stays in that AZ.
        assert routes[f"net-private-{az}-nat"].inputs["natGatewayId"] == nats[f"net-nat-{az}"].id
    intra_tables = {tables[f"net-intra-{az}"].id for az in AZS}
    assert not [r for r in routes.values() if r.inputs["routeTableId"] in intra_tables]


def test_nat_gateways_sit_in_public_subnets_with_their_own_eips(prod_like):
    subnets, eips = by_name(prod_like, SUBNET), by_name(prod_like, EIP)
    for az in AZS:
        nat = prod_like.one(NAT, f"net-nat-{az}")
        assert nat.inputs["subnetId"] == subnets[f"net-public-{az}"].id
        assert nat.inputs["allocationId"] == eips[f"net-nat-{az}"].id
        assert eips[f"net-nat-{az}"].inputs["domain"] == "vpc"


def test_flow_logs_go_to_a_kms_encrypted_log_group_through_a_bounded_role_scoped_to_it(prod_like):
    group = prod_like.one("aws:cloudwatch/logGroup:LogGroup", "net-flow-logs")
    assert group.inputs["kmsKeyId"] == KEY_ARN
    assert group.inputs["retentionInDays"] == 365
    flow_log = prod_like.one("aws:ec2/flowLog:FlowLog", "net-flow-logs")
    assert flow_log.inputs["vpcId"] == prod_like.one(VPC).id
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == group.outputs["arn"]
    role_component = prod_like.one("mlplatform:iam:WorkloadRole", "net-flow-logs")
    roles = [r for r in prod_like.by_type("aws:iam/role:Role") if r.parent == role_component.urn]
    assert len(roles) == 1 and flow_log.inputs["iamRoleArn"] == roles[0].outputs["arn"]
    assert roles[0].inputs["permissionsBoundary"] == BOUNDARY_ARN
    trust = json.loads(roles[0].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    documents = [
        json.loads(p.inputs["policy"])
        for p in prod_like.by_type("aws:iam/rolePolicy:RolePolicy")
        if p.parent == role_component.urn
    ]
    assert documents == [json.loads(flow_log_permissions_policy(group.outputs["arn"]))]


def test_s3_gateway_endpoint_serves_private_and_intra_route_tables(prod_like):
    s3 = prod_like.one(ENDPOINT, "net-endpoint-s3")
    tables = by_name(prod_like, ROUTE_TABLE)
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    assert s3.inputs["serviceName"] == "com.amazonaws.us-west-2.s3"
    assert sorted(s3.inputs["routeTableIds"]) == sorted(
        tables[f"net-{t}-{az}"].id for t in ("private", "intra") for az in AZS
    )


def test_interface_endpoints_sit_in_intra_subnets_with_private_dns_behind_the_endpoint_sg(prod_like):
    endpoints = {r.name: r for r in prod_like.by_type(ENDPOINT) if r.name != "net-endpoint-s3"}
    assert set(endpoints) == {f"net-endpoint-{name}" for name in DEFAULT_INTERFACE_ENDPOINTS}
    intra = [prod_like.one(SUBNET, f"net-intra-{az}").id for az in AZS]
    sg = prod_like.one(SG, "net-endpoints")
    for endpoint in endpoints.values():
        assert endpoint.inputs["vpcEndpointType"] == "Interface"
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert endpoint.inputs["subnetIds"] == intra
        assert endpoint.inputs["securityGroupIds"] == [sg.id]


def test_endpoint_security_group_admits_https_from_the_vpc_cidr_only_and_has_no_egress(prod_like):
    sg = prod_like.one(SG, "net-endpoints")
    rules = [r for r in prod_like.by_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert [
        (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in rules
    ] == [("tcp", 443, 443, "10.0.0.0/16")]
    assert not prod_like.by_type(EGRESS)
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress")


def test_subnets_carry_eks_load_balancer_and_karpenter_tags(prod_like):
    for az in AZS:
        public = prod_like.one(SUBNET, f"net-public-{az}").inputs["tags"]
        private = prod_like.one(SUBNET, f"net-private-{az}").inputs["tags"]
        assert public["kubernetes.io/role/elb"] == "1"
        assert private["kubernetes.io/role/internal-elb"] == "1"
        assert private["karpenter.sh/discovery"] == "ml-platform-prod"
        assert (
            public["kubernetes.io/cluster/ml-platform-prod"]
            == private["kubernetes.io/cluster/ml-platform-prod"]
            == "shared"
        )


def test_outputs_list_subnet_ids_in_az_order_and_per_az(prod_like):
    out = prod_like.outputs
    for tier in ("public", "private", "intra"):
        ids = [prod_like.one(SUBNET, f"net-{tier}-{az}").id for az in AZS]
        assert out[f"{tier}_subnet_ids"] == ids
        assert out["subnet_ids_by_az"][tier] == dict(zip(AZS, ids, strict=True))
    assert out["vpc_id"] == prod_like.one(VPC).id
    assert out["endpoint_security_group_id"] == prod_like.one(SG, "net-endpoints").id
    assert out["s3_endpoint_id"] == prod_like.one(ENDPOINT, "net-endpoint-s3").id
    assert out["flow_log_group_name"].startswith("/aws/vpc-flow-logs/net-")


@pytest.mark.parametrize(("strategy", "nats"), [("none", 0), ("single", 1), ("per_az", 3)])
def test_nat_strategy_changes_nat_gateways_eips_and_private_default_routes(strategy, nats):
    result = render_network(args(nat_strategy=strategy, interface_endpoints=()))
    assert len(result.by_type(NAT)) == len(result.by_type(EIP)) == nats
    private_routes = [r for r in result.by_type(ROUTE) if "-private-" in r.name]
    assert len(private_routes) == (0 if strategy == "none" else 3)
    if strategy == "single":
        only = result.one(NAT).id
        assert {r.inputs["natGatewayId"] for r in private_routes} == {only}


def test_pod_cidr_adds_a_secondary_block_pod_subnets_on_private_tables_and_https_from_pods():
    result = render_network(args(availability_zones=AZS[:2], pod_cidr="100.64.0.0/16", interface_endpoints=("sts",)))
    block = result.one("aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation", "net-pod-cidr")
    assert block.inputs["cidrBlock"] == "100.64.0.0/16"
    pods = {r.name: r for r in result.by_type(SUBNET) if "-pods-" in r.name}
    assert {n: r.inputs["cidrBlock"] for n, r in pods.items()} == {
        "net-pods-us-west-2a": "100.64.0.0/18",
        "net-pods-us-west-2b": "100.64.64.0/18",
    }
    assert all(block.urn in r.property_dependencies.get("vpcId", []) for r in pods.values())
    for az in AZS[:2]:
        assoc = result.one(ASSOCIATION, f"net-pods-{az}")
        assert assoc.inputs["routeTableId"] == result.one(ROUTE_TABLE, f"net-private-{az}").id
    assert sorted(r.inputs["cidrIpv4"] for r in result.by_type(INGRESS)) == ["10.0.0.0/16", "100.64.0.0/16"]


def test_subnet_prefixes_set_subnet_sizes_and_no_cluster_name_means_no_cluster_tags():
    result = render_network(args(availability_zones=AZS[:2], subnet_prefixes={"private": 20, "public": 26}))
    sizes = {r.name: r.inputs["cidrBlock"] for r in result.by_type(SUBNET)}
    assert sizes == {
        "net-private-us-west-2a": "10.0.0.0/20",
        "net-private-us-west-2b": "10.0.16.0/20",
        "net-intra-us-west-2a": "10.0.48.0/24",
        "net-intra-us-west-2b": "10.0.49.0/24",
        "net-public-us-west-2a": "10.0.51.0/26",
        "net-public-us-west-2b": "10.0.51.64/26",
    }
    assert not [k for r in result.by_type(SUBNET) for k in r.inputs["tags"] if "cluster" in k or "karpenter" in k]


def test_urns_of_existing_resources_stay_put_when_a_third_az_is_added():
    two = render_network(args(availability_zones=AZS[:2]))
    three = render_network(args(availability_zones=AZS))
    before, after = two.by_urn(), three.by_urn()
    assert set(before) <= set(after), sorted(set(before) - set(after))
    for urn, record in before.items():
        if record.type == SUBNET:
            assert after[urn].inputs["cidrBlock"] == record.inputs["cidrBlock"], urn
    added = {after[u].name for u in set(after) - set(before) if after[u].type == SUBNET}
    assert added == {f"net-{tier}-us-west-2c" for tier in ("public", "private", "intra")}


def test_adding_an_interface_endpoint_only_adds_that_endpoint():
    fewer = render_network(args(interface_endpoints=("sts",), nat_strategy="single"))
    more = render_network(args(interface_endpoints=("sts", "ecr.api"), nat_strategy="single"))
    assert set(more.by_urn()) - set(fewer.by_urn()) == {more.one(ENDPOINT, "net-endpoint-ecr.api").urn}
    assert set(fewer.by_urn()) <= set(more.by_urn())


@pytest.mark.parametrize(
    ("environment", "azs", "nats", "interface_endpoints", "retention"),
    [("dev", 2, 1, 0, 30), ("staging", 3, 1, 7, 90), ("prod", 3, 3, 7, 365)],
)
def test_each_environment_renders_its_default_network(environment, azs, nats, interface_endpoints, retention):
    cfg = load(
        {
            "aws:region": "us-west-2",
            "ml-platform:environment": environment,
            "ml-platform:tags": '{"CostCenter": "a", "Owner": "b", "Project": "c"}',
        },
        stack=environment,
    )
    result = render_network(
        NetworkArgs(
            settings=cfg.network,
            availability_zones=AZS[: cfg.network.az_count],
            region=cfg.region,
            flow_log_kms_key_arn=KEY_ARN,
            permissions_boundary=BOUNDARY_ARN,
        )
    )
    assert len({r.inputs["availabilityZone"] for r in result.by_type(SUBNET)}) == azs
    assert len(result.by_type(NAT)) == nats
    assert len(result.by_type(ENDPOINT)) == 1 + interface_endpoints
    # The interface endpoints' security group exists only where there are interface endpoints to guard.
    assert len(result.by_type(SG)) == (1 if interface_endpoints else 0)
    assert result.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == retention
    assert result.one(VPC).inputs["cidrBlock"] == cfg.network.cidr
