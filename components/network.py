"""The platform's VPC: private by default, multi-AZ, with the endpoints that keep ML traffic off the internet.

Creates: the VPC (DNS on) and, optionally, a secondary CIDR for pod IPs; per AZ a public, a private and an intra
subnet (and a pod subnet), each with its own route table; an internet gateway, NAT gateways and their EIPs per the
NAT strategy; the VPC's default security group, adopted and emptied; flow logs to a KMS-encrypted CloudWatch log
group through a role that can write only there; an S3 gateway endpoint on the private and intra route tables;
interface endpoints in the intra subnets behind a security group that admits HTTPS from the VPC only.

Subnet CIDRs come from `components.subnet_layout` (room for three AZs is always reserved); every child is keyed by AZ
name, tier or endpoint name, so adding an AZ or an endpoint only adds resources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pydantic import ValidationInfo, field_validator, model_validator

from components import facts, subnet_layout
from components.network_rules import (
    DEFAULT_INTERFACE_ENDPOINTS,
    EKS_CLUSTER_NAME,
    EKS_UNSUPPORTED_ZONE_IDS,
    INTERFACE_ENDPOINTS,
    MAX_AZS,
    MIN_AZS,
    NAT_STRATEGIES,
    check_az_count,
    check_interface_endpoint,
    check_nat_strategy,
    select_availability_zones,
)
from components.settings import FieldError, Section
from components.subnet_layout import POD_TIER, TIERS
from components.workload_role import WorkloadRole, WorkloadRoleArgs

__all__ = [
    "DEFAULT_INTERFACE_ENDPOINTS",
    "EKS_UNSUPPORTED_ZONE_IDS",
    "INTERFACE_ENDPOINTS",
    "MAX_AZS",
    "MIN_AZS",
    "NAT_STRATEGIES",
    "Network",
    "NetworkArgs",
    "NetworkPlan",
    "NetworkSettings",
    "SubnetPrefixes",
    "flow_log_permissions_policy",
    "flow_log_trust_policy",
    "plan_network",
    "select_availability_zones",
    "subnet_tags",
]


class SubnetPrefixes(Section):
    """Subnet size per tier, as a prefix length (`24` for a /24). Unset tiers are sized from the VPC CIDR."""

    public: int | None = None
    """Public subnets (load balancers, NAT gateways). /27 or larger. Default: 1/256 of the VPC, at least /27."""
    private: int | None = None
    """Private subnets (nodes, SageMaker ENIs; pods too without `podCidr`). /22 or larger. Default: 1/4 of the VPC."""
    intra: int | None = None
    """Intra subnets (EKS control-plane ENIs, interface endpoints; no internet route). /28 or larger, and room
    for one address per interface endpoint plus 6 for EKS. Default: 1/256 of the VPC, at least /27."""
    pods: int | None = None
    """Pod subnets, carved from `podCidr` (only with it). /22 or larger. Default: 1/4 of `podCidr`."""

    @field_validator("public", "private", "intra", "pods")
    @classmethod
    def _size(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        return subnet_layout.check_tier_prefix(str(info.field_name), value)


class NetworkSettings(Section):
    """`ml-platform:network`, and what `Network` builds: CIDR, AZs, subnet tiers, NAT, flow logs, endpoints.

    Declared once: the stack file is validated against this model and the component takes it. Defaults are prod's;
    `infra/config/profiles.py` relaxes dev and staging."""

    cidr: str = "10.0.0.0/16"
    """Primary VPC CIDR: private (RFC 1918), /16 to /20. Room for 3 AZs is always reserved in it."""
    az_count: int = 3
    """Availability zones to spread subnets over: 2 or 3, at most what the region has. The first N usable AZs of
    the region (by name) are used; growing from 2 to 3 adds subnets and never moves existing ones."""
    nat_strategy: str = "per_az"
    """Internet egress for private subnets: none | single | per_az."""
    subnet_prefixes: SubnetPrefixes = SubnetPrefixes()
    """Per-tier subnet sizes, e.g. `{"private": 19, "public": 24, "intra": 24}`. Default: sized from `cidr`."""
    pod_cidr: str | None = None
    """Secondary CIDR for pod IPs, e.g. `100.64.0.0/16` (100.64.0.0/10 or the primary's RFC 1918 range, /16 to /20).
    Default: none; pods take addresses from the private subnets."""
    interface_endpoints: tuple[str, ...] = DEFAULT_INTERFACE_ENDPOINTS
    """Interface VPC endpoints, in the intra subnets with private DNS (see `INTERFACE_ENDPOINTS`).
    The S3 gateway endpoint is always created and is not listed here."""
    flow_log_retention_days: int = 365
    """Days CloudWatch keeps VPC flow-log records; one of the periods CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ...)."""

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        subnet_layout.check_vpc_cidr(value)
        return value

    @field_validator("pod_cidr")
    @classmethod
    def _pod_cidr(cls, value: str | None) -> str | None:
        if value is not None:
            subnet_layout.parse_cidr(value)
        return value

    @field_validator("az_count")
    @classmethod
    def _az_count(cls, value: int) -> int:
        return check_az_count(value)

    @field_validator("nat_strategy")
    @classmethod
    def _nat(cls, value: str) -> str:
        return check_nat_strategy(value)

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return facts.check_log_retention(value)

    @model_validator(mode="after")
    def _consistent(self) -> NetworkSettings:
        seen: set[str] = set()
        for index, name in enumerate(self.interface_endpoints):
            try:
                check_interface_endpoint(name)
            except ValueError as exc:
                raise FieldError(f"interfaceEndpoints.{index}", name, str(exc)) from None
            if name in seen:
                raise FieldError(f"interfaceEndpoints.{index}", name, "listed twice; each endpoint appears once")
            seen.add(name)
        vpc = subnet_layout.parse_cidr(self.cidr)
        if self.pod_cidr is not None:
            try:
                subnet_layout.check_pod_cidr(self.pod_cidr, vpc)
            except ValueError as exc:
                raise FieldError("podCidr", self.pod_cidr, str(exc)) from None
        elif self.subnet_prefixes.pods is not None:
            raise FieldError(
                "subnetPrefixes.pods",
                self.subnet_prefixes.pods,
                "pod subnets need `podCidr`; set it or remove this size",
            )
        sizes = self.resolved_prefixes
        try:
            subnet_layout.check_intra_capacity(sizes["intra"], len(self.interface_endpoints))
        except ValueError as exc:
            raise FieldError("subnetPrefixes.intra", sizes["intra"], str(exc)) from None
        try:
            subnet_layout.plan_layout(
                self.cidr,
                self.subnet_prefixes.model_dump(),
                pod_cidr=self.pod_cidr,
                interface_endpoints=len(self.interface_endpoints),
            )
        except ValueError as exc:
            raise FieldError("subnetPrefixes", {k: v for k, v in sizes.items()}, str(exc)) from None
        return self

    @property
    def resolved_prefixes(self) -> dict[str, int]:
        """Tier sizes in effect: the configured ones, the rest from the VPC CIDR (pods only with `podCidr`)."""
        given = {k: v for k, v in self.subnet_prefixes.model_dump().items() if v is not None}
        sizes = {**subnet_layout.default_prefixes(subnet_layout.parse_cidr(self.cidr)), **given}
        if self.pod_cidr is not None:
            sizes.setdefault(
                subnet_layout.POD_TIER, subnet_layout.default_pod_prefix(subnet_layout.parse_cidr(self.pod_cidr))
            )
        return sizes


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    availability_zones: Sequence[str]
    """2 or 3 AZ names, e.g. from `select_availability_zones`. The i-th AZ gets subnet slot i, so keep the order."""
    region: str
    """The region the provider deploys to; endpoint service names are `com.amazonaws.<region>.<service>`."""
    flow_log_kms_key_arn: pulumi.Input[str]
    """Customer-managed KMS key for the flow-log group; its policy must let CloudWatch Logs use it."""
    permissions_boundary: pulumi.Input[str]
    """Permission boundary ARN every platform role carries, here the flow-log role's."""
    settings: NetworkSettings = field(default_factory=NetworkSettings)
    """What the stack file sets (validated when built): CIDRs, subnet sizes, NAT, endpoints, flow-log retention.
    `azCount` is the program's: it picks `availability_zones`."""
    cluster_name: str | None = None
    """EKS cluster using this VPC. When set, subnets get `kubernetes.io/cluster/<name>=shared` and private
    subnets `karpenter.sh/discovery=<name>`. The load-balancer role tags are set either way."""


