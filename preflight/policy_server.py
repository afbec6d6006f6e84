"""Drive a policy pack's real analyzer server with a recorded stack, as the Pulumi engine does.

`serve(pack_dir)` starts the pack the way the CLI does (`python -u -m pulumi.policy <engine> <pack dir>` in the
pack's directory), reads the port `PolicyPack` prints and talks to it over gRPC: `info()`, `configure()`,
`analyze()` per resource, `analyze_stack()`. This is the reference `preflight.policy.evaluate` is tested
against; it is slower (a process and a round trip per resource) and needs the pack's dependencies importable by
`python`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from preflight.model import ResourceRecord, StackResult
from preflight.policy import (
    PolicyConfig,
    _engine_value,
    _Stack,
    analyzed_resources,
    checked_inputs,
    stack_outputs,
)

_LEVEL = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_LEVEL_NAME = {v: k for k, v in _LEVEL.items()}
_SEVERITY_NAME = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "unspecified",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}


class AnalyzerStartError(Exception):
    pass


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    urn: str
    message: str
    """The rule's own message (the analyzer prefixes the policy description and a newline)."""
    enforcement: str
    severity: str


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(_engine_value(dict(values)))
    return out


class AnalyzerClient:
    def __init__(self, channel: grpc.Channel, process: subprocess.Popen | None = None):
        self._stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        self.process = process
        """The analyzer's process (stopped when `serve` exits)."""

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self._stub.GetAnalyzerInfo(empty_pb2.Empty())

    def configure(self, settings: Mapping[str, PolicyConfig], stack_tags: Mapping[str, str]) -> None:
        """What the engine sends once the CLI has reconciled the pack's config: every policy's level and settings."""
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in settings.items():
            if entry.enforcement_level is None:
                # `reconcile` gives every policy a level (its own, else the pack's), as the CLI does before it calls.
                raise ValueError(f"policy {name}: no enforcement level; configure takes what `reconcile` returns")
            config = analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL[entry.enforcement_level.value])
            if entry.properties:
                config.properties.CopyFrom(_struct(entry.properties))
            request.policyConfig[name].CopyFrom(config)
        self._stub.Configure(request)
        self._stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(tags=dict(stack_tags)))

    def analyze(self, result: StackResult) -> list[Diagnostic]:
        """Every registered resource through `Analyze`, then the stack through `AnalyzeStack`, as a preview does
        (reads go to neither)."""
        stack = _Stack.of(result)
        analyzed = analyzed_resources(result)
        found: list[Diagnostic] = []
        for record in analyzed:
            request = analyzer_pb2.AnalyzeRequest(
                type=record.type,
                properties=_struct(checked_inputs(record)),
                urn=record.urn,
                name=record.name,
                options=_options(stack, record),
            )
            provider = _provider(stack, record)
            if provider is not None:
                request.provider.CopyFrom(provider)
            response = self._stub.Analyze(request)
            found.extend(_diagnostic(d, record.urn) for d in response.diagnostics)
        resources = []
        for record in analyzed:
            resource = analyzer_pb2.AnalyzerResource(
                type=record.type,
                properties=_struct(stack_outputs(record)),
                urn=record.urn,
                name=record.name,
                options=_options(stack, record),
                parent=stack.parent(record) or "",
                dependencies=stack.dependencies(record),
                propertyDependencies={
                    k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                    for k, v in record.property_dependencies.items()
                },
            )
            provider = _provider(stack, record)
            if provider is not None:
                resource.provider.CopyFrom(provider)
            resources.append(resource)
        response = self._stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
        found.extend(_diagnostic(d, "") for d in response.diagnostics)
        return found


def _options(stack: _Stack, record: ResourceRecord) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = stack.options(record)
    timeouts = opts.custom_timeouts
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=opts.protect,
        ignoreChanges=opts.ignore_changes,
        deleteBeforeReplace=bool(opts.delete_before_replace),
        deleteBeforeReplaceDefined=opts.delete_before_replace is not None,
        additionalSecretOutputs=opts.additional_secret_outputs,
        aliases=opts.aliases,
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=timeouts.create_seconds, update=timeouts.update_seconds, delete=timeouts.delete_seconds
        ),
        parent=opts.parent or "",
    )


def _provider(stack: _Stack, record: ResourceRecord) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not record.provider:
        return None
    provider = stack.by_urn.get(record.provider.rsplit("::", 1)[0])
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name
    )


def _diagnostic(d: analyzer_pb2.AnalyzeDiagnostic, urn: str) -> Diagnostic:
    prefix = d.description + "\n"
    message = d.message.removeprefix(prefix)
    return Diagnostic(
        policy=d.policyName,
        urn=d.urn or urn,
        message=message,
        enforcement=_LEVEL_NAME[d.enforcementLevel],
        severity=_SEVERITY_NAME[d.severity],
    )


@contextmanager
def serve(pack_dir: Path, *, python: str = sys.executable, timeout: float = 60.0) -> Iterator[AnalyzerClient]:
    """Start the pack as the CLI does and yield a client; the server process is stopped on exit."""
    pack_dir = Path(pack_dir).resolve()
    # The engine address is only used if the pack logs through the engine; nothing listens there.
    process = subprocess.Popen(
        [python, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack_dir)],
        cwd=pack_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        port = _read_port(process, timeout)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
            yield AnalyzerClient(channel, process)
        finally:
            channel.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_port(process: subprocess.Popen, timeout: float) -> int:
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    text = line[0].decode().strip() if line else ""
    if not text.isdigit():
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AnalyzerStartError(
            f"the policy pack did not print its port within {timeout:g}s (got {text!r}); stderr:\n{err.decode(errors='replace')}"
        )
    return int(text)
