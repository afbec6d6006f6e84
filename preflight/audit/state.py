"""Read what `pulumi stack export` writes (a version 3 deployment) into the records preflight reports on.

Secret values (objects carrying Pulumi's secret signature) become "[secret]" as soon as they are read, whether the
export holds ciphertext or, with `--show-secrets`, plaintext: nothing downstream can print one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.model import SECRET, ResourceRecord, StackResult

SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""The key Pulumi marks a secret value with in serialised state (its value is `1b47061264138c4ac30d75fd1eb44270`)."""

STACK_TYPE = "pulumi:pulumi:Stack"
AWS_PROVIDER = "pulumi:providers:aws"


class StateError(Exception):
    """A state file that cannot be audited (exit code 2); the message names the file and what is wrong."""


@dataclass
class State:
    result: StackResult
    """The stack as the state records it; each record's inputs are what the program declared."""
    regions: dict[str, str] = field(default_factory=dict)
    """AWS provider URN -> its region."""
    default_tags: dict[str, str] = field(default_factory=dict)
    """The default provider's `defaultTags.tags` (where the stack's Project and Environment tags live)."""

    def region_of(self, record: ResourceRecord) -> str | None:
        """The region of the resource's provider; None: the stack's default (the first aws provider's, or boto3's)."""
        if record.provider:
            return self.regions.get(record.provider.rsplit("::", 1)[0])
        return None

    @property
    def default_region(self) -> str | None:
        return next(iter(self.regions.values()), None)


def redact(value: Any) -> Any:
    """A copy of `value` with every secret replaced by "[secret]" and the engine's bookkeeping keys dropped."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            return SECRET
        return {k: redact(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if isinstance(text, str) and text.strip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def read_state(path: Path) -> State:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StateError(f"{path}: cannot read the state: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(document, dict) or document.get("version") != 3:
        got = document.get("version") if isinstance(document, dict) else type(document).__name__
        raise StateError(f"{path}: version is {got!r}; expected the version 3 deployment `pulumi stack export` writes")
    resources = (document.get("deployment") or {}).get("resources")
    if not isinstance(resources, list):
        raise StateError(f"{path}: deployment.resources is missing or not a list; is this a `pulumi stack export`?")
    stack = next((r for r in resources if isinstance(r, dict) and r.get("type") == STACK_TYPE), None)
    if stack is None:
        raise StateError(f"{path}: no {STACK_TYPE} resource in deployment.resources: the stack was never deployed")
    # urn:pulumi:<stack>::<project>::pulumi:pulumi:Stack::<project>-<stack>
    head = str(stack.get("urn", "")).split("::")
    if len(head) < 4 or not head[0].startswith("urn:pulumi:"):
        raise StateError(f"{path}: the stack resource's urn {stack.get('urn')!r} is not a Pulumi URN")
    records: list[ResourceRecord] = []
    regions: dict[str, str] = {}
    default_tags: dict[str, str] = {}
    for i, raw in enumerate(resources):
        if not isinstance(raw, dict) or not isinstance(raw.get("urn"), str) or not isinstance(raw.get("type"), str):
            raise StateError(f"{path}: deployment.resources[{i}] has no urn or type")
        if raw.get("delete"):
            continue  # a replaced resource pending deletion: not part of the stack any more
        options = {k: raw[k] for k in ("protect", "retainOnDelete") if raw.get(k)}
        if raw.get("dependencies"):
            options["dependsOn"] = list(raw["dependencies"])
        record = ResourceRecord(
            urn=raw["urn"],
            type=raw["type"],
            name=raw["urn"].rsplit("::", 1)[-1],
            custom=bool(raw.get("custom")),
            id=raw.get("id") or None,
            # preflight records top-level resources without a parent (the policy layer adds the stack back).
            parent=None if raw.get("parent") == stack["urn"] else raw.get("parent"),
            provider=raw.get("provider"),
            inputs=redact(raw.get("inputs") or {}),
            outputs=redact(raw.get("outputs") or {}),
            options=options,
            property_dependencies={k: sorted(v) for k, v in (raw.get("propertyDependencies") or {}).items()},
        )
        records.append(record)
        if record.type == AWS_PROVIDER:
            region = record.inputs.get("region") or record.outputs.get("region")
            if isinstance(region, str) and region:
                regions[record.urn] = region
            if not default_tags:
                tags = _json_object(record.inputs.get("defaultTags")).get("tags")
                if isinstance(tags, dict):
                    default_tags = {str(k): str(v) for k, v in tags.items() if isinstance(v, str)}
    result = StackResult(
        project=head[1],
        stack=head[0].removeprefix("urn:pulumi:"),
        resources=tuple(records),
        outputs=(stack.get("outputs") and redact(stack["outputs"])) or {},
    )
    return State(result=result, regions=regions, default_tags=default_tags)
