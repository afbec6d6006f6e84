"""The subnet arithmetic: examples for the defaults, properties (Hypothesis) for every valid input."""

from __future__ import annotations

import ipaddress
import re
from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components import subnet_layout
from components.subnet_layout import AZ_SLOTS, POD_TIER, RFC1918, SMALLEST_TIER_PREFIX, TIERS

AZS = ("us-west-2a", "us-west-2b", "us-west-2c")


@st.composite
def vpc_cidrs(draw, smallest: int = subnet_layout.SMALLEST_VPC_PREFIX) -> IPv4Network:
    """Any valid VPC CIDR: inside an RFC 1918 range, /16 to /20, properly aligned."""
    home = draw(st.sampled_from(RFC1918))
    prefix = draw(st.integers(min_value=max(16, home.prefixlen), max_value=smallest))
    count = 2 ** (prefix - home.prefixlen)
    index = draw(st.integers(min_value=0, max_value=count - 1))
    return IPv4Network((int(home.network_address) + index * 2 ** (32 - prefix), prefix))


@st.composite
def tier_prefixes(draw, vpc: IPv4Network) -> dict[str, int]:
    """Any per-tier sizes the tier rules accept, fitting or not."""
    return {
        tier: draw(st.integers(min_value=max(16, vpc.prefixlen), max_value=SMALLEST_TIER_PREFIX[tier]))
        for tier in TIERS
    }


def _all(layout: subnet_layout.Layout) -> list[IPv4Network]:
    return [cidr for cidrs in layout.subnets.values() for cidr in cidrs]


def test_default_layout_for_a_16_gives_quarter_private_and_slash_24_public_and_intra():
    layout = subnet_layout.plan_layout("10.0.0.0/16")
    assert layout.for_azs(AZS) == {
        "private": {"us-west-2a": "10.0.0.0/18", "us-west-2b": "10.0.64.0/18", "us-west-2c": "10.0.128.0/18"},
        "public": {"us-west-2a": "10.0.192.0/24", "us-west-2b": "10.0.193.0/24", "us-west-2c": "10.0.194.0/24"},
        "intra": {"us-west-2a": "10.0.195.0/24", "us-west-2b": "10.0.196.0/24", "us-west-2c": "10.0.197.0/24"},
    }


def test_default_layout_for_a_20_uses_slash_22_private_and_slash_27_public_and_intra():
    layout = subnet_layout.plan_layout("10.0.0.0/20")
    assert {tier: {c.prefixlen for c in cidrs} for tier, cidrs in layout.subnets.items()} == {
        "public": {27},
        "private": {22},
        "intra": {27},
    }


def test_pod_subnets_take_a_quarter_of_the_pod_cidr_each_by_default():
    layout = subnet_layout.plan_layout("10.0.0.0/16", pod_cidr="100.64.0.0/16")
    assert [str(c) for c in layout.subnets[POD_TIER]] == ["100.64.0.0/18", "100.64.64.0/18", "100.64.128.0/18"]


def test_two_az_layout_is_the_three_az_layout_without_the_third_az():
    layout = subnet_layout.plan_layout("10.0.0.0/16", {"private": 19})
    two, three = layout.for_azs(AZS[:2]), layout.for_azs(AZS)
    for tier in TIERS:
        assert two[tier] == {az: cidr for az, cidr in three[tier].items() if az in AZS[:2]}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_subnets_never_overlap_stay_inside_the_vpc_and_have_the_sizes_asked(data):
    vpc = data.draw(vpc_cidrs())
    prefixes = data.draw(tier_prefixes(vpc))
    needed = sum(AZ_SLOTS * 2 ** (32 - p) for p in prefixes.values())
    if needed > vpc.num_addresses:
        with pytest.raises(ValueError, match=f"subnets do not fit in {vpc}"):
            subnet_layout.plan_layout(str(vpc), prefixes)
        return
    layout = subnet_layout.plan_layout(str(vpc), prefixes)
    subnets = _all(layout)
    assert len(subnets) == AZ_SLOTS * len(TIERS)
    for tier, cidrs in layout.subnets.items():
        assert [c.prefixlen for c in cidrs] == [prefixes[tier]] * AZ_SLOTS
    for i, a in enumerate(subnets):
        assert a.subnet_of(vpc)
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b), (a, b)


