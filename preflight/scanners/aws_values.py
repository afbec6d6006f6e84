"""Values AWS would reject at `pulumi up`, caught offline from the service models that ship with botocore.

The provider passes many strings through unchecked (`amiType`, a taint's `effect`, an endpoint's
`instanceType`), so a typo only surfaces minutes into a deployment. botocore carries each service's API model:
its enums (`AMITypes`, `TaintEffect`, `ProductionVariantInstanceType`, EC2's `InstanceType`) and its numeric
bounds (a variant's `VolumeSizeInGB` 1-512). A finding names the resource, the field, the value and what is
allowed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from preflight.emulator import aws as aws_emulator
from preflight.model import SECRET, UNKNOWN, ResourceRecord, StackResult, Violation
from preflight.scanners.config import ScannerConfig

if TYPE_CHECKING:
    import botocore.session
    from botocore.model import Shape

SOURCE = "aws-api"


@cache
def _session() -> botocore.session.Session:
    # Imported on first use: `--no-scanners` (and every stack without AWS values to check) never pays for botocore.
    import botocore.session

    return botocore.session.get_session()


@cache
def shape(service: str, name: str) -> Shape:
    return _session().get_service_model(service).shape_for(name)


@cache
def enum(service: str, name: str) -> tuple[str, ...]:
    return tuple(getattr(shape(service, name), "enum", None) or ())


@cache
def log_retention_days() -> tuple[int, ...]:
    """Retention periods CloudWatch Logs accepts. The model documents them in prose, not as an enum; 0 is the
    provider's way of saying "never expire" (it deletes the retention policy)."""
    member = (
        _session()
        .get_service_model("logs")
        .operation_model("PutRetentionPolicy")
        .input_shape.members["retentionInDays"]
    )
    text = re.sub(r"<[^>]+>", " ", member.documentation)
    found = re.search(r"Possible values are:([^.]*)\.", text)
    if not found:
        raise RuntimeError(
            "botocore's logs model no longer lists retention values; update aws_values.log_retention_days"
        )
    return (0, *sorted({int(n) for n in re.findall(r"\d+", found.group(1))}))


def regions() -> tuple[str, ...]:
    """The regions of botocore's endpoint data, as the emulator knows them (listing EC2's regions instead would
    parse the whole EC2 service model, a second or more of CPU, for the same few dozen names)."""
    return aws_emulator.regions()


@dataclass(frozen=True)
class Finding:
    path: str
    value: Any
    allowed: str
    policy: str


def _describe(allowed: tuple[Any, ...], value: Any, what: str) -> str:
    if len(allowed) <= 30:
        return f"allowed: {', '.join(map(str, allowed))}"
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=5, cutoff=0.6)
    hint = f"; closest: {', '.join(close)}" if close else ""
    return f"one of the {len(allowed)} {what}{hint}"


def check_enum(path: str, value: Any, allowed: tuple[Any, ...], policy: str, what: str) -> Iterator[Finding]:
    if value is UNKNOWN or value == SECRET or value is None:
        return
    if value not in allowed:
        yield Finding(path, value, _describe(allowed, value, what), policy)


def _member(shape_: Shape, key: str) -> tuple[str, Shape] | None:
    """The API member a Pulumi property corresponds to: same name ignoring case (`volumeSizeInGb` is
    `VolumeSizeInGB`), or its singular when the bridge pluralised a list (`routingConfigs`)."""
    members = {name.lower(): (name, sub) for name, sub in shape_.members.items()}
    return members.get(key.lower()) or (members.get(key.lower()[:-1]) if key.endswith("s") else None)