@dataclass(frozen=True)
class NetworkPlan:
    """Everything the component will build, computed from its args without touching Pulumi."""

    azs: tuple[str, ...]
    subnets: Mapping[str, Mapping[str, str]]
    """tier -> AZ -> CIDR. Has `pods` only with a pod CIDR."""
    nat_azs: tuple[str, ...]
    """AZs that get a NAT gateway (and EIP)."""
    egress_nat_az: Mapping[str, str | None]
    """AZ -> the AZ whose NAT gateway its private route table uses (None: no default route)."""
    endpoint_services: Mapping[str, str]
    """Interface endpoint name -> service name."""
    vpc_cidrs: tuple[str, ...]
    """CIDRs the endpoint security group admits HTTPS from: the VPC's, and the pod CIDR when set."""


def plan_network(args: NetworkArgs) -> NetworkPlan:
    """Validate the args and compute the network. Raises ValueError naming the argument and what is allowed."""
    azs = tuple(args.availability_zones)

    def fail(arg: str, value: object, message: str) -> ValueError:
        return ValueError(f"NetworkArgs.{arg} = {value!r}: {message}")

    try:
        check_az_count(len(azs))
    except ValueError as exc:
        raise fail("availability_zones", list(azs), f"{len(azs)} AZs given; {exc}") from None
    if len(set(azs)) != len(azs):
        raise fail("availability_zones", list(azs), "AZ names must be distinct")
    foreign = [az for az in azs if not az.startswith(args.region)]
    if foreign:
        raise fail("availability_zones", list(azs), f"{foreign[0]} is not in region {args.region}")
    settings = args.settings
    endpoints = list(settings.interface_endpoints)
    if args.cluster_name is not None and not EKS_CLUSTER_NAME.match(args.cluster_name):
        raise fail(
            "cluster_name",
            args.cluster_name,
            "EKS cluster names are 1-100 letters, digits, '-' or '_', starting alphanumeric",
        )
    # The settings validated the layout when they were built.
    layout = subnet_layout.plan_layout(
        settings.cidr, settings.resolved_prefixes, pod_cidr=settings.pod_cidr, interface_endpoints=len(endpoints)
    )

    nat_azs = {"none": (), "single": azs[:1], "per_az": azs}[settings.nat_strategy]
    egress = {az: (az if settings.nat_strategy == "per_az" else (azs[0] if nat_azs else None)) for az in azs}
    return NetworkPlan(
        azs=azs,
        subnets=layout.for_azs(azs),
        nat_azs=tuple(nat_azs),
        egress_nat_az=egress,
        endpoint_services={name: f"com.amazonaws.{args.region}.{name}" for name in endpoints},
        vpc_cidrs=(settings.cidr,) + ((settings.pod_cidr,) if settings.pod_cidr else ()),
    )


