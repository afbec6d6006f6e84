"""Evaluate a CrossGuard (pulumi-policy) pack offline, the way the Pulumi engine's analyzer does.

The same policy objects the pack serves to the CLI (`<pack>/pack.py` `build_policies()`, which the pack's
`__main__.py` also uses), handed the same argument objects pulumi-policy's analyzer server builds:

- only the resources the program registers are judged: a read (`Resource.get`, `ReadResource`, a StackReference) is
  handed to no rule, neither on its own nor in the stack rules' list, as in the engine (`analyzed_resources`);
- resource rules get each resource's *checked inputs* (camelCase, as recorded, plus what the provider's Check
  adds: the auto-name and `tagsAll`), stack rules every resource's *outputs* (plus `id`) with parent,
  dependencies and property dependencies resolved to `PolicyResource`s, both wrapped in pulumi-policy's
  unknown-checking proxy; options, provider and stack tags are passed;
- enforcement is resolved as the CLI does (`ReconcilePolicyPackConfig`): the policy's own level or the pack's
  default, then the pack's initial config, then the config file (`all` first, then each policy); `disabled`
  policies do not run, `remediate` reports as mandatory;
- settings get their schema defaults and are validated against each policy's `config_schema` (JSON Schema).

Stricter than the CLI, to catch typos: a config key that names no policy, settings for a policy that has none,
and setting names its schema does not list are errors here (the CLI ignores them silently).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from inspect import isawaitable
from pathlib import Path
from typing import Any, TypeVar, cast

import jsonschema
import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from preflight import collector
from preflight.emulator.schema import type_info
from preflight.model import UNKNOWN, ResourceRecord, StackResult, Violation

SOURCE = "policy-pack"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
LEVELS = tuple(level.value for level in EnforcementLevel)
PYTHON_ANALYZER_VERSION = "0.0.1"
"""The version pulumi-policy's Python analyzer names itself with in its own messages, whatever PulumiPolicy.yaml
says (the CLI takes the pack's version from the file)."""

_T = TypeVar("_T")


class PolicyConfigError(Exception):
    """A policy config file or pack that cannot be used; `problems` has one line per problem (exit code 2)."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class PolicyEvaluationError(Exception):
    """A policy raised while judging a resource: a bug in the rule (the engine fails the deployment too)."""


# ---- the pack ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyPackDefinition:
    name: str
    version: str
    directory: Path
    policies: tuple[Policy, ...]
    enforcement_level: EnforcementLevel
    """The pack's default, for policies that set none."""
    initial_config: Mapping[str, Any] | None


def load_pack(pack_dir: Path) -> list[Policy]:
    """The pack's policy objects, built exactly as its `__main__.py` builds them for the CLI."""
    return list(load_pack_definition(pack_dir).policies)


def load_pack_definition(pack_dir: Path) -> PolicyPackDefinition:
    return _load_definition(str(Path(pack_dir).resolve()))


@cache
def _load_definition(directory: str) -> PolicyPackDefinition:
    pack_dir = Path(directory)
    manifest = pack_dir / "PulumiPolicy.yaml"
    if not manifest.is_file():
        raise PolicyConfigError([f"{pack_dir}: no PulumiPolicy.yaml here; pass the policy pack's directory"])
    try:
        meta = yaml.safe_load(manifest.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PolicyConfigError([f"{manifest}: not valid YAML: {str(exc).splitlines()[0]}"]) from None
    runtime = meta.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise PolicyConfigError(
            [f"{manifest}: runtime is {runtime_name!r}; preflight evaluates Python packs (runtime: python)"]
        )
    if not (pack_dir / "pack.py").is_file():
        raise PolicyConfigError(
            [
                (
                    f"{pack_dir}: no pack.py; the pack must define PACK_NAME, ENFORCEMENT_LEVEL and build_policies() there "
                    "so __main__.py and preflight build the same policies"
                )
            ]
        )
    module = _import_pack(pack_dir)
    missing = [n for n in ("PACK_NAME", "build_policies") if not hasattr(module, n)]
    if missing:
        raise PolicyConfigError([f"{pack_dir / 'pack.py'}: missing {', '.join(missing)}"])
    policies = module.build_policies()
    level = getattr(module, "ENFORCEMENT_LEVEL", None) or EnforcementLevel.ADVISORY  # PolicyPack's own default
    return PolicyPackDefinition(
        name=module.PACK_NAME,
        version=str(meta.get("version") or "0.0.1"),
        directory=pack_dir,
        policies=tuple(policies),
        enforcement_level=level,
        initial_config=getattr(module, "INITIAL_CONFIG", None),
    )


def _import_pack(pack_dir: Path):
    # As the pack's __main__.py does: the directory becomes a package by path, so `pack.py` and the rules import
    # each other relatively whatever the directory is called.
    name = "_preflight_pack_" + hashlib.sha1(str(pack_dir).encode()).hexdigest()[:12]
    if f"{name}.pack" in sys.modules:
        return sys.modules[f"{name}.pack"]
    init = pack_dir / "__init__.py"
    if init.exists():
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(pack_dir)])
    else:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(pack_dir)]
    if spec is None:
        raise PolicyConfigError([f"{pack_dir}: cannot be imported as a package"])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if spec.loader is not None:
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.pack")


