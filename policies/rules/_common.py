"""What every rule needs: safe reads of engine-shaped properties, IAM documents, and links between resources.

Properties arrive wrapped in pulumi-policy's unknown-checking proxy: reading a value that is only known after
`pulumi up` raises `UnknownValueError`. Resource rules let that happen for the value they judge (the engine then
reports "can't run policy ... during preview" instead of a silent pass); everything else reads through `get`,
which never raises and returns `UNKNOWN` instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from ._types import LAUNCH_TEMPLATE

CATEGORIES = ("encryption", "access", "cost", "reliability")

_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class _Unknown:
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:  # noqa: PYI034 - a singleton: always this class's one instance
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown until apply>"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()
"""A value the engine will only know after `pulumi up`."""


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """The value at `path`, `default` when it is absent or null, `UNKNOWN` when it is not known yet. Never raises."""
    current = props
    for key in path:
        if current is None:
            return default
        if is_unknown(current):
            return UNKNOWN
        try:
            if isinstance(key, int):
                if isinstance(current, (str, bytes)) or not isinstance(current, Sequence) or key >= len(current):
                    return default
            elif not isinstance(current, Mapping):
                return default
            current = current[key]
        except (KeyError, IndexError):
            return default
        except UnknownValueError:
            return UNKNOWN
    if current is None:
        return default
    return UNKNOWN if is_unknown(current) else current


def known(value: Any, where: str) -> Any:
    """`value`, or the engine's `UnknownValueError` for `where` when it is not known yet (resource rules)."""
    if is_unknown(value):
        raise UnknownValueError(UNKNOWN_STRING_VALUE, where.split("."))
    return value


def elements(value: Any) -> list[Any]:
    """A list property's items (unknown items as `UNKNOWN`); a single value as a one-item list; null as []."""
    if value is None or is_unknown(value):
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return [value]
    out = []
    for i in range(len(value)):
        try:
            item = value[i]
        except UnknownValueError:
            item = UNKNOWN
        out.append(UNKNOWN if is_unknown(item) else item)
    return out


