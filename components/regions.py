"""AWS regions a setting may name, from the endpoint data that ships with botocore (no network).

Every setting that holds a region (`aws:region`, `guardrails.allowedRegions`, `storage.modelsReplication`'s
destination) is typed `Region`, so a typo such as `us-wset-2` is refused wherever it appears, with a did-you-mean
and the valid choices — never written into a permission boundary or a replication rule.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Annotated

import botocore.session
from pydantic import AfterValidator


@lru_cache(maxsize=1)
def known_regions() -> dict[str, str]:
    """Region name -> partition."""
    session = botocore.session.get_session()
    regions: dict[str, str] = {}
    for partition in session.get_available_partitions():
        for region in session.get_available_regions("ec2", partition_name=partition):
            regions[region] = partition
    return regions


def check_region(value: str) -> str:
    """`value` if botocore knows it as a region; else ValueError with a did-you-mean and the aws partition's list."""
    regions = known_regions()
    if value in regions:
        return value
    guess = difflib.get_close_matches(value, list(regions), n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    aws = sorted(r for r, p in regions.items() if p == "aws")
    raise ValueError(f"not an AWS region; {hint}the aws partition has: {', '.join(aws)}")


Region = Annotated[str, AfterValidator(check_region)]
"""A region name botocore knows (any partition)."""