# ---- config, as `pulumi preview --policy-pack-config` reads it -----------------------------------------------


@dataclass(frozen=True)
class PolicyConfig:
    enforcement_level: EnforcementLevel | None
    properties: dict[str, Any] | None


def read_config_file(path: Path) -> dict[str, PolicyConfig]:
    """Parse a `--policy-pack-config` file: policy name (or `all`) -> enforcement level, or an object of
    settings with an optional `enforcementLevel`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyConfigError([f"{path}: cannot read the policy config: {exc.strerror}"]) from None
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(
            [f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    return parse_config(raw, str(path))


def parse_config(raw: Any, source: str) -> dict[str, PolicyConfig]:
    if not isinstance(raw, dict):
        raise PolicyConfigError(
            [f"{source}: expected a JSON object mapping policy names to settings, got {type(raw).__name__}"]
        )
    problems, result = [], {}
    allowed = ", ".join(LEVELS)
    for key, value in raw.items():
        if isinstance(value, str):
            if value not in LEVELS:
                problems.append(f"{source}: {key} = {value!r}: not an enforcement level; allowed: {allowed}")
                continue
            result[key] = PolicyConfig(EnforcementLevel(value), None)
        elif isinstance(value, dict):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
            if level is not None and (not isinstance(level, str) or level not in LEVELS):
                problems.append(
                    f"{source}: {key}.enforcementLevel = {level!r}: not an enforcement level; allowed: {allowed}"
                )
                continue
            result[key] = PolicyConfig(EnforcementLevel(level) if level else None, props or None)
        else:
            problems.append(
                f"{source}: {key} = {json.dumps(value)}: must be an enforcement level ({allowed}) or an object of "
                "settings with an optional enforcementLevel"
            )
    if problems:
        raise PolicyConfigError(problems)
    return result


def _normalize_initial(initial: Mapping[str, Any] | None) -> dict[str, PolicyConfig]:
    out = {}
    for key, value in (initial or {}).items():
        if isinstance(value, EnforcementLevel):
            out[key] = PolicyConfig(value, None)
        else:
            props = dict(value)
            level = props.pop("enforcementLevel", None)
            out[key] = PolicyConfig(EnforcementLevel(level) if isinstance(level, str) else level, props or None)
    return out


def reconcile(
    pack: PolicyPackDefinition, config: Mapping[str, PolicyConfig] | None, source: str = "policy config"
) -> dict[str, PolicyConfig]:
    """Every policy's effective enforcement level and settings, as the CLI computes them, validated."""
    result: dict[str, PolicyConfig] = {}
    for policy in pack.policies:
        props = None
        if policy.config_schema is not None:
            props = {k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v} or None
        result[policy.name] = PolicyConfig(policy.enforcement_level or pack.enforcement_level, props)

    def apply(given: Mapping[str, PolicyConfig]) -> None:
        everything = given.get("all")
        if everything is not None and everything.enforcement_level is not None:
            for name, current in result.items():
                result[name] = PolicyConfig(everything.enforcement_level, current.properties)
        for name, entry in given.items():
            if name == "all":
                continue
            current = result.get(name, PolicyConfig(None, None))
            props = dict(current.properties or {})
            props.update(entry.properties or {})
            result[name] = PolicyConfig(entry.enforcement_level or current.enforcement_level, props or None)

    apply(_normalize_initial(pack.initial_config))
    problems = _typos(pack, config or {}, source)
    apply(config or {})
    problems += _validate(pack, result, source)
    if problems:
        raise PolicyConfigError(problems)
    return result


