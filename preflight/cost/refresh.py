"""`python -m preflight refresh-prices [--add KEY]...`: rebuild the price snapshot's EC2 and SageMaker instance
prices from the AWS Price List API (`pricing:GetProducts`, served from us-east-1), for every instance type already
in the snapshot and those `--add` names.

Service dimensions (NAT, EBS, KMS...) keep their transcribed figures: their Price List attributes differ per
service and a wrong filter would silently pick another SKU. A type the API returns no single on-demand Linux
price for keeps its old figure, and the command says so (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from policies.costing import prices

LOCATIONS = {"us-east-1": "US East (N. Virginia)", "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)"}
"""Price List `location` names of the regions the snapshot carries."""

EC2_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}


def _filters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in values.items()]


def on_demand_usd(product: dict[str, Any]) -> float | None:
    """The hourly on-demand USD price of one PriceList entry (None unless it has exactly one)."""
    found = [
        float(dimension["pricePerUnit"]["USD"])
        for term in product.get("terms", {}).get("OnDemand", {}).values()
        for dimension in term.get("priceDimensions", {}).values()
        if dimension.get("unit") in ("Hrs", "Hours") and "USD" in dimension.get("pricePerUnit", {})
    ]
    return found[0] if len(found) == 1 else None


def _products(client: Any, service: str, filters: dict[str, str]) -> list[dict[str, Any]]:
    products, token = [], None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": service, "Filters": _filters(filters), "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        products += [json.loads(item) for item in page.get("PriceList", [])]
        token = page.get("NextToken")
        if not token:
            return products


def instance_price(client: Any, region: str, key: str) -> tuple[float, dict[str, str]] | None:
    """(USD per hour, product attributes) for `ec2:<type>` or `sagemaker:<ml.type>` in `region`, or None."""
    service, instance_type = key.split(":", 1)
    location = LOCATIONS[region]
    if service == "ec2":
        found = _products(client, "AmazonEC2", {**EC2_FILTERS, "location": location, "instanceType": instance_type})
    else:
        found = _products(
            client,
            "AmazonSageMaker",
            {"location": location, "instanceName": instance_type, "component": "Hosting"},
        )
    candidates = [(usd, p["product"]["attributes"]) for p in found if (usd := on_demand_usd(p)) is not None]
    return candidates[0] if len(candidates) == 1 else None


def refresh(
    document: dict[str, Any], client: Any, today: str, add: Sequence[str] = ()
) -> tuple[dict[str, Any], list[str]]:
    """The snapshot with every instance price the API answers for unambiguously (those already in it, and `add`:
    more `ec2:<type>` / `sagemaker:<ml.type>` keys for every region), and a line per one it did not."""
    kept: list[str] = []
    out = json.loads(json.dumps(document))
    for region, table in out["prices"].items():
        if region not in LOCATIONS:
            kept.append(f"{region}: no Price List location name known; its prices were kept")
            continue
        # Instance prices only: `sagemaker:mlflow-...` and `sagemaker:serverless-...` are service dimensions.
        keys = [k for k in table if k.startswith(("ec2:", "sagemaker:ml."))]
        keys += [k for k in add if k not in table]
        for key in keys:
            answer = instance_price(client, region, key)
            if answer is None:
                old = table.get(key)
                kept.append(
                    f"{region} {key}: no single on-demand price in the Price List; "
                    + (f"kept {old['usd']}" if old else "not added")
                )
                continue
            usd, attributes = answer
            entry = table.setdefault(key, {"unit": "hour"})
            entry.update(usd=usd, asOf=today, source=f"AWS Price List API GetProducts ({LOCATIONS[region]})")
            entry.pop("note", None)
            if key.startswith("ec2:") and attributes.get("vcpu"):
                entry["vcpu"] = int(attributes["vcpu"])
                entry["memoryGib"] = float(attributes.get("memory", "0 GiB").split()[0].replace(",", ""))
        out["prices"][region] = dict(sorted(table.items()))
    out["snapshot"] = today
    return out, kept


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m preflight refresh-prices",
        description="Rebuild the price snapshot's instance prices from the AWS Price List API (needs credentials "
        "allowed pricing:GetProducts).",
    )
    parser.add_argument("--snapshot", type=Path, default=prices.SNAPSHOT, help="the snapshot to update in place")
    parser.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="KEY",
        help="also price this instance type in every region (`ec2:g6e.2xlarge`, `sagemaker:ml.g6.xlarge`); repeatable",
    )
    args = parser.parse_args(argv)
    bad = [k for k in args.add if not k.startswith(("ec2:", "sagemaker:ml.")) or "." not in k.split(":", 1)[1]]
    if bad:
        parser.error(f"--add {bad[0]}: must be ec2:<instance type> or sagemaker:ml.<instance type>")
    import boto3
    import botocore.exceptions

    try:
        document = json.loads(args.snapshot.read_text(encoding="utf-8"))
        prices.parse(document, str(args.snapshot))
        client = boto3.client("pricing", region_name="us-east-1")
        updated, kept = refresh(document, client, date.today().isoformat(), args.add)
    except (OSError, ValueError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        print(f"error: refresh-prices: {exc}", file=sys.stderr)
        return 2
    args.snapshot.write_text(prices.dump(updated), encoding="utf-8")
    for line in kept:
        print(f"kept: {line}", file=sys.stderr)
    print(f"{args.snapshot}: snapshot {updated['snapshot']}")
    return 1 if kept else 0
