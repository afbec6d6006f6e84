"""Run a program in the project's own virtualenv, as Pulumi's language host does, against preflight's monitor.

The project's interpreter runs `child_exec.py` with the project's own SDK and providers (its pulumi-aws pin, its
`pulumi_random`); that SDK talks to this process over the Pulumi resource-monitor protocol (the SDK's own gRPC
services, `ResourceMonitor` and `Engine`), served here by the same `RecordingMonitor` the in-process mode uses.
So the graph is recorded the same way, with the project's packages, and their versions go into the result.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import traceback
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2_grpc

from preflight import collector
from preflight.engine import ProgramError, RunOptions, at_line, program_logger, recorded
from preflight.frames import program_frame
from preflight.model import StackResult
from preflight.monitor import RecordingMonitor, cannot_answer
from preflight.project import Project, venv_python

CHILD = Path(__file__).with_name("child_exec.py")
_MAX_MESSAGE = 400 * 1024 * 1024
"""The engine's own gRPC message limit (a large stack's registrations can be big)."""


_RPCS = (
    "SupportsFeature",
    "GetDeploymentInfo",
    "Invoke",
    "ReadResource",
    "ExistsResource",
    "RegisterResource",
    "RegisterResourceOutputs",
    "RegisterStackTransform",
    "RegisterStackInvokeTransform",
    "RegisterResourceHook",
    "RegisterErrorHook",
    "RegisterPackage",
    "SignalAndWaitForShutdown",
)
"""The ResourceMonitor RPCs the recording monitor answers (the SDK's mock monitor's set)."""


def _delegate(name: str) -> Any:
    def rpc(self: _MonitorService, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return getattr(self.monitor, name)(request)
        except Exception as exc:  # noqa: BLE001 - handed to the program as the RPC's error, as the engine does
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))

    rpc.__name__ = name
    return rpc


class _MonitorService(resource_pb2_grpc.ResourceMonitorServicer):
    """The monitor's RPCs over gRPC, each answered by the recording monitor."""

    def __init__(self, monitor: RecordingMonitor) -> None:
        self.monitor = monitor


for _name in _RPCS:
    setattr(_MonitorService, _name, _delegate(_name))


class _EngineService(engine_pb2_grpc.EngineServicer):
    """The engine's RPCs the SDK uses: log messages (to the program's diagnostics) and the root resource."""

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self.root = ""

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        level = {engine_pb2.WARNING: 30, engine_pb2.ERROR: 40}.get(request.severity, 20)
        self.logger.log(level, request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: grpc.ServicerContext) -> engine_pb2.GetRootResourceResponse:
        return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request: Any, context: grpc.ServicerContext) -> engine_pb2.SetRootResourceResponse:
        self.root = request.urn
        return engine_pb2.SetRootResourceResponse()


def _serve(monitor: RecordingMonitor, engine: _EngineService) -> tuple[grpc.Server, str]:
    options = [("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorService(monitor), server)
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@collector.paused()
def run_in_virtualenv(
    project: Project, stack: str, config: dict[str, str], secret_keys: list[str], options: RunOptions
) -> StackResult:
    """Run the project's program for `stack` in its own interpreter; return what the engine would have seen."""
    python = venv_python(project)
    monitor = RecordingMonitor(
        stack_config=config,
        project=project.name,
        stack=stack,
        references=options.references,
        invoke_answers=options.invoke_answers,
        in_process=False,
    )
    logger, diagnostics = program_logger(project.name, stack)
    engine = _EngineService(logger)
    server, address = _serve(monitor, engine)
    try:
        with tempfile.TemporaryDirectory(prefix="preflight-child-") as tmp:
            report_path = Path(tmp) / "report.json"
            proc = _start(python, project, stack, address, report_path, config, secret_keys)
            try:
                _, stderr = proc.communicate(timeout=options.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise ProgramError(
                    [f"the program did not finish within {options.timeout:g} s (--timeout); stopped"]
                ) from None
            report = json.loads(report_path.read_text()) if report_path.exists() else {}
    finally:
        server.stop(grace=None)
    if report.get("error") or proc.returncode != 0:
        raise _child_error(report, stderr, monitor, project, python)
    return recorded(
        monitor, diagnostics, config, secret_keys, {"python": str(python), "packages": report.get("packages", {})}
    )


def _start(
    python: Path,
    project: Project,
    stack: str,
    address: str,
    report: Path,
    config: dict[str, str],
    secret_keys: list[str],
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(config),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(secret_keys),
        "PULUMI_DRY_RUN": "true",
        "PULUMI_PROJECT": project.name,
        "PULUMI_STACK": stack,
        "PULUMI_ORGANIZATION": "organization",
        "PULUMI_MONITOR": address,
        "PULUMI_ENGINE": address,
        # The project's interpreter, not this one: no path of preflight's may leak into the program's imports.
        "PYTHONPATH": "",
        "PYTHONNOUSERSITE": "1",
        "VIRTUAL_ENV": str(project.virtualenv),
    }
    command = [
        str(python),
        "-u",
        str(CHILD),
        *("--monitor", address, "--engine", address, "--project", project.name, "--stack", stack),
        *("--pwd", str(project.dir), "--organization", "organization", "--report", str(report)),
        *("--main", str(project.main)),
    ]
    return subprocess.Popen(
        command, cwd=project.dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _child_error(
    report: dict[str, Any], stderr: str, monitor: RecordingMonitor, project: Project, python: Path
) -> ProgramError:
    """The child's failure as one line, located in the program's own file."""
    error = report.get("error")
    if not error:
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no output")
        return ProgramError([f"the program's interpreter {python} failed: {last}"], stderr)
    frames = [traceback.FrameSummary(file, line, "") for file, line in error.get("frames", [])]
    frame = program_frame(frames, project.dir)
    where = at_line(frame, project.dir)
    detail = error.get("traceback", "")
    if monitor.invoke_errors:
        return ProgramError([cannot_answer(monitor.invoke_errors[0][0], where)], detail)
    if error.get("module"):
        missing = f"the program imports '{error['module']}', which is not installed in the project's virtualenv"
        return ProgramError([f"{missing} {project.virtualenv}{where}"], detail)
    message = " ".join(str(error.get("message", "")).split())
    return ProgramError([f"the program failed: {error.get('type')}: {message}{where}"], detail)