def _typos(pack: PolicyPackDefinition, config: Mapping[str, PolicyConfig], source: str) -> list[str]:
    problems = []
    by_name = {p.name: p for p in pack.policies}
    for name, entry in config.items():
        if name == "all":
            if entry.properties:
                problems.append(f"{source}: all: takes only an enforcement level; settings belong to a named policy")
            continue
        policy = by_name.get(name)
        if policy is None:
            close = _close(name, by_name)
            problems.append(
                f"{source}: {name}: no policy of that name in pack {pack.name}"
                + (f"; did you mean {close!r}?" if close else f" (policies: {', '.join(sorted(by_name))})")
            )
            continue
        known = policy.config_schema.properties if policy.config_schema else {}
        for key in sorted(entry.properties or {}):
            if key not in known:
                allowed = (
                    f"settings: {', '.join(sorted(known))}" if known else "it has no settings, only enforcementLevel"
                )
                problems.append(f"{source}: {name}.{key}: unknown setting ({allowed})")
    return problems


def _close(name: str, candidates: Mapping[str, Any]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return found[0] if found else None


def _validate(pack: PolicyPackDefinition, result: Mapping[str, PolicyConfig], source: str) -> list[str]:
    problems = []
    for policy in pack.policies:
        schema = policy.config_schema
        if schema is None:
            continue
        document: dict[str, Any] = {"type": "object"}
        if schema.properties:
            document["properties"] = schema.properties
        if schema.required:
            document["required"] = schema.required
        props = result[policy.name].properties or {}
        validator = jsonschema.Draft7Validator(document)
        for error in sorted(validator.iter_errors(props), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in error.absolute_path)
            if path:
                problems.append(f"{source}: {policy.name}.{path} = {json.dumps(error.instance)}: {_allowed(error)}")
            else:
                problems.append(f"{source}: {policy.name}: {error.message}")
    return problems


_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "a list",
    "object": "an object",
    "boolean": "true or false",
}


def _allowed(error: jsonschema.ValidationError) -> str:
    """What the setting must be, in words."""
    v, expected = error.validator, error.validator_value
    if v == "type":
        names = [_TYPE_NAMES.get(t, str(t)) for t in (expected if isinstance(expected, list) else [expected])]
        return f"must be {' or '.join(names)}"
    if v == "enum":
        return f"must be one of {', '.join(json.dumps(x) for x in expected)}"
    if v == "minimum":
        return f"must be at least {expected}"
    if v == "maximum":
        return f"must be at most {expected}"
    if v == "minItems":
        return f"must list at least {expected} item(s)"
    if v == "uniqueItems":
        return "must not repeat an item"
    if v == "minLength":
        return "must not be empty"
    if v == "pattern":
        return f"must match {expected}"
    return error.message


# ---- what the analyzer is handed -----------------------------------------------------------------------------


