"""refresh-prices against recorded Price List response shapes (botocore's Stubber: no network)."""

import json

import boto3
from botocore.stub import Stubber

from preflight.cost.refresh import EC2_FILTERS, _filters, refresh

SNAPSHOT = {
    "snapshot": "2025-05",
    "prices": {
        "us-east-1": {
            "ec2:g5.xlarge": {
                "usd": 1.0,
                "unit": "hour",
                "vcpu": 4,
                "memoryGib": 16,
                "source": "page",
                "asOf": "2025-05",
            },
            "sagemaker:ml.m5.large": {"usd": 0.1, "unit": "hour", "source": "page", "asOf": "2025-05"},
            "vpc:nat-gateway": {"usd": 0.045, "unit": "hour", "source": "page", "asOf": "2025-05"},
            # A service dimension under the sagemaker prefix: not an instance the Price List is asked about.
            "sagemaker:mlflow-tracking-server-small": {
                "usd": 0.64,
                "unit": "hour",
                "source": "page",
                "asOf": "2025-05",
            },
        }
    },
}


def price_list(sku: str, usd: str, attributes: dict) -> str:
    """One PriceList entry as GetProducts returns it: a JSON string."""
    return json.dumps(
        {
            "product": {"productFamily": "Compute Instance", "attributes": attributes, "sku": sku},
            "serviceCode": attributes.get("servicecode", "AmazonEC2"),
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"${usd} per On Demand Linux instance hour",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2025-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20251120000000",
            "publicationDate": "2025-11-20T00:00:00Z",
        }
    )


def test_refresh_updates_instance_prices_and_keeps_service_dimensions():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ec2_filters = {**EC2_FILTERS, "location": "US East (N. Virginia)", "instanceType": "g5.xlarge"}
    sm_filters = {"location": "US East (N. Virginia)", "instanceName": "ml.m5.large", "component": "Hosting"}
    with Stubber(client) as stub:
        stub.add_response(
            "get_products",
            {
                "PriceList": [
                    price_list("ABC", "1.0060000000", {"instanceType": "g5.xlarge", "vcpu": "4", "memory": "16 GiB"})
                ],
                "FormatVersion": "aws_v1",
            },
            {"ServiceCode": "AmazonEC2", "Filters": _filters(ec2_filters), "MaxResults": 100},
        )
        stub.add_response(
            "get_products",
            {
                "PriceList": [
                    price_list("DEF", "0.1150000000", {"instanceName": "ml.m5.large", "servicecode": "AmazonSageMaker"})
                ]
            },
            {"ServiceCode": "AmazonSageMaker", "Filters": _filters(sm_filters), "MaxResults": 100},
        )
        updated, kept = refresh(SNAPSHOT, client, "2026-12-02")
        stub.assert_no_pending_responses()
    table = updated["prices"]["us-east-1"]
    assert kept == []
    assert (table["ec2:g5.xlarge"]["usd"], table["ec2:g5.xlarge"]["asOf"]) == (1.006, "2026-12-02")
    assert table["ec2:g5.xlarge"]["source"] == "AWS Price List API GetProducts (US East (N. Virginia))"
    assert table["sagemaker:ml.m5.large"]["usd"] == 0.115
    assert table["vpc:nat-gateway"] == SNAPSHOT["prices"]["us-east-1"]["vpc:nat-gateway"]
    mlflow = "sagemaker:mlflow-tracking-server-small"
    assert table[mlflow] == SNAPSHOT["prices"]["us-east-1"][mlflow]
    assert updated["snapshot"] == "2026-12-02" and SNAPSHOT["snapshot"] == "2025-05"


def test_refresh_keeps_a_price_the_api_does_not_answer_unambiguously():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    snapshot = {
        "snapshot": "2025-05",
        "prices": {"us-east-1": {"ec2:g5.xlarge": SNAPSHOT["prices"]["us-east-1"]["ec2:g5.xlarge"]}},
    }
    with Stubber(client) as stub:
        two = [price_list("A", "1.0", {"vcpu": "4"}), price_list("B", "2.0", {"vcpu": "4"})]
        stub.add_response("get_products", {"PriceList": two})
        updated, kept = refresh(snapshot, client, "2026-12-02")
    assert kept == ["us-east-1 ec2:g5.xlarge: no single on-demand price in the Price List; kept 1.0"]
    assert updated["prices"]["us-east-1"]["ec2:g5.xlarge"]["usd"] == 1.0


def test_refresh_adds_a_named_instance_type_with_vcpus_and_memory():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    snapshot = {"snapshot": "2025-05", "prices": {"us-west-2": {}}}
    attributes = {"instanceType": "g6e.2xlarge", "vcpu": "8", "memory": "64 GiB"}
    with Stubber(client) as stub:
        stub.add_response("get_products", {"PriceList": [price_list("G6E", "2.2420800000", attributes)]})
        updated, kept = refresh(snapshot, client, "2026-12-02", ["ec2:g6e.2xlarge"])
    entry = updated["prices"]["us-west-2"]["ec2:g6e.2xlarge"]
    assert kept == [] and (entry["usd"], entry["vcpu"], entry["memoryGib"], entry["unit"]) == (2.24208, 8, 64.0, "hour")
