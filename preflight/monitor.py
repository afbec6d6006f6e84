"""A resource monitor for the SDK's mock runtime that records what the Pulumi engine would receive.

The SDK's `Mocks` only see a resource's type, name and inputs. The engine sees the whole registration request:
parent, provider, dependencies per property, protect, aliases, ignoreChanges and the rest. This monitor keeps
all of it, builds URNs with the full parent type chain as the engine does, and asks the provider emulators for
the outputs.
"""

from __future__ import annotations

import threading
import traceback
import uuid
from dataclasses import replace
from functools import cache
from importlib import metadata
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

from preflight.emulator import aws as aws_emulator
from preflight.emulator import kubernetes as k8s_emulator
from preflight.emulator.aws import AwsProviderSettings, SecretValue, UnsupportedInvoke
from preflight.frames import main_thread_program_frame
from preflight.model import SECRET, UNKNOWN, NotChecked, NotCheckedKind, ResourceRecord, SourcePosition

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
STACK_REFERENCE = "pulumi:pulumi:StackReference"

REMOTE_REASON = (
    "a multi-language component: its provider plugin builds its resources at deployment, which preflight does not "
    "run, so the resources it creates were not rendered nor checked"
)
HELM_REASON = (
    "a Helm release: the chart's manifests are not expanded offline, so the objects it installs were not checked"
)
HELM_CHART_REASON = (
    "a Helm chart: its templates are not rendered offline (no chart, no helm), so the objects it installs were not "
    "checked"
)
READ_REASON = (
    "read, not managed by this program: no policy pack judges a read (`pulumi preview` hands reads to no analyzer) "
    "and the scanners skip it, so it is checked only where it is managed"
)
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig
_OUTPUT_SIG = rpc._special_output_value_sig
_ASSET_SIGS = {rpc._special_asset_sig: "asset", rpc._special_archive_sig: "archive"}


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def to_record_value(value: Any) -> Any:
    """A wire value as recorded: secrets hidden, unknowns marked, resource references as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return SECRET
            return to_record_value(value["value"]) if "value" in value else UNKNOWN
        if sig in _ASSET_SIGS:
            return {_ASSET_SIGS[sig]: value.get("path") or value.get("uri") or "<text>"}
        return {k: to_record_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_record_value(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return _number(value)


def to_plain_value(value: Any) -> Any:
    """A wire value as a provider would get it: secrets revealed, unknowns `UNKNOWN` at whatever depth they are, so
    the emulators can leave what depends on them unknown instead of inventing it."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return to_plain_value(value.get("value"))
        if sig == _RESOURCE_SIG:
            return value.get("id") or value.get("urn")
        if sig == _OUTPUT_SIG:
            return to_plain_value(value["value"]) if "value" in value else UNKNOWN
        return {k: to_plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain_value(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return _number(value)


def to_wire_value(value: Any) -> Any:
    """An emulator's value as the engine sends it back: `UNKNOWN` becomes the protocol's unknown marker, which the
    SDK turns into an unknown output (at the top level or nested), so `apply` does not run on it in a preview."""
    if value is UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, SecretValue):
        return {_SIG: _SECRET_SIG, "value": to_wire_value(value.value)}
    if isinstance(value, dict):
        return {k: to_wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_wire_value(v) for v in value]
    return value


def _secret_paths(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get(_SIG) == _SECRET_SIG or any(_secret_paths(v) for v in value.values())
    if isinstance(value, list):
        return any(_secret_paths(v) for v in value)
    return False


def to_struct(values: dict[str, Any]) -> struct_pb2.Struct:
    """The Struct `rpc.serialize_properties` makes of plain values, which is all the emulators return: top-level
    nulls left out as the SDK leaves them out, everything else as protobuf converts it. The SDK's coroutine ran an
    event loop in the monitor's thread for every resource; anything else falls back to it, with its errors."""
    struct = struct_pb2.Struct()
    try:
        for key, value in values.items():
            if value is not None:
                struct[key] = to_wire_value(value)
    except ValueError:
        return _sync_await(rpc.serialize_properties(values, {}))
    return struct


def _struct(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message) if message is not None else {}


@cache
def _package_version(package: str) -> str:
    # Reading package metadata scans site-packages: once per package, not once per resource.
    try:
        return metadata.version(f"pulumi_{package}")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class _NoMocks(Mocks):
    """The base monitor wants a `Mocks`; every RPC that would use it is answered here instead."""

    def call(self, args):
        raise UnsupportedInvoke(args.token)

    def new_resource(self, args):
        raise AssertionError("resources are emulated by RecordingMonitor")


class RecordingMonitor(MockMonitor):
    def __init__(
        self,
        *,
        stack_config: dict[str, Any],
        project: str,
        stack: str,
        references: dict[str, dict[str, Any]] | None = None,
        invoke_answers: dict[str, dict[str, Any]] | None = None,
        in_process: bool = True,
    ):
        super().__init__(_NoMocks())
        self.project = project
        self.stack = stack
        self.stack_config = stack_config
        self.records: list[ResourceRecord] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self.invoke_errors: list[tuple[str, traceback.FrameSummary | None]] = []
        """Data sources that could not be answered, each with the program's line that called it when known."""
        self.not_checked: list[NotChecked] = []
        self.references = dict(references or {})
        """Stack name -> its `pulumi stack output --json` document, for StackReferences."""
        self.unresolved_references: list[str] = []
        self.invoke_answers = dict(invoke_answers or {})
        """Data source token -> its result, from `--invoke-answers`: answered as given, before any emulator."""
        self.in_process = in_process
        """The program runs in this process (its thread can be inspected for the line that called a data source)."""
        self.emulated: list[str] = []
        """Data sources answered with an emulated shape (a default VPC, a derived AMI id), one note each."""
        self._providers: dict[str, AwsProviderSettings] = {}
        self._by_urn: dict[str, ResourceRecord] = {}
        self._lock = threading.Lock()

    # URNs as the engine builds them: the parent's whole qualified type, the root stack left out.
    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            qualified = parent.split("::")[2]
            if qualified != ROOT_STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    # ---- providers -------------------------------------------------------------------------------------
    def _default_provider(self, package: str, version: str = "") -> str:
        """The default provider the engine would create for a package, recorded once: of the version the program's
        SDK asks for (its own package version), else the one installed here."""
        version = version or _package_version(package)
        urn = (
            f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::default_{version.replace('.', '_')}"
        )
        with self._lock:
            existing = self._by_urn.get(urn)
            if existing is None:
                inputs = {k.split(":", 1)[1]: v for k, v in self.stack_config.items() if k.startswith(f"{package}:")}
                inputs["version"] = version
                existing = ResourceRecord(
                    urn=urn,
                    type=f"pulumi:providers:{package}",
                    name=urn.rsplit("::", 1)[1],
                    custom=True,
                    id=str(uuid.uuid5(uuid.NAMESPACE_URL, urn)),
                    inputs=inputs,
                    outputs=dict(inputs),
                )
                self._add(existing)
        return f"{existing.urn}::{existing.id}"

    def _aws_settings(self, provider_ref: str) -> AwsProviderSettings:
        settings = self._providers.get(provider_ref)
        if settings is None:
            record = self._by_urn.get(provider_ref.rsplit("::", 1)[0])
            inputs = {} if record is None else to_plain_value(record.inputs)
            settings = AwsProviderSettings.from_inputs(inputs, self.stack_config.get("aws:region"))
            self._providers[provider_ref] = settings
        return settings

    def _not_checked(
        self, type_: str, name: str | None, urn: str | None, reason: str, kind: NotCheckedKind = "unrendered"
    ) -> None:
        with self._lock:
            self.not_checked.append(NotChecked(type=type_, name=name, urn=urn, reason=reason, kind=kind))

    def _add(self, record: ResourceRecord) -> None:
        self.records.append(record)
        self._by_urn[record.urn] = record

    # ---- the monitor's RPCs ----------------------------------------------------------------------------
    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == ROOT_STACK_TYPE:
            self.stack_urn = urn
            with self._lock:
                self._add(ResourceRecord(urn=urn, type=ROOT_STACK_TYPE, name=request.name, custom=False))
            return resource_pb2.RegisterResourceResponse(urn=urn)

        wire = _struct(request.object)
        if request.remote:
            self._not_checked(request.type, request.name, urn, REMOTE_REASON)
        elif request.type == HELM_RELEASE:
            self._not_checked(request.type, request.name, urn, HELM_REASON)
        inputs = to_plain_value(wire)
        package = request.type.split(":")[0]
        provider = request.provider or None
        if request.custom and provider is None and package not in ("pulumi",):
            provider = self._default_provider(package, request.version)

        rid, outputs = self._emulate(request.type, request.name, urn, inputs, provider, request.custom)
        secret_outputs = set(request.additionalSecretOutputs) | {k for k, v in wire.items() if _secret_paths(v)}

        record = ResourceRecord(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            id=rid if request.custom else None,
            parent=request.parent if request.parent and request.parent != self.stack_urn else None,
            provider=provider if request.custom else None,
            inputs=to_record_value(wire),
            outputs={k: (SECRET if k in secret_outputs else to_record_value(v)) for k, v in outputs.items()},
            options=self._options(request),
            # Sorted: the SDK sends each property's dependencies in the order of a set of URN strings, which
            # changes with the process's hash seed; what is built from them (the plan checkov reads) must not.
            property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items() if v.urns},
            source=SourcePosition(request.sourcePosition.uri, request.sourcePosition.line)
            if request.HasField("sourcePosition") and request.sourcePosition.uri
            else None,
        )
        with self._lock:
            self._add(record)
        if request.type.startswith("pulumi:providers:"):
            self._providers.pop(f"{urn}::{rid}", None)

        state = {k: ({_SIG: _SECRET_SIG, "value": v} if k in secret_outputs else v) for k, v in outputs.items()}
        obj = to_struct(state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=rid or "", object=obj)

    def _emulate(self, token: str, name: str, urn: str, inputs: dict[str, Any], provider: str | None, custom: bool):
        if not custom:
            return None, {}
        if token.startswith("pulumi:providers:"):
            return str(uuid.uuid5(uuid.NAMESPACE_URL, urn)), dict(inputs)
        package = token.split(":")[0]
        if package == "aws":
            return aws_emulator.resource(token, name, urn, inputs, self._aws_settings(provider or ""))
        if package == "kubernetes":
            return k8s_emulator.resource(token, name, urn, inputs)
        return f"{name}-{aws_emulator.digest(urn)}", dict(inputs)

    def _options(self, request) -> dict[str, Any]:
        explicit_deps = set(request.dependencies) - {u for v in request.propertyDependencies.values() for u in v.urns}
        options: dict[str, Any] = {
            "protect": bool(request.protect) if request.HasField("protect") else False,
            "retainOnDelete": bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            "dependsOn": sorted(explicit_deps),
            "ignoreChanges": list(request.ignoreChanges),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "additionalSecretOutputs": list(request.additionalSecretOutputs),
            "aliases": _unique([_alias(a) for a in request.aliases] + list(request.aliasURNs)),
        }
        if request.replaceOnChanges:
            options["replaceOnChanges"] = list(request.replaceOnChanges)
        timeouts = request.customTimeouts
        if timeouts.create or timeouts.update or timeouts.delete:
            options["customTimeouts"] = {
                "create": timeouts.create,
                "update": timeouts.update,
                "delete": timeouts.delete,
            }
        if request.deletedWith:
            options["deletedWith"] = request.deletedWith
        if request.providers:
            options["providers"] = dict(request.providers)
        if request.importId:
            options["import"] = request.importId
        return options

    def ReadResource(self, request):
        """`Resource.get()` and StackReference: an existing resource is read, not created. Its id is the one given
        (unknown if it is unknown), and its outputs are unknown except what the emulators derive from that id."""
        urn = self.make_urn(request.parent, request.type, request.name)
        wire = _struct(request.properties)
        provider = request.provider or None
        if provider is None and not request.type.startswith("pulumi:"):
            provider = self._default_provider(request.type.split(":")[0], request.version)
        rid = UNKNOWN if request.id in ("", rpc.UNKNOWN) else request.id
        outputs = {} if rid is UNKNOWN else self._read(request.type, request.name, urn, rid, provider)
        record = ResourceRecord(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=True,
            id=rid,
            parent=request.parent if request.parent != self.stack_urn else None,
            provider=provider,
            inputs=to_record_value(wire),
            outputs=to_record_value(outputs),
            options={"read": True},
        )
        with self._lock:
            self._add(record)
        self._not_checked(request.type, request.name, urn, READ_REASON, kind="read")
        return resource_pb2.ReadResourceResponse(
            urn=urn, id="" if rid is UNKNOWN else rid, properties=to_struct(outputs)
        )

    def _read(self, token: str, name: str, urn: str, rid: str, provider: str | None) -> dict[str, Any]:
        if token == STACK_REFERENCE:
            document = self.references.get(rid)
            if document is None:
                with self._lock:
                    self.unresolved_references.append(rid)
                return {}
            secret = sorted(k for k, v in document.items() if v == SECRET)
            return {"name": rid, "outputs": document, "secretOutputNames": secret}
        package = token.split(":")[0]
        if package == "aws":
            return aws_emulator.read(token, name, urn, rid, self._aws_settings(provider or ""))
        if package == "kubernetes":
            return k8s_emulator.read(token, rid)
        return {}

    def RegisterResourceOutputs(self, request):
        outputs = to_record_value(_struct(request.outputs))
        if request.urn == self.stack_urn:
            self.stack_outputs = outputs
        with self._lock:
            record = self._by_urn.get(request.urn)
            if record is not None:
                # Records are frozen: the one the program registered is swapped for one with its outputs, in place.
                updated = replace(record, outputs=outputs)
                self.records[next(i for i, r in enumerate(self.records) if r is record)] = updated
                self._by_urn[request.urn] = updated
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request):
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)
        args = to_plain_value(_struct(request.args))
        try:
            result = self._answer(request, args)
        except UnsupportedInvoke:
            self.invoke_errors.append((request.tok, main_thread_program_frame() if self.in_process else None))
            raise UnsupportedInvoke(cannot_answer(request.tok)) from None
        ret = to_struct(result)
        return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": ret})

    def _answer(self, request, args: dict[str, Any]) -> dict[str, Any]:
        """A data source's result: the user's answers file first, then the emulators."""
        token = request.tok
        if token in self.invoke_answers:
            return self.invoke_answers[token]
        package = token.split(":")[0]
        if token == k8s_emulator.HELM_TEMPLATE:
            chart = k8s_emulator.helm_chart_name(args)
            self._not_checked("kubernetes:helm.sh/v3:Chart", chart, None, HELM_CHART_REASON)
            return {"result": []}
        if package == "kubernetes":
            return k8s_emulator.invoke(token, args)
        if package != "aws":
            raise UnsupportedInvoke(token)
        settings = self._aws_settings(request.provider or self._default_provider("aws", request.version))
        result = aws_emulator.invoke(token, args, settings)
        what = aws_emulator.EMULATED_DATA_SOURCES.get(token)
        if what:
            note = f"{token} answered offline with {what}, not the account's value (give the real one with --invoke-answers)"
            with self._lock:
                if note not in self.emulated:
                    self.emulated.append(note)
        return result


def cannot_answer(token: str, at: str = "") -> str:
    """The one line for a data source no emulator answers: which, where the program calls it (`at`: " at
    <file>:<line>", when known), and the way out."""
    where = f" (called{at})" if at else ""
    return (
        f"preflight cannot answer the data source '{token}'{where} offline; give its result with "
        f'--invoke-answers FILE ({{"{token}": {{...}}}}), or pass the value in through stack config'
    )


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _alias(alias) -> Any:
    if alias.urn:
        return alias.urn
    spec = alias.spec
    out = {k: getattr(spec, k) for k in ("name", "type", "stack", "project") if getattr(spec, k)}
    if spec.parentUrn:
        out["parent"] = spec.parentUrn
    if spec.noParent:
        out["noParent"] = True
    return out
