"""What the AWS provider would answer, offline: physical names, ids, ARNs, `tagsAll`, and the common data sources.

Everything is deterministic (derived from the URN), so two runs of the same program give the same document.
Types not listed in the tables still get a name, an id, `region`, `tagsAll` and a generic ARN when their schema
has those properties.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from preflight.emulator.schema import type_info
from preflight.model import UNKNOWN

ACCOUNT_ID = "123456789012"
"""The account every emulated ARN and caller identity uses (AWS's documentation example account)."""

# Availability zones per region, for getAvailabilityZones. Regions not listed get a, b, c.
_AZ_SUFFIXES: dict[str, str] = {
    "us-east-1": "abcdef",
    "us-west-2": "abcd",
    "us-west-1": "ac",
    "ap-northeast-1": "acd",
    "ap-northeast-2": "abcd",
    "ca-central-1": "abd",
    "sa-east-1": "abc",
    "eu-west-1": "abc",
    "eu-central-1": "abc",
}


class UnsupportedInvoke(Exception):
    """A data source the emulator cannot answer; preflight reports it instead of guessing."""


@cache
def _region_partitions() -> dict[str, str]:
    """Region -> partition, from botocore's endpoint data alone (loading a service model to list regions would
    parse the whole EC2 model, ~100 MiB, for a few dozen names)."""
    import botocore.loaders

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    return {region: p["partition"] for p in endpoints["partitions"] for region in p["regions"]}


_partition_lock = threading.Lock()


def regions() -> tuple[str, ...]:
    """Every region botocore's endpoint data knows, in every partition."""
    with _partition_lock:
        return tuple(sorted(_region_partitions()))


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) for a region, from botocore's endpoint data."""
    # The monitor answers from several worker threads: the first call fills the cache while the others wait.
    with _partition_lock:
        partition = _region_partitions().get(region, "aws")
    return partition, ("amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com")


@dataclass(frozen=True)
class AwsProviderSettings:
    """The settings of the provider a resource uses (explicit, or the default one from stack config)."""

    region: str
    default_tags: dict[str, str] = field(default_factory=dict)
    account_id: str = ACCOUNT_ID

    @property
    def partition(self) -> str:
        return partition_of(self.region)[0]

    def with_region(self, region: str) -> AwsProviderSettings:
        return self if region == self.region else AwsProviderSettings(region, self.default_tags, self.account_id)

    @classmethod
    def from_inputs(cls, inputs: dict[str, Any], fallback_region: str | None) -> AwsProviderSettings:
        region = inputs.get("region") or fallback_region or "us-east-1"
        tags = inputs.get("defaultTags") or {}
        if isinstance(tags, str):  # provider config travels as JSON text
            tags = json.loads(tags or "{}")
        tags = tags.get("tags", {}) if isinstance(tags, dict) else {}
        if isinstance(tags, str):
            tags = json.loads(tags)
        return cls(region=region, default_tags=dict(tags or {}))


def digest(urn: str, length: int = 7) -> str:
    return hashlib.sha256(urn.encode()).hexdigest()[:length]


def _uuid(urn: str) -> str:
    return str(uuid.UUID(hashlib.sha256(urn.encode()).hexdigest()[:32]))


# EC2-style ids: "<prefix>-<17 hex>".
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/instance:Instance": "i",
    "aws:ec2/networkAcl:NetworkAcl": "acl",
    "aws:ec2/placementGroup:PlacementGroup": "pg",
    "aws:ebs/volume:Volume": "vol",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": "vpc-cidr-assoc",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule",
}

# Types whose id is neither an EC2-style id nor their name.
_ID_NOT_NAME = frozenset({"aws:kms/key:Key", "aws:eks/nodeGroup:NodeGroup", "aws:sns/topic:Topic"})

