"""SageMaker models, endpoint configurations and endpoints. The endpoint's configuration name is not compared
here: a different one live is a rollback, reported by `rollback.py` with the reason."""

from __future__ import annotations

from typing import Any

from preflight.audit.aws import ABSENT
from preflight.audit.drift import Context, Field, Reader, key_id

NOT_FOUND = ("ValidationException", "Could not find")
"""SageMaker answers a missing model, configuration or endpoint with a ValidationException."""


def _read_model(ctx: Context) -> Any:
    found = ctx.call("sagemaker", "DescribeModel", missing=(NOT_FOUND,), ModelName=ctx.record.id)
    if found is ABSENT:
        return ABSENT
    container = found.get("PrimaryContainer") or {}
    return {
        "executionRoleArn": found.get("ExecutionRoleArn"),
        "enableNetworkIsolation": found.get("EnableNetworkIsolation", False),
        "primaryContainer": {"image": container.get("Image"), "modelDataUrl": container.get("ModelDataUrl")},
    }


def _read_config(ctx: Context) -> Any:
    found = ctx.call("sagemaker", "DescribeEndpointConfig", missing=(NOT_FOUND,), EndpointConfigName=ctx.record.id)
    if found is ABSENT:
        return ABSENT
    variants = [
        {
            "variantName": v.get("VariantName"),
            "modelName": v.get("ModelName"),
            "instanceType": v.get("InstanceType"),
            "initialInstanceCount": v.get("InitialInstanceCount"),
        }
        for v in found.get("ProductionVariants", [])
    ]
    return {"kmsKeyArn": found.get("KmsKeyId"), "productionVariants": variants}


def _read_endpoint(ctx: Context) -> Any:
    found = ctx.call("sagemaker", "DescribeEndpoint", missing=(NOT_FOUND,), EndpointName=ctx.record.id)
    if found is ABSENT:
        return ABSENT
    return {
        "endpointConfigName": found.get("EndpointConfigName"),
        "_status": found.get("EndpointStatus"),
        "_failureReason": found.get("FailureReason"),
    }


READERS = (
    Reader(
        "aws:sagemaker/model:Model",
        "SageMaker model",
        _read_model,
        (
            Field("executionRoleArn"),
            Field("enableNetworkIsolation", default=False),
            Field("primaryContainer.image", category="reliability"),
            Field("primaryContainer.modelDataUrl", category="reliability"),
        ),
    ),
    Reader(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "SageMaker endpoint configuration",
        _read_config,
        (
            Field("kmsKeyArn", key_id, category="encryption"),
            Field("productionVariants[].modelName", category="reliability"),
            Field("productionVariants[].instanceType", category="cost"),
            Field("productionVariants[].initialInstanceCount", category="cost"),
        ),
    ),
    Reader("aws:sagemaker/endpoint:Endpoint", "SageMaker endpoint", _read_endpoint),
)