@settings(max_examples=200, deadline=None)
@given(vpc_cidrs())
def test_default_sizes_always_fit_and_respect_each_tiers_minimum(vpc):
    layout = subnet_layout.plan_layout(str(vpc))
    for tier, cidrs in layout.subnets.items():
        assert all(c.subnet_of(vpc) and c.prefixlen <= SMALLEST_TIER_PREFIX[tier] for c in cidrs)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_pod_subnets_stay_inside_the_pod_cidr_and_apart_from_vpc_subnets(data):
    vpc = data.draw(vpc_cidrs())
    pod_prefix = data.draw(st.integers(min_value=16, max_value=20))
    index = data.draw(st.integers(min_value=0, max_value=2 ** (pod_prefix - 10) - 1))
    pods = IPv4Network(
        (int(subnet_layout.SHARED_ADDRESS_SPACE.network_address) + index * 2 ** (32 - pod_prefix), pod_prefix)
    )
    size = data.draw(st.integers(min_value=pod_prefix + 2, max_value=SMALLEST_TIER_PREFIX[POD_TIER]) | st.none())
    layout = subnet_layout.plan_layout(str(vpc), {POD_TIER: size}, pod_cidr=str(pods))
    pod_subnets = layout.subnets[POD_TIER]
    assert len(pod_subnets) == AZ_SLOTS
    assert all(c.subnet_of(pods) for c in pod_subnets)
    assert all(c.prefixlen == (size or pod_prefix + 2) for c in pod_subnets)
    assert not any(p.overlaps(v) for p in pod_subnets for v in _all(layout) if v not in pod_subnets)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_layout_depends_only_on_cidr_and_sizes_not_on_how_many_azs_use_it(data):
    vpc = data.draw(vpc_cidrs())
    layout = subnet_layout.plan_layout(str(vpc))
    for count in (1, 2):
        fewer = layout.for_azs(AZS[:count])
        assert all(fewer[t][az] == layout.for_azs(AZS)[t][az] for t in TIERS for az in AZS[:count])


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=16, max_value=20))
def test_any_cidr_outside_rfc1918_is_refused(address, prefix):
    network = ipaddress.ip_network((address, prefix), strict=False)
    if any(network.subnet_of(r) for r in RFC1918):
        return
    with pytest.raises(ValueError, match="must be a private RFC1918 range"):
        subnet_layout.check_vpc_cidr(str(network))


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/21", "too small: use /20 or larger"),
        ("10.0.0.0/12", "too large: AWS allows VPC CIDR blocks from /16 to /28"),
        ("10.0.0.1/16", "has host bits set; the network is 10.0.0.0/16"),
        ("10.0.0.0", "not an IPv4 CIDR block"),
        ("fd00::/64", "not an IPv4 CIDR block"),
        ("100.64.0.0/16", "must be a private RFC1918 range"),
    ],
)
def test_fails_when_vpc_cidr_is_invalid(cidr, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        subnet_layout.check_vpc_cidr(cidr)


def test_fails_when_too_small_vpc_and_says_why_three_azs_need_a_20():
    with pytest.raises(ValueError) as err:
        subnet_layout.check_vpc_cidr("192.168.0.0/21")
    assert "keeps room for 3 AZs" in str(err.value)
    assert "at least /22" in str(err.value)


@pytest.mark.parametrize(
    ("pod_cidr", "message"),
    [
        ("172.16.0.0/16", "must be inside 100.64.0.0/10 or 10.0.0.0/8"),
        ("10.0.128.0/20", "overlaps the VPC CIDR 10.0.0.0/16"),
        ("100.64.0.0/22", "must be /16 to /20"),
    ],
)
def test_fails_when_pod_cidr_is_invalid(pod_cidr, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        subnet_layout.check_pod_cidr(pod_cidr, IPv4Network("10.0.0.0/16"))


@pytest.mark.parametrize(("tier", "prefix"), [("private", 23), ("public", 28), ("intra", 29), ("pods", 23)])
def test_fails_when_a_tier_is_smaller_than_its_minimum(tier, prefix):
    with pytest.raises(ValueError, match=f"must be {SMALLEST_TIER_PREFIX[tier]} or less"):
        subnet_layout.check_tier_prefix(tier, prefix)


def test_fails_when_intra_subnets_cannot_hold_the_endpoints_and_eks():
    subnet_layout.check_intra_capacity(28, 5)  # 11 usable = 5 endpoints + 6 for EKS
    with pytest.raises(ValueError, match="take 12; use /27 or larger"):
        subnet_layout.check_intra_capacity(28, 6)


def test_fails_when_pod_size_is_given_without_pod_cidr():
    with pytest.raises(ValueError, match="needs a pod CIDR"):
        subnet_layout.plan_layout("10.0.0.0/16", {POD_TIER: 20})