# ARN templates. Fields: p partition, r region, a account, id, name (physical name), plus any input by name.
_ARN = {
    "aws:s3/bucket:Bucket": "arn:{p}:s3:::{bucket}",
    "aws:s3/bucketV2:BucketV2": "arn:{p}:s3:::{bucket}",
    "aws:iam/role:Role": "arn:{p}:iam::{a}:role{path}{name}",
    "aws:iam/policy:Policy": "arn:{p}:iam::{a}:policy{path}{name}",
    "aws:iam/user:User": "arn:{p}:iam::{a}:user{path}{name}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:{p}:iam::{a}:instance-profile{path}{name}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "arn:{p}:iam::{a}:oidc-provider/{host}",
    "aws:kms/key:Key": "arn:{p}:kms:{r}:{a}:key/{id}",
    "aws:kms/alias:Alias": "arn:{p}:kms:{r}:{a}:{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "aws:cloudwatch/eventRule:EventRule": "arn:{p}:events:{r}:{a}:rule/{name}",
    "aws:cloudwatch/eventConnection:EventConnection": "arn:{p}:events:{r}:{a}:connection/{name}/{uuid}",
    "aws:cloudwatch/eventApiDestination:EventApiDestination": "arn:{p}:events:{r}:{a}:api-destination/{name}/{uuid}",
    "aws:scheduler/schedule:Schedule": "arn:{p}:scheduler:{r}:{a}:schedule/default/{name}",
    "aws:sns/topic:Topic": "arn:{p}:sns:{r}:{a}:{name}",
    "aws:sqs/queue:Queue": "arn:{p}:sqs:{r}:{a}:{name}",
    "aws:eks/cluster:Cluster": "arn:{p}:eks:{r}:{a}:cluster/{name}",
    "aws:eks/nodeGroup:NodeGroup": "arn:{p}:eks:{r}:{a}:nodegroup/{clusterName}/{name}/{uuid}",
    "aws:eks/addon:Addon": "arn:{p}:eks:{r}:{a}:addon/{clusterName}/{addonName}/{uuid}",
    "aws:eks/accessEntry:AccessEntry": "arn:{p}:eks:{r}:{a}:access-entry/{clusterName}/role/{a}/{uuid}",
    "aws:ecr/repository:Repository": "arn:{p}:ecr:{r}:{a}:repository/{name}",
    "aws:sagemaker/model:Model": "arn:{p}:sagemaker:{r}:{a}:model/{name}",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "arn:{p}:sagemaker:{r}:{a}:endpoint-config/{name}",
    "aws:sagemaker/endpoint:Endpoint": "arn:{p}:sagemaker:{r}:{a}:endpoint/{name}",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "arn:{p}:sagemaker:{r}:{a}:model-package-group/{modelPackageGroupName}",
    "aws:sagemaker/pipeline:Pipeline": "arn:{p}:sagemaker:{r}:{a}:pipeline/{pipelineName}",
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": "arn:{p}:sagemaker:{r}:{a}:mlflow-tracking-server/{trackingServerName}",
    "aws:budgets/budget:Budget": "arn:{p}:budgets::{a}:budget/{name}",
    "aws:lambda/function:Function": "arn:{p}:lambda:{r}:{a}:function:{name}",
    "aws:dynamodb/table:Table": "arn:{p}:dynamodb:{r}:{a}:table/{name}",
    "aws:secretsmanager/secret:Secret": "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{id6}",
    "aws:ec2/vpc:Vpc": "arn:{p}:ec2:{r}:{a}:vpc/{id}",
    "aws:ec2/subnet:Subnet": "arn:{p}:ec2:{r}:{a}:subnet/{id}",
    "aws:ec2/securityGroup:SecurityGroup": "arn:{p}:ec2:{r}:{a}:security-group/{id}",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "arn:{p}:ec2:{r}:{a}:security-group/{id}",
    "aws:ec2/routeTable:RouteTable": "arn:{p}:ec2:{r}:{a}:route-table/{id}",
    "aws:ec2/internetGateway:InternetGateway": "arn:{p}:ec2:{r}:{a}:internet-gateway/{id}",
    "aws:ec2/natGateway:NatGateway": "arn:{p}:ec2:{r}:{a}:natgateway/{id}",
    "aws:ec2/eip:Eip": "arn:{p}:ec2:{r}:{a}:elastic-ip/{id}",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "arn:{p}:ec2:{r}:{a}:vpc-endpoint/{id}",
    "aws:ec2/launchTemplate:LaunchTemplate": "arn:{p}:ec2:{r}:{a}:launch-template/{id}",
    "aws:ec2/flowLog:FlowLog": "arn:{p}:ec2:{r}:{a}:vpc-flow-log/{id}",
    "aws:ec2/instance:Instance": "arn:{p}:ec2:{r}:{a}:instance/{id}",
    "aws:ebs/volume:Volume": "arn:{p}:ec2:{r}:{a}:volume/{id}",
    "aws:ec2/placementGroup:PlacementGroup": "arn:{p}:ec2:{r}:{a}:placement-group/{name}",
}


