"""`ml-platform:network`: The VPC: CIDR, AZs, subnet tiers, NAT, flow logs, endpoints."""

from __future__ import annotations

from infra.config.base import Section


class NetworkConfig(Section):
    """The VPC: CIDR, AZs, subnet tiers, NAT, flow logs, endpoints."""
