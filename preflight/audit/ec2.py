"""Security groups (and the VPC's default group, which the network module empties): ingress rules, compared as
the set of single permissions (protocol, ports, one source each), however they are grouped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader

_SOURCES = (
    ("cidrBlocks", "cidr"),
    ("ipv6CidrBlocks", "ipv6"),
    ("prefixListIds", "prefix-list"),
    ("securityGroups", "sg"),
)


def permissions(rules: Any) -> list[str]:
    """Pulumi ingress rules as sorted one-line permissions: `tcp 443-443 from cidr 10.0.0.0/8`."""
    found: set[str] = set()
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, Mapping):
            continue
        protocol = str(rule.get("protocol", "-1")).lower()
        protocol = "-1" if protocol in ("all", "-1") else protocol
        ports = "all" if protocol == "-1" else f"{int(rule.get('fromPort') or 0)}-{int(rule.get('toPort') or 0)}"
        for key, kind in _SOURCES:
            for source in rule.get(key) or []:
                found.add(f"{protocol} {ports} from {kind} {source}")
        if rule.get("self"):
            found.add(f"{protocol} {ports} from self")
    return sorted(found)


def _read_group(ctx: Context) -> Any:
    found = ctx.call("ec2", "DescribeSecurityGroups", missing=("InvalidGroup.NotFound",), GroupIds=[ctx.record.id])
    groups = [] if found is ABSENT else found.get("SecurityGroups", [])
    if not groups:
        return ABSENT
    group = groups[0]
    ingress = []
    for perm in group.get("IpPermissions", []):
        own = [p["GroupId"] for p in perm.get("UserIdGroupPairs", []) if p.get("GroupId") == group["GroupId"]]
        ingress.append(
            {
                "protocol": perm.get("IpProtocol"),
                "fromPort": perm.get("FromPort", 0),
                "toPort": perm.get("ToPort", 0),
                "cidrBlocks": [r["CidrIp"] for r in perm.get("IpRanges", [])],
                "ipv6CidrBlocks": [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])],
                "prefixListIds": [r["PrefixListId"] for r in perm.get("PrefixListIds", [])],
                "securityGroups": [
                    p["GroupId"] for p in perm.get("UserIdGroupPairs", []) if p.get("GroupId") != group["GroupId"]
                ],
                "self": bool(own),
            }
        )
    return {"ingress": ingress}


_INGRESS = (
    Field(
        "ingress", permissions, default=[], label="ingress rules", show=lambda d, l: (permissions(d), permissions(l))
    ),
)

READERS = (
    Reader("aws:ec2/securityGroup:SecurityGroup", "security group", _read_group, _INGRESS),
    Reader("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default security group", _read_group, _INGRESS),
)