def _cluster_outputs(ctx: _Ctx) -> dict[str, Any]:
    oidc_id = digest(ctx.urn, 32).upper()
    return {
        "endpoint": f"https://{digest(ctx.urn, 32).upper()}.gr7.{ctx.region}.eks.amazonaws.com",
        "certificateAuthority": {
            "data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCnByZWZsaWdodAotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
        },
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{oidc_id}"}]}],
        "clusterId": _uuid(ctx.urn),
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "vpcConfig": {
            **(ctx.inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{digest(ctx.urn + 'cluster-sg', 17)}",
            "vpcId": f"vpc-{digest(ctx.urn + 'vpc', 17)}",
        },
    }


def _node_group_outputs(ctx: _Ctx) -> dict[str, Any]:
    # The managed node group's Auto Scaling group: `eks-<node group name>-<uuid>`, what autoscaler tags target.
    return {
        "resources": [
            {
                "autoscalingGroups": [{"name": f"eks-{ctx.name}-{_uuid(ctx.urn)}"}],
                "remoteAccessSecurityGroupId": "",
            }
        ],
        "status": "ACTIVE",
    }


def _bucket_outputs(ctx: _Ctx) -> dict[str, Any]:
    name = ctx.name
    return {
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        "bucketRegion": ctx.region,
        "hostedZoneId": "Z3BJ6K6RIION7M",
    }


_EXTRA: dict[str, Callable[[_Ctx], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": _cluster_outputs,
    "aws:eks/nodeGroup:NodeGroup": _node_group_outputs,
    "aws:s3/bucket:Bucket": _bucket_outputs,
    "aws:s3/bucketV2:BucketV2": _bucket_outputs,
    "aws:kms/key:Key": lambda ctx: {"keyId": ctx.id},
    "aws:ecr/repository:Repository": lambda ctx: {
        "registryId": ctx.settings.account_id,
        "repositoryUrl": f"{ctx.settings.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{ctx.name}",
    },
    "aws:iam/role:Role": lambda ctx: {"uniqueId": "AROA" + digest(ctx.urn, 17).upper()},
    "aws:sqs/queue:Queue": lambda ctx: {
        "url": f"https://sqs.{ctx.region}.amazonaws.com/{ctx.settings.account_id}/{ctx.name}"
    },
    "aws:ec2/vpc:Vpc": lambda ctx: {
        "defaultSecurityGroupId": f"sg-{digest(ctx.urn + 'default-sg', 17)}",
        "defaultRouteTableId": f"rtb-{digest(ctx.urn + 'default-rtb', 17)}",
        "mainRouteTableId": f"rtb-{digest(ctx.urn + 'main-rtb', 17)}",
        "defaultNetworkAclId": f"acl-{digest(ctx.urn + 'default-acl', 17)}",
        "ownerId": ctx.settings.account_id,
    },
    "aws:ec2/eip:Eip": lambda ctx: {"publicIp": "203.0.113." + str(int(digest(ctx.urn, 2), 16) % 250 + 1)},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda ctx: {"latestVersion": 1, "defaultVersion": 1},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda ctx: {},
}


@dataclass
class _Ctx:
    token: str
    urn: str
    logical: str
    inputs: dict[str, Any]
    settings: AwsProviderSettings
    name: Any = ""
    """The physical name: a string, or UNKNOWN when the program's value is not known until deployment."""
    id: Any = ""

    @property
    def region(self) -> Any:
        region = self.inputs.get("region")
        return region if _given(region) else self.settings.region


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return ""


def resource(
    token: str, logical: str, urn: str, inputs: dict[str, Any], settings: AwsProviderSettings
) -> tuple[str, dict[str, Any]]:
    """(id, outputs) the AWS provider would return for a resource, as known at preview."""
    info = type_info(token)
    outputs = dict(inputs)
    ctx = _Ctx(token=token, urn=urn, logical=logical, inputs=inputs, settings=settings)

    name_prop = info.autoname_property if info else None
    if name_prop:
        given, prefix = inputs.get(name_prop), inputs.get(f"{name_prop}Prefix")
        if given is UNKNOWN or (not given and prefix is UNKNOWN):
            outputs[name_prop] = UNKNOWN
        elif not given:
            outputs[name_prop] = f"{prefix}{digest(urn, 26)}" if prefix else f"{logical}-{digest(urn)}"
        ctx.name = outputs[name_prop]
    elif _given(inputs.get("name")):
        ctx.name = inputs["name"]

    if token in _ID_PREFIX:
        ctx.id = f"{_ID_PREFIX[token]}-{digest(urn, 17)}"
    elif token == "aws:kms/key:Key":
        ctx.id = _uuid(urn)
    elif token == "aws:eks/nodeGroup:NodeGroup":
        cluster = inputs.get("clusterName", "")
        ctx.id = UNKNOWN if UNKNOWN in (cluster, ctx.name) else f"{cluster}:{ctx.name}"
    else:
        ctx.id = ctx.name if _given(ctx.name) else f"{logical}-{digest(urn)}"

    # What AWS derives from a name, an id or a region that is itself unknown is unknown too: left out, so the SDK
    # resolves it as unknown.
    derivable = UNKNOWN not in (ctx.name, ctx.id, ctx.region)
    if derivable:
        outputs.update(_EXTRA.get(token, lambda _: {})(ctx))
    output_names = info.outputs if info else frozenset()
    if "region" in output_names:
        outputs.setdefault("region", settings.region)
    if "tagsAll" in output_names:
        tags = inputs.get("tags")
        outputs["tagsAll"] = UNKNOWN if tags is UNKNOWN else {**settings.default_tags, **(tags or {})}
    if "arn" in output_names and not _given(inputs.get("arn")) and derivable:
        outputs["arn"] = _arn(ctx)
    if token in ("aws:sns/topic:Topic",):
        ctx.id = outputs.get("arn", UNKNOWN)
    return ctx.id, outputs


def _given(value: Any) -> bool:
    """Set by the program: a value, or a value it will only know at deployment."""
    return value is UNKNOWN or bool(value)


# Outputs of a read resource the emulator can derive from its id alone (no inputs), for types whose id is their name.
_READ_EXTRA = (
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:ecr/repository:Repository",
    "aws:sqs/queue:Queue",
)
_ARN_FROM_ID = frozenset({"p", "r", "a", "id", "name", "bucket"})


def read(token: str, logical: str, urn: str, rid: str, settings: AwsProviderSettings) -> dict[str, Any]:
    """What the AWS provider's read of `rid` would give that can be told from the id alone: the name when the id is
    the name, and the ARN when AWS builds it from the id. Everything else stays unknown."""
    if rid.startswith("arn:"):  # IAM policies and others whose id is their ARN
        return {"arn": rid}
    info = type_info(token)
    ctx = _Ctx(token=token, urn=urn, logical=logical, inputs={}, settings=settings, id=rid)
    outputs: dict[str, Any] = {}
    name_prop = info.autoname_property if info else None
    id_is_name = token not in _ID_PREFIX and token not in _ID_NOT_NAME
    if name_prop and id_is_name:
        outputs[name_prop] = ctx.name = rid
        if token in _READ_EXTRA:
            outputs.update(_EXTRA[token](ctx))
    template = _ARN.get(token)
    if (
        info
        and "arn" in info.outputs
        and template
        and _fields(template) <= _ARN_FROM_ID
        and (ctx.name or "{id}" in template)
    ):
        outputs["arn"] = _arn(ctx)
    return outputs


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _arn(ctx: _Ctx) -> str:
    service = ctx.token.split(":")[1].split("/")[0]
    template = _ARN.get(ctx.token, "arn:{p}:" + service + ":{r}:{a}:" + ctx.token.split(":")[2].lower() + "/{id}")
    url = str(ctx.inputs.get("url", ""))
    fields = _Fields(
        {k: v for k, v in ctx.inputs.items() if isinstance(v, (str, int)) or v is UNKNOWN},
        p=ctx.settings.partition,
        r=ctx.region,
        a=ctx.settings.account_id,
        id=ctx.id,
        name=ctx.name,
        path=ctx.inputs.get("path") or "/",
        host=url.removeprefix("https://"),
        uuid=_uuid(ctx.urn),
        id6=digest(ctx.urn, 6),
    )
    if ctx.token.startswith("aws:s3/bucket"):
        fields["bucket"] = ctx.name
    if any(fields.get(f) is UNKNOWN for f in _fields(template)):
        return UNKNOWN
    return template.format_map(fields)


def invoke(token: str, args: dict[str, Any], settings: AwsProviderSettings) -> dict[str, Any]:
    """The result of an AWS data source, or UnsupportedInvoke."""
    region = args.get("region") or settings.region
    partition, dns_suffix = partition_of(region)
    account = settings.account_id
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": account,
            "arn": f"arn:{partition}:iam::{account}:user/preflight",
            "userId": "AIDAPREFLIGHT",
            "id": account,
        }
    if token == "aws:index/getPartition:getPartition":
        return {
            "partition": partition,
            "dnsSuffix": dns_suffix,
            "reverseDnsPrefix": ".".join(reversed(dns_suffix.split("."))),
            "id": partition,
        }
    if token == "aws:index/getRegion:getRegion":
        return {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.{dns_suffix}",
            "description": region,
        }
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        suffixes = _AZ_SUFFIXES.get(region, "abc")
        names = [f"{region}{s}" for s in suffixes]
        short = zone_id_prefix(region)
        return {
            "names": names,
            "zoneIds": [f"{short}-az{i + 1}" for i in range(len(names))],
            "groupNames": [region] * len(names),
            "id": region,
        }
    if token == "aws:index/getDefaultTags:getDefaultTags":
        return {"tags": dict(settings.default_tags), "id": "default-tags"}
    if token == "aws:iam/getPolicyDocument:getPolicyDocument":
        return {
            "json": policy_document_json(args),
            "minifiedJson": json.dumps(_policy_document(args), separators=(",", ":")),
            "id": digest(json.dumps(args, sort_keys=True, default=str), 10),
        }
    answer = _DATA_SOURCES.get(token)
    if answer is None:
        raise UnsupportedInvoke(token)
    return answer(args, settings.with_region(region))


# ---- data sources answered with an emulated shape (the monitor notes each one as emulated) ----------------------
_WELL_KNOWN_OWNERS = {"amazon": "137112412989", "aws-marketplace": "679593333241"}


def _filter(args: dict[str, Any], name: str) -> str | None:
    for f in args.get("filters") or []:
        if f.get("name") == name and f.get("values"):
            return str(f["values"][0])
    return None


def _key(args: dict[str, Any], region: str) -> str:
    return json.dumps({"region": region, **args}, sort_keys=True, default=str)


def get_ami(args: dict[str, Any], settings: AwsProviderSettings) -> dict[str, Any]:
    """An AMI for the filters: the same id for the same filters, owners and region (AMI ids are regional), the
    owner kept (an alias like `amazon` resolved to its account), the name from the `name` filter."""
    region = settings.region
    owners = list(args.get("owners") or [])
    owner = owners[0] if owners else settings.account_id
    owner_id = settings.account_id if owner == "self" else _WELL_KNOWN_OWNERS.get(owner, owner)
    name = (_filter(args, "name") or f"preflight-{digest(_key(args, region), 8)}").replace("*", "preflight")
    architecture = _filter(args, "architecture") or ("arm64" if "arm64" in name or "aarch64" in name else "x86_64")
    image_id = f"ami-{digest(_key(args, region), 17)}"
    return {
        "id": image_id,
        "imageId": image_id,
        "arn": f"arn:{settings.partition}:ec2:{region}::image/{image_id}",
        "name": name,
        "description": name,
        "ownerId": owner_id,
        "owners": owners,
        "imageOwnerAlias": owner if owner in _WELL_KNOWN_OWNERS else None,
        "architecture": architecture,
        "filters": args.get("filters") or [],
        "mostRecent": bool(args.get("mostRecent")),
        "nameRegex": args.get("nameRegex"),
        "region": region,
        "imageType": "machine",
        "hypervisor": "xen",
        "virtualizationType": "hvm",
        "rootDeviceType": "ebs",
        "rootDeviceName": "/dev/xvda",
        "enaSupport": True,
        "state": "available",
        "public": owner_id != settings.account_id,
        "platformDetails": "Linux/UNIX",
        "usageOperation": "RunInstances",
        "creationDate": "2024-01-01T00:00:00.000Z",
        "blockDeviceMappings": [],
        "productCodes": [],
        "tags": args.get("tags") or {},
    }


DEFAULT_VPC_CIDR = "172.31.0.0/16"
"""The CIDR AWS gives every default VPC."""


def _vpc_id(args: dict[str, Any], region: str) -> str:
    return str(args.get("id") or f"vpc-{digest(_key(args, region), 17)}")


def get_vpc(args: dict[str, Any], settings: AwsProviderSettings) -> dict[str, Any]:
    """A VPC shaped like the account's default VPC (172.31.0.0/16, DNS on), or the one asked for by id/CIDR."""
    region, account = settings.region, settings.account_id
    vpc_id = _vpc_id(args, region)
    cidr = args.get("cidrBlock") or DEFAULT_VPC_CIDR
    return {
        "id": vpc_id,
        "arn": f"arn:{settings.partition}:ec2:{region}:{account}:vpc/{vpc_id}",
        "cidrBlock": cidr,
        "cidrBlockAssociations": [
            {"associationId": f"vpc-cidr-assoc-{digest(vpc_id, 17)}", "cidrBlock": cidr, "state": "associated"}
        ],
        "default": args.get("default") if args.get("default") is not None else "id" not in args,
        "dhcpOptionsId": f"dopt-{digest(vpc_id, 17)}",
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "enableNetworkAddressUsageMetrics": False,
        "filters": args.get("filters") or [],
        "instanceTenancy": "default",
        "ipv6AssociationId": "",
        "ipv6CidrBlock": "",
        "mainRouteTableId": f"rtb-{digest(vpc_id + 'main', 17)}",
        "ownerId": account,
        "region": region,
        "state": "available",
        "tags": args.get("tags") or {},
    }


def get_subnets(args: dict[str, Any], settings: AwsProviderSettings) -> dict[str, Any]:
    """One subnet per availability zone of the region, as a default VPC has."""
    region = settings.region
    zones = _AZ_SUFFIXES.get(region, "abc")
    return {
        "id": region,
        "ids": [f"subnet-{digest(_key(args, region) + zone, 17)}" for zone in zones],
        "filters": args.get("filters") or [],
        "region": region,
        "tags": args.get("tags") or {},
    }


def get_zone(args: dict[str, Any], settings: AwsProviderSettings) -> dict[str, Any]:
    """A hosted zone by name or id: Route 53's id shape, four name servers, private only if asked for."""
    name = str(args.get("name") or "example.com").rstrip(".")
    zone_id = str(args.get("zoneId") or "Z" + digest(_key(args, ""), 20).upper())
    servers = [
        f"ns-{int(digest(zone_id + tld, 3), 16) % 2048}.awsdns-{i:02d}.{tld}"
        for i, tld in enumerate(("com", "net", "org", "co.uk"))
    ]
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "arn": f"arn:{settings.partition}:route53:::hostedzone/{zone_id}",
        "name": name,
        "callerReference": digest(zone_id, 12),
        "comment": "",
        "nameServers": servers,
        "primaryNameServer": servers[0],
        "privateZone": bool(args.get("privateZone")),
        "resourceRecordSetCount": 2,
        "tags": args.get("tags") or {},
        "vpcId": args.get("vpcId"),
        "linkedServiceDescription": "",
        "linkedServicePrincipal": "",
    }


