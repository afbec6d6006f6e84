"""`ml-platform:network`: the VPC. The settings are the network component's own model (`NetworkSettings` in
`components/network.py`): one declaration validates the stack file and configures the component. Environment
differences (AZ count, NAT strategy, interface endpoints, flow-log retention, CIDR) are in
`infra/config/profiles.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.network import NetworkSettings, SubnetPrefixes, select_availability_zones
from infra.config.errors import NAMESPACE, ConfigError

NetworkConfig = NetworkSettings
"""The stack file's `ml-platform:network` section."""

__all__ = ["NetworkConfig", "SubnetPrefixes", "availability_zones"]


def availability_zones(
    network: NetworkConfig, names: Sequence[str], zone_ids: Sequence[str], *, region: str, stack: str
) -> list[str]:
    """The AZs to use, from the region's (`aws.get_availability_zones`); `ConfigError` when there are too few."""
    try:
        return select_availability_zones(names, zone_ids, network.az_count, region=region)
    except ValueError as exc:
        raise ConfigError([f"Pulumi.{stack}.yaml: {NAMESPACE}:network.azCount = {network.az_count}: {exc}"]) from None