def subnet_tags(tier: str, cluster_name: str | None) -> dict[str, str]:
    """Discovery tags: the AWS Load Balancer Controller picks subnets by role tag, Karpenter by its discovery tag."""
    tags = {"Tier": tier}
    if tier == "public":
        tags["kubernetes.io/role/elb"] = "1"
    if tier == "private":
        tags["kubernetes.io/role/internal-elb"] = "1"
    if cluster_name and tier in ("public", "private"):
        tags[f"kubernetes.io/cluster/{cluster_name}"] = "shared"
    if cluster_name and tier == "private":
        tags["karpenter.sh/discovery"] = cluster_name
    return tags


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(partition, region, account) of an ARN."""
    parts = arn.split(":")
    return parts[1], parts[3], parts[4]


def flow_log_trust_policy(vpc_arn: str) -> str:
    """Trust for the VPC Flow Logs service, limited to this account's flow logs (confused-deputy guard)."""
    partition, region, account = _arn_parts(vpc_arn)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*"},
                    },
                }
            ],
        },
        indent=2,
    )


def flow_log_permissions_policy(log_group_arn: str) -> str:
    """Write access to one log group's streams, nothing else."""
    # The log group's ARN names the group; streams are `<group arn>:log-stream:<name>`, matched by `:*`.
    # DescribeLogGroups cannot be scoped to one group; the narrowest it takes is every group in the account and
    # region, and it reads names and settings only, never log data.
    all_groups = log_group_arn.split(":log-group:")[0] + ":log-group:*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WriteFlowLogRecords",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                },
                {
                    "Sid": "FindLogGroup",
                    "Effect": "Allow",
                    "Action": "logs:DescribeLogGroups",
                    "Resource": all_groups,
                },
            ],
        },
        indent=2,
    )