def _engine_value(value: Any) -> Any:
    """A recorded value as the analyzer deserializes it from the engine's protobuf Struct: unknowns become the
    engine's unknown sentinel, and every number a float (a Struct has no integers)."""
    if value is UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_engine_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def checked_inputs(record: ResourceRecord) -> dict[str, Any]:
    """What resource rules see: the inputs after the provider's Check, which fills the auto-name in and, for the
    AWS provider, adds `tagsAll` (its default tags merged with the resource's own)."""
    props = dict(record.inputs)
    if not record.custom or record.type.startswith("pulumi:providers:"):
        return props
    info = type_info(record.type)
    name_prop = info.autoname_property if info else None
    if name_prop and name_prop not in props and name_prop in record.outputs:
        props[name_prop] = record.outputs[name_prop]
    if "tagsAll" in record.outputs and "tagsAll" not in props:
        props["tagsAll"] = record.outputs["tagsAll"]
    return props


def analyzed_resources(result: StackResult) -> list[ResourceRecord]:
    """The resources the engine hands the analyzer: those the program registers, never its reads.

    The engine's step generator runs `Analyze` only for registrations (`GenerateSteps`; `GenerateReadSteps` calls no
    analyzer), and its step executor keeps a read's state in `deployment.reads`, apart from the `deployment.news`
    that `AnalyzeStack` is given (pulumi/pulumi `pkg/resource/deploy/step_generator.go`, `step_executor.go`). The
    program does not manage what it reads, so the pack does not judge it; the stack that manages it does."""
    return [r for r in result.resources if not r.options.get("read")]


def stack_outputs(record: ResourceRecord) -> dict[str, Any]:
    """What stack rules see: the resource's outputs; bridged providers' state also carries `id`."""
    props = dict(record.outputs)
    if record.custom and record.id is not None and not record.type.startswith("pulumi:providers:"):
        props.setdefault("id", record.id)
    return props


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _seconds(duration: Any) -> float:
    if not duration:
        return 0.0
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(str(duration)))


@dataclass
class _Stack:
    result: StackResult
    stack_urn: str | None
    by_urn: dict[str, ResourceRecord]

    @classmethod
    def of(cls, result: StackResult) -> _Stack:
        stack = next((r.urn for r in result.resources if r.type == ROOT_STACK_TYPE), None)
        return cls(result=result, stack_urn=stack, by_urn=result.by_urn())

    def parent(self, record: ResourceRecord) -> str | None:
        # The engine reports the root stack as the parent of top-level resources; preflight records None.
        if record.type == ROOT_STACK_TYPE:
            return None
        return record.parent or self.stack_urn

    def options(self, record: ResourceRecord) -> PolicyResourceOptions:
        opts = record.options
        timeouts = opts.get("customTimeouts") or {}
        return PolicyResourceOptions(
            protect=bool(opts.get("protect")),
            ignore_changes=list(opts.get("ignoreChanges") or []),
            delete_before_replace=True if opts.get("deleteBeforeReplace") else None,
            aliases=[self._alias_urn(record, a) for a in opts.get("aliases") or []],
            custom_timeouts=PolicyCustomTimeouts(
                _seconds(timeouts.get("create")), _seconds(timeouts.get("update")), _seconds(timeouts.get("delete"))
            ),
            additional_secret_outputs=list(opts.get("additionalSecretOutputs") or []),
            parent=self.parent(record),
        )

    def _alias_urn(self, record: ResourceRecord, alias: Any) -> str:
        """An alias as the URN the engine resolves it to."""
        if isinstance(alias, str):
            return alias
        parent = None if alias.get("noParent") else alias.get("parent", self.parent(record))
        type_ = alias.get("type", record.type)
        if parent and parent != self.stack_urn:
            type_ = f"{parent.split('::')[2]}${type_}"
        stack = alias.get("stack", self.result.stack)
        project = alias.get("project", self.result.project)
        return f"urn:pulumi:{stack}::{project}::{type_}::{alias.get('name', record.name)}"

    def provider(self, record: ResourceRecord) -> PolicyProviderResource | None:
        if not record.provider:
            return None
        provider = self.by_urn.get(record.provider.rsplit("::", 1)[0])
        if provider is None:
            return None
        return PolicyProviderResource(
            provider.type, unknown_checking_proxy(_engine_value(provider.inputs)), provider.urn, provider.name
        )

    def dependencies(self, record: ResourceRecord) -> list[str]:
        # The engine's `dependencies` holds every dependency: explicit dependsOn and those of each property.
        urns = list(record.options.get("dependsOn") or [])
        for deps in record.property_dependencies.values():
            urns.extend(deps)
        return list(dict.fromkeys(urns))