def plain(value: Any) -> Any:
    """A proxied value as ordinary dicts and lists (unknowns as `UNKNOWN`)."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: plain(get(value, k)) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in elements(value)]
    return value


def is_true(value: Any) -> bool:
    """True for `true` and for the string "true" (launch templates keep EBS booleans as strings)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def num(value: Any) -> str:
    """A number for a message. Every number reaches a policy as a float (the engine's wire format has no
    integers): 3.0 reads as 3."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shown(value: Any) -> str:
    """A value for a message: `not set`, or its repr (whole numbers without a decimal point)."""
    if value is None:
        return "not set"
    value = plain(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return num(value)
    return repr(value)


# ---- IAM and resource-policy documents ------------------------------------------------------------------------


class InvalidDocument(ValueError):
    pass


def document(value: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string or an object; None when absent, `UNKNOWN` when not known yet."""
    value = plain(value)
    if value is None or value == "":
        return None
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidDocument(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InvalidDocument(f"expected a JSON object, got {type(value).__name__}")
    return value


def statements(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    found = doc.get("Statement")
    if isinstance(found, dict):
        return [found]
    return [s for s in found or [] if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def statement_label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else f"statement #{index + 1}"


def principal_values(principal: Any) -> list[str]:
    """Every identifier in a Principal element ("*" stays "*")."""
    if principal is None:
        return []
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict):
        return [str(v) for values in principal.values() for v in as_list(values)]
    return [str(v) for v in as_list(principal)]


def is_public_principal(principal: Any) -> bool:
    """`"*"` or `{"AWS": "*"}`: every principal in every account."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in [str(v) for v in as_list(principal.get("AWS"))] or "*" in [
            str(v) for v in as_list(principal.get("*"))
        ]
    return False


def condition_keys(statement: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Condition key (lower-cased, as IAM compares them) -> every value it is tested against, across operators."""
    out: dict[str, list[Any]] = {}
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return out
    for tests in condition.values():
        if isinstance(tests, dict):
            for key, values in tests.items():
                out.setdefault(str(key).lower(), []).extend(as_list(values))
    return out


# ---- links between resources (stack rules) -------------------------------------------------------------------


class StackIndex:
    """The stack's resources by type, and which resource a property refers to."""

    def __init__(self, resources: Iterable[PolicyResource]):
        self.resources = list(resources)
        self._by_type: dict[str, list[PolicyResource]] = {}
        for r in self.resources:
            self._by_type.setdefault(r.resource_type, []).append(r)

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for t in types for r in self._by_type.get(t, [])]

    def refers_to(
        self,
        source: PolicyResource,
        prop: str,
        candidates: Sequence[PolicyResource],
        keys: Sequence[str] = ("id", "arn", "name"),
        value_path: Sequence[str | int] = (),
    ) -> list[PolicyResource]:
        """The candidates `source.props[prop]` (or the value at `value_path` under it) refers to.

        Through the engine's property dependencies first: in a preview the referenced id or name is often not
        known yet, but the dependency is. Otherwise by value, against each candidate's `keys` outputs."""
        return _Targets(candidates, keys).referred_by(source, prop, value_path)

    def launch_templates(self, group: PolicyResource) -> list[PolicyResource]:
        """The launch templates a node group's `launchTemplate` refers to, by id or else by name."""
        templates = self.of_type(LAUNCH_TEMPLATE)
        return self.refers_to(group, "launchTemplate", templates, ("id",), ("id",)) or self.refers_to(
            group, "launchTemplate", templates, ("name",), ("name",)
        )

    def linked(
        self,
        sources: Sequence[PolicyResource],
        prop: str,
        targets: Sequence[PolicyResource],
        keys: Sequence[str] = ("id", "arn", "name"),
        value_path: Sequence[str | int] = (),
    ) -> dict[str, list[PolicyResource]]:
        """Target URN -> the sources whose `prop` refers to it. Linear in sources + targets: the targets are
        indexed once, not searched per source."""
        out: dict[str, list[PolicyResource]] = {t.urn: [] for t in targets}
        index = _Targets(targets, keys)
        for source in sources:
            for target in index.referred_by(source, prop, value_path):
                out[target.urn].append(source)
        return out


class _Targets:
    """Candidates indexed by URN and by the string value of each of their `keys` outputs."""

    def __init__(self, candidates: Sequence[PolicyResource], keys: Sequence[str]):
        self.position = {c.urn: i for i, c in enumerate(candidates)}
        self.candidates = candidates
        self.by_value: dict[str, list[int]] = {}
        for i, c in enumerate(candidates):
            for k in keys:
                value = get(c.props, k)
                if value:
                    self.by_value.setdefault(str(value), []).append(i)

    def referred_by(
        self, source: PolicyResource, prop: str, value_path: Sequence[str | int] = ()
    ) -> list[PolicyResource]:
        linked = [d for d in source.property_dependencies.get(prop, []) if d.urn in self.position]
        if linked:
            return _unique(linked)
        values = {str(v) for v in elements(get(source.props, prop, *value_path)) if v is not UNKNOWN}
        hits = sorted({i for v in values for i in self.by_value.get(v, ())})
        return [self.candidates[i] for i in hits]


def _unique(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    seen: dict[str, PolicyResource] = {}
    for r in resources:
        seen.setdefault(r.urn, r)
    return list(seen.values())


# ---- building policies ---------------------------------------------------------------------------------------

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def _check_metadata(name: str, category: str, remediation: str) -> None:
    if category not in CATEGORIES:
        raise ValueError(f"policy {name}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if not remediation.strip():
        raise ValueError(f"policy {name}: remediation steps are required")


def _config_schema(config: Mapping[str, Mapping[str, Any]] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties={k: dict(v) for k, v in config.items()}) if config else None


def resource_policy(
    name: str,
    *,
    category: str,
    severity: Severity,
    description: str,
    remediation: str,
    types: Iterable[str] | None,
    check: ResourceCheck,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement_level: EnforcementLevel | None = None,
) -> ResourceValidationPolicy:
    """A resource rule that runs `check` on resources of `types` only (every type when `types` is None)."""
    _check_metadata(name, category, remediation)
    wanted = None if types is None else frozenset(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if wanted is None or args.resource_type in wanted:
            check(args, report)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=_config_schema(config),
        severity=severity,
        tags=[category],
        remediation_steps=remediation,
    )


def stack_policy(
    name: str,
    *,
    category: str,
    severity: Severity,
    description: str,
    remediation: str,
    check: StackCheck,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement_level: EnforcementLevel | None = None,
) -> StackValidationPolicy:
    _check_metadata(name, category, remediation)
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=check,
        enforcement_level=enforcement_level,
        config_schema=_config_schema(config),
        severity=severity,
        tags=[category],
        remediation_steps=remediation,
    )


def setting(config: Mapping[str, Any], key: str, schema: Mapping[str, Mapping[str, Any]]) -> Any:
    """A rule setting: the configured value, else the schema default (the CLI fills defaults in; a bare analyzer
    that was never configured does not)."""
    value = config.get(key) if config else None
    return schema[key]["default"] if value is None else value
