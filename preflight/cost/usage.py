"""Usage files, `usage/<stack>.yaml`: the traffic and storage a stack's `expected` figure assumes (like
Infracost's usage files). Each section maps resources, by their Pulumi logical name, to monthly figures:

```yaml
nodeGroups:   {cluster-gpu-nodes: {averageNodes: 0.5}}
natGateways:  {network-nat-us-west-2a: {dataProcessedGb: 50}}
endpoints:    {endpoint-churn-endpoint: {requests: 200000, averageDurationMs: 120, averagePayloadKb: 4}}
logGroups:    {cluster-control-plane-logs: {ingestedGb: 5, storedGb: 10}}
buckets:      {artifacts-datasets: {standardGb: 200}}
```

Validated like stack config: one line per problem naming the file, the key, the value and what is allowed; a
name that is no resource of the section's type in the stack is an error too (never a silently ignored setting).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from components.settings import Section
from policies.costing.rules import USAGE_SECTIONS
from preflight.model import StackResult

Amount = Annotated[float, Field(ge=0)]


class NodeGroupUsage(Section):
    average_nodes: Amount | None = None
    """Nodes running on average over the month. Default: the node group's desiredSize."""


class NodePoolUsage(Section):
    average_nodes: Amount = 0
    """Nodes a Karpenter NodePool runs on average, priced on its cheapest allowed type. Default 0."""


class DataUsage(Section):
    data_processed_gb: Amount = 0
    """GB a month through the NAT gateway or interface endpoint. Default 0."""


class EndpointUsage(Section):
    requests: Amount = 0
    """Invocations a month. Default 0."""
    average_duration_ms: Amount = 0
    """Serverless: average compute time per invocation, in milliseconds. Default 0."""
    average_payload_kb: Amount = 0
    """Serverless: request plus response size per invocation, in KB (billed as data processed). Default 0."""


class KeyUsage(Section):
    requests: Amount = 0
    """KMS API requests a month (encrypt, decrypt, generate data key...). Default 0."""


class LogGroupUsage(Section):
    ingested_gb: Amount = 0
    """GB of log events ingested a month. Default 0."""
    stored_gb: Amount = 0
    """GB kept (compressed), within the group's retention. Default 0."""


class BucketUsage(Section):
    standard_gb: Amount = 0
    """GB in S3 Standard. Default 0; likewise for every class below."""
    intelligent_tiering_gb: Amount = 0
    standard_ia_gb: Amount = 0
    onezone_ia_gb: Amount = 0
    glacier_ir_gb: Amount = 0
    glacier_gb: Amount = 0
    deep_archive_gb: Amount = 0


class ReplicationUsage(Section):
    replicated_gb: Amount = 0
    """GB a month replicated to the destination bucket (billed as inter-region transfer). Default 0."""


class RepositoryUsage(Section):
    stored_gb: Amount = 0
    """GB of images kept. Default 0."""


class TopicUsage(Section):
    publishes: Amount = 0
    """Messages published a month. Default 0."""
    email_notifications: Amount = 0
    """Email deliveries a month. Default 0."""


class EventBusUsage(Section):
    events: Amount = 0
    """Custom events put on the bus a month. Default 0."""


class QueueUsage(Section):
    requests: Amount = 0
    """SQS requests a month (send, receive, delete; each 64 KB chunk counts). Default 0."""


class BuildProjectUsage(Section):
    build_minutes: Amount = 0
    """CodeBuild minutes a month (for a deploy runner: the deploy and drift jobs it runs). Default 0."""


class PipelineUsage(Section):
    runs_per_month: Amount | None = None
    """Executions a month. Default: what the pipeline's enabled schedules start (none when disabled, as in dev)."""
    training_hours: Amount | None = None
    """Hours each training job runs per execution. Default: its time limit (StoppingCondition.MaxRuntimeInSeconds)."""
    processing_hours: Amount | None = None
    """Hours each processing job (the evaluation) runs per execution. Default: its time limit."""