class _Built:
    """An attribute of pulumi-policy's argument objects built the first time a policy reads it, then kept.

    The analyzer hands every policy its own deserialised properties wrapped in the unknown-checking proxy, its own
    options and provider. Most policies look at the resource type and return, so building all of that up front for
    every resource and every policy was most of the pack's cost; built on first read, each policy still gets its
    own copy, and a policy that never reads them costs nothing. Assigning the attribute replaces it, as with a plain one."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_built_{name}"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.slot]
        if isinstance(value, _Pending):
            value = instance.__dict__[self.slot] = value.build()
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.slot] = value


@dataclass(frozen=True)
class _Pending:
    build: Callable[[], Any]


def _on_first_read(build: Callable[[], _T]) -> _T:
    """An argument for a `_Built` attribute: `build` runs when a policy first reads it. Typed as what it builds,
    because that is what the attribute holds whenever it is read."""
    return cast(_T, _Pending(build))


class _ResourceArgs(ResourceValidationArgs):
    props = _Built()
    opts = _Built()
    provider = _Built()


class _StackResource(PolicyResource):
    props = _Built()
    opts = _Built()
    provider = _Built()


def _reporting_to(found: list[tuple[str, str | None]]) -> ReportViolation:
    """A policy's `report_violation`: each (message, urn) it reports is added to `found`."""

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    return report


def _run(result: Any) -> None:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def _category(policy: Policy) -> str:
    return next(iter(policy.tags or []), "")


def _effective(level: EnforcementLevel) -> str:
    # Remediation did not fix it if a violation still shows: the analyzer reports it as mandatory.
    return EnforcementLevel.MANDATORY.value if level == EnforcementLevel.REMEDIATE else level.value