ECR_PLACEHOLDER_PASSWORD = "preflight-placeholder-ecr-token"
"""Not a credential: what the ECR token data sources answer offline, marked secret like the real one."""


def get_ecr_token(args: dict[str, Any], settings: AwsProviderSettings) -> dict[str, Any]:
    """ECR's authorization token (and getCredentials): user `AWS`, a placeholder password; the token is secret."""
    registry = str(args.get("registryId") or settings.account_id)
    token = base64.b64encode(f"AWS:{ECR_PLACEHOLDER_PASSWORD}".encode()).decode()
    return {
        "id": settings.region,
        "registryId": registry,
        "region": settings.region,
        "proxyEndpoint": f"https://{registry}.dkr.ecr.{settings.region}.{partition_of(settings.region)[1]}",
        "userName": "AWS",
        "password": SecretValue(ECR_PLACEHOLDER_PASSWORD),
        "authorizationToken": SecretValue(token),
        "expiresAt": "2099-01-01T00:00:00Z",
    }


@dataclass(frozen=True)
class SecretValue:
    """A data-source result the provider marks secret; the monitor sends it as a secret."""

    value: Any


_DATA_SOURCES: dict[str, Callable[[dict[str, Any], AwsProviderSettings], dict[str, Any]]] = {
    "aws:ec2/getAmi:getAmi": get_ami,
    "aws:ec2/getVpc:getVpc": get_vpc,
    "aws:ec2/getSubnets:getSubnets": get_subnets,
    "aws:route53/getZone:getZone": get_zone,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": get_ecr_token,
    "aws:ecr/getCredentials:getCredentials": get_ecr_token,
}
EMULATED_DATA_SOURCES = {
    "aws:ec2/getAmi:getAmi": "an AMI id derived from the filters",
    "aws:ec2/getVpc:getVpc": "a VPC shaped like the default VPC",
    "aws:ec2/getSubnets:getSubnets": "one default-VPC subnet per availability zone",
    "aws:route53/getZone:getZone": "a hosted zone with an emulated id",
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": "a placeholder token",
    "aws:ecr/getCredentials:getCredentials": "a placeholder token",
}
"""Data sources whose answer is a plausible shape, not the account's value: the report says so."""