class UsageFile(Section):
    """A stack's usage assumptions. Every section is optional; a resource not named uses its defaults."""

    node_groups: dict[str, NodeGroupUsage] = Field(default_factory=dict)
    node_pools: dict[str, NodePoolUsage] = Field(default_factory=dict)
    nat_gateways: dict[str, DataUsage] = Field(default_factory=dict)
    vpc_endpoints: dict[str, DataUsage] = Field(default_factory=dict)
    endpoints: dict[str, EndpointUsage] = Field(default_factory=dict)
    kms_keys: dict[str, KeyUsage] = Field(default_factory=dict)
    log_groups: dict[str, LogGroupUsage] = Field(default_factory=dict)
    buckets: dict[str, BucketUsage] = Field(default_factory=dict)
    replications: dict[str, ReplicationUsage] = Field(default_factory=dict)
    repositories: dict[str, RepositoryUsage] = Field(default_factory=dict)
    topics: dict[str, TopicUsage] = Field(default_factory=dict)
    event_buses: dict[str, EventBusUsage] = Field(default_factory=dict)
    queues: dict[str, QueueUsage] = Field(default_factory=dict)
    build_projects: dict[str, BuildProjectUsage] = Field(default_factory=dict)
    pipelines: dict[str, PipelineUsage] = Field(default_factory=dict)

    def sections(self) -> dict[str, dict[str, dict[str, float]]]:
        """Section -> logical name -> field -> value (camelCase, unset fields left out), as the estimator reads it."""
        return self.model_dump(by_alias=True, exclude_none=True)


class UsageError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def path_for(project_dir: Path, stack: str) -> Path:
    return project_dir / "usage" / f"{stack}.yaml"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed(parent: tuple[Any, ...]) -> list[str]:
    """The keys allowed under `parent`: the sections at the top, a section's fields under a resource name."""
    model: Any = UsageFile
    if len(parent) >= 2:
        model = UsageFile.model_fields[next(n for n, f in UsageFile.model_fields.items() if f.alias == parent[0])]
        model = model.annotation.__args__[1]  # dict[str, <Section>]
    return [f.alias or n for n, f in model.model_fields.items()]


def parse(document: Any, origin: str) -> UsageFile:
    if document is None:
        return UsageFile()
    if not isinstance(document, dict):
        raise UsageError([f"{origin}: must be a mapping of usage sections (allowed: {', '.join(_allowed(()))})"])
    try:
        return UsageFile.model_validate(document)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc)
            if err["type"] == "extra_forbidden":
                allowed = _allowed(loc[:-1])
                guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                hint = f"; did you mean '{guess[0]}'?" if guess else ""
                problems.append(f"{origin}: {key}: unknown key{hint} (allowed: {', '.join(allowed)})")
            else:
                message = err["msg"].replace("Input should be", "must be")
                problems.append(f"{origin}: {key} = {_show(err.get('input'))}: {message}")
        raise UsageError(problems) from None


def load(project_dir: Path, stack: str) -> tuple[UsageFile, str | None]:
    """The stack's usage file (relative name for messages), or empty usage and None when it has none."""
    file = path_for(project_dir, stack)
    if not file.is_file():
        return UsageFile(), None
    origin = str(file.relative_to(project_dir))
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError([f"{origin}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None
    return parse(document, origin), origin


def unmatched(usage: UsageFile, result: StackResult, origin: str) -> list[str]:
    """One line per usage entry that names no resource of its section's type in the stack."""
    problems = []
    for section, entries in usage.sections().items():
        types = USAGE_SECTIONS[section]
        names = sorted({r.name for r in result.resources if r.type in types})
        for name in entries:
            if name not in names:
                have = ", ".join(names) or "none"
                problems.append(
                    f"{origin}: {section}.{name}: no {' or '.join(types)} named {name!r} in stack {result.stack} "
                    f"(have: {have})"
                )
    return problems