class Network(pulumi.ComponentResource):
    """A private-by-default, multi-AZ VPC for EKS and SageMaker.

    Attributes (outputs): `vpc_id`, `vpc_cidr`, `public_subnet_ids`, `private_subnet_ids`, `intra_subnet_ids`,
    `pod_subnet_ids` (AZ-ordered lists), `subnet_ids_by_az` (tier -> AZ -> id), `route_table_ids_by_az`,
    `endpoint_security_group_id` (None without interface endpoints), `s3_endpoint_id`, `flow_log_group_name`, `nat_public_ips`; `availability_zones`.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:network:Network", name, None, opts)
        plan = plan_network(args)
        child = pulumi.ResourceOptions(parent=self)

        def named(role: str) -> dict[str, str]:
            return {"Name": f"{name}-{role}"}

        self.availability_zones = list(plan.azs)
        # DNS hostnames and support: private DNS on interface endpoints and a private EKS API endpoint need both.
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.settings.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=named("vpc"),
            opts=child,
        )
        vpc_id: pulumi.Output[str] = self.vpc.id
        pod_vpc_id = vpc_id
        if args.settings.pod_cidr:
            pod_block = aws.ec2.VpcIpv4CidrBlockAssociation(
                f"{name}-pod-cidr", vpc_id=vpc_id, cidr_block=args.settings.pod_cidr, opts=child
            )
            # Subnets in a secondary block must wait for the association; its vpc_id carries that dependency.
            pod_vpc_id = pod_block.vpc_id

        # Adopting the default security group strips its rules: nothing can fall back on the allow-all default.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc_id,
            ingress=[],
            egress=[],
            tags=named("default-sg-unused"),
            opts=child,
        )

        self.subnets: dict[str, dict[str, aws.ec2.Subnet]] = {}
        for tier, by_az in plan.subnets.items():
            self.subnets[tier] = {}
            for az, cidr in by_az.items():
                self.subnets[tier][az] = aws.ec2.Subnet(
                    f"{name}-{tier}-{az}",
                    vpc_id=pod_vpc_id if tier == POD_TIER else vpc_id,
                    cidr_block=cidr,
                    availability_zone=az,
                    # Off in every tier, public included: load balancers and NAT gateways get their addresses
                    # explicitly, and nothing else should ever be reachable from the internet by accident.
                    map_public_ip_on_launch=False,
                    tags={**named(f"{tier}-{az}"), **subnet_tags(tier, args.cluster_name)},
                    opts=child,
                )

        self.internet_gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc_id, tags=named("igw"), opts=child)
        after_igw = pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway])
        self.nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        self.eips: dict[str, aws.ec2.Eip] = {}
        for az in plan.nat_azs:
            self.eips[az] = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags=named(f"nat-{az}"), opts=after_igw)
            self.nat_gateways[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                allocation_id=self.eips[az].id,
                subnet_id=self.subnets["public"][az].id,
                connectivity_type="public",
                tags=named(f"nat-{az}"),
                opts=after_igw,
            )

        # One route table per tier and AZ: per-AZ egress (NAT) differs, and per-AZ tables let one AZ's routing
        # change without touching the others. Pod subnets share their AZ's private table: same egress.
        self.route_tables: dict[str, dict[str, aws.ec2.RouteTable]] = {tier: {} for tier in TIERS}
        for tier in TIERS:
            for az in plan.azs:
                table = aws.ec2.RouteTable(f"{name}-{tier}-{az}", vpc_id=vpc_id, tags=named(f"{tier}-{az}"), opts=child)
                self.route_tables[tier][az] = table
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{az}", subnet_id=self.subnets[tier][az].id, route_table_id=table.id, opts=child
                )
        for az in plan.subnets.get(POD_TIER, {}):
            aws.ec2.RouteTableAssociation(
                f"{name}-{POD_TIER}-{az}",
                subnet_id=self.subnets[POD_TIER][az].id,
                route_table_id=self.route_tables["private"][az].id,
                opts=child,
            )
        for az in plan.azs:
            aws.ec2.Route(
                f"{name}-public-{az}-internet",
                route_table_id=self.route_tables["public"][az].id,
                destination_cidr_block="0.0.0.0/0",
                gateway_id=self.internet_gateway.id,
                opts=child,
            )
            nat_az = plan.egress_nat_az[az]
            if nat_az is not None:
                aws.ec2.Route(
                    f"{name}-private-{az}-nat",
                    route_table_id=self.route_tables["private"][az].id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=self.nat_gateways[nat_az].id,
                    opts=child,
                )

        # Free, and it keeps dataset and image-layer traffic off NAT. Intra gets it too: nothing else leaves there.
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-endpoint-s3",
            vpc_id=vpc_id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[self.route_tables[t][az].id for t in ("private", "intra") for az in plan.azs],
            tags=named("endpoint-s3"),
            opts=child,
        )

        # The group exists only with interface endpoints to guard: an unattached group is clutter a scanner
        # rightly flags (CKV2_AWS_5), and dev runs with the S3 gateway endpoint alone.
        self.endpoint_security_group: aws.ec2.SecurityGroup | None = None
        if plan.endpoint_services:
            self.endpoint_security_group = aws.ec2.SecurityGroup(
                f"{name}-endpoints",
                vpc_id=vpc_id,
                description="HTTPS from inside the VPC to its interface endpoints",
                tags=named("endpoints"),
                opts=child,
            )
            # No egress rule: endpoint ENIs only answer. The provider removes AWS's default allow-all egress rule.
            for role, cidr in zip(("vpc", "pods"), plan.vpc_cidrs, strict=False):  # the pod CIDR only when set
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-endpoints-https-from-{role}",
                    security_group_id=self.endpoint_security_group.id,
                    ip_protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_ipv4=cidr,
                    description=f"HTTPS from the {role} CIDR",
                    opts=child,
                )
        self.interface_endpoints: dict[str, aws.ec2.VpcEndpoint] = {}
        endpoint_sg_ids = [self.endpoint_security_group.id] if self.endpoint_security_group else []
        intra_ids = [self.subnets["intra"][az].id for az in plan.azs]
        for endpoint, service in plan.endpoint_services.items():
            self.interface_endpoints[endpoint] = aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{endpoint}",
                vpc_id=vpc_id,
                service_name=service,
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=intra_ids,
                security_group_ids=endpoint_sg_ids,
                tags=named(f"endpoint-{endpoint}"),
                opts=child,
            )

        self.flow_log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name_prefix=f"/aws/vpc-flow-logs/{name}-",
            kms_key_id=args.flow_log_kms_key_arn,
            retention_in_days=args.settings.flow_log_retention_days,
            tags=named("flow-logs"),
            opts=child,
        )
        self.flow_log_role = WorkloadRole(
            f"{name}-flow-logs",
            WorkloadRoleArgs(
                assume_role_policy=self.vpc.arn.apply(flow_log_trust_policy),
                permissions_boundary=args.permissions_boundary,
                policies={"write-flow-logs": self.flow_log_group.arn.apply(flow_log_permissions_policy)},
                description=f"VPC Flow Logs for {name}: writes to its own log group only",
            ),
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn,
            tags=named("flow-logs"),
            # The role's inline policy must exist before the first delivery, not just the role.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.flow_log_role]),
        )

        def ids(tier: str) -> pulumi.Output[list[str]]:
            return pulumi.Output.all(*[s.id for s in self.subnets.get(tier, {}).values()])

        self.vpc_id = self.vpc.id
        self.vpc_cidr = self.vpc.cidr_block
        self.public_subnet_ids = ids("public")
        self.private_subnet_ids = ids("private")
        self.intra_subnet_ids = ids("intra")
        self.pod_subnet_ids = ids(POD_TIER)
        self.subnet_ids_by_az = {tier: {az: s.id for az, s in by_az.items()} for tier, by_az in self.subnets.items()}
        self.route_table_ids_by_az = {
            t: {az: rt.id for az, rt in by_az.items()} for t, by_az in self.route_tables.items()
        }
        self.endpoint_security_group_id = self.endpoint_security_group.id if self.endpoint_security_group else None
        self.s3_endpoint_id = self.s3_endpoint.id
        self.flow_log_group_name = self.flow_log_group.name
        self.nat_public_ips = pulumi.Output.all(*[eip.public_ip for eip in self.eips.values()])

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "intra_subnet_ids": self.intra_subnet_ids,
                "pod_subnet_ids": self.pod_subnet_ids,
                "subnet_ids_by_az": self.subnet_ids_by_az,
                "endpoint_security_group_id": self.endpoint_security_group_id,
                "s3_endpoint_id": self.s3_endpoint_id,
                "flow_log_group_name": self.flow_log_group_name,
                "nat_public_ips": self.nat_public_ips,
            }
        )
