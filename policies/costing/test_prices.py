"""The shipped price snapshot: every figure sourced and dated, every instance type the stacks may use priced."""

import json
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from policies.costing.prices import SNAPSHOT, SnapshotError, dump, load, parse

CONFIGS = Path(__file__).resolve().parents[1] / "config"
US_REGIONS = ("us-east-1", "us-west-2")
NOT_IN_SNAPSHOT = {"ml.c6i.*", "ml.g6.*", "ml.g6.?xlarge", "ml.g6.xlarge", "ml.g6e.*", "ml.m6i.*", "ml.r5.*"}
"""SageMaker families the allowlists permit but the transcribed snapshot does not price (no figure we could
source): a stack using one shows it as not priced until `refresh-prices --add sagemaker:<type>` (docs/cost.md)."""


def test_snapshot_has_the_three_regions_and_every_figure_has_source_and_date():
    book = load()
    assert set(book.prices) == {"us-east-1", "us-west-2", "eu-west-1"}
    for table in book.prices.values():
        assert all(p.source and p.as_of and p.unit for p in table.values())


def test_snapshot_file_is_in_its_one_line_per_figure_form():
    assert SNAPSHOT.read_text() == dump(json.loads(SNAPSHOT.read_text()))


def _allowlisted() -> set[str]:
    patterns = set()
    for config in CONFIGS.glob("*.json"):
        rule = json.loads(config.read_text()).get("allowed-instance-types", {})
        patterns |= set(rule.get("allowedInstanceTypes", []))
    return patterns


@pytest.mark.parametrize("region", US_REGIONS)
def test_every_allowlisted_instance_family_is_priced_in_the_stacks_regions_but_the_listed_gaps(region):
    book = load()
    priced = [k.split(":", 1)[1] for k in book.keys(region, "ec2:") + book.keys(region, "sagemaker:")]
    unpriced = {p for p in _allowlisted() if not any(fnmatchcase(t, p) for t in priced)}
    assert unpriced == NOT_IN_SNAPSHOT


def test_ec2_figures_carry_vcpus_and_memory_for_karpenter_limits():
    book = load()
    for region in book.prices:
        assert all(book.get(region, k).vcpu and book.get(region, k).memory_gib for k in book.keys(region, "ec2:"))


def test_fails_when_a_figure_has_no_source():
    document = {
        "snapshot": "2025-05",
        "prices": {"us-east-1": {"kms:key": {"usd": 1, "unit": "key-month", "asOf": "2025-05"}}},
    }
    with pytest.raises(SnapshotError) as error:
        parse(document, "prices.json")
    assert str(error.value) == "prices.json: prices.us-east-1.kms:key.source = None: required (text)"


def test_fails_when_a_price_is_negative():
    entry = {"usd": -1, "unit": "key-month", "source": "page", "asOf": "2025-05"}
    with pytest.raises(SnapshotError) as error:
        parse({"snapshot": "2025-05", "prices": {"us-east-1": {"kms:key": entry}}}, "prices.json")
    assert str(error.value) == "prices.json: prices.us-east-1.kms:key.usd = -1: a price cannot be negative"


def test_fails_when_the_snapshot_has_no_date():
    with pytest.raises(SnapshotError, match="snapshot: missing"):
        parse({"prices": {}}, "prices.json")
