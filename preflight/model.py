"""What `preflight` records about a stack, and what it reports. The `--json` document is these, serialised.

Property values are kept the way the Pulumi engine sees them (camelCase keys, as registered), with two
markers: secrets are the string "[secret]" and values not known until apply are `UNKNOWN` ("[unknown]" in JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, final

SECRET = "[secret]"


@final
class _Unknown:
    """A value the engine would only know after `pulumi up` (an output of something not yet created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "[unknown]"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class SourcePosition:
    uri: str
    line: int


@dataclass(frozen=True)
class ResourceRecord:
    urn: str
    type: str
    name: str
    custom: bool
    """False for component resources."""
    id: str | None = None
    parent: str | None = None
    provider: str | None = None
    """Provider reference `urn::id` (an explicit provider, or the default one the engine would make)."""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    """protect, retainOnDelete, dependsOn (URNs), aliases, ignoreChanges, deleteBeforeReplace,
    additionalSecretOutputs, replaceOnChanges, customTimeouts, deletedWith, providers (components)."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Input property -> URNs of the resources whose outputs it was built from, sorted (the SDK sends a set)."""
    source: SourcePosition | None = None
    """Where the program declared it (file and line), when the SDK reports it."""

    @property
    def qualified_type(self) -> str:
        return self.urn.split("::")[2]


@dataclass(frozen=True)
class Violation:
    source: str
    """Who found it: `policy-pack`, `checkov`, `parliament`, `aws-api`, `kubernetes-schema`."""
    policy: str
    category: str
    """encryption | access | cost | reliability."""
    enforcement: str
    """mandatory | advisory."""
    severity: str
    """low | medium | high | critical."""
    urn: str | None
    name: str | None
    message: str
    remediation: str = ""


NotCheckedKind = Literal["unrendered", "read"]


@dataclass(frozen=True)
class NotChecked:
    """Something the program declares that no check looked at: a component preflight could not render offline (so
    nothing under it was checked), or a read of an existing resource (which no policy pack judges)."""

    type: str
    name: str | None
    urn: str | None
    reason: str
    """Why it was not checked (for a component: what would render it), in one sentence."""
    kind: NotCheckedKind = "unrendered"
    """`unrendered`: a component whose resources are not in the graph, a gap `--strict` makes mandatory. `read`: a
    resource the program reads and does not manage; `pulumi preview` hands reads to no analyzer either, and the
    scanners skip them, so it is judged, if anywhere, where it is managed."""


@dataclass(frozen=True)
class StackResult:
    """One stack's run. Never changed once made: each stage of a run (policy packs, cost, scanners) returns a new
    result (`with_violations`, `with_warnings`, `dataclasses.replace`), so a result that several tests or stages
    share reads the same to all of them."""

    project: str
    stack: str
    resources: tuple[ResourceRecord, ...] = ()
    outputs: Mapping[str, Any] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    """The flat `namespace:key -> value` map the program was given (secrets as "[secret]")."""
    warnings: tuple[str, ...] = ()
    """What the program logged as warnings, and what preflight could not do offline."""
    not_checked: tuple[NotChecked, ...] = ()
    """Components and charts whose resources were not rendered (multi-language components, Helm charts), and the
    resources the program reads, which no policy pack judges."""
    runtime: Mapping[str, Any] = field(default_factory=dict)
    """The interpreter the program ran in and its Pulumi packages' versions (`pulumi_aws` ...)."""
    unmapped_types: Mapping[str, int] = field(default_factory=dict)
    """AWS types checkov could not scan (no Terraform mapping in `scanners/tfplan.py`) -> how many resources."""
    unresolved_references: tuple[str, ...] = ()
    """Stacks a StackReference names whose outputs were not given (`--stack-outputs`): their values are unknown."""
    cost: Mapping[str, Any] | None = None
    """The monthly cost estimate (`preflight.cost`), as documented in the JSON; None with `--no-cost`."""

    def __post_init__(self) -> None:
        # Kept as tuples whatever sequence a caller passed (a list, in tests and `replace`): nothing can append.
        for name in ("resources", "violations", "warnings", "not_checked", "unresolved_references"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def with_violations(self, found: Iterable[Violation]) -> StackResult:
        """This result with `found` after its violations."""
        return replace(self, violations=(*self.violations, *found))

    def with_warnings(self, notes: Iterable[str]) -> StackResult:
        """This result with `notes` after its warnings."""
        return replace(self, warnings=(*self.warnings, *notes))

    def by_type(self, type_: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {r.urn: r for r in self.resources}

    def one(self, type_: str, name: str | None = None) -> ResourceRecord:
        """The single resource of a type (and logical name); raises if there is not exactly one."""
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.by_type(type_))
            raise LookupError(f"expected one {type_}{f' named {name!r}' if name else ''}, found {len(found)}: {names}")
        return found[0]


def plain(value: Any) -> Any:
    """A JSON-ready copy of a recorded value (UNKNOWN becomes "[unknown]")."""
    if value is UNKNOWN:
        return "[unknown]"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def resource_json(record: ResourceRecord) -> dict[str, Any]:
    return {
        "urn": record.urn,
        "type": record.type,
        "name": record.name,
        "id": plain(record.id),
        "parent": record.parent,
        "provider": record.provider,
        "inputs": plain(record.inputs),
        "outputs": plain(record.outputs),
        "options": plain(record.options),
    }


def stack_json(result: StackResult) -> dict[str, Any]:
    return {
        "project": result.project,
        "stack": result.stack,
        "resources": [resource_json(r) for r in result.resources],
        "outputs": plain(result.outputs),
        "violations": [asdict(v) for v in result.violations],
        "notChecked": [asdict(n) for n in result.not_checked],
        "unresolvedReferences": list(result.unresolved_references),
        "unmappedTypes": dict(sorted(result.unmapped_types.items())),
        "warnings": list(result.warnings),
        "runtime": plain(result.runtime),
        **({"cost": result.cost} if result.cost is not None else {}),
    }
