"""Tag compliance through the Resource Groups Tagging API: resources carrying the stack's Project and Environment
tags that the state does not know (orphans), and resources of the state missing a required cost tag live."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from preflight.audit.aws import ABSENT, Aws, NotChecked
from preflight.audit.findings import COST_TAGS, ORPHAN, finding, not_checked
from preflight.audit.state import State
from preflight.model import ResourceRecord, Violation

LISTED_TYPES = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:sagemaker/model:Model",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "aws:ecr/repository:Repository",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:sns/topic:Topic",
    }
)
"""Types whose tags the Tagging API returns (the others' cost tags are judged by the pack on declared tags)."""

MANAGED_TAG_PREFIXES = ("aws:", "eks:", "kubernetes.io/", "k8s.io/", "ebs.csi.aws.com/")
"""A resource carrying one of these was made by a service for a stack resource (node group instances, volumes
of persistent volume claims, the node groups' Auto Scaling groups): not an orphan even with the stack's tags."""

_ARN_BATCH = 100
"""GetResources takes at most 100 ARNs per call."""


def arn_of(record: ResourceRecord) -> str | None:
    if record.type in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2") and record.id:
        return f"arn:aws:s3:::{record.id}"
    arn = record.outputs.get("arn")
    return str(arn).removesuffix(":*") if isinstance(arn, str) and arn.startswith("arn:") else None


def arn_type(arn: str) -> str:
    """What an ARN names, for a message: "s3 bucket", "ec2 security-group", "sagemaker endpoint"."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "resource"
    service, resource = parts[2], parts[5]
    kind = re.split(r"[/:]", resource)[0] if ("/" in resource or ":" in resource) else ""
    return f"{service} {kind or ('bucket' if service == 's3' else 'resource')}"


def _tags(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in mapping.get("Tags", [])}


def orphans(aws: Aws, state: State) -> list[Violation]:
    project = state.default_tags.get("Project")
    environment = state.default_tags.get("Environment")
    if not project:
        return [
            not_checked(
                None, "orphan resources", "the stack's aws provider sets no Project default tag to look them up by"
            )
        ]
    filters = [{"Key": "Project", "Values": [project]}]
    if environment:
        filters.append({"Key": "Environment", "Values": [environment]})
    try:
        tagged = aws.pages("resourcegroupstaggingapi", "GetResources", "ResourceTagMappingList", TagFilters=filters)
    except NotChecked as exc:
        return [not_checked(None, "orphan resources", str(exc))]
    known = {arn for arn in map(arn_of, state.result.resources) if arn}
    known |= {str(r.id) for r in state.result.resources if str(r.id or "").startswith("arn:")}
    found = []
    for mapping in tagged:
        arn = str(mapping.get("ResourceARN", "")).removesuffix(":*")
        tags = _tags(mapping)
        if arn in known or any(k.startswith(MANAGED_TAG_PREFIXES) for k in tags):
            continue
        found.append(
            finding(
                ORPHAN,
                None,
                f"{arn_type(arn)} {arn} carries the stack's tags (Project={project}"
                + (f", Environment={environment}" if environment else "")
                + ") but is not in the state: created or left outside Pulumi",
                severity="medium",
                category="cost",
                remediation="Import it into the program (`pulumi import`) or delete it; it costs money and no "
                "review sees it.",
            )
        )
    return found


def missing_cost_tags(
    aws: Aws, state: State, live: Mapping[str, Any], required: Sequence[str], enforcement: str
) -> tuple[list[Violation], list[str]]:
    """Findings for state resources missing a required tag live, and notes on what the Tagging API cannot see."""
    checked: dict[str, ResourceRecord] = {}
    tags: dict[str, dict[str, str]] = {}
    unlisted: set[str] = set()
    for record in state.result.resources:
        reading = live.get(record.urn)
        if not record.custom or "tagsAll" not in record.inputs or reading is ABSENT:
            continue
        arn = arn_of(record) or record.urn
        if isinstance(reading, Mapping) and "_tags" in reading:
            # The service's own answer already carried the tags (S3, EKS, ECR): no need to ask the Tagging API.
            checked[arn], tags[arn] = record, dict(reading["_tags"])
        elif record.type in LISTED_TYPES and arn_of(record):
            checked[arn] = record
        else:
            unlisted.add(record.type)
    notes = []
    if unlisted:
        notes.append(
            "cost tags not read live for "
            + ", ".join(sorted(unlisted))
            + ": the Resource Groups Tagging API does not list them (the pack judged their declared tags)"
        )
    arns = sorted(checked)
    asked = [arn for arn in arns if arn not in tags]
    try:
        for i in range(0, len(asked), _ARN_BATCH):
            for mapping in aws.pages(
                "resourcegroupstaggingapi",
                "GetResources",
                "ResourceTagMappingList",
                ResourceARNList=asked[i : i + _ARN_BATCH],
            ):
                tags[str(mapping.get("ResourceARN", "")).removesuffix(":*")] = _tags(mapping)
    except NotChecked as exc:
        return [not_checked(None, "cost tags of the stack's resources", str(exc))], notes
    found = []
    for arn in arns:
        have = tags.get(arn, {})  # not listed at all: it has no tags
        missing = [k for k in required if not str(have.get(k) or "").strip()]
        if missing:
            record = checked[arn]
            found.append(
                finding(
                    COST_TAGS,
                    record,
                    f"{record.type} {record.id} is missing cost tags {', '.join(missing)} live "
                    f"(has: {', '.join(sorted(have)) or 'none'})",
                    enforcement=enforcement,
                    severity="medium",
                    category="cost",
                    remediation="Run `pulumi up` to restore the provider's default tags, or tag it in the console.",
                )
            )
    return found, notes