def check_shape(path: str, value: Any, shape_: Shape, service: str) -> Iterator[Finding]:
    """Every enum and numeric bound of an API structure, applied to the matching Pulumi value."""
    if value is UNKNOWN or value == SECRET or value is None:
        return
    policy = f"{SOURCE}/{service}.{shape_.name}"
    if shape_.type_name == "structure" and isinstance(value, dict):
        for key, sub in value.items():
            found = _member(shape_, key)
            if found is not None:
                yield from check_shape(f"{path}.{key}", sub, found[1], service)
        return
    if shape_.type_name == "structure" and isinstance(value, list):
        for i, item in enumerate(value):  # a block the API holds once, which Pulumi may model as a list
            yield from check_shape(f"{path}[{i}]", item, shape_, service)
        return
    if shape_.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from check_shape(f"{path}[{i}]", item, shape_.member, service)
        return
    allowed = tuple(getattr(shape_, "enum", None) or ())  # only string shapes have an enum
    if allowed:
        yield from check_enum(path, value, allowed, policy, f"values of {service}'s {shape_.name}")
        return
    if (
        shape_.type_name in ("integer", "long", "float", "double")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        low, high = shape_.metadata.get("min"), shape_.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            yield Finding(path, value, f"allowed: {bounds}", policy)


def _items(record: ResourceRecord, prop: str) -> Iterator[tuple[str, Any]]:
    value = record.inputs.get(prop)
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield f"{prop}[{i}]", item
    elif value is not None:
        yield prop, value


def _ec2_instance_types() -> tuple[str, ...]:
    return enum("ec2", "InstanceType")


def _node_group(record: ResourceRecord) -> Iterator[Finding]:
    yield from check_enum(
        "amiType", record.inputs.get("amiType"), enum("eks", "AMITypes"), f"{SOURCE}/eks.AMITypes", "EKS AMI types"
    )
    yield from check_enum(
        "capacityType",
        record.inputs.get("capacityType"),
        enum("eks", "CapacityTypes"),
        f"{SOURCE}/eks.CapacityTypes",
        "capacity types",
    )
    for path, taint in _items(record, "taints"):
        if isinstance(taint, dict):
            yield from check_enum(
                f"{path}.effect",
                taint.get("effect"),
                enum("eks", "TaintEffect"),
                f"{SOURCE}/eks.TaintEffect",
                "taint effects",
            )
    for path, instance_type in _items(record, "instanceTypes"):
        yield from check_enum(
            path, instance_type, _ec2_instance_types(), f"{SOURCE}/ec2.InstanceType", "EC2 instance types"
        )


def _instance_type(record: ResourceRecord) -> Iterator[Finding]:
    yield from check_enum(
        "instanceType",
        record.inputs.get("instanceType"),
        _ec2_instance_types(),
        f"{SOURCE}/ec2.InstanceType",
        "EC2 instance types",
    )


def _endpoint_configuration(record: ResourceRecord) -> Iterator[Finding]:
    variant = shape("sagemaker", "ProductionVariant")
    for prop in ("productionVariants", "shadowProductionVariants"):
        for path, item in _items(record, prop):
            yield from check_shape(path, item, variant, "sagemaker")
    capture = record.inputs.get("dataCaptureConfig")
    if capture is not None:
        yield from check_shape("dataCaptureConfig", capture, shape("sagemaker", "DataCaptureConfig"), "sagemaker")


def _log_group(record: ResourceRecord) -> Iterator[Finding]:
    yield from check_enum(
        "retentionInDays",
        record.inputs.get("retentionInDays"),
        log_retention_days(),
        f"{SOURCE}/logs.RetentionInDays",
        "retention periods",
    )


_RULES: dict[str, Callable[[ResourceRecord], Iterator[Finding]]] = {
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:ec2/launchTemplate:LaunchTemplate": _instance_type,
    "aws:ec2/instance:Instance": _instance_type,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _endpoint_configuration,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
}


def findings(record: ResourceRecord) -> list[Finding]:
    out = list(_RULES.get(record.type, lambda _: iter(()))(record))
    region = record.inputs.get("region")
    if record.type.startswith(("aws:", "pulumi:providers:aws")) and isinstance(region, str) and region != SECRET:
        out += check_enum("region", region, regions(), f"{SOURCE}/regions", "AWS regions")
    return out


def scan(result: StackResult, config: ScannerConfig) -> list[Violation]:
    out: list[Violation] = []
    wrong_regions: set[str] = set()
    for record in result.resources:
        if not record.custom:
            continue
        for f in findings(record):
            if config.skip_for(f.policy, record):
                continue
            if f.policy == f"{SOURCE}/regions":
                wrong_regions.add(f.value)
            policy = config.policy(f.policy)
            out.append(
                Violation(
                    source=SOURCE,
                    policy=f.policy,
                    category=policy.category or "reliability",
                    enforcement=policy.enforcement,
                    severity=policy.severity or "high",
                    urn=record.urn,
                    name=record.name,
                    message=f"{record.type} '{record.name}': {f.path} = {f.value!r} is not accepted by the AWS API; {f.allowed}",
                    remediation="Use a value from the allowed set (botocore's service model); AWS rejects this one at deploy time.",
                )
            )
    region = result.config.get("aws:region")
    # The default provider carries the stack's region too: one finding per wrong value is enough.
    if isinstance(region, str) and region != SECRET and region not in wrong_regions:
        for f in check_enum("aws:region", region, regions(), f"{SOURCE}/regions", "AWS regions"):
            policy = config.policy(f.policy)
            out.append(
                Violation(
                    source=SOURCE,
                    policy=f.policy,
                    category=policy.category or "reliability",
                    enforcement=policy.enforcement,
                    severity=policy.severity or "high",
                    urn=None,
                    name=None,
                    message=f"stack config aws:region = {region!r} is not an AWS region; {f.allowed}",
                    remediation=f"Set aws:region in Pulumi.{result.stack}.yaml to a region AWS offers.",
                )
            )
    return out