@collector.paused()
def evaluate(
    result: StackResult,
    pack_dir: Path,
    config_file: Path | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    stack_tags: Mapping[str, str] | None = None,
) -> list[Violation]:
    """Run the pack on a recorded stack. `config_file` is a `--policy-pack-config` file; `config` the same
    document as a dict (tests). Raises PolicyConfigError for a bad pack or config."""
    pack = load_pack_definition(pack_dir)
    if config_file is not None:
        given, source = read_config_file(config_file), str(config_file)
    else:
        given, source = parse_config(dict(config or {}), "policy config"), "policy config"
    settings = reconcile(pack, given, source)
    tags = (
        dict(stack_tags) if stack_tags is not None else {"pulumi:project": result.project, "pulumi:runtime": "python"}
    )
    stack = _Stack.of(result)
    analyzed = analyzed_resources(result)
    names = {r.urn: r.name for r in analyzed}
    violations: list[Violation] = []

    def violation(
        policy: Policy, level: str, urn: str | None, message: str, *, severity: str | None = None
    ) -> Violation:
        return Violation(
            source=SOURCE,
            policy=policy.name,
            category=_category(policy),
            enforcement=level,
            severity=severity or (policy.severity.value if policy.severity else "unspecified"),
            urn=urn or None,
            name=names.get(urn or ""),
            message=message or policy.description,
            remediation=policy.remediation_steps or "",
        )

    def cannot_run(policy: Policy, urn: str | None, error: UnknownValueError) -> Violation:
        # What the analyzer reports when a rule reads a value only known after apply: advisory, never blocking.
        return violation(
            policy,
            EnforcementLevel.ADVISORY.value,
            urn,
            f"can't run policy '{policy.name}' from policy pack '{pack.name}@v{PYTHON_ANALYZER_VERSION}' during preview: {error.message}",
            severity="unspecified",
        )

    active = [
        (p, settings[p.name]) for p in pack.policies if settings[p.name].enforcement_level != EnforcementLevel.DISABLED
    ]
    resource_policies = [
        (policy, _effective(entry.enforcement_level or pack.enforcement_level), entry.properties)
        for policy, entry in active
        if isinstance(policy, ResourceValidationPolicy) and policy.has_validation()
    ]

    for record in analyzed:
        # Deserialised once per resource; each policy's proxy copies every list and dict it wraps, so no policy
        # sees what another wrote through its own.
        inputs = _engine_value(checked_inputs(record))
        for policy, level, properties in resource_policies:
            found: list[tuple[str, str | None]] = []
            args = _ResourceArgs(
                record.type,
                _on_first_read(partial(unknown_checking_proxy, inputs)),
                record.urn,
                record.name,
                _on_first_read(partial(stack.options, record)),
                _on_first_read(partial(stack.provider, record)),
                _engine_value(dict(properties)) if properties else None,
                tags,
            )
            try:
                _run(policy.validate(args, _reporting_to(found)))
            except UnknownValueError as exc:
                violations.append(cannot_run(policy, record.urn, exc))
            except _NotApplicableError:
                pass
            except Exception as exc:
                raise PolicyEvaluationError(
                    f"policy {policy.name} failed on {record.urn}: {type(exc).__name__}: {exc}"
                ) from exc
            violations.extend(violation(policy, level, record.urn, m) for m, _ in found)

    outputs: dict[str, Any] = {}
    for stack_policy, entry in active:
        if not isinstance(stack_policy, StackValidationPolicy):
            continue
        level = _effective(entry.enforcement_level or pack.enforcement_level)
        if not outputs:
            outputs = {r.urn: _engine_value(stack_outputs(r)) for r in analyzed}
        resources = _policy_resources(analyzed, stack, outputs)
        reported: list[tuple[str, str | None]] = []
        stack_args = StackValidationArgs(
            resources, _engine_value(dict(entry.properties)) if entry.properties else None, tags
        )
        try:
            _run(stack_policy.validate(stack_args, _reporting_to(reported)))
        except UnknownValueError as exc:
            violations.append(cannot_run(stack_policy, None, exc))
        except _NotApplicableError:
            pass
        except Exception as exc:
            raise PolicyEvaluationError(
                f"stack policy {stack_policy.name} failed: {type(exc).__name__}: {exc}"
            ) from exc
        # The engine files a finding whose URN names no analyzed resource (a read's, say) under the stack.
        violations.extend(violation(stack_policy, level, urn if urn in names else None, m) for m, urn in reported)
    return violations


def _policy_resources(
    records: Sequence[ResourceRecord], stack: _Stack, outputs: Mapping[str, Any]
) -> list[PolicyResource]:
    """Each analyzed resource as a stack rule sees it (fresh proxies per policy, as the analyzer builds them, each
    made when the rule first reads it). `outputs`: each resource's outputs as the analyzer deserialises them. A
    parent or dependency not among `records` (a read) is left out, as pulumi-policy leaves out URNs it was not sent."""
    resources: dict[str, PolicyResource] = {}
    for record in records:
        resources[record.urn] = _StackResource(
            record.type,
            _on_first_read(partial(unknown_checking_proxy, outputs[record.urn])),
            record.urn,
            record.name,
            _on_first_read(partial(stack.options, record)),
            _on_first_read(partial(stack.provider, record)),
            None,
            [],
            {},
        )
    for record in records:
        resource = resources[record.urn]
        parent = stack.parent(record)
        resource.parent = resources.get(parent) if parent else None
        resource.dependencies = [resources[u] for u in stack.dependencies(record) if u in resources]
        resource.property_dependencies = {
            key: [resources[u] for u in urns if u in resources] for key, urns in record.property_dependencies.items()
        }
    return list(resources.values())