_DIRECTIONS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def zone_id_prefix(region: str) -> str:
    """AWS's zone-id prefix for a region: us-east-1 -> use1, ap-northeast-1 -> apne1, ca-central-1 -> cac1."""
    parts = region.split("-")
    if len(parts) < 3:
        return region.replace("-", "")
    return parts[0] + "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]


def _policy_document(args: dict[str, Any]) -> dict[str, Any]:
    statements = []
    for st in args.get("statements") or []:
        out: dict[str, Any] = {}
        if st.get("sid"):
            out["Sid"] = st["sid"]
        out["Effect"] = st.get("effect") or "Allow"
        for key, aws_key in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if st.get(key):
                values = list(st[key])
                out[aws_key] = values[0] if len(values) == 1 else values
        for key, aws_key in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if st.get(key):
                principal: dict[str, Any] = {}
                for p in st[key]:
                    ids = list(p.get("identifiers") or [])
                    principal[p["type"]] = ids[0] if len(ids) == 1 else ids
                out[aws_key] = "*" if principal == {"*": "*"} else principal
        if st.get("conditions"):
            condition: dict[str, dict[str, Any]] = {}
            for c in st["conditions"]:
                values = list(c.get("values") or [])
                condition.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
            out["Condition"] = condition
        statements.append(out)
    doc: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        doc["Id"] = args["policyId"]
    doc["Statement"] = statements
    return doc


def policy_document_json(args: dict[str, Any]) -> str:
    return json.dumps(_policy_document(args), indent=2)
