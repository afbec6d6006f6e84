"""`ml-platform:network`: The VPC: CIDR, AZs, subnet tiers, NAT, flow logs, endpoints.

The rules themselves live with the component (`components/network_rules.py`, `components/subnet_layout.py`) so config
and component can never disagree; this module maps each rule to the key it blames. Environment differences (AZ
count, NAT strategy, interface endpoints, flow-log retention, CIDR) are in `infra/config/profiles.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import field_validator, model_validator

from components import facts, subnet_layout
from components.network_rules import (
    DEFAULT_INTERFACE_ENDPOINTS,
    check_az_count,
    check_interface_endpoint,
    check_nat_strategy,
    select_availability_zones,
)
from components.settings import FieldError, Section
from infra.config.errors import NAMESPACE, ConfigError


class SubnetPrefixesConfig(Section):
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
    def _size(cls, value: int | None, info) -> int | None:
        if value is None:
            return None
        return subnet_layout.check_tier_prefix(info.field_name, value)


class NetworkConfig(Section):
    """The VPC: CIDR, AZs, subnet tiers, NAT, flow logs, endpoints. Defaults are prod's; profiles relax dev."""

    cidr: str = "10.0.0.0/16"
    """Primary VPC CIDR: private (RFC 1918), /16 to /20. Room for 3 AZs is always reserved in it."""
    az_count: int = 3
    """Availability zones to spread subnets over: 2 or 3, at most what the region has. The first N usable AZs of
    the region (by name) are used; growing from 2 to 3 adds subnets and never moves existing ones."""
    nat_strategy: str = "per_az"
    """Internet egress for private subnets: none | single | per_az."""
    subnet_prefixes: SubnetPrefixesConfig = SubnetPrefixesConfig()
    """Per-tier subnet sizes, e.g. `{"private": 19, "public": 24, "intra": 24}`. Default: sized from `cidr`."""
    pod_cidr: str | None = None
    """Secondary CIDR for pod IPs, e.g. `100.64.0.0/16` (100.64.0.0/10 or the primary's RFC 1918 range, /16 to /20).
    Default: none; pods take addresses from the private subnets."""
    interface_endpoints: tuple[str, ...] = DEFAULT_INTERFACE_ENDPOINTS
    """Interface VPC endpoints, in the intra subnets with private DNS (see `components.network.INTERFACE_ENDPOINTS`).
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
    def _consistent(self) -> NetworkConfig:
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

    def component_args(self) -> dict[str, Any]:
        """Keyword arguments for `components.network.NetworkArgs` that come from this section (the program adds
        the AZs, region, KMS key, boundary and cluster name)."""
        return {
            "cidr": self.cidr,
            "subnet_prefixes": self.resolved_prefixes,
            "pod_cidr": self.pod_cidr,
            "nat_strategy": self.nat_strategy,
            "interface_endpoints": tuple(self.interface_endpoints),
            "flow_log_retention_days": self.flow_log_retention_days,
        }

    def availability_zones(
        self, names: Sequence[str], zone_ids: Sequence[str], *, region: str, stack: str
    ) -> list[str]:
        """The AZs to use, from the region's (`aws.get_availability_zones`); `ConfigError` when there are too few."""
        try:
            return select_availability_zones(names, zone_ids, self.az_count, region=region)
        except ValueError as exc:
            raise ConfigError([f"Pulumi.{stack}.yaml: {NAMESPACE}:network.azCount = {self.az_count}: {exc}"]) from None
