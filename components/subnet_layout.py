"""Subnet arithmetic for the network component: pure `ipaddress` code, no Pulumi.

The layout is a contract with running infrastructure: a subnet's CIDR can only change by replacing the subnet,
and AWS refuses to delete a subnet while ENIs (nodes, load balancers, endpoints) sit in it. So the layout

- always reserves room for `AZ_SLOTS` (3) AZs, whatever the AZ count: growing from 2 to 3 AZs fills the third
  slot and leaves the first two untouched;
- places tiers largest-first, so every block is naturally aligned and no space is lost to padding;
- is a function of the VPC CIDR and the tier sizes only, so the same config always yields the same CIDRs.

Every check raises `ValueError` with a message that says what is allowed; config validation and the component
both call these functions, so the rules live here once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

AZ_SLOTS = 3
"""Subnet slots per tier: room for three AZs is always kept, so adding an AZ never renumbers a subnet."""

TIERS = ("public", "private", "intra")
"""Tiers carved from the VPC's primary CIDR, in the order they are described everywhere else."""

POD_TIER = "pods"
"""Tier carved from the optional secondary CIDR (VPC CNI custom networking gives pods IPs from it)."""

RFC1918 = tuple(IPv4Network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")
"""RFC 6598 space: AWS allows it as a secondary VPC CIDR, the usual home for pod IPs."""

LARGEST_BLOCK_PREFIX = 16
"""AWS: a VPC CIDR block (primary or secondary) is /16 at most."""

SMALLEST_VPC_PREFIX = 20
"""Our floor for the VPC: 3 AZ slots × a /22 private subnet (3,072 addresses) plus public and intra need a /20."""

AWS_RESERVED_PER_SUBNET = 5
"""AWS keeps the first four addresses and the last one of every subnet."""

EKS_FREE_ADDRESSES = 6
"""EKS needs at least six free addresses in each subnet it places control-plane ENIs in."""

SMALLEST_TIER_PREFIX: dict[str, int] = {"private": 22, "public": 27, "intra": 28, POD_TIER: 22}
"""The longest prefix (smallest subnet) each tier accepts."""

_SMALLEST_TIER_REASON = {
    "private": "nodes and, with the VPC CNI, every pod take an address from the private subnet; "
    "about 1,000 addresses per AZ is the floor for an EKS node pool",
    "public": "an Application Load Balancer needs a /27 or larger subnet with at least 8 free addresses",
    "intra": "/28 is the smallest subnet AWS allows",
    POD_TIER: "every pod takes an address from its AZ's pod subnet",
}


def parse_cidr(text: str) -> IPv4Network:
    """An IPv4 network from text like `10.0.0.0/16`; host bits must be zero."""
    try:
        network = ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        raise ValueError("not an IPv4 CIDR block; write it like 10.0.0.0/16") from None
    if not isinstance(network, IPv4Network) or "/" not in str(text):
        raise ValueError("not an IPv4 CIDR block; write it like 10.0.0.0/16")
    if str(network) != str(text):
        raise ValueError(f"has host bits set; the network is {network}")
    return network


def check_vpc_cidr(text: str) -> IPv4Network:
    """The VPC's primary CIDR: private (RFC 1918), /16 to /20."""
    network = parse_cidr(text)
    if not any(network.subnet_of(r) for r in RFC1918):
        raise ValueError(
            "must be a private RFC1918 range (inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), e.g. 10.0.0.0/16"
        )
    if network.prefixlen < LARGEST_BLOCK_PREFIX:
        raise ValueError(f"too large: AWS allows VPC CIDR blocks from /16 to /28; use /16 to /{SMALLEST_VPC_PREFIX}")
    if network.prefixlen > SMALLEST_VPC_PREFIX:
        raise ValueError(
            f"too small: use /{SMALLEST_VPC_PREFIX} or larger (e.g. 10.0.0.0/16). The layout keeps room for "
            f"{AZ_SLOTS} AZs so that adding one never renumbers a subnet, and each AZ needs a private subnet of at "
            "least /22 (nodes and, with the VPC CNI, every pod take an address from it) plus public and intra "
            f"subnets: {AZ_SLOTS} × /22 alone is 3,072 addresses, more than a /21 holds"
        )
    return network


def check_pod_cidr(text: str, vpc: IPv4Network | None) -> IPv4Network:
    """The secondary CIDR for pod IPs: 100.64.0.0/10 or the primary's RFC 1918 range, /16 to /20, no overlap."""
    network = parse_cidr(text)
    home = next((r for r in RFC1918 if vpc is not None and vpc.subnet_of(r)), None)
    allowed = [SHARED_ADDRESS_SPACE] + ([home] if home is not None else [])
    if not any(network.subnet_of(r) for r in allowed):
        # AWS refuses a secondary block from another RFC 1918 range than the primary's.
        raise ValueError(
            f"must be inside {' or '.join(str(r) for r in allowed)} (AWS accepts a secondary block from the "
            "shared address space or from the primary CIDR's own RFC1918 range), e.g. 100.64.0.0/16"
        )
    if vpc is not None and network.overlaps(vpc):
        raise ValueError(f"overlaps the VPC CIDR {vpc}; pick a block outside it, e.g. 100.64.0.0/16")
    if not LARGEST_BLOCK_PREFIX <= network.prefixlen <= SMALLEST_VPC_PREFIX:
        raise ValueError(
            f"must be /{LARGEST_BLOCK_PREFIX} to /{SMALLEST_VPC_PREFIX}: AWS allows /16 at most, and {AZ_SLOTS} AZ "
            "slots of /22 pod subnets need a /20"
        )
    return network


def default_prefixes(vpc: IPv4Network) -> dict[str, int]:
    """Tier sizes when config sets none: private a quarter of the VPC, public and intra 1/256 (but /27 at least).

    For 10.0.0.0/16: private /18 (16,384 addresses per AZ), public and intra /24. For a /20: /22, /27, /27.
    Three slots of each use 3/4 + 6/256 of the VPC, so the defaults always fit.
    """
    small = min(vpc.prefixlen + 8, 27)
    return {"public": small, "private": vpc.prefixlen + 2, "intra": small}


def default_pod_prefix(pods: IPv4Network) -> int:
    """Pod subnet size when config sets none: a quarter of the secondary CIDR per AZ (three slots, one spare)."""
    return pods.prefixlen + 2


def check_tier_prefix(tier: str, prefix: int) -> int:
    """One tier's subnet size: a whole prefix length, /16 up to the tier's smallest allowed size."""
    smallest = SMALLEST_TIER_PREFIX[tier]
    if isinstance(prefix, bool) or not isinstance(prefix, int):
        # A ValueError, not a TypeError: pydantic reports it against the stack-file key.
        raise ValueError(  # noqa: TRY004
            f"must be a prefix length (a whole number from {LARGEST_BLOCK_PREFIX} to {smallest})"
        )
    if prefix < LARGEST_BLOCK_PREFIX:
        raise ValueError(f"must be {LARGEST_BLOCK_PREFIX} to {smallest}: a subnet cannot be larger than a VPC block")
    if prefix > smallest:
        raise ValueError(f"must be {smallest} or less (a /{smallest} or larger subnet): {_SMALLEST_TIER_REASON[tier]}")
    return prefix


def usable_addresses(prefix: int) -> int:
    """Addresses left for ENIs in a subnet of this size, after AWS's five reserved ones."""
    return 2 ** (32 - prefix) - AWS_RESERVED_PER_SUBNET


def check_intra_capacity(prefix: int, interface_endpoints: int) -> None:
    """Each intra subnet holds one ENI per interface endpoint plus the free addresses EKS requires."""
    needed = interface_endpoints + EKS_FREE_ADDRESSES
    if usable_addresses(prefix) < needed:
        bigger = next(p for p in range(prefix, LARGEST_BLOCK_PREFIX - 1, -1) if usable_addresses(p) >= needed)
        raise ValueError(
            f"a /{prefix} intra subnet has {usable_addresses(prefix)} usable addresses, but {interface_endpoints} "
            f"interface endpoints (one address each per AZ) plus the {EKS_FREE_ADDRESSES} EKS needs free for its "
            f"control-plane ENIs take {needed}; use /{bigger} or larger (a prefix of {bigger} or less)"
        )


@dataclass(frozen=True)
class Layout:
    """Subnet CIDRs per tier, one per AZ slot (slot i belongs to the i-th AZ)."""

    subnets: Mapping[str, tuple[IPv4Network, ...]]

    def for_azs(self, azs: Sequence[str]) -> dict[str, dict[str, str]]:
        """tier -> AZ name -> CIDR text, for the AZs in use (at most `AZ_SLOTS`)."""
        if len(azs) > AZ_SLOTS:
            raise ValueError(f"at most {AZ_SLOTS} AZs fit the layout; got {len(azs)}")
        return {tier: {az: str(cidrs[i]) for i, az in enumerate(azs)} for tier, cidrs in self.subnets.items()}


def allocate(
    block: IPv4Network, prefixes: Mapping[str, int], slots: int = AZ_SLOTS
) -> dict[str, tuple[IPv4Network, ...]]:
    """Pack `slots` subnets per tier into `block`, largest first; ValueError when they do not fit.

    Placing sizes in non-increasing order keeps every offset a multiple of the next size, so each subnet is
    aligned without padding and the packing fits whenever the total does.
    """
    order = sorted(prefixes, key=lambda tier: (prefixes[tier], list(prefixes).index(tier)))
    needed = sum(slots * 2 ** (32 - prefixes[tier]) for tier in order)
    if needed > block.num_addresses:
        sizes = " + ".join(f"{tier} /{prefixes[tier]}" for tier in prefixes)
        raise ValueError(
            f"subnets do not fit in {block}: {slots} AZ slots × ({sizes}) = {needed:,} addresses, the block has "
            f"{block.num_addresses:,}. Room for {slots} AZs is always kept so adding an AZ never renumbers a "
            "subnet; use smaller subnets (longer prefixes) or a larger CIDR"
        )
    offset = int(block.network_address)
    out: dict[str, list[IPv4Network]] = {tier: [] for tier in prefixes}
    for tier in order:
        size = 2 ** (32 - prefixes[tier])
        for _ in range(slots):
            out[tier].append(IPv4Network((offset, prefixes[tier])))
            offset += size
    return {tier: tuple(cidrs) for tier, cidrs in out.items()}


def plan_layout(
    vpc_cidr: str,
    prefixes: Mapping[str, int | None] | None = None,
    *,
    pod_cidr: str | None = None,
    interface_endpoints: int = 0,
) -> Layout:
    """Validate every size and return the full layout; tiers missing from `prefixes` get `default_prefixes`."""
    vpc = check_vpc_cidr(vpc_cidr)
    given = {k: v for k, v in (prefixes or {}).items() if v is not None}
    unknown = sorted(set(given) - set(TIERS) - {POD_TIER})
    if unknown:
        raise ValueError(f"unknown subnet tier {unknown[0]!r}; tiers are {', '.join(TIERS + (POD_TIER,))}")
    if POD_TIER in given and pod_cidr is None:
        raise ValueError("a pod subnet size needs a pod CIDR (the secondary block pod subnets are carved from)")
    sizes = {**default_prefixes(vpc), **{t: given[t] for t in TIERS if t in given}}
    for tier, prefix in sizes.items():
        check_tier_prefix(tier, prefix)
    check_intra_capacity(sizes["intra"], interface_endpoints)
    subnets = dict(allocate(vpc, sizes))
    if pod_cidr is not None:
        pods = check_pod_cidr(pod_cidr, vpc)
        pod_prefix = check_tier_prefix(POD_TIER, given.get(POD_TIER, default_pod_prefix(pods)))
        subnets.update(allocate(pods, {POD_TIER: pod_prefix}))
    return Layout(subnets=subnets)
